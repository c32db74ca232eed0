#include <edw/step/process_log.hpp>
#include <edw/util/error.hpp>
#include <edw/workflow/edelweiss_steps.hpp>

#include <doctest/doctest.h>

TEST_SUITE_BEGIN("process log");

namespace {

nlohmann::json metadata_doc(nlohmann::json process)
{
    return {{"_id", "ma22a000_001"},
            {"_rev", "3-abc"},
            {"status", "good"},
            {"conditions", {{"temperature", 0.015}}},
            {"original_file", "/mnt/data/ma22a000_001.root"},
            {"md5sum", "977f5c2288038a593d04eb35b08670b2"},
            {"process", std::move(process)}};
}

} // namespace

TEST_CASE("lastproc keys a new doc as [0, id] and a processed one by its last step")
{
    CHECK(*edw::lastproc_key(metadata_doc(nlohmann::json::array())) ==
          nlohmann::json::parse(R"([0,"ma22a000_001"])"));
    CHECK(*edw::lastproc_key(
              metadata_doc({{{"name", "move_to_sps"}}, {{"name", "signal_processing"}}})) ==
          nlohmann::json::parse(R"(["signal_processing","ma22a000_001"])"));
}

TEST_CASE("lastproc leaves out bad, deleted, incomplete and nameless docs")
{
    auto bad = metadata_doc(nlohmann::json::array());
    bad["status"] = "failed";
    CHECK_FALSE(edw::lastproc_key(bad));
    auto no_conditions = metadata_doc(nlohmann::json::array());
    no_conditions.erase("conditions");
    CHECK_FALSE(edw::lastproc_key(no_conditions));
    CHECK_FALSE(edw::lastproc_key(metadata_doc("not an array")));
    CHECK_FALSE(edw::lastproc_key(metadata_doc({{{"log", "no name"}}})));
    CHECK_FALSE(edw::lastproc_key({{"_id", "x"}, {"_deleted", true}}));
}

TEST_CASE("a step is waiting at its exact position: move_to_sps2 is not move_to_sps")
{
    const auto after = edw::StepPosition::after("move_to_sps");
    CHECK(edw::is_waiting_at(metadata_doc({{{"name", "move_to_sps"}}}), after));
    CHECK_FALSE(edw::is_waiting_at(metadata_doc({{{"name", "move_to_sps2"}}}), after));
    CHECK(edw::is_waiting_at(metadata_doc(nlohmann::json::array()),
                             edw::StepPosition::new_document()));
    CHECK_FALSE(edw::is_waiting_at(metadata_doc(nlohmann::json::array()), after));
}

TEST_CASE("the first look at a doc's text never turns away a doc that is waiting")
{
    const auto after = edw::StepPosition::after("move_to_sps");
    const auto fresh = edw::StepPosition::new_document();
    std::vector<nlohmann::json> docs = {
        metadata_doc(nlohmann::json::array()),
        metadata_doc({{{"name", "move_to_sps"}}}),
        metadata_doc({{{"name", "move_to_sps"}}, {{"name", "signal_processing"}}}),
        metadata_doc({{{"name", "signal_processing"}}, {{"name", "move_to_sps"}}}),
        metadata_doc({{{"name", "move_to_sps2"}}}),
        metadata_doc({{{"log", "no name"}}}),
        metadata_doc({{{"name", 0}}}),
        metadata_doc("not an array"),
        {{"_id", "x"}, {"_deleted", true}},
    };
    for (const auto& doc : docs) {
        for (const auto& position : {after, fresh}) {
            CAPTURE(doc.dump());
            CAPTURE(position.filter_value());
            const bool quick = edw::may_be_waiting_at(doc.dump(), position);
            if (edw::is_waiting_at(doc, position)) {
                CHECK(quick);
            }
            // Only the process array decides the quick answer.
            const auto process = doc.find("process");
            const bool ends_here =
                process != doc.end() && process->is_array() &&
                (process->empty()
                     ? position.is_new_document()
                     : !position.is_new_document() && process->back().is_object() &&
                           process->back().value("name", nlohmann::json()) == position.step());
            CHECK(quick == ends_here);
        }
    }
    // Escaped keys and names are read as JSON reads them.
    CHECK(edw::may_be_waiting_at(R"({"proc\u0065ss":[{"name":"move\u005fto_sps"}]})", after));
    // Text that does not parse is left to the full parse, which reports it.
    CHECK(edw::may_be_waiting_at(R"({"process":[{"name":"x"}]")", after));
    CHECK(edw::may_be_waiting_at("{\"n\":123456789012345678901234567890,\"process\":[]}", after));
}

TEST_CASE(
    "an appended entry has the step name first, the result, and the date, and other fields stay")
{
    const auto doc = edw::append_step(metadata_doc(nlohmann::json::array()), "move_to_sps",
                                      {{"file", "/sps/x.root"}, {"name", "spoofed"}},
                                      "2026-11-29T22:30:00.000Z");
    REQUIRE(doc["process"].size() == 1);
    const auto& entry = doc["process"][0];
    CHECK(entry["name"] == "move_to_sps");
    CHECK(entry["file"] == "/sps/x.root");
    CHECK(entry["date"] == "2026-11-29T22:30:00.000Z");
    CHECK(doc["md5sum"] == "977f5c2288038a593d04eb35b08670b2");
    CHECK(doc["_rev"] == "3-abc");
}

TEST_CASE("an entry records the step version that wrote it, and a result cannot forge it")
{
    const auto doc = edw::append_step(metadata_doc(nlohmann::json::array()), "move_to_sps",
                                      {{"step_version", "9.9"}, {"file", "f"}}, "d", "1.2");
    CHECK(doc["process"][0]["step_version"] == "1.2");
    const auto unversioned = edw::append_step(metadata_doc(nlohmann::json::array()), "s",
                                              {{"step_version", "9.9"}}, "d");
    CHECK_FALSE(unversioned["process"][0].contains("step_version"));
}

TEST_CASE("a result that is not an object, or a doc without process, is refused")
{
    CHECK_THROWS_AS(edw::append_step(metadata_doc(nlohmann::json::array()), "s", 42, "d"),
                    edw::JsonError);
    CHECK_THROWS_AS(edw::append_step({{"_id", "x"}}, "s", nlohmann::json::object(), "d"),
                    edw::JsonError);
}

TEST_CASE("after a 409 a result is re-applied when the doc still waits at the step")
{
    // Someone else changed another field: the fresh doc keeps it, and still waits.
    auto fresh = metadata_doc(nlohmann::json::array());
    fresh["comment"] = "checked by shift crew";
    CHECK(edw::decide_after_conflict(fresh, "move_to_sps", edw::StepPosition::new_document()) ==
          edw::ConflictDecision::reapply);
}

TEST_CASE("after a 409 a result is dropped when another writer recorded the step")
{
    const auto fresh = metadata_doc({{{"name", "move_to_sps"}}});
    CHECK(edw::decide_after_conflict(fresh, "move_to_sps", edw::StepPosition::new_document()) ==
          edw::ConflictDecision::already_recorded);
    const auto further = metadata_doc({{{"name", "move_to_sps"}}, {{"name", "signal_processing"}}});
    CHECK(edw::decide_after_conflict(further, "move_to_sps", edw::StepPosition::new_document()) ==
          edw::ConflictDecision::already_recorded);
}

TEST_CASE("after a 409 a result is dropped when the doc left the step or was deleted")
{
    auto bad = metadata_doc(nlohmann::json::array());
    bad["status"] = "bad";
    CHECK(edw::decide_after_conflict(bad, "move_to_sps", edw::StepPosition::new_document()) ==
          edw::ConflictDecision::no_longer_waiting);
    CHECK(edw::decide_after_conflict(std::nullopt, "move_to_sps",
                                     edw::StepPosition::new_document()) ==
          edw::ConflictDecision::no_longer_waiting);
}

TEST_CASE("move_to_sps names the moved file and keeps the source checksum")
{
    const auto step =
        edw::edelweiss::move_to_sps({.hostname = "sps.example", .data_directory = "/sps"});
    CHECK(step.name == "move_to_sps");
    CHECK(step.follows.is_new_document());
    const auto result = step.run(metadata_doc(nlohmann::json::array()));
    CHECK(result["file"] == "/sps/ma22a000_001.root");
    CHECK(result["hostname"] == "sps.example");
    CHECK(result["md5sum"] == "977f5c2288038a593d04eb35b08670b2");
    CHECK(result["log"].get<std::string>().find("/mnt/data/ma22a000_001.root") !=
          std::string::npos);
}

TEST_CASE("signal_processing writes an .amp.root file named after the moved one")
{
    const auto step = edw::edelweiss::signal_processing({.hostname = "sps.example"});
    CHECK(step.follows.step() == "move_to_sps");
    const auto result = step.run(metadata_doc(
        {{{"name", "move_to_sps"}, {"file", "/sps/ma22a000_001.root"}, {"md5sum", "abc"}}}));
    CHECK(result["file"] == "/sps/ma22a000_001.amp.root");
    CHECK(result["md5sum"].get<std::string>().size() == 32);
}

TEST_CASE("a doc missing the field a step needs is that doc's failure")
{
    auto doc = metadata_doc(nlohmann::json::array());
    doc.erase("original_file");
    CHECK_THROWS_AS(edw::edelweiss::move_to_sps().run(doc), edw::JsonError);
}

TEST_SUITE_END();
