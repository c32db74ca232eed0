#include "conformance.hpp"
#include "runner_helpers.hpp"
#include "tcp_proxy.hpp"
#include "test_server.hpp"

#include <edw/app/open_database.hpp>
#include <edw/runtime/lease.hpp>
#include <edw/runtime/shard.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/step/failure_log.hpp>
#include <edw/util/utc_time.hpp>
#include <edw/workflow/edelweiss_steps.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

TEST_SUITE_BEGIN("step runner");

TEST_CASE("a runner catches up on waiting docs, then takes new ones from the feed, once each")
{
    auto db = fresh_database("edw-it-runner");
    push_process_design(*db);
    db->bulk_save(docs("ma22a000", 0, 30)); // waiting before the listener starts
    CountingStep counting;
    edw::StepRunner runner(*db, counting.step(), fast_options("newfiles"));
    std::jthread thread([&](std::stop_token stop) { runner.run(stop); });
    CHECK(wait_for_step(*db, "move_to_sps", 30));
    db->bulk_save(docs("ma22a001", 0, 30)); // arriving while it runs
    CHECK(wait_for_step(*db, "move_to_sps", 60));
    thread.request_stop();
    thread.join();
    CHECK(runner.counts().caught_up == 30);
    CHECK(runner.counts().recorded == 60);
    for (const auto& [id, count] : counting.runs) {
        CHECK_MESSAGE(count == 1, id);
    }
    const auto doc = db->get("ma22a001_007");
    REQUIRE(doc.has_value());
    REQUIRE((*doc)["process"].size() == 1);
    CHECK((*doc)["process"][0]["name"] == "move_to_sps");
    CHECK((*doc)["process"][0].contains("date"));
}

TEST_CASE(
    "a restarted runner resumes from its checkpoint and handles docs created while it was down")
{
    auto db = fresh_database("edw-it-restart");
    push_process_design(*db);
    {
        edw::StepRunner runner(*db, edw::edelweiss::move_to_sps(), fast_options("newfiles"));
        std::jthread thread([&](std::stop_token stop) { runner.run(stop); });
        db->bulk_save(docs("ma22a000", 0, 10));
        CHECK(wait_for_step(*db, "move_to_sps", 10));
    }
    const auto checkpoint = db->get(edw::StepRunner::checkpoint_id("newfiles"));
    REQUIRE(checkpoint.has_value());
    CHECK(checkpoint->contains("seq"));

    db->bulk_save(docs("ma22a001", 0, 10)); // while no listener runs
    CountingStep counting;
    edw::StepRunner runner(*db, counting.step(), fast_options("newfiles"));
    std::jthread thread([&](std::stop_token stop) { runner.run(stop); });
    CHECK(wait_for_step(*db, "move_to_sps", 20));
    // The checkpoint moves on once the feed shows everything up to the new docs handled.
    bool moved_on = false;
    for (int i = 0; i < 200 && !moved_on; ++i) {
        moved_on =
            (*db->get(edw::StepRunner::checkpoint_id("newfiles")))["seq"] != (*checkpoint)["seq"];
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(moved_on);
    thread.request_stop();
    thread.join();
    CHECK(counting.runs.size() == 10); // only the new ones
    for (const auto& [id, count] : counting.runs) {
        CHECK(id.rfind("ma22a001", 0) == 0);
        CHECK(count == 1);
    }
}

TEST_CASE("a doc changed by someone else while the step ran keeps their change and gets the entry")
{
    auto db = fresh_database("edw-it-conflict");
    push_process_design(*db);
    db->save(new_metadata_doc("ma22a000_000"));
    auto slow = edw::edelweiss::move_to_sps();
    auto inner = slow.run;
    std::atomic<bool> edited{false};
    slow.run = [&, inner](const nlohmann::json& doc) {
        // Another client writes the doc between our read and our write.
        auto theirs = *db->get(doc["_id"].get<std::string>());
        theirs["comment"] = "checked by the shift crew";
        db->save(theirs);
        edited = true;
        return inner(doc);
    };
    edw::StepRunner runner(*db, slow, fast_options("newfiles"));
    std::jthread thread([&](std::stop_token stop) { runner.run(stop); });
    CHECK(wait_for_step(*db, "move_to_sps", 1));
    thread.request_stop();
    thread.join();
    const auto doc = *db->get("ma22a000_000");
    CHECK(edited);
    CHECK(doc["comment"] == "checked by the shift crew");
    CHECK(doc["process"].size() == 1);
    CHECK(runner.counts().conflicts >= 1);
}

TEST_CASE("a failing callback leaves the doc at its step and the runner goes on")
{
    auto db = fresh_database("edw-it-failing");
    push_process_design(*db);
    auto bad = new_metadata_doc("ma22a000_000");
    bad.erase("original_file");
    db->bulk_save({bad, new_metadata_doc("ma22a000_001")});
    edw::StepRunner runner(*db, edw::edelweiss::move_to_sps(), fast_options("newfiles"));
    std::jthread thread([&](std::stop_token stop) { runner.run(stop); });
    CHECK(wait_for_step(*db, "move_to_sps", 1));
    thread.request_stop();
    thread.join();
    CHECK(runner.counts().failed == 1);
    CHECK((*db->get("ma22a000_000"))["process"].empty());
}

TEST_CASE("two steps in a row take every doc through both, in order")
{
    auto db = fresh_database("edw-it-chain");
    push_process_design(*db);
    db->bulk_save(docs("ma22a000", 0, 50));
    edw::StepRunner first(*db, edw::edelweiss::move_to_sps(), fast_options("newfiles"));
    edw::StepRunner second(*db, edw::edelweiss::signal_processing(), fast_options("analysis1"));
    std::jthread a([&](std::stop_token stop) { first.run(stop); });
    std::jthread b([&](std::stop_token stop) { second.run(stop); });
    CHECK(wait_for_step(*db, "signal_processing", 50));
    a.request_stop();
    b.request_stop();
    a.join();
    b.join();
    const auto doc = *db->get("ma22a000_049");
    REQUIRE(doc["process"].size() == 2);
    CHECK(doc["process"][0]["name"] == "move_to_sps");
    CHECK(doc["process"][1]["name"] == "signal_processing");
    CHECK(doc["process"][1]["file"] == "/sps/edelweiss/data/ma22a000_049.amp.root");
}

TEST_CASE("catch-up reads page after page while handled docs leave the view, missing none")
{
    auto db = fresh_database("edw-it-pages");
    push_process_design(*db);
    db->bulk_save(docs("ma22a000", 0, 97));
    auto options = fast_options("newfiles");
    options.catch_up_page = 5; // many pages, each read while the writer empties the range
    edw::StepRunner runner(*db, edw::edelweiss::move_to_sps(), options);
    std::jthread thread([&](std::stop_token stop) { runner.run(stop); });
    CHECK(wait_for_step(*db, "move_to_sps", 97));
    thread.request_stop();
    thread.join();
    CHECK(runner.counts().caught_up == 97);
    CHECK(runner.counts().recorded == 97);
}

TEST_CASE("four workers splitting a step by shard do each doc once, and each does its share")
{
    auto db = fresh_database("edw-it-shards");
    push_process_design(*db);
    db->bulk_save(docs("ma22a000", 0, 200)); // a backlog for the catch-up
    CountingStep counting;
    std::vector<std::unique_ptr<edw::StepRunner>> runners;
    std::vector<std::jthread> threads;
    for (unsigned k = 1; k <= 4; ++k) {
        auto options = fast_options("newfiles-shard-" + std::to_string(k));
        options.shard = edw::Shard(k, 4);
        runners.push_back(std::make_unique<edw::StepRunner>(*db, counting.step(), options));
        threads.emplace_back(
            [runner = runners.back().get()](std::stop_token stop) { runner->run(stop); });
    }
    db->bulk_save(docs("ma22a001", 0, 200)); // and more from the feed
    CHECK(wait_for_step(*db, "move_to_sps", 400));
    for (auto& thread : threads) {
        thread.request_stop();
    }
    threads.clear();
    long total = 0;
    for (const auto& runner : runners) {
        CHECK(runner->counts().recorded > 50); // about 100 each
        CHECK(runner->counts().conflicts == 0);
        total += runner->counts().recorded;
    }
    CHECK(total == 400);
    CHECK(counting.runs.size() == 400);
    for (const auto& [id, count] : counting.runs) {
        CHECK_MESSAGE(count == 1, id);
    }
}

TEST_CASE(
    "failing callbacks are recorded on the doc, retried with backoff, then parked, and put back, "
    "they finish")
{
    auto db = fresh_database("edw-it-failures");
    push_process_design(*db);
    db->bulk_save(docs("ma22a000", 0, 200));
    // About one doc in ten fails its first attempt and then works; about one in fifty always
    // fails, as a doc missing a field the step needs would.
    const auto always_fails = [](const std::string& id) { return edw::fnv1a64(id) % 50 == 7; };
    const auto fails_once = [](const std::string& id) { return edw::fnv1a64(id + "x") % 10 == 3; };
    std::mutex mutex;
    std::map<std::string, int> attempts;
    edw::Step flaky = edw::edelweiss::move_to_sps({.hostname = "test"});
    auto inner = flaky.run;
    flaky.run = [&, inner](const nlohmann::json& doc) {
        const std::string id = doc["_id"].get<std::string>();
        int attempt = 0;
        {
            const std::lock_guard lock(mutex);
            attempt = ++attempts[id];
        }
        if (always_fails(id)) {
            return nlohmann::json(doc.at("no_such_field")); // throws, as wrong input does
        }
        if (fails_once(id) && attempt == 1) {
            throw std::runtime_error("transient failure of " + id);
        }
        return inner(doc);
    };
    std::size_t doomed = 0;
    std::size_t flaky_docs = 0;
    for (int i = 0; i < 200; ++i) {
        char id[32];
        std::snprintf(id, sizeof id, "ma22a000_%03d", i);
        doomed += always_fails(id) ? 1 : 0;
        flaky_docs += !always_fails(id) && fails_once(id) ? 1 : 0;
    }
    REQUIRE(doomed > 0);
    REQUIRE(flaky_docs > 5);

    auto options = fast_options("flaky");
    options.retry.max_attempts = 3;
    options.retry.first_delay = std::chrono::milliseconds(50);
    options.retry.max_delay = std::chrono::milliseconds(200);
    {
        edw::StepRunner runner(*db, flaky, options);
        std::jthread thread([&](std::stop_token stop) { runner.run(stop); });
        CHECK(wait_for_step(*db, "move_to_sps", 200 - doomed));
        // The doomed docs use their three attempts, 50 and 100 ms apart.
        for (int i = 0; i < 100 && runner.counts().parked < static_cast<long>(doomed); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        CHECK(runner.counts().parked == static_cast<long>(doomed));
        CHECK(runner.counts().recorded == static_cast<long>(200 - doomed));
        CHECK(runner.counts().failed == static_cast<long>(flaky_docs + 3 * doomed));
    }
    std::size_t parked_seen = 0;
    for (const auto& [id, count] : attempts) {
        const auto doc = db->get(id);
        REQUIRE(doc.has_value());
        if (always_fails(id)) {
            ++parked_seen;
            CHECK(count == 3);
            CHECK((*doc)["status"] == "failed:move_to_sps");
            CHECK((*doc)["process"].empty());
            REQUIRE((*doc)[edw::failures_field].size() == 3);
            const auto& last = (*doc)[edw::failures_field][2];
            CHECK(last["attempt"] == 3);
            CHECK(last["parked"] == true);
            CHECK(last["worker"].get<std::string>().find("/flaky") != std::string::npos);
            CHECK(last["message"].get<std::string>().find("no_such_field") != std::string::npos);
        } else {
            CHECK(count == (fails_once(id) ? 2 : 1));
            CHECK((*doc)["status"] == "good");
            REQUIRE((*doc)["process"].size() == 1);
            CHECK(doc->value(edw::failures_field, nlohmann::json::array()).size() ==
                  (fails_once(id) ? 1U : 0U));
        }
    }
    CHECK(parked_seen == doomed);

    // Put back (what `edw retry --all-failed` does), with a step that now works.
    for (const auto& [id, count] : attempts) {
        if (always_fails(id)) {
            auto back = edw::put_back(*db->get(id), edw::utc_now_iso8601());
            REQUIRE(back.has_value());
            REQUIRE(db->save(*back).status == edw::SaveStatus::ok);
        }
    }
    CountingStep fixed;
    edw::StepRunner runner(*db, fixed.step(), options);
    std::jthread thread([&](std::stop_token stop) { runner.run(stop); });
    CHECK(wait_for_step(*db, "move_to_sps", 200));
    thread.request_stop();
    thread.join();
    CHECK(fixed.runs.size() == doomed); // only the parked docs ran again
}

TEST_CASE("a result too large for the server fails its doc alone: the batch's others are recorded")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        if (skipped(backend, backend.no_max_document_size)) {
            continue;
        }
        auto db = backend.make("edw-it-toolarge");
        push_process_design(*db);
        CountingStep counting;
        auto step = counting.step();
        step.run = [inner = step.run](const nlohmann::json& doc) {
            auto result = inner(doc);
            if (doc["_id"] == "ma22a000_004") {
                result["log"] = std::string(8'100'000, 'x'); // over CouchDB's max_document_size
            }
            return result;
        };
        auto options = fast_options("toolarge");
        options.jobs = 1;
        edw::StepRunner runner(*db, step, options);
        db->bulk_save(docs("ma22a000", 0, 10)); // one batch when the runner catches up
        std::jthread thread([&](std::stop_token stop) { runner.run(stop); });
        CHECK(wait_for_step(*db, "move_to_sps", 9));
        db->bulk_save(docs("ma22a001", 0, 5)); // and it goes on
        CHECK(wait_for_step(*db, "move_to_sps", 14));
        thread.request_stop();
        thread.join();
        CHECK((*db->get("ma22a000_004"))["process"].empty());
        CHECK(runner.counts().recorded == 14);
        CHECK(runner.counts().failed == 1);
    }
}

TEST_CASE("through a proxy that cuts, delays and truncates, both steps do every doc once")
{
    auto direct = fresh_database("edw-it-chaos");
    push_process_design(*direct);
    auto settings = test_settings("edw-it-chaos");
    TcpProxy proxy(settings.server.port());
    settings.server = edw::Url::parse("http://127.0.0.1:" + std::to_string(proxy.port()));
    auto db = edw::open_database(settings);

    CountingStep first;
    CountingStep second;
    auto second_step = second.step();
    second_step.name = "signal_processing";
    second_step.follows = edw::StepPosition::after("move_to_sps");
    second_step.run = [&second,
                       inner = edw::edelweiss::signal_processing({.hostname = "test"}).run](
                          const nlohmann::json& doc) {
        {
            const std::lock_guard lock(second.mutex);
            ++second.runs[doc["_id"].get<std::string>()];
        }
        return inner(doc);
    };
    edw::StepRunner newfiles(*db, first.step(), fast_options("chaos-newfiles"));
    edw::StepRunner analysis(*db, second_step, fast_options("chaos-analysis"));
    std::jthread one([&](std::stop_token stop) { newfiles.run(stop); });
    std::jthread two([&](std::stop_token stop) { analysis.run(stop); });

    std::atomic<bool> calm{false};
    std::jthread chaos([&](std::stop_token stop) {
        for (int round = 0; !stop.stop_requested() && !calm; ++round) {
            std::this_thread::sleep_for(std::chrono::milliseconds(150));
            switch (round % 4) {
            case 0:
                proxy.cut_all();
                break;
            case 1:
                proxy.set_delay(std::chrono::milliseconds(40));
                break;
            case 2:
                proxy.set_delay(std::chrono::milliseconds(0));
                proxy.truncate_next(2);
                break;
            default:
                break;
            }
        }
        proxy.set_delay(std::chrono::milliseconds(0));
    });
    for (int batch = 0; batch < 6; ++batch) {
        direct->bulk_save(docs("ma22a01" + std::to_string(batch), 0, 50));
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    std::this_thread::sleep_for(std::chrono::seconds(2)); // more chaos while the work goes on
    calm = true;
    chaos.join();
    CHECK(wait_for_step(*direct, "signal_processing", 300));
    one.request_stop();
    two.request_stop();
    one.join();
    two.join();
    MESSAGE("chaos: " << proxy.connections() << " connections, " << proxy.truncated()
                      << " truncated responses; conflicts resolved "
                      << newfiles.counts().conflicts.load() + analysis.counts().conflicts.load()
                      << ", results dropped as already recorded "
                      << newfiles.counts().dropped.load() + analysis.counts().dropped.load());
    CHECK(proxy.truncated() > 0);
    CHECK(proxy.connections() > 10);
    edw::ViewQuery all;
    all.include_docs = true;
    int wrong = 0;
    int total = 0;
    for (const auto& row : direct->all_docs(all).rows) {
        if (row.id.rfind("_design/", 0) == 0) {
            continue;
        }
        ++total;
        std::string names;
        for (const auto& entry : (*row.doc)["process"]) {
            names += entry["name"].get<std::string>() + ",";
        }
        wrong += names == "move_to_sps,signal_processing," ? 0 : 1;
    }
    CHECK(total == 300);
    CHECK(wrong == 0);
    CHECK(first.runs.size() == 300);
    CHECK(second.runs.size() == 300);
}

TEST_CASE("connections silently dropped on the way: the feed and the writes recover within seconds")
{
    auto direct = fresh_database("edw-it-dropped");
    push_process_design(*direct);
    auto settings = test_settings("edw-it-dropped"); // heartbeat 1 s: silence limit 2.25 s
    settings.request_timeout = std::chrono::seconds(30);
    TcpProxy proxy(settings.server.port());
    settings.server = edw::Url::parse("http://127.0.0.1:" + std::to_string(proxy.port()));
    auto db = edw::open_database(settings);
    CountingStep first;
    auto options = fast_options("dropped");
    options.heartbeat = settings.heartbeat;
    edw::StepRunner runner(*db, first.step(), options);
    std::jthread worker([&](std::stop_token stop) { runner.run(stop); });
    direct->bulk_save(docs("ma22a020", 0, 20));
    REQUIRE(wait_for_step(*direct, "move_to_sps", 20));

    // Every connection open now, the feed's and the kept-alive ones the writes use, goes silent.
    // Several kept-alive connections in the pool, as a busy listener has.
    {
        std::vector<std::jthread> readers;
        for (int i = 0; i < 6; ++i) {
            readers.emplace_back([&db] {
                for (int j = 0; j < 5; ++j) {
                    (void)db->get("ma22a020_000");
                }
            });
        }
    }
    proxy.silence_open_connections();
    const auto start = std::chrono::steady_clock::now();
    direct->bulk_save(docs("ma22a021", 0, 20));
    const bool done = wait_for_step(*direct, "move_to_sps", 40);
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
    worker.request_stop();
    worker.join();
    MESSAGE("recovered in " << took.count() << " s through " << proxy.connections()
                            << " connections");
    CHECK(done);
    // The feed notices after 2.25 s; a write on a dead kept-alive connection used to wait for
    // the whole request timeout (30 s) before it was sent again.
    CHECK(took < std::chrono::seconds(15));
    CHECK(first.runs.size() == 40);
}

TEST_CASE("untrusted docs (nested too deep, huge, odd process arrays) are that doc's problem only")
{
    auto db = fresh_database("edw-it-untrusted");
    push_process_design(*db);
    edw::StepRunner runner(*db, edw::edelweiss::move_to_sps({.hostname = "test"}), [] {
        auto options = fast_options("untrusted");
        options.retry.max_attempts = 1;
        return options;
    }());
    std::jthread thread([&](std::stop_token stop) { runner.run(stop); });
    db->bulk_save(docs("ma22a020", 0, 10));
    // Deeper than the feed parser goes (simdjson stops at 1024 levels).
    std::string deep(3000, '[');
    deep += std::string(3000, ']');
    auto nested = new_metadata_doc("ma22a021_000");
    nested["deep"] = nlohmann::json::parse(deep);
    auto huge = new_metadata_doc("ma22a021_001");
    // 7 MB: CouchDB 3 refuses docs over max_document_size, 8,000,000 bytes by default (413).
    huge["notes"] = std::string(7'000'000, 'n');
    auto odd_process = new_metadata_doc("ma22a021_002");
    odd_process["process"] = "not an array";
    auto odd_name = new_metadata_doc("ma22a021_003");
    odd_name["process"] = nlohmann::json::array({{{"name", 42}}});
    auto no_file = new_metadata_doc("ma22a021_004");
    no_file.erase("original_file");
    for (const auto& doc : {nested, huge, odd_process, odd_name, no_file}) {
        REQUIRE(db->save(doc).status == edw::SaveStatus::ok);
    }
    db->bulk_save(docs("ma22a022", 0, 10)); // after the odd ones: the listener must go on
    CHECK(wait_for_step(*db, "move_to_sps", 21));
    thread.request_stop();
    thread.join();
    CHECK((*db->get("ma22a022_009"))["process"].size() == 1);
    CHECK((*db->get("ma22a021_001"))["process"].size() == 1); // huge is fine
    CHECK((*db->get("ma22a021_004"))["status"] == "failed:move_to_sps");
    CHECK((*db->get("ma22a021_002"))["process"] == "not an array");
}

TEST_CASE("a callback stuck past --step-timeout is given up: its doc fails, the others go on")
{
    auto db = fresh_database("edw-it-stuck");
    push_process_design(*db);
    std::atomic<bool> release_stuck{false};
    edw::Step step = edw::edelweiss::move_to_sps({.hostname = "test"});
    step.run = [&release_stuck, inner = step.run](const nlohmann::json& doc) {
        if (doc["_id"] == "ma22a030_003") {
            while (!release_stuck) { // stuck until the test lets it go
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        }
        return inner(doc);
    };
    auto options = fast_options("stuck");
    options.jobs = 1; // one thread: without the timeout, the stuck doc would hold up the rest
    options.step_timeout = std::chrono::milliseconds(300);
    options.retry.max_attempts = 1;
    edw::StepRunner runner(*db, step, options);
    std::jthread thread([&](std::stop_token stop) { runner.run(stop); });
    db->bulk_save(docs("ma22a030", 0, 10));
    CHECK(wait_for_step(*db, "move_to_sps", 9));
    std::optional<nlohmann::json> stuck;
    for (int i = 0; i < 100; ++i) {
        stuck = db->get("ma22a030_003");
        if (stuck && stuck->value("status", "") != "good") {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(stuck.has_value());
    CHECK((*stuck)["status"] == "failed:move_to_sps");
    CHECK((*stuck)[edw::failures_field][0]["message"].get<std::string>().find("--step-timeout") !=
          std::string::npos);
    release_stuck = true; // its late result must be dropped
    thread.request_stop();
    thread.join();
    CHECK((*db->get("ma22a030_003"))["process"].empty());
    CHECK(runner.counts().recorded == 9);
}

TEST_SUITE_END();
