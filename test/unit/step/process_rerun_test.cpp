// ProcessRerun: which docs a rerun chooses, and what sending one back does to it.
#include "edw/step/process_rerun.hpp"

#include <edw/step/failure_log.hpp>
#include <edw/step/process_log.hpp>
#include <edw/util/error.hpp>

#include <doctest/doctest.h>

TEST_SUITE_BEGIN("process rerun");

namespace {

nlohmann::json entry(const std::string& name, const std::string& date, const std::string& version)
{
    return {{"name", name}, {"date", date}, {"step_version", version}, {"file", name + ".out"}};
}

// A doc that has passed both EDELWEISS steps, and a third one.
nlohmann::json passed_doc()
{
    return {{"_id", "ma22a000_001"},
            {"_rev", "4-abc"},
            {"status", "good"},
            {"run", "ma22a000"},
            {"conditions", {{"t", 1}}},
            {"process",
             {entry("move_to_sps", "2026-11-30T10:00:00.000Z", "1.0"),
              entry("signal_processing", "2026-11-30T10:00:01.000Z", "1.2 (git 3da8958)"),
              entry("checksum", "2026-11-30T10:00:02.000Z", "1.0")}}};
}

edw::RerunChooser chooser(edw::RerunCriteria criteria)
{
    return edw::RerunChooser(std::move(criteria));
}

const edw::RerunMark mark{.campaign = "signal_processing-20261208T000000Z-ab12",
                          .step = "signal_processing",
                          .date = "2026-12-08T00:00:00.000Z",
                          .reason = "new calibration",
                          .by = "me@here"};

} // namespace

TEST_CASE("a rerun chooses only docs that have passed its step, and every criterion must hold")
{
    CHECK(chooser({.step = "signal_processing"}).chooses(passed_doc()));
    CHECK_FALSE(chooser({.step = "not_yet"}).chooses(passed_doc()));
    auto waiting = passed_doc();
    waiting["process"] = nlohmann::json::array({entry("move_to_sps", "2026-11-30", "1.0")});
    CHECK_FALSE(chooser({.step = "signal_processing"}).chooses(waiting));

    CHECK(chooser({.step = "signal_processing", .selector = nlohmann::json{{"run", "ma22a000"}}})
              .chooses(passed_doc()));
    CHECK_FALSE(
        chooser({.step = "signal_processing", .selector = nlohmann::json{{"run", "ma22a001"}}})
            .chooses(passed_doc()));
    CHECK(chooser({.step = "signal_processing", .ids = std::set<std::string>{"ma22a000_001"}})
              .chooses(passed_doc()));
    CHECK_FALSE(chooser({.step = "signal_processing", .ids = std::set<std::string>{"other"}})
                    .chooses(passed_doc()));

    auto design = passed_doc();
    design["_id"] = "_design/process";
    CHECK_FALSE(chooser({.step = "signal_processing"}).chooses(design));
    auto deleted = passed_doc();
    deleted["_deleted"] = true;
    CHECK_FALSE(chooser({.step = "signal_processing"}).chooses(deleted));
}

TEST_CASE("processed-before compares the step's own entry date with any prefix of a UTC time")
{
    const auto before = [](const char* date) {
        return chooser({.step = "signal_processing", .processed_before = date})
            .chooses(passed_doc());
    };
    CHECK(before("2026-12-01"));
    CHECK_FALSE(before("2026-11-30"));           // the day began before the entry
    CHECK(before("2026-11-30T10:00:02"));        // a second after the entry
    CHECK_FALSE(before("2026-11-30T10:00:01Z")); // the entry's own second is not before it
    CHECK_FALSE(before("2026-11-30T10:00"));     // the entry is of that minute, not before it
    CHECK(before("2026-11-30 10:01"));           // a space for the T, as people write it

    auto undated = passed_doc();
    undated["process"][1].erase("date");
    CHECK_FALSE(
        chooser({.step = "signal_processing", .processed_before = "2030-01-01"}).chooses(undated));

    CHECK_THROWS_AS(edw::normalize_rerun_date("yesterday"), edw::JsonError);
    CHECK_THROWS_AS(edw::normalize_rerun_date("2026-12"), edw::JsonError);
    CHECK_THROWS_AS(edw::normalize_rerun_date("2026-12-01T1"), edw::JsonError);
    CHECK(edw::normalize_rerun_date("2026-12-01t10:00z") == "2026-12-01T10:00");
}

TEST_CASE("a version matches the step's step_version whole or up to its build note")
{
    const auto version = [](const char* wanted) {
        return chooser({.step = "signal_processing", .version = wanted}).chooses(passed_doc());
    };
    CHECK(version("1.2"));
    CHECK(version("1.2 (git 3da8958)"));
    CHECK_FALSE(version("1.0")); // the version of other steps' entries does not count
    CHECK_FALSE(version("1"));   // a prefix that is not a whole version
    auto unversioned = passed_doc();
    unversioned["process"][1].erase("step_version");
    CHECK_FALSE(chooser({.step = "signal_processing", .version = "1.2"}).chooses(unversioned));
}

TEST_CASE("criteria survive their record, and bad ones are refused before any doc is judged")
{
    const edw::RerunCriteria criteria{.step = "signal_processing",
                                      .selector = nlohmann::json{{"run", "ma22a000"}},
                                      .ids = std::set<std::string>{"a", "b"},
                                      .processed_before = "2026-12-01",
                                      .version = "1.2"};
    const auto back = edw::RerunCriteria::from_json(criteria.to_json());
    CHECK(back.to_json() == criteria.to_json());
    CHECK_THROWS_AS(edw::RerunCriteria::from_json({{"selector", {}}}), edw::JsonError);
    CHECK_THROWS_AS(chooser({.step = "s", .selector = nlohmann::json{{"a", {{"$bogus", 1}}}}}),
                    edw::JsonError);
    CHECK_THROWS_AS(chooser({.step = "s", .processed_before = "soon"}), edw::JsonError);
    CHECK_THROWS_AS(chooser({.step = ""}), edw::ConfigError);
}

TEST_CASE("a doc sent back keeps its entries from the step on in edw_reruns and waits there")
{
    const auto sent = edw::send_back(passed_doc(), mark);
    REQUIRE(sent);
    CHECK((*sent)["process"].size() == 1);
    CHECK(edw::is_waiting_at(*sent, edw::StepPosition::after("move_to_sps")));
    REQUIRE((*sent)[edw::reruns_field].size() == 1);
    const auto& kept = (*sent)[edw::reruns_field][0];
    CHECK(kept["campaign"] == mark.campaign);
    CHECK(kept["step"] == "signal_processing");
    CHECK(kept["date"] == mark.date);
    CHECK(kept["reason"] == "new calibration");
    CHECK(kept["by"] == "me@here");
    REQUIRE(kept["entries"].size() == 2);
    CHECK(kept["entries"][0] == passed_doc()["process"][1]);
    CHECK(kept["entries"][1] == passed_doc()["process"][2]);
    CHECK((*sent)["_rev"] == "4-abc"); // written over the revision it was read at
    CHECK(edw::has_rerun_mark(*sent, mark.campaign));
    CHECK_FALSE(edw::has_rerun_mark(*sent, "another"));
    CHECK_FALSE(edw::has_rerun_mark(passed_doc(), mark.campaign));

    // A second rerun adds its own item after the first; the first is never touched.
    auto again = *sent;
    again["process"].push_back(entry("signal_processing", "2026-12-08T01:00:00.000Z", "1.3"));
    auto second_mark = mark;
    second_mark.campaign = "second";
    const auto twice = edw::send_back(again, second_mark);
    REQUIRE(twice);
    REQUIRE((*twice)[edw::reruns_field].size() == 2);
    CHECK((*twice)[edw::reruns_field][0] == kept);
    CHECK((*twice)[edw::reruns_field][1]["entries"][0]["step_version"] == "1.3");

    // The first step: the doc is new again.
    auto first = mark;
    first.step = "move_to_sps";
    const auto renewed = edw::send_back(passed_doc(), first);
    REQUIRE(renewed);
    CHECK(edw::is_waiting_at(*renewed, edw::StepPosition::new_document()));

    edw::RerunMark never;
    never.step = "never_ran";
    CHECK_FALSE(edw::send_back(passed_doc(), never));
}

TEST_CASE("a doc sent back is put back from parking, its failures start afresh, its claim goes")
{
    auto doc = passed_doc();
    doc["process"].erase(2); // waits at checksum, where it failed to the last attempt
    edw::RetryPolicy policy;
    policy.max_attempts = 1;
    doc = edw::record_failure(doc,
                              {.step = "checksum", .worker = "w", .message = "boom", .detail = ""},
                              std::chrono::system_clock::now(), policy);
    doc["edw_claim"] = {{"worker", "w"}, {"until", "2026-12-08T00:00:30.000Z"}};
    REQUIRE(edw::is_parked(doc, "checksum"));

    const auto sent = edw::send_back(doc, mark);
    REQUIRE(sent);
    CHECK((*sent)["status"] == "good");
    CHECK(edw::failed_attempts(*sent, "checksum") == 0);
    CHECK_FALSE(sent->contains("edw_claim"));
    CHECK(edw::is_waiting_at(*sent, edw::StepPosition::after("move_to_sps")));

    auto foreign = passed_doc();
    foreign[edw::reruns_field] = "not ours";
    CHECK_THROWS_AS(edw::send_back(foreign, mark), edw::JsonError);
}

TEST_SUITE_END();
