// Worker records: each worker of a step announces itself and beats in the step's `_local` doc;
// a worker that would run docs twice beside the live ones is refused, an unleased one joins
// leased ones with their lease; stopped and dead workers show as such in the pipeline status.
#include "conformance.hpp"
#include "runner_helpers.hpp"
#include "test_server.hpp"

#include <edw/runtime/step_runner.hpp>
#include <edw/runtime/step_workers.hpp>
#include <edw/status/pipeline_status.hpp>
#include <edw/util/error.hpp>
#include <edw/util/utc_time.hpp>

#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

TEST_SUITE_BEGIN("worker records");

namespace {

using namespace std::chrono_literals;

edw::RunnerOptions worker_options(const std::string& name)
{
    auto options = fast_options("records-" + name);
    options.worker = name;
    options.worker_beat = 200ms;
    return options;
}

std::optional<edw::WorkerRecord> record_named(edw::Database& db, const std::string& name)
{
    for (auto& record : edw::read_workers(db, "move_to_sps")) {
        if (record.name == name) {
            return record;
        }
    }
    return std::nullopt;
}

// Waits until `name`'s record is in `state`.
bool wait_for_record(edw::Database& db, const std::string& name, const std::string& state)
{
    for (int i = 0; i < 200; ++i) {
        const auto record = record_named(db, name);
        if (record && record->state == state) {
            return true;
        }
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

struct Running {
    std::unique_ptr<edw::StepRunner> runner;
    std::jthread thread;
};

// What a runner expected to refuse to start says; a runner that starts after all is stopped
// after 20 s, so that the test fails instead of hanging.
std::string refusal_of(edw::StepRunner& runner)
{
    std::promise<std::string> said;
    auto result = said.get_future();
    std::jthread thread([&runner, &said](std::stop_token stop) {
        try {
            runner.run(stop);
            said.set_value("it ran, and was stopped");
        } catch (const edw::ConfigError& error) {
            said.set_value(error.what());
        } catch (const std::exception& error) {
            said.set_value(std::string("another error: ") + error.what());
        }
    });
    if (result.wait_for(20s) != std::future_status::ready) {
        thread.request_stop();
    }
    return result.get();
}

Running start(edw::Database& db, CountingStep& counting, const edw::RunnerOptions& options)
{
    Running running{std::make_unique<edw::StepRunner>(db, counting.step(), options), {}};
    running.thread =
        std::jthread([runner = running.runner.get()](std::stop_token stop) { runner->run(stop); });
    return running;
}

} // namespace

TEST_CASE("a second unleased worker is refused, an unleased one joins leased ones, and records "
          "show who runs, stopped and died")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-it-worker-records");
        push_process_design(*db);
        db->bulk_save(docs("ma22a000", 0, 100));
        CountingStep counting;

        auto first = start(*db, counting, worker_options("first"));
        REQUIRE(wait_for_record(*db, "first", "running"));
        const auto record = record_named(*db, "first");
        CHECK(record->pid == static_cast<long>(::getpid()));
        CHECK(record->host == edw::this_host_name());
        CHECK(record->listener == "records-first");
        CHECK_FALSE(record->lease_s);

        // A second worker without --lease or --shard would run every doc again: refused before
        // it reads anything, with no record of its own.
        edw::StepRunner second(*db, counting.step(), worker_options("second"));
        const std::string refusal = refusal_of(second);
        CAPTURE(refusal);
        CHECK(refusal.find("its live worker first") != std::string::npos);
        CHECK(refusal.find("--lease") != std::string::npos);
        CHECK_FALSE(record_named(*db, "second"));
        // Nor does a leased one join an unleased one.
        auto leased = worker_options("leased");
        leased.lease = 5s;
        edw::StepRunner refused_leased(*db, counting.step(), leased);
        CHECK(refusal_of(refused_leased).find("runs without --lease") != std::string::npos);

        CHECK(wait_for_step(*db, "move_to_sps", 100));
        first.thread.request_stop();
        first.thread.join();
        CHECK(wait_for_record(*db, "first", "stopped"));
        CHECK(record_named(*db, "first")->done == 100);

        // Leased workers, and an unleased one that joins them with their lease.
        auto claimer = start(*db, counting, leased);
        REQUIRE(wait_for_record(*db, "leased", "running"));
        auto joiner = start(*db, counting, worker_options("joiner"));
        REQUIRE(wait_for_record(*db, "joiner", "running"));
        const auto joined = record_named(*db, "joiner");
        REQUIRE(joined->lease_s);
        CHECK(*joined->lease_s == 5);
        db->bulk_save(docs("ma22a001", 0, 200));
        CHECK(wait_for_step(*db, "move_to_sps", 300));
        {
            const std::lock_guard lock(counting.mutex);
            CHECK(counting.runs.size() == 300);
            int repeated = 0;
            for (const auto& [id, count] : counting.runs) {
                repeated += count == 1 ? 0 : 1;
            }
            CHECK(repeated == 0);
        }

        // A worker whose beats stopped (as after kill -9 on another machine) shows as dead
        // since its last beat; the status lists every record with its state.
        edw::WorkerRecord ghost = *record_named(*db, "joiner");
        ghost.name = "ghost";
        ghost.host = "another-host";
        ghost.beat = edw::iso8601(std::chrono::system_clock::now() - 10s);
        ghost.beat_every_s = 1;
        edw::write_worker(*db, "move_to_sps", ghost);
        const auto status =
            edw::read_pipeline_status(*db, "process", std::chrono::system_clock::now());
        std::map<std::string, std::string> states;
        for (const auto& step : status.steps) {
            for (const auto& seen : step.worker_records) {
                states[seen.record.name] = seen.state();
                if (seen.record.name == "ghost") {
                    CHECK(seen.since() == ghost.beat);
                }
            }
        }
        CHECK(states == std::map<std::string, std::string>{{"first", "stopped"},
                                                           {"ghost", "dead"},
                                                           {"joiner", "running"},
                                                           {"leased", "running"}});
        const auto json = edw::to_json(status);
        CHECK(json["steps"][0]["worker_records"].size() == 4);

        claimer.thread.request_stop();
        joiner.thread.request_stop();
        claimer.thread.join();
        joiner.thread.join();
        CHECK(wait_for_record(*db, "leased", "stopped"));
        CHECK(wait_for_record(*db, "joiner", "stopped"));
        // A worker that stopped does not keep a new one out.
        auto again = start(*db, counting, worker_options("again"));
        CHECK(wait_for_record(*db, "again", "running"));
    }
}

TEST_CASE("a stopping worker's record names the docs it gave back, and status shows it stopping")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-it-worker-stopping");
        push_process_design(*db);
        db->bulk_save(docs("ma22a000", 0, 3)); // the status lists the steps docs wait at
        edw::WorkerRecord record;
        record.name = "leaving";
        record.host = edw::this_host_name();
        record.pid = ::getpid(); // alive: the record alone says what it does
        record.started = edw::utc_now_iso8601();
        record.beat = record.started;
        record.beat_every_s = 5;
        record.state = "stopping";
        record.lease_s = 30;
        record.gave_back = {"ma22a000_001", "ma22a000_007"};
        edw::write_worker(*db, "move_to_sps", record);
        const auto read = record_named(*db, "leaving");
        REQUIRE(read);
        CHECK(read->state == "stopping");
        CHECK(read->gave_back == record.gave_back);
        const auto status =
            edw::read_pipeline_status(*db, "process", std::chrono::system_clock::now());
        REQUIRE(status.steps.size() >= 1);
        std::string state;
        for (const auto& step : status.steps) {
            for (const auto& seen : step.worker_records) {
                state = seen.record.name == "leaving" ? seen.state() : state;
            }
        }
        CHECK(state == "stopping");
    }
}

TEST_SUITE_END();
