// One feed for several steps of a process: every doc every step once, through a step held back
// by its failing callback and a restart, on each backend.
#include "conformance.hpp"
#include "test_server.hpp"

#include <edw/step/failure_log.hpp>
#include <edw/workflow/step_group.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

TEST_SUITE_BEGIN("shared feed");

namespace {

// Three steps in a chain, each counting its runs per doc; `b` throws while `fail_b` is set.
struct Chain {
    std::mutex mutex;
    std::map<std::string, std::map<std::string, int>> runs; ///< step -> doc -> runs
    std::atomic<bool> fail_b{false};
    std::set<std::string> failed_b; ///< Docs b has failed on, once or more.

    edw::Step step(const std::string& name, std::optional<std::string> after)
    {
        edw::Step step;
        step.name = name;
        step.follows = after ? edw::StepPosition::after(*after) : edw::StepPosition::new_document();
        step.run = [this, name](const nlohmann::json& doc) {
            const std::lock_guard lock(mutex);
            if (name == "b" && fail_b) {
                failed_b.insert(doc["_id"].get<std::string>());
                throw std::runtime_error("the calibration file is not there yet");
            }
            ++runs[name][doc["_id"].get<std::string>()];
            return nlohmann::json{{"ok", true}};
        };
        return step;
    }

    int failures_b()
    {
        const std::lock_guard lock(mutex);
        return static_cast<int>(failed_b.size());
    }

    int count(const std::string& step)
    {
        const std::lock_guard lock(mutex);
        return static_cast<int>(runs[step].size());
    }
};

edw::RunnerOptions options_for(const std::string& step, std::chrono::milliseconds retry)
{
    edw::RunnerOptions options;
    options.listener = "chain." + step;
    options.worker = "chain." + step;
    options.heartbeat = std::chrono::milliseconds(500);
    options.checkpoint_interval = std::chrono::milliseconds(0);
    options.jobs = 2;
    options.retry.max_attempts = 1000;
    options.retry.first_delay = retry;
    options.retry.max_delay = retry;
    return options;
}

void add_chain(edw::StepGroup& group, edw::Database& db, Chain& chain,
               std::chrono::milliseconds retry)
{
    group.add(db, chain.step("a", std::nullopt), options_for("a", retry));
    group.add(db, chain.step("b", "a"), options_for("b", retry));
    group.add(db, chain.step("c", "b"), options_for("c", retry));
}

std::vector<nlohmann::json> wave(const std::string& run, int count)
{
    std::vector<nlohmann::json> docs;
    for (int i = 0; i < count; ++i) {
        docs.push_back(new_metadata_doc(run + "_" + std::to_string(100 + i)));
    }
    return docs;
}

bool wait_until(const std::function<bool()>& done)
{
    for (int i = 0; i < 600; ++i) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
}

} // namespace

TEST_CASE("three steps on one feed: one held back by failures, a restart, every doc every step "
          "once")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-it-shared-feed");
        push_process_design(*db);
        Chain first;
        {
            edw::StepGroup group("chain");
            add_chain(group, *db, first, std::chrono::milliseconds(300));
            std::jthread thread([&](std::stop_token stop) { group.run(stop); });
            db->bulk_save(wave("one", 30));
            REQUIRE(wait_until([&] { return first.count("c") == 30; }));
            // b now fails: a goes on with new docs, b records failures, c has nothing.
            first.fail_b = true;
            db->bulk_save(wave("two", 30));
            // Every doc of the wave failed at b at least once (a doc may fail again before the
            // last has failed once: its retry time is short).
            REQUIRE(wait_until([&] { return first.count("a") == 60 && first.failures_b() == 30; }));
            CHECK(first.count("c") == 30);
            thread.request_stop();
            thread.join();
            // One feed: every step was handed the same rows (counted once the feed stopped).
            CHECK(group.runner(0).counts().feed_rows == group.runner(1).counts().feed_rows);
            CHECK(group.runner(1).counts().feed_rows == group.runner(2).counts().feed_rows);
        }
        const auto checkpoint = db->get(edw::StepRunner::checkpoint_id("chain"));
        REQUIRE(checkpoint.has_value());
        CHECK(checkpoint->contains("seq"));
        CHECK((*checkpoint)["step"] == "a,b,c");
        const auto held = *db->get("two_107");
        CHECK(held["process"].size() == 1);
        // Its failure is recorded with a retry time (retry_at itself says nothing once that
        // time, 300 ms after the failure, has passed, as it may have by this read).
        CHECK(edw::failed_attempts(held, "b") >= 1);
        REQUIRE(held.contains(edw::failures_field));
        CHECK(held[edw::failures_field].back().contains("retry_at"));

        db->bulk_save(wave("three", 20)); // while the process is down
        Chain second;
        {
            edw::StepGroup group("chain");
            add_chain(group, *db, second, std::chrono::milliseconds(300));
            std::jthread thread([&](std::stop_token stop) { group.run(stop); });
            REQUIRE(wait_until([&] { return second.count("c") == 50; }));
            std::this_thread::sleep_for(std::chrono::milliseconds(500)); // nothing more comes
        }
        CHECK(second.count("a") == 20);
        CHECK(second.count("b") == 50);
        for (const auto& [step, docs] : second.runs) {
            for (const auto& [id, runs] : docs) {
                CHECK_MESSAGE(runs == 1, step << " ran " << runs << "x on " << id);
                CHECK_MESSAGE(first.runs[step].count(id) == 0, step << " ran again on " << id);
            }
        }
        for (const auto& id :
             {"one_100", "one_129", "two_100", "two_129", "three_100", "three_119"}) {
            const auto doc = *db->get(id);
            CAPTURE(id);
            REQUIRE(doc["process"].size() == 3);
            CHECK(doc["process"][0]["name"] == "a");
            CHECK(doc["process"][1]["name"] == "b");
            CHECK(doc["process"][2]["name"] == "c");
        }
    }
}

TEST_SUITE_END();
