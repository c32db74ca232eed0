#include "fake_transport.hpp"
#include "recording.hpp"

#include <edw/couch/couch_server.hpp>
#include <edw/feed/changes_follower.hpp>
#include <edw/util/error.hpp>

#include <doctest/doctest.h>

TEST_SUITE_BEGIN("changes follower");

namespace {

struct Follow {
    std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
    std::shared_ptr<edw::CouchServer> server;
    std::unique_ptr<edw::Database> db;

    Follow()
    {
        edw::ServerOptions options;
        options.url = edw::Url::parse("http://127.0.0.1:5984");
        options.retry.sleep = [](std::chrono::milliseconds) {};
        server = std::make_shared<edw::CouchServer>(options, transport);
        db = server->database("edw");
    }

    [[nodiscard]] std::string since_of(std::size_t request) const
    {
        const std::string& url = transport->requests.at(request).url;
        const auto at = url.find("since=");
        return url.substr(at + 6, url.find('&', at) - at - 6);
    }
};

struct Collector final : edw::FollowHandler {
    std::vector<std::string> ids;
    std::vector<edw::Seq> ends;
    void on_change(edw::Change&& change) override { ids.push_back(change.id); }
    void on_feed_end(const edw::Seq& last_seq) override { ends.push_back(last_seq); }
};

edw::FollowOptions quick()
{
    edw::FollowOptions options;
    options.reconnect_backoff = {std::chrono::milliseconds(1), std::chrono::milliseconds(2)};
    return options;
}

} // namespace

TEST_CASE("a last_seq line means resume from there, and only a 404 ends the follower")
{
    Follow follow;
    const auto limited = load_recording("couchdb-3.4.3", "changes-continuous-limit");
    follow.transport->answer(limited);
    follow.transport->answer(load_recording("couchdb-3.4.3", "db-missing"));
    Collector collector;
    edw::ChangesFollower follower(*follow.db, quick());
    CHECK_THROWS_AS(follower.follow(std::stop_token(), collector), edw::HttpError);
    CHECK(collector.ids.size() == 2);
    REQUIRE(collector.ends.size() == 1);
    CHECK(follow.since_of(0) == "0");
    // The second request starts at the recorded last_seq, sent as it came (URL-encoded).
    CHECK(follow.since_of(1).substr(0, 6) == "2-g1AA");
    CHECK(follower.position() == collector.ends[0]);
}

TEST_CASE("a feed that stops without a word is resumed from the last seq delivered")
{
    Follow follow;
    follow.transport->answer(
        200, "{\"seq\":\"7-abc\",\"id\":\"a\",\"changes\":[{\"rev\":\"1-x\"}]}\n\n");
    follow.transport->fail("Connection reset by peer");
    follow.transport->answer(503, R"({"error":"unavailable"})");
    follow.transport->answer(load_recording("couchdb-3.4.3", "unauthorized"));
    Collector collector;
    edw::ChangesFollower follower(*follow.db, quick());
    CHECK_THROWS_AS(follower.follow(std::stop_token(), collector), edw::HttpError);
    CHECK(collector.ids == std::vector<std::string>{"a"});
    CHECK(follow.since_of(1) == "7-abc");
    CHECK(follow.since_of(2) == "7-abc");
    CHECK(follow.since_of(3) == "7-abc");
    CHECK(follower.reconnects() == 3);
}

TEST_CASE("a longpoll page that does not parse is asked for again, and the follower goes on")
{
    Follow follow;
    // Two pages edw cannot read (a row without a seq, as a poisoned doc might leave it), then a
    // good one.
    follow.transport->answer(200, R"({"results":[{"id":"x","changes":[]}],"last_seq":"3-a"})");
    follow.transport->answer(200, R"({"results":[{"id":"x","changes":[]}],"last_seq":"3-a"})");
    follow.transport->answer(
        200, R"({"results":[{"seq":"3-a","id":"x","changes":[{"rev":"1-y"}]}],"last_seq":"3-a"})");
    follow.transport->answer(load_recording("couchdb-3.4.3", "db-missing"));
    Collector collector;
    auto options = quick();
    options.feed = edw::Feed::longpoll;
    options.include_docs = true;
    edw::ChangesFollower follower(*follow.db, options);
    CHECK_THROWS_AS(follower.follow(std::stop_token(), collector), edw::HttpError);
    CHECK(collector.ids == std::vector<std::string>{"x"});
    CHECK(follower.reconnects() == 2);
    CHECK(follow.since_of(1) == "0");
    CHECK(follow.since_of(2) == "0");
    CHECK(follow.since_of(3) == "3-a");
    // After two pages that did not parse, one row is asked for without its doc; then the feed
    // goes back to normal.
    CHECK(follow.transport->requests.at(1).url.find("include_docs=true") != std::string::npos);
    const std::string& third = follow.transport->requests.at(2).url;
    CHECK(third.find("limit=1") != std::string::npos);
    CHECK(third.find("include_docs") == std::string::npos);
    CHECK(follow.transport->requests.at(3).url.find("include_docs=true") != std::string::npos);
}

TEST_CASE("the cluster feed cut while a node failed is resumed after its last change")
{
    Follow follow;
    const auto cut =
        load_recording("couchdb-3.4.3-cluster3", "changes-continuous-during-node-failure");
    follow.transport->answer(cut);
    follow.transport->answer(load_recording("couchdb-3.4.3", "db-missing"));
    Collector collector;
    edw::ChangesFollower follower(*follow.db, quick());
    CHECK_THROWS_AS(follower.follow(std::stop_token(), collector), edw::HttpError);
    REQUIRE_FALSE(collector.ids.empty());
    CHECK(follower.reconnects() == 1);
    CHECK(follow.since_of(1) != "0");
}

TEST_CASE("a stop request ends the follower without an error")
{
    Follow follow;
    follow.transport->answer(200, "\n\n\n");
    std::stop_source stop;
    stop.request_stop();
    Collector collector;
    edw::ChangesFollower follower(*follow.db, quick());
    follower.follow(stop.get_token(), collector);
    CHECK(collector.ids.empty());
}

TEST_SUITE_END();
