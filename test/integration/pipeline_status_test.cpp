// PipelineStatus on a fixture database with known counts, on every backend: the EDELWEISS design
// doc as pushed by edw design push, and docs at every place a doc can be.
#include "conformance.hpp"

#include <edw/design/design_doc.hpp>
#include <edw/runtime/rerun_campaign.hpp>
#include <edw/status/pipeline_status.hpp>
#include <edw/status/state_counts.hpp>
#include <edw/util/error.hpp>
#include <edw/util/utc_time.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#ifndef EDW_SOURCE_DIR
#define EDW_SOURCE_DIR "."
#endif

TEST_SUITE_BEGIN("pipeline status");

namespace {

const auto now = *edw::parse_iso8601("2026-12-02T12:00:00.000Z");

nlohmann::json entry(const std::string& name, const std::string& time)
{
    return {{"name", name}, {"date", "2026-12-02T" + time + ".000Z"}};
}

nlohmann::json file_doc(const std::string& id, nlohmann::json process)
{
    return {{"_id", id},
            {"status", "good"},
            {"conditions", {{"temperature", 0.016}}},
            {"process", std::move(process)}};
}

std::vector<nlohmann::json> fixture_docs()
{
    auto n1 = file_doc("n1", nlohmann::json::array());
    n1["datecreated"] = 1796209200; // 2026-12-02T11:00:00Z: waiting for an hour
    auto m1 = file_doc("m1", {entry("move_to_sps", "11:50:00")});
    auto m3 = file_doc("m3", {entry("move_to_sps", "11:59:30")});
    m3["edw_claim"] = {{"worker", "h:1/listen_analysis1"},
                       {"step", "signal_processing"},
                       {"until", "2026-12-02T12:05:00.000Z"}};
    auto m2 = file_doc("m2", {entry("move_to_sps", "11:59:30")});
    // A claim that ran out: its worker died, the doc waits again.
    m2["edw_claim"] = {{"worker", "h:2/listen_analysis1"},
                       {"step", "signal_processing"},
                       {"until", "2026-12-02T11:00:00.000Z"}};
    auto f1 = file_doc("f1", nlohmann::json::array());
    f1["status"] = "failed:move_to_sps";
    f1["edw_failures"] = {{{"step", "move_to_sps"},
                           {"attempt", 5},
                           {"time", "2026-12-02T11:30:00.000Z"},
                           {"message", "boom"},
                           {"parked", true}}};
    auto r1 = file_doc("r1", nlohmann::json::array());
    r1["edw_failures"] = {{{"step", "move_to_sps"},
                           {"attempt", 1},
                           {"time", "2026-12-02T11:59:00.000Z"},
                           {"retry_at", "2026-12-02T12:01:00.000Z"},
                           {"message", "flaky"}}};
    // Failed once, then passed the step: not retrying any more.
    auto r2 = file_doc("r2", {entry("move_to_sps", "11:55:00")});
    r2["edw_failures"] = r1["edw_failures"];
    return {
        n1,
        file_doc("n2", nlohmann::json::array()),
        m1,
        m2,
        m3,
        f1,
        r1,
        r2,
        file_doc("s1", {entry("move_to_sps", "11:40:00"), entry("signal_processing", "11:58:10")}),
        file_doc("s2", {entry("move_to_sps", "10:00:00"), entry("signal_processing", "11:58:10")}),
        // A step the design doc does not declare (retired), seen in this doc alone.
        file_doc("x1", {entry("move_to_sps", "11:40:00"), entry("signal_processing", "11:45:00"),
                        entry("archive", "11:59:59")}),
        {{"_id", "not-a-file"}, {"kind", "note"}},
    };
}

std::unique_ptr<edw::Database> fixture(const Backend& backend)
{
    auto db = backend.make("edw-pipeline-status");
    REQUIRE(db->save(edw::build_design_doc(std::string(EDW_SOURCE_DIR) + "/design-docs/process"))
                .status == edw::SaveStatus::ok);
    for (const auto& result : db->bulk_save(fixture_docs())) {
        REQUIRE(result.ok());
    }
    return db;
}

const edw::StepStatus& step_named(const edw::PipelineStatus& status, const std::string& name)
{
    for (const auto& step : status.steps) {
        if (step.step.name == name) {
            return step;
        }
    }
    FAIL("no step " << name);
    throw std::logic_error("unreachable");
}

} // namespace

TEST_CASE("the status of each step: waiting, running, retrying, failed, done, oldest, throughput")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = fixture(backend);
        const auto status = edw::read_pipeline_status(*db, "process", now);

        REQUIRE(status.steps.size() == 3);
        CHECK(status.steps[0].step.name == "move_to_sps");
        CHECK(status.steps[1].step.name == "signal_processing");
        CHECK(status.steps[2].step.name == "archive");
        CHECK(status.steps[0].declared);
        CHECK_FALSE(status.steps[2].declared);

        const auto& move = step_named(status, "move_to_sps");
        CHECK(move.step.after == 0);
        CHECK(move.waiting == 2); // n1, n2 (r1 is retrying)
        CHECK(move.retrying == 1);
        CHECK(move.failed == 1);
        CHECK(move.in_progress_total() == 0);
        CHECK(move.done == 7);
        CHECK(move.oldest_waiting_since == "2026-12-02T11:00:00.000Z");
        CHECK(move.oldest_waiting_seconds == doctest::Approx(3600));
        CHECK(move.done_in_last(5) == 2);  // m2, m3
        CHECK(move.done_in_last(60) == 6); // not s2's, at 10:00
        REQUIRE(move.done_per_minute.size() == 60);
        CHECK(move.done_per_minute[49] == 1); // r2 at 11:55, the 50th minute from 11:01

        const auto& signal = step_named(status, "signal_processing");
        CHECK(signal.step.after == "move_to_sps");
        CHECK(signal.waiting == 3); // m1, m2 (claim expired), r2
        REQUIRE(signal.in_progress.size() == 1);
        CHECK(signal.in_progress[0].worker == "h:1/listen_analysis1");
        CHECK(signal.in_progress[0].docs == 1);
        CHECK(signal.done == 3);
        CHECK(signal.done_in_last(5) == 2);
        CHECK(signal.oldest_waiting_seconds == doctest::Approx(600));

        // Not in the declared pipeline: retired, so no doc waits for it and x1 is stranded.
        const auto& archive = step_named(status, "archive");
        CHECK(archive.retired);
        CHECK(archive.step.after.is_null());
        CHECK(archive.waiting == 0);
        CHECK(archive.done == 1);
        CHECK_FALSE(archive.oldest_waiting_since);

        CHECK(status.positions.at("0") == 3);
        CHECK(status.positions.at("move_to_sps") == 4);
        CHECK(status.finished == 2); // s1, s2, past signal_processing
        CHECK(status.stranded.at("archive") == 1);

        const auto json = edw::to_json(status);
        CHECK(json["steps"][1]["in_progress"] == 1);
        CHECK(json["steps"][0]["done_last_60_min"] == 6);
        CHECK(json["finished"] == 2);
        CHECK(json["steps"][2]["retired"] == true);
    }
}

TEST_CASE("docs no step can take are counted with the reason, and an unknown step is no step")
{
    const std::vector<nlohmann::json> shapes = {
        "moved",
        nlohmann::json::object(),
        42,
        nullptr,
        nlohmann::json::array({{{"date", "2026-12-02T11:00:00.000Z"}}}),
        nlohmann::json::array({{{"name", ""}}}),
        nlohmann::json::array({{{"name", 7}}}),
        nlohmann::json::array({nlohmann::json::array({{{"name", "move_to_sps"}}})}),
    };
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-pipeline-status-unroutable");
        REQUIRE(
            db->save(edw::build_design_doc(std::string(EDW_SOURCE_DIR) + "/design-docs/process"))
                .status == edw::SaveStatus::ok);
        std::vector<nlohmann::json> docs = {
            file_doc("new", nlohmann::json::array()),
            file_doc("done",
                     {entry("move_to_sps", "11:00:00"), entry("signal_processing", "11:01:00")}),
            // Written by hand, or by a step that no longer exists.
            file_doc("lost", {entry("nonexistent_step", "11:02:00")}),
        };
        for (std::size_t i = 0; i < shapes.size(); ++i) {
            docs.push_back(file_doc("u" + std::to_string(i), shapes[i]));
        }
        for (const auto& result : db->bulk_save(docs)) {
            REQUIRE(result.ok());
        }
        const auto status = edw::read_pipeline_status(*db, "process", now);
        CHECK(status.unroutable.at("process is not an array") == 4);
        CHECK(status.unroutable.at("the last process entry has no name") == 4);
        CHECK(status.finished == 1); // "done" alone
        REQUIRE(status.stranded.size() == 1);
        CHECK(status.stranded.at("nonexistent_step") == 1);
        CHECK(step_named(status, "move_to_sps").waiting == 1); // "new"
        const auto& unknown = step_named(status, "nonexistent_step");
        CHECK(unknown.step.after.is_null()); // move_to_sps takes the new docs
        CHECK(unknown.waiting == 0);
        CHECK(unknown.done == 1);
        const auto json = edw::to_json(status);
        CHECK(json["finished"] == 1);
        CHECK(json["stranded"]["nonexistent_step"] == 1);
        CHECK(json["unroutable"]["process is not an array"] == 4);

        const auto page = edw::list_docs(*db, "process", {}, edw::DocList::unroutable, 0, 100);
        CHECK(page.total == 8);
        REQUIRE(page.rows.size() == 8);
        CHECK(page.rows[0].detail.is_string());
    }
}

TEST_CASE("one status is one state of the store, even while docs pass the steps meanwhile")
{
    // The embedded store: its index moves only when a query asks, so each count of a status
    // read while writes go on would otherwise see another state ("done 12060" next to "last
    // hour 100000").
    const auto& backend = backends[1];
    REQUIRE(std::string(backend.name) == "embedded");
    auto db = backend.make("edw-pipeline-status-snapshot");
    REQUIRE(db->save(edw::build_design_doc(std::string(EDW_SOURCE_DIR) + "/design-docs/process"))
                .status == edw::SaveStatus::ok);
    std::atomic<bool> writing{true};
    std::thread writer([&] {
        for (int batch = 0; batch < 2000 && writing; ++batch) {
            std::vector<nlohmann::json> docs;
            const auto time = edw::iso8601(std::chrono::system_clock::now());
            for (int i = 0; i < 20; ++i) {
                docs.push_back(file_doc("b" + std::to_string(batch) + "-" + std::to_string(i),
                                        {{{"name", "move_to_sps"}, {"date", time}},
                                         {{"name", "signal_processing"}, {"date", time}}}));
            }
            (void)db->bulk_save(docs);
        }
    });
    int inconsistent = 0;
    for (int read = 0; read < 15; ++read) {
        const auto status =
            edw::read_pipeline_status(*db, "process", std::chrono::system_clock::now());
        for (const auto& step : status.steps) {
            // Every doc was done within the hour: the two counts come from one state or differ.
            inconsistent += step.done == step.done_in_last(edw::throughput_minutes) ? 0 : 1;
        }
        inconsistent += status.finished == step_named(status, "signal_processing").done ? 0 : 1;
    }
    writing = false;
    writer.join();
    CHECK(inconsistent == 0);
}

namespace {

// A campaign of signal_processing started `minutes_ago` before the fixture's time.
edw::RerunCampaign campaign_of(const std::string& id, int minutes_ago, const std::string& state)
{
    edw::RerunCampaign campaign;
    campaign.id = id;
    campaign.criteria.step = "signal_processing";
    campaign.criteria.selector = nlohmann::json{{"run", "r"}};
    campaign.reason = "new calibration";
    campaign.by = "tester@host";
    edw::run_here(campaign); // this process: a running one is alive
    campaign.started = edw::iso8601(now - std::chrono::minutes(minutes_ago));
    campaign.updated = edw::iso8601(now - std::chrono::seconds(5));
    campaign.state = state;
    campaign.total = 12;
    campaign.scanned = state == "running" ? 6 : 12;
    campaign.sent_back = 3;
    return campaign;
}

nlohmann::json rerun_item(const std::string& campaign)
{
    return {{"campaign", campaign},
            {"step", "signal_processing"},
            {"date", "2026-12-02T11:50:00.000Z"},
            {"entries", nlohmann::json::array({entry("signal_processing", "11:00:00")})}};
}

} // namespace

TEST_CASE("reruns: running ones and the newest others, with their docs run again counted")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = fixture(backend);
        // Three docs sent back by "live": one has passed signal_processing again, one waits for
        // it; one was sent back by "old" before "live" sent it back again (it counts for live).
        auto again = file_doc(
            "a1", {entry("move_to_sps", "10:00:00"), entry("signal_processing", "11:55:00")});
        again["edw_reruns"] = nlohmann::json::array({rerun_item("live")});
        auto waits = file_doc("a2", {entry("move_to_sps", "10:00:00")});
        waits["edw_reruns"] = nlohmann::json::array({rerun_item("live")});
        auto twice = file_doc(
            "a3", {entry("move_to_sps", "10:00:00"), entry("signal_processing", "11:56:00")});
        twice["edw_reruns"] = nlohmann::json::array({rerun_item("old"), rerun_item("live")});
        auto by_old = file_doc(
            "a4", {entry("move_to_sps", "10:00:00"), entry("signal_processing", "11:57:00")});
        by_old["edw_reruns"] = nlohmann::json::array({rerun_item("old")});
        for (const auto& result : db->bulk_save({again, waits, twice, by_old})) {
            REQUIRE(result.ok());
        }
        // A week and a day ago: not shown. Then 12 finished ones: the newest 10 shown.
        edw::write_campaign(*db, campaign_of("old", 8 * 24 * 60, "done"));
        for (int i = 0; i < 12; ++i) {
            edw::write_campaign(*db, campaign_of("done-" + std::to_string(i), 100 - i, "done"));
        }
        edw::write_campaign(*db, campaign_of("live", 200, "running"));
        auto stale = campaign_of("stale", 300, "running");
        stale.updated = edw::iso8601(now - std::chrono::minutes(5)); // its process went silent
        edw::write_campaign(*db, stale);

        const auto status = edw::read_pipeline_status(*db, "process", now);
        std::vector<std::string> ids;
        for (const auto& rerun : status.reruns) {
            ids.push_back(rerun.campaign.id);
        }
        // Oldest first as listed; "stale", interrupted now, is one of the 10 newest finished.
        CHECK(ids == std::vector<std::string>{"done-3", "done-4", "done-5", "done-6", "done-7",
                                              "done-8", "done-9", "done-10", "done-11", "live",
                                              "stale"});
        REQUIRE(status.reruns.size() == 11);
        const auto& live = status.reruns[9];
        CHECK(live.state == "running");
        CHECK(live.marked == 3);
        CHECK(live.run_again == 2);
        CHECK(status.reruns[10].state == "interrupted");
        CHECK(status.reruns[10].marked == 0);

        const auto json = edw::to_json(status);
        REQUIRE(json["reruns"].size() == 11);
        CHECK(json["reruns"][9]["campaign"] == "live");
        CHECK(json["reruns"][9]["step"] == "signal_processing");
        CHECK(json["reruns"][9]["run_again"] == 2);
        CHECK(json["reruns"][9]["marked"] == 3);
        CHECK(json["reruns"][9]["scanned"] == 6);
        CHECK(json["reruns"][9]["total"] == 12);
        CHECK(json["reruns"][10]["state"] == "interrupted");
        CHECK(json["reruns"][10]["recorded_state"] == "running");
    }
}

TEST_CASE("pages of the waiting and failed docs of a step, oldest first")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = fixture(backend);
        const edw::PipelineStep signal{.name = "signal_processing", .after = "move_to_sps"};
        const auto first = edw::list_docs(*db, "process", signal, edw::DocList::waiting, 0, 2);
        CHECK(first.total == 4);
        REQUIRE(first.rows.size() == 2);
        CHECK(first.rows[0].id == "m1");
        CHECK(first.rows[1].id == "r2");
        const auto next = edw::list_docs(*db, "process", signal, edw::DocList::waiting, 2, 2);
        REQUIRE(next.rows.size() == 2);
        CHECK(next.rows[0].id == "m2");
        CHECK(next.rows[1].id == "m3");

        const edw::PipelineStep move{.name = "move_to_sps", .after = 0};
        const auto failed = edw::list_docs(*db, "process", move, edw::DocList::failed, 0, 10);
        CHECK(failed.total == 1);
        REQUIRE(failed.rows.size() == 1);
        CHECK(failed.rows[0].id == "f1");
        CHECK(failed.rows[0].detail["message"] == "boom");
        CHECK(failed.rows[0].detail["attempt"] == 5);
        const auto retrying = edw::list_docs(*db, "process", move, edw::DocList::retrying, 0, 10);
        REQUIRE(retrying.rows.size() == 1);
        CHECK(retrying.rows[0].id == "r1");
        CHECK(retrying.rows[0].since == "2026-12-02T12:01:00.000Z");
    }
}

TEST_CASE("status without the steps view says which design doc to push")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-pipeline-status-bare");
        CHECK_THROWS_WITH_AS(edw::read_pipeline_status(*db, "process", now),
                             doctest::Contains("edw design push design-docs/process"),
                             edw::ConfigError);
        REQUIRE(db->save({{"_id", "_design/process"},
                          {"views", {{"lastproc", {{"map", "function (doc) {}"}}}}}})
                    .status == edw::SaveStatus::ok);
        CHECK_THROWS_WITH_AS(edw::read_pipeline_status(*db, "process", now),
                             doctest::Contains("has no view 'steps'"), edw::ConfigError);
    }
}

TEST_CASE("a pipeline declaration: names in order, or {name, after}, and mistakes refused")
{
    const auto steps = edw::parse_pipeline(nlohmann::json::parse(
        R"(["a", "b", {"name": "c", "after": "a"}, {"name": "d"}, {"name": "e", "after": 0}])"));
    REQUIRE(steps.size() == 5);
    CHECK(steps[0].after == 0);
    CHECK(steps[1].after == "a");
    CHECK(steps[2].after == "a");
    CHECK(steps[3].after == "c");
    CHECK(steps[4].after == 0);
    CHECK_THROWS_WITH_AS(edw::parse_pipeline({"a", "a"}), doctest::Contains("declared twice"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::parse_pipeline(nlohmann::json::parse(R"([["a", 1]])")),
                         doctest::Contains("neither a step name"), edw::ConfigError);
    CHECK_THROWS_WITH_AS(
        edw::parse_pipeline(nlohmann::json::parse(R"([{"name": "a", "after": 3}])")),
        doctest::Contains("after must be a step name or 0"), edw::ConfigError);
    CHECK_THROWS_AS(edw::parse_pipeline(nlohmann::json::object()), edw::ConfigError);
}

TEST_CASE("state counts from a workflow's states view, in its declared order")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-pipeline-status-states");
        CHECK_FALSE(edw::read_state_counts(*db).has_value());
        // A workflow of states alone: the status has its groups and no steps.
        REQUIRE(db->save({{"_id", "_design/states"},
                          {"views",
                           {{"states",
                             {{"map", "function (doc) { if (doc.type === 'ous') "
                                      "emit(['ous', doc.state], null); "
                                      "if (doc.type === 'item') emit([doc.queue, doc.state], "
                                      "null); }"},
                              {"reduce", "_count"}}}}},
                          {edw::states_field,
                           {{{"group", "ous"},
                             {"states", {"ReadyForProcessing", "Processing", "Delivered"}}}}}})
                    .status == edw::SaveStatus::ok);
        std::vector<nlohmann::json> docs;
        for (int i = 0; i < 5; ++i) {
            docs.push_back({{"_id", "ous-" + std::to_string(i)},
                            {"type", "ous"},
                            {"state", i < 3 ? "Processing" : "Reviewing"}});
        }
        docs.push_back(
            {{"_id", "item-1"}, {"type", "item"}, {"queue", "ingest"}, {"state", "done"}});
        docs.push_back({{"_id", "other"}, {"type", "note"}});
        for (const auto& result : db->bulk_save(docs)) {
            REQUIRE(result.ok());
        }
        const auto status = edw::read_pipeline_status(*db, "process", now);
        CHECK(status.steps.empty());
        REQUIRE(status.states.size() == 2);
        const auto& ous = status.states[0];
        CHECK(ous.group == "ous");
        CHECK(ous.total() == 5);
        REQUIRE(ous.states.size() == 4);
        CHECK(ous.states[0].state == "ReadyForProcessing");
        CHECK(ous.states[0].docs == 0); // declared, so shown, with none there
        CHECK(ous.states[1].state == "Processing");
        CHECK(ous.states[1].docs == 3);
        CHECK(ous.states[2].state == "Delivered");
        CHECK(ous.states[3].state == "Reviewing"); // not declared: after the declared ones
        CHECK(ous.states[3].docs == 2);
        CHECK(status.states[1].group == "ingest");
        CHECK(status.states[1].states.at(0).docs == 1);
        const auto json = edw::to_json(status);
        CHECK(json["states"][0]["states"][1] ==
              nlohmann::json{{"state", "Processing"}, {"docs", 3}});
    }
}

TEST_CASE("a states declaration: groups with states in order, and mistakes refused")
{
    const auto groups = edw::parse_states_declaration(
        nlohmann::json::parse(R"([{"group": "ous", "states": ["a", "b"]}, {"group": "q"}])"));
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].states.size() == 2);
    CHECK(groups[1].states.empty());
    CHECK_THROWS_WITH_AS(edw::parse_states_declaration(nlohmann::json::object()),
                         doctest::Contains("not an array"), edw::ConfigError);
    CHECK_THROWS_WITH_AS(
        edw::parse_states_declaration(nlohmann::json::parse(R"([{"group": "a"}, {"group": "a"}])")),
        doctest::Contains("declared twice"), edw::ConfigError);
    CHECK_THROWS_WITH_AS(
        edw::parse_states_declaration(nlohmann::json::parse(R"([{"group": "a", "states": [1]}])")),
        doctest::Contains("is not text"), edw::ConfigError);
    CHECK_THROWS_WITH_AS(
        edw::parse_states_declaration(nlohmann::json::parse(R"([{"states": []}])")),
        doctest::Contains("without a name"), edw::ConfigError);
}

TEST_SUITE_END();
