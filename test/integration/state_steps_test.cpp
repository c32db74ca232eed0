// Steps chosen by a Mango selector or a C++ predicate, recording state moves, on every backend:
// each move made once, by several workers sharing a step; refused moves are the doc's failure.
#include "conformance.hpp"

#include <edw/runtime/lease.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/status/parked_docs.hpp>
#include <edw/step/failure_log.hpp>
#include <edw/step/state_machine.hpp>
#include <edw/workflow/step_group.hpp>
#include <edw/workflow/update_document.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

TEST_SUITE_BEGIN("state steps");

namespace {

const auto ous_machine = edw::StateMachine::parse(nlohmann::json::parse(R"({
    "initial": ["ReadyForProcessing"],
    "states": {"ReadyForProcessing": ["Processing"],
               "Processing": ["ReadyForReview", "ProcessingProblem"],
               "ProcessingProblem": ["ReadyForProcessing"],
               "ReadyForReview": []}})"));

edw::RunnerOptions options_for(const std::string& listener)
{
    edw::RunnerOptions options;
    options.listener = listener;
    options.worker = listener;
    options.heartbeat = std::chrono::milliseconds(500);
    options.checkpoint_interval = std::chrono::milliseconds(0);
    options.jobs = 2;
    return options;
}

std::vector<nlohmann::json> ous_docs(int first, int count)
{
    std::vector<nlohmann::json> docs;
    for (int i = first; i < first + count; ++i) {
        docs.push_back({{"_id", "ous-" + std::to_string(100 + i)},
                        {"state", "ReadyForProcessing"},
                        {"executive", i % 2 == 0 ? "EU" : "NA"}});
    }
    return docs;
}

// Counts the callback's runs per doc, as a test of "no move made twice" must.
struct Runs {
    std::mutex mutex;
    std::map<std::string, int> per_doc;
    void add(const nlohmann::json& doc)
    {
        const std::lock_guard lock(mutex);
        ++per_doc[doc.value("_id", "")];
    }
};

std::size_t count_in_state(edw::Database& db, const std::string& state)
{
    edw::ViewQuery all;
    all.include_docs = true;
    std::size_t count = 0;
    for (const auto& row : db.all_docs(all).rows) {
        count += row.doc && row.doc->value("state", "") == state ? 1 : 0;
    }
    return count;
}

bool wait_for_state(edw::Database& db, const std::string& state, std::size_t count)
{
    for (int i = 0; i < 400; ++i) {
        if (count_in_state(db, state) >= count) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

} // namespace

TEST_CASE("a selector step and a predicate step move docs through a state machine, each move once")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-it-states");
        db->bulk_save(ous_docs(0, 20)); // waiting before the workers start

        Runs driver_runs;
        Runs review_runs;
        std::vector<std::unique_ptr<edw::StepRunner>> runners;
        std::vector<std::jthread> threads;
        // Two workers share the EU driver step through claims.
        for (int worker = 1; worker <= 2; ++worker) {
            const std::string name = "driver-EU-" + std::to_string(worker);
            edw::Step drive;
            drive.name = "process";
            drive.selection = edw::StepSelection::matching(
                {{"state", "ReadyForProcessing"}, {"executive", "EU"}});
            drive.run = [&driver_runs](const nlohmann::json& doc) {
                driver_runs.add(doc);
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                return nlohmann::json{{"to", "Processing"}, {"changes", {{"driver", "EU"}}}};
            };
            drive.record = edw::record_state_move(ous_machine, name);
            auto options = options_for(name);
            options.lease = std::chrono::seconds(5);
            runners.push_back(std::make_unique<edw::StepRunner>(*db, drive, options));
        }
        edw::Step review;
        review.name = "review";
        review.selection = edw::StepSelection::where(
            [](const nlohmann::json& doc) { return doc.value("state", "") == "Processing"; },
            "docs in Processing");
        review.run = [&review_runs](const nlohmann::json& doc) {
            review_runs.add(doc);
            return nlohmann::json{{"to", "ReadyForReview"}, {"note", "pipeline ran"}};
        };
        review.record = edw::record_state_move(ous_machine, "reviewer");
        runners.push_back(std::make_unique<edw::StepRunner>(*db, review, options_for("reviewer")));
        for (auto& runner : runners) {
            threads.emplace_back(
                [runner = runner.get()](std::stop_token stop) { runner->run(stop); });
        }
        db->bulk_save(ous_docs(20, 20)); // arriving while they run

        CHECK(wait_for_state(*db, "ReadyForReview", 20));
        for (auto& thread : threads) {
            thread.request_stop();
        }
        threads.clear();

        CHECK(count_in_state(*db, "ReadyForReview") == 20);
        CHECK(count_in_state(*db, "ReadyForProcessing") == 20); // the NA docs, untouched
        CHECK(driver_runs.per_doc.size() == 20);
        CHECK(review_runs.per_doc.size() == 20);
        for (const auto& [id, runs] : driver_runs.per_doc) {
            CHECK_MESSAGE(runs == 1, id);
        }
        for (const auto& [id, runs] : review_runs.per_doc) {
            CHECK_MESSAGE(runs == 1, id);
        }
        for (int i = 0; i < 40; ++i) {
            const auto doc = db->get("ous-" + std::to_string(100 + i));
            REQUIRE(doc.has_value());
            if (i % 2 == 1) {
                CHECK_FALSE(doc->contains("state_history"));
                continue;
            }
            CHECK((*doc)["driver"] == "EU");
            CHECK_FALSE(doc->contains(edw::claim_field));
            CHECK(ous_machine.times_moved(*doc, "ReadyForProcessing", "Processing") == 1);
            CHECK(ous_machine.times_moved(*doc, "Processing", "ReadyForReview") == 1);
            REQUIRE((*doc)["state_history"].size() == 2);
            CHECK((*doc)["state_history"][1]["note"] == "pipeline ran");
            CHECK((*doc)["state_history"][1]["by"] == "reviewer");
        }
    }
}

TEST_CASE("a move the workflow refuses, or a result that leaves the doc at its step, is a failure")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-it-states-refused");
        db->bulk_save({{{"_id", "jump"}, {"state", "ReadyForProcessing"}},
                       {{"_id", "stay"}, {"state", "Processing"}}});

        edw::Step jump;
        jump.name = "jump";
        jump.selection = edw::StepSelection::matching({{"state", "ReadyForProcessing"}});
        jump.run = [](const nlohmann::json&) { return nlohmann::json{{"to", "ReadyForReview"}}; };
        jump.record = edw::record_state_move(ous_machine, "jumper");
        edw::Step stay;
        stay.name = "stay";
        stay.selection = edw::StepSelection::matching({{"state", "Processing"}});
        stay.run = [](const nlohmann::json&) { return nlohmann::json{{"touched", true}}; };
        stay.record = [](nlohmann::json doc, const nlohmann::json& result, std::string_view) {
            doc.update(result);
            return doc;
        };
        std::vector<std::unique_ptr<edw::StepRunner>> runners;
        for (auto* step : {&jump, &stay}) {
            auto options = options_for(step->name);
            options.retry.max_attempts = 1;
            runners.push_back(std::make_unique<edw::StepRunner>(*db, *step, options));
        }
        std::vector<std::jthread> threads;
        for (auto& runner : runners) {
            threads.emplace_back(
                [runner = runner.get()](std::stop_token stop) { runner->run(stop); });
        }
        bool parked = false;
        for (int i = 0; i < 200 && !parked; ++i) {
            const auto a = db->get("jump");
            const auto b = db->get("stay");
            parked = a && b && edw::is_parked(*a) && edw::is_parked(*b);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        threads.clear();
        REQUIRE(parked);
        const auto jumped = *db->get("jump");
        CHECK(jumped["state"] == "ReadyForProcessing");
        CHECK(jumped["status"] == "failed:jump");
        CHECK(jumped[edw::failures_field][0]["message"].get<std::string>().find(
                  "ReadyForProcessing -> ReadyForReview is not allowed by the workflow") !=
              std::string::npos);
        const auto stayed = *db->get("stay");
        CHECK_FALSE(stayed.contains("touched"));
        CHECK(stayed[edw::failures_field][0]["message"].get<std::string>().find(
                  "leaves it at the step") != std::string::npos);
        CHECK(runners[0]->counts().recorded == 0);
        CHECK(runners[1]->counts().recorded == 0);
    }
}

namespace {

const auto block_machine = edw::StateMachine::parse(nlohmann::json::parse(R"({
    "initial": ["WAITING"],
    "states": {"WAITING": ["RUNNING"], "RUNNING": ["FINISHED"], "FINISHED": []}})"));

nlohmann::json block(const std::string& id, std::vector<std::string> dependencies)
{
    return {{"_id", id}, {"state", "WAITING"}, {"dependencies", dependencies}};
}

} // namespace

TEST_CASE("a step waits on the docs it depends on, and runs when the last of them is finished")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-it-dependencies");
        // A chain pb-1 <- pb-2 <- ... <- pb-5, written last first, and one block waiting on a
        // block that does not exist yet.
        for (int i = 5; i >= 1; --i) {
            std::vector<std::string> after;
            if (i > 1) {
                after.push_back("pb-" + std::to_string(i - 1));
            }
            REQUIRE(db->save(block("pb-" + std::to_string(i), after)).status ==
                    edw::SaveStatus::ok);
        }
        REQUIRE(db->save(block("pb-late", {"pb-5", "pb-missing"})).status == edw::SaveStatus::ok);

        Runs starts;
        edw::Step start;
        start.name = "start";
        start.selection = edw::StepSelection::matching({{"state", "WAITING"}});
        start.dependencies = edw::Dependencies{
            .ids =
                [](const nlohmann::json& doc) {
                    return doc.value("dependencies", std::vector<std::string>());
                },
            .ready =
                [](const nlohmann::json&,
                   const std::vector<std::optional<nlohmann::json>>& dependencies) {
                    return std::all_of(dependencies.begin(), dependencies.end(),
                                       [](const std::optional<nlohmann::json>& dependency) {
                                           return dependency &&
                                                  dependency->value("state", "") == "FINISHED";
                                       });
                }};
        start.run = [&starts](const nlohmann::json& doc) {
            starts.add(doc);
            return nlohmann::json{{"to", "RUNNING"}};
        };
        start.record = edw::record_state_move(block_machine, "controller");
        edw::Step finish;
        finish.name = "finish";
        finish.selection = edw::StepSelection::matching({{"state", "RUNNING"}});
        finish.run = [](const nlohmann::json&) { return nlohmann::json{{"to", "FINISHED"}}; };
        finish.record = edw::record_state_move(block_machine, "workflow");

        edw::StepRunner starter(*db, start, options_for("controller"));
        edw::StepRunner finisher(*db, finish, options_for("workflow"));
        std::jthread one([&](std::stop_token stop) { starter.run(stop); });
        std::jthread two([&](std::stop_token stop) { finisher.run(stop); });
        CHECK(wait_for_state(*db, "FINISHED", 5));
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        const auto late = db->get("pb-late");
        REQUIRE(late.has_value());
        CHECK(late->value("state", "") == "WAITING"); // pb-missing is not there
        REQUIRE(db->save({{"_id", "pb-missing"}, {"state", "FINISHED"}}).status ==
                edw::SaveStatus::ok);
        CHECK(wait_for_state(*db, "FINISHED", 7));
        one.request_stop();
        two.request_stop();
        one.join();
        two.join();

        std::string previous_finished;
        for (int i = 1; i <= 5; ++i) {
            const auto doc = *db->get("pb-" + std::to_string(i));
            CHECK(doc["state"] == "FINISHED");
            REQUIRE(doc["state_history"].size() == 2);
            // Each block started only after the block it depends on had finished.
            CHECK(doc["state_history"][0]["date"].get<std::string>() >= previous_finished);
            previous_finished = doc["state_history"][1]["date"].get<std::string>();
        }
        CHECK(db->get("pb-late")->value("state", "") == "FINISHED");
        CHECK(starts.per_doc.size() == 6);
        for (const auto& [id, runs] : starts.per_doc) {
            CHECK_MESSAGE(runs == 1, id);
        }
    }
}

TEST_CASE("a periodic task runs before the catch-up, then on its timer, and survives throwing")
{
    auto db = backends[1].make("edw-it-periodic");
    std::atomic<int> loads{0};
    std::atomic<bool> loaded_before_first_doc{false};
    edw::Step step;
    step.name = "define";
    step.selection = edw::StepSelection::matching({{"state", "WAITING"}});
    step.periodic.push_back(
        {.name = "reload definitions", .every = std::chrono::milliseconds(100), .run = [&loads] {
             if (++loads == 2) {
                 throw std::runtime_error("definitions file is half-written");
             }
         }});
    step.run = [&](const nlohmann::json&) {
        loaded_before_first_doc = loads > 0;
        return nlohmann::json{{"to", "RUNNING"}};
    };
    step.record = edw::record_state_move(block_machine, "controller");
    REQUIRE(db->save(block("pb-1", {})).status == edw::SaveStatus::ok);
    edw::StepRunner runner(*db, step, options_for("controller"));
    std::jthread thread([&](std::stop_token stop) { runner.run(stop); });
    CHECK(wait_for_state(*db, "RUNNING", 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    thread.request_stop();
    thread.join();
    CHECK(loaded_before_first_doc);
    CHECK(loads >= 4); // at start, then about every 100 ms, the throw at the second included
}

TEST_CASE("dependencies on a step found by its process position are refused")
{
    auto db = backends[1].make("edw-it-dependencies-refused");
    edw::Step step;
    step.name = "move_to_sps";
    step.run = [](const nlohmann::json&) { return nlohmann::json::object(); };
    step.dependencies = edw::Dependencies{
        .ids = [](const nlohmann::json&) { return std::vector<std::string>(); },
        .ready = [](const nlohmann::json&,
                    const std::vector<std::optional<nlohmann::json>>&) { return true; }};
    CHECK_THROWS_WITH_AS(edw::StepRunner(*db, step, options_for("x")),
                         doctest::Contains("dependencies need a step chosen by a selector"),
                         edw::ConfigError);
}

TEST_CASE("a step group stops all its runners when one ends with an error, and rethrows it")
{
    auto db = backends[0].make("edw-it-step-group"); // a server: position steps read its view
    edw::StepGroup group;
    edw::Step waits;
    waits.name = "waits";
    waits.selection = edw::StepSelection::matching({{"type", "never"}});
    waits.run = [](const nlohmann::json&) { return nlohmann::json::object(); };
    waits.record = edw::record_field_update("waits", "history", "test");
    group.add(*db, waits, options_for("waits"));
    // Position steps on a server catch up from the pipeline's view, which this other database
    // lacks: their shared feed fails, and the step on the first database stops too.
    auto without_view = backends[0].make("edw-it-step-group-no-view");
    for (const std::string name : {"move_to_sps", "signal_processing"}) {
        edw::Step needs_view;
        needs_view.name = name;
        if (name != "move_to_sps") {
            needs_view.follows = edw::StepPosition::after("move_to_sps");
        }
        needs_view.run = [](const nlohmann::json&) { return nlohmann::json::object(); };
        group.add(*without_view, needs_view, options_for("needs-view-" + name));
    }
    std::stop_source never;
    const auto started = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(group.run(never.get_token()), edw::Error);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
}

TEST_CASE(
    "parked state docs are found without the pipeline's design doc, and put back as they were")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-it-parked-states");
        // More than a page of docs, so that the scan goes past its first page.
        std::vector<nlohmann::json> docs;
        for (int i = 0; i < 1100; ++i) {
            nlohmann::json doc = {{"_id", "ous-" + std::to_string(10000 + i)},
                                  {"type", "ous"},
                                  {"state", "Verified"}};
            if (i % 50 == 7) {
                doc["status"] = "failed:ingest-products"; // parked: it had no status before
                doc["edw_status_before_parking"] = nullptr;
            } else if (i % 100 == 9) {
                doc["status"] = "failed:deliver"; // parked: its workflow's own status was kept
                doc["edw_status_before_parking"] = "WAITING";
            }
            docs.push_back(doc);
        }
        for (const auto& result : db->bulk_save(docs)) {
            REQUIRE(result.ok());
        }
        const auto all = edw::parked_docs(*db, "process", "");
        CHECK(all.size() == 22 + 11);
        const auto deliver = edw::parked_docs(*db, "process", "deliver");
        REQUIRE(deliver.size() == 11);
        CHECK(edw::put_back_parked(*db, deliver[0], "deliver"));
        const auto back = db->get(deliver[0]["_id"].get<std::string>());
        REQUIRE(back.has_value());
        CHECK((*back)["status"] == "WAITING");
        const auto ingest = edw::parked_docs(*db, "process", "ingest-products");
        REQUIRE(ingest.size() == 22);
        CHECK(edw::put_back_parked(*db, ingest[0], ""));
        const auto back_without = db->get(ingest[0]["_id"].get<std::string>());
        REQUIRE(back_without.has_value());
        CHECK_FALSE(back_without->contains("status"));
        CHECK(edw::parked_docs(*db, "process", "").size() == 31);
    }
}

TEST_CASE("update_document: writers editing one doc at once each get their change in")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-it-update-document");
        std::vector<std::jthread> writers;
        for (int writer = 0; writer < 4; ++writer) {
            writers.emplace_back([&] {
                for (int i = 0; i < 10; ++i) {
                    edw::update_document(
                        *db, "counter", [](const std::optional<nlohmann::json>& current) {
                            nlohmann::json next = current.value_or(nlohmann::json{{"count", 0}});
                            next["count"] = next["count"].get<int>() + 1;
                            return std::optional(next);
                        });
                }
            });
        }
        writers.clear();
        const auto counter = db->get("counter");
        REQUIRE(counter.has_value());
        CHECK((*counter)["count"] == 40); // a lost update would leave fewer
        // Nothing to write: nothing written.
        CHECK_FALSE(edw::update_document(*db, "counter", [](const auto&) {
                        return std::optional<nlohmann::json>();
                    }).has_value());
        CHECK(db->get("counter")->at("_rev") == (*counter)["_rev"]);
    }
}

TEST_SUITE_END();
