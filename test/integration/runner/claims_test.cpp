// Workers sharing a step through claims (--lease): every doc once, claims in batches, a stop
// that gives back what was not started, claims of a dead worker taken over before new work, and
// a pause that every worker of the step keeps.
#include "conformance.hpp"
#include "runner_helpers.hpp"
#include "test_server.hpp"

#include <edw/runtime/lease.hpp>
#include <edw/runtime/step_pause.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/util/utc_time.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <thread>

TEST_SUITE_BEGIN("claims");

namespace {

using Clock = std::chrono::steady_clock;

// Every doc of the database but design docs: how many carry a claim, and how many do not have
// exactly one process entry.
std::pair<int, int> claims_and_wrong_entries(edw::Database& db)
{
    edw::ViewQuery all;
    all.include_docs = true;
    int claims_left = 0;
    int wrong = 0;
    for (const auto& row : db.all_docs(all).rows) {
        if (row.id.rfind("_design/", 0) == 0) {
            continue;
        }
        claims_left += row.doc->contains(edw::claim_field) ? 1 : 0;
        wrong += (*row.doc)["process"].size() == 1 ? 0 : 1;
    }
    return {claims_left, wrong};
}

// A step that takes `milliseconds` per doc, counted.
edw::Step slow_step(CountingStep& counting, int milliseconds)
{
    auto step = counting.step();
    step.run = [inner = step.run, milliseconds](const nlohmann::json& doc) {
        std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds));
        return inner(doc);
    };
    return step;
}

} // namespace

TEST_CASE("four workers sharing a step through claims do each of 2,000 docs once, spread over all")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-it-claims");
        push_process_design(*db);
        for (int batch = 0; batch < 2; ++batch) {
            db->bulk_save(docs("ma22a00" + std::to_string(batch), 0, 500));
        }
        CountingStep counting;
        std::vector<std::unique_ptr<edw::StepRunner>> runners;
        std::vector<std::jthread> threads;
        for (int w = 1; w <= 4; ++w) {
            auto options = fast_options("claims-" + std::to_string(w));
            options.worker = "worker-" + std::to_string(w);
            options.lease = std::chrono::seconds(5);
            // A step that takes a little time, as real ones do: a worker busy with its callbacks
            // stops reading its feed (its queue is bounded), and the others take the docs.
            auto step = counting.step();
            step.run = [inner = step.run](const nlohmann::json& doc) {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
                return inner(doc);
            };
            runners.push_back(std::make_unique<edw::StepRunner>(*db, step, options));
            threads.emplace_back(
                [runner = runners.back().get()](std::stop_token stop) { runner->run(stop); });
        }
        // Half the docs wait before the workers start, half arrive while they run.
        for (int batch = 2; batch < 4; ++batch) {
            db->bulk_save(docs("ma22a00" + std::to_string(batch), 0, 500));
        }
        CHECK(wait_for_step(*db, "move_to_sps", 2000));
        for (auto& thread : threads) {
            thread.request_stop();
        }
        threads.clear();
        long total = 0;
        long lost = 0;
        int busy = 0;
        for (const auto& runner : runners) {
            busy += runner->counts().recorded.load() > 100 ? 1 : 0;
            total += runner->counts().recorded;
            lost += runner->counts().claims_lost;
        }
        // The work is spread over several workers. Not always over all four: claims go in
        // batches, and on pouchdb-server the first workers can take this small backlog while
        // the view a late one catches up from is still being brought up to date. How the
        // step's speed grows with workers is measured by `edw bench pipeline --workers`.
        CHECK(busy >= 2);
        MESSAGE(backend_name << ": recorded per worker " << runners[0]->counts().recorded.load()
                             << ", " << runners[1]->counts().recorded.load() << ", "
                             << runners[2]->counts().recorded.load() << ", "
                             << runners[3]->counts().recorded.load() << "; claims lost to another "
                             << "worker: " << lost);
        CHECK(total == 2000);
        CHECK(counting.runs.size() == 2000);
        int repeated = 0;
        for (const auto& [id, count] : counting.runs) {
            repeated += count == 1 ? 0 : 1;
        }
        CHECK(repeated == 0);
        const auto [claims_left, wrong] = claims_and_wrong_entries(*db);
        CHECK(claims_left == 0);
        CHECK(wrong == 0);
    }
}

TEST_CASE("a worker stopped mid-backlog returns at once and gives back its unstarted claims")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-it-claims-stop");
        push_process_design(*db);
        // More docs than the claimer's window and the queue hold, so that the thread reading
        // them waits for room at the stop.
        db->bulk_save(docs("ma22b000", 0, 600));
        CountingStep counting;
        auto options = fast_options("claims-stop-a");
        options.worker = "worker-a";
        options.jobs = 1;
        // A lease far longer than the test: only the give-back can hand the docs over.
        options.lease = std::chrono::minutes(10);
        edw::StepRunner first(*db, slow_step(counting, 20), options);
        std::jthread first_thread([&](std::stop_token stop) { first.run(stop); });
        for (int i = 0; i < 200 && first.counts().recorded.load() < 5; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        const auto asked = Clock::now();
        first_thread.request_stop();
        first_thread.join();
        const double stop_seconds = std::chrono::duration<double>(Clock::now() - asked).count();
        MESSAGE(backend_name << ": stopped in " << stop_seconds << " s after "
                             << first.counts().recorded.load() << " docs");
        CHECK(stop_seconds < 5); // the callback in hand and one write, never the backlog
        const auto [claims_after_stop, unused] = claims_and_wrong_entries(*db);
        CHECK(claims_after_stop == 0); // given back, not left to expire

        options.listener = "claims-stop-b";
        options.worker = "worker-b";
        options.jobs = 4;
        edw::StepRunner second(*db, slow_step(counting, 0), options);
        std::jthread second_thread([&](std::stop_token stop) { second.run(stop); });
        CHECK(wait_for_step(*db, "move_to_sps", 600));
        second_thread.request_stop();
        second_thread.join();
        int repeated = 0;
        for (const auto& [id, count] : counting.runs) {
            repeated += count == 1 ? 0 : 1;
        }
        CHECK(counting.runs.size() == 600);
        CHECK(repeated == 0);
        const auto [claims_left, wrong] = claims_and_wrong_entries(*db);
        CHECK(claims_left == 0);
        CHECK(wrong == 0);
    }
}

TEST_CASE("claims a dead worker left are taken over once they expire, before the backlog")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-it-claims-dead");
        push_process_design(*db);
        // 20 docs claimed by a worker that died: its claims run out in a second.
        auto claimed = docs("ma22c000", 0, 20);
        for (auto& doc : claimed) {
            doc[edw::claim_field] = {{"worker", "dead-worker"},
                                     {"step", "move_to_sps"},
                                     {"since", edw::utc_now_iso8601()},
                                     {"until", edw::iso8601(std::chrono::system_clock::now() +
                                                            std::chrono::seconds(1))}};
        }
        db->bulk_save(claimed);
        db->bulk_save(docs("ma22c001", 0, 300));
        CountingStep counting;
        auto options = fast_options("claims-dead");
        options.worker = "worker-alive";
        options.jobs = 1;
        options.lease = std::chrono::seconds(30);
        edw::StepRunner runner(*db, slow_step(counting, 15), options);
        std::jthread thread([&](std::stop_token stop) { runner.run(stop); });
        CHECK(wait_for_step(*db, "move_to_sps", 320));
        thread.request_stop();
        thread.join();
        // Taken over as soon as they expired, ahead of the backlog (300 docs, 15 ms each): not
        // when the feed or the catch-up would have reached them again.
        std::size_t last_taken = 0;
        for (std::size_t i = 0; i < counting.order.size(); ++i) {
            if (counting.order[i].rfind("ma22c000", 0) == 0) {
                last_taken = i;
            }
        }
        MESSAGE(backend_name << ": the last doc taken over ran " << last_taken + 1 << "th of "
                             << counting.order.size());
        CHECK(runner.counts().taken_over.load() == 20);
        CHECK(last_taken < 200);
        CHECK(counting.order.size() == 320);
        const auto [claims_left, wrong] = claims_and_wrong_entries(*db);
        CHECK(claims_left == 0);
        CHECK(wrong == 0);
    }
}

TEST_CASE("edw pause: every worker of the step starts nothing new until resumed, nothing lost")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-it-pause");
        push_process_design(*db);
        db->bulk_save(docs("ma22e000", 0, 300));
        CountingStep counting;
        std::vector<std::unique_ptr<edw::StepRunner>> runners;
        std::vector<std::jthread> threads;
        for (int w = 1; w <= 2; ++w) {
            auto options = fast_options("pause-" + std::to_string(w));
            options.worker = "worker-" + std::to_string(w);
            options.jobs = 2;
            options.lease = std::chrono::seconds(30);
            options.pause_check = std::chrono::milliseconds(200);
            runners.push_back(
                std::make_unique<edw::StepRunner>(*db, slow_step(counting, 20), options));
            threads.emplace_back(
                [runner = runners.back().get()](std::stop_token stop) { runner->run(stop); });
        }
        const auto started = [&] {
            const std::lock_guard lock(counting.mutex);
            return counting.order.size();
        };
        for (int i = 0; i < 200 && started() < 30; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        REQUIRE(edw::write_pause(
            *db, "move_to_sps",
            edw::StepPause{.since = edw::utc_now_iso8601(), .by = "test", .reason = ""}));
        // Within a check and a callback, no worker starts another.
        std::this_thread::sleep_for(std::chrono::milliseconds(600));
        const auto at_pause = started();
        std::this_thread::sleep_for(std::chrono::milliseconds(800));
        CHECK(started() == at_pause);
        CHECK(at_pause < 300);
        CHECK(runners[0]->counts().paused.load());
        CHECK(runners[1]->counts().paused.load());
        CHECK(edw::read_pause(*db, "move_to_sps").value().by == "test");
        CHECK_FALSE(edw::write_pause(*db, "move_to_sps", edw::StepPause{})); // paused already

        REQUIRE(edw::write_pause(*db, "move_to_sps", std::nullopt));
        CHECK(wait_for_step(*db, "move_to_sps", 300));
        for (auto& thread : threads) {
            thread.request_stop();
        }
        threads.clear();
        CHECK_FALSE(runners[0]->counts().paused.load());
        int repeated = 0;
        for (const auto& [id, count] : counting.runs) {
            repeated += count == 1 ? 0 : 1;
        }
        CHECK(counting.runs.size() == 300);
        CHECK(repeated == 0);
        const auto [claims_left, wrong] = claims_and_wrong_entries(*db);
        CHECK(claims_left == 0);
        CHECK(wrong == 0);
    }
}

TEST_SUITE_END();
