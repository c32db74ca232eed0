#include "tcp_proxy.hpp"
#include "test_server.hpp"

#include <edw/app/open_database.hpp>
#include <edw/feed/changes_follower.hpp>
#include <edw/util/error.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

TEST_SUITE_BEGIN("changes follower");

namespace {

// Collects what a follower delivers and lets the test wait for a count.
struct Collector final : edw::FollowHandler {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> ids;
    int ends = 0;

    void on_change(edw::Change&& change) override
    {
        const std::lock_guard lock(mutex);
        ids.push_back(change.id);
        changed.notify_all();
    }
    void on_feed_end(const edw::Seq&) override
    {
        const std::lock_guard lock(mutex);
        ++ends;
    }
    bool wait_for_unique(std::size_t count)
    {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, std::chrono::seconds(20), [&] {
            return std::set<std::string>(ids.begin(), ids.end()).size() >= count;
        });
    }
};

int port_of(const edw::Settings& settings)
{
    return settings.server.port();
}

} // namespace

TEST_CASE("the follower delivers changes made after it started, on both live feed kinds")
{
    for (const auto feed : {edw::Feed::continuous, edw::Feed::longpoll}) {
        auto db = fresh_database("edw-it-follow");
        Collector collector;
        edw::FollowOptions options;
        options.feed = feed;
        options.heartbeat = std::chrono::milliseconds(500);
        edw::ChangesFollower follower(*db, options);
        std::jthread thread([&](std::stop_token stop) { follower.follow(stop, collector); });
        for (int i = 0; i < 5; ++i) {
            db->save(new_metadata_doc("ma22a000_00" + std::to_string(i)));
        }
        CHECK(collector.wait_for_unique(5));
        thread.request_stop();
        thread.join();
        if (feed == edw::Feed::longpoll) {
            CHECK(collector.ends >= 1); // each longpoll answer ends with a last_seq
        }
    }
}

TEST_CASE("a connection dropped mid-stream is resumed from the last seq, losing nothing")
{
    auto settings = test_settings("edw-it-drop");
    auto db = fresh_database("edw-it-drop");
    TcpProxy proxy(port_of(settings));
    settings.server = edw::Url::parse("http://127.0.0.1:" + std::to_string(proxy.port()));
    auto through_proxy = edw::open_database(settings);

    Collector collector;
    edw::FollowOptions options;
    options.heartbeat = std::chrono::milliseconds(500);
    options.reconnect_backoff = {std::chrono::milliseconds(50), std::chrono::milliseconds(200)};
    edw::ChangesFollower follower(*through_proxy, options);
    std::jthread thread([&](std::stop_token stop) { follower.follow(stop, collector); });

    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 10; ++i) {
            db->save(
                new_metadata_doc("ma22a00" + std::to_string(round) + "_00" + std::to_string(i)));
        }
        CHECK(collector.wait_for_unique(static_cast<std::size_t>(10 * (round + 1))));
        proxy.cut_all();
    }
    for (int i = 0; i < 5; ++i) {
        db->save(new_metadata_doc("ma22a009_00" + std::to_string(i)));
    }
    CHECK(collector.wait_for_unique(35));
    thread.request_stop();
    thread.join();
    CHECK(follower.reconnects() >= 3);
    CHECK(proxy.connections() >= 4);
    // Resuming from the last seq seen means no change is delivered twice here.
    CHECK(collector.ids.size() == 35);
}

TEST_CASE("a silent connection (no heartbeat) is given up and made again")
{
    auto settings = test_settings("edw-it-silent");
    auto db = fresh_database("edw-it-silent");
    Collector collector;
    edw::FollowOptions options;
    options.heartbeat = std::chrono::milliseconds(5000);    // the server's heartbeat
    options.silence_limit = std::chrono::milliseconds(300); // far shorter: looks silent
    options.reconnect_backoff = {std::chrono::milliseconds(20), std::chrono::milliseconds(50)};
    auto database = edw::open_database(settings);
    edw::ChangesFollower follower(*database, options);
    std::jthread thread([&](std::stop_token stop) { follower.follow(stop, collector); });
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    db->save(new_metadata_doc("ma22a000_000"));
    CHECK(collector.wait_for_unique(1));
    thread.request_stop();
    thread.join();
    CHECK(follower.reconnects() >= 2);
}

TEST_CASE("a continuous feed that passes nothing still moves on, told by a normal request")
{
    // While writes keep coming, CouchDB never ends a continuous feed, and one whose filter lets
    // nothing through has no seq to give (nor does a longpoll end): after refresh_after without a
    // row the follower asks with a normal request, whose answer ends with a last_seq.
    auto db = fresh_database("edw-it-refresh");
    push_process_design(*db);
    Collector collector;
    edw::FollowOptions options;
    options.feed = edw::Feed::continuous;
    options.filter = "process/with_process";
    options.filter_parameters = {{"last", "no_such_step"}};
    options.heartbeat = std::chrono::milliseconds(400);
    options.refresh_after = std::chrono::milliseconds(300);
    edw::ChangesFollower follower(*db, options);
    std::jthread thread([&](std::stop_token stop) { follower.follow(stop, collector); });
    for (int i = 0; i < 40; ++i) {
        db->save(new_metadata_doc("ma22a000_" + std::to_string(100 + i)));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    thread.request_stop();
    thread.join();
    CHECK(collector.ids.empty());
    CHECK(collector.ends >= 1);
    CHECK(follower.position().json() != "0");
    CHECK(follower.reconnects() == 0); // a refresh is not a failure
}

TEST_CASE("a deleted database ends the follower with a not-found error")
{
    auto db = fresh_database("edw-it-gone");
    db->destroy();
    Collector collector;
    edw::ChangesFollower follower(*db, {});
    CHECK_THROWS_AS(follower.follow(std::stop_token(), collector), edw::HttpError);
}

TEST_SUITE_END();
