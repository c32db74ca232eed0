#include "edw/design/design_doc.hpp"

#include <edw/status/state_counts.hpp>
#include <edw/util/error.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#ifndef EDW_SOURCE_DIR
#define EDW_SOURCE_DIR "."
#endif

namespace {

const std::filesystem::path source_dir = EDW_SOURCE_DIR;
const std::filesystem::path fixtures = source_dir / "test/data/design-docs";

} // namespace

TEST_SUITE_BEGIN("design_doc");

TEST_CASE("the process design doc is built from its folder")
{
    const auto doc = edw::build_design_doc(source_dir / "design-docs/process");
    CHECK(doc["_id"] == "_design/process");
    CHECK(doc["language"] == "javascript");
    REQUIRE(doc["views"]["lastproc"]["map"].is_string());
    CHECK(doc["views"]["lastproc"]["map"].get<std::string>().starts_with("function (doc) {"));
    CHECK(doc["views"]["lastproc"]["map"].get<std::string>().ends_with("}"));
    CHECK(doc["views"]["lastproc"]["reduce"] == "_count");
    CHECK(doc["views"]["status"]["map"].get<std::string>().starts_with("function (doc) {"));
    CHECK(doc["views"]["status"]["reduce"] == "_sum");
    CHECK(doc["filters"]["with_process"].get<std::string>().starts_with("function (doc, req) {"));
    CHECK(doc["views"]["steps"]["reduce"] == "_count");
    CHECK(doc["edw_pipeline"] == nlohmann::json::array({"move_to_sps", "signal_processing"}));
    // _id, language, views, filters, edw_pipeline: no empty sections, no _rev
    CHECK(doc.size() == 5);
    CHECK(doc["views"].size() == 3);
    CHECK(doc["filters"].size() == 2);
    CHECK(doc["filters"]["at_any_step"].get<std::string>().starts_with("function (doc, req) {"));
}

TEST_CASE("a trailing slash on the folder does not change the design doc's name")
{
    const auto doc = edw::build_design_doc(source_dir / "design-docs/process/");
    CHECK(doc["_id"] == "_design/process");
}

TEST_CASE("every field comes from its place, trimmed, and README files and dotfiles are skipped")
{
    const auto doc = edw::build_design_doc(fixtures / "every-field");
    CHECK(doc["_id"] == "_design/edw-fixture"); // from the _id file, not the folder name
    CHECK(doc["language"] == "javascript");
    CHECK(doc["views"]["all"]["map"] == "function (doc) {\n    emit(doc._id, null);\n  }");
    CHECK(doc["views"]["all"]["reduce"] == "_stats");
    CHECK(doc["views"].size() == 1); // .drafts/map.js is skipped with its folder
    CHECK(doc["validate_doc_update"].get<std::string>().starts_with("function (newDoc"));
    CHECK(doc["updates"]["touch"].is_string());
    CHECK(doc["shows"]["summary"].is_string());
    CHECK(doc["lists"]["rows"].is_string());
    CHECK_FALSE(doc.contains("filters"));
    CHECK(doc.size() == 7);
}

TEST_CASE("a function with a syntax error is refused with its file and line")
{
    CHECK_THROWS_WITH_AS(edw::build_design_doc(fixtures / "syntax-error"),
                         doctest::Contains("syntax-error/views/broken/map.js:3: unmatched ')'"),
                         edw::JsonError);
}

TEST_CASE("a .js file in a folder no field comes from is refused by name")
{
    CHECK_THROWS_WITH_AS(edw::build_design_doc(fixtures / "misplaced-js"),
                         doctest::Contains("filter/with_process.js is not in a place"),
                         edw::ConfigError);
}

TEST_CASE("a pipeline.json that declares a step twice is refused by file")
{
    CHECK_THROWS_WITH_AS(edw::build_design_doc(fixtures / "bad-pipeline"),
                         doctest::Contains("bad-pipeline/pipeline.json: edw_pipeline: step a is "
                                           "declared twice"),
                         edw::ConfigError);
}

TEST_CASE("a states.json gives the state groups' order, and a bad one is refused by file")
{
    const auto doc = edw::build_design_doc(fixtures / "states");
    CHECK(doc[edw::states_field][0]["group"] == "ous");
    CHECK(doc[edw::states_field][0]["states"][1] == "Processing");
    CHECK_THROWS_WITH_AS(edw::build_design_doc(fixtures / "bad-states"),
                         doctest::Contains("bad-states/states.json: the states of group 'ous' "
                                           "are not an array"),
                         edw::ConfigError);
}

TEST_CASE("a misspelt built-in reduce is refused")
{
    CHECK_THROWS_WITH_AS(edw::build_design_doc(fixtures / "bad-reduce"),
                         doctest::Contains("views/counts/reduce.js:1: unknown built-in reduce "
                                           "'_counts'"),
                         edw::JsonError);
}

TEST_CASE("a reduce without a map beside it is refused")
{
    CHECK_THROWS_WITH_AS(edw::build_design_doc(fixtures / "reduce-without-map"),
                         doctest::Contains("views/orphan/reduce.js has no map.js"),
                         edw::ConfigError);
}

TEST_CASE("a folder without functions is refused")
{
    CHECK_THROWS_WITH_AS(edw::build_design_doc(fixtures / "empty"),
                         doctest::Contains("empty: it holds no views"), edw::ConfigError);
}

TEST_CASE("a folder that does not exist is refused by name")
{
    CHECK_THROWS_WITH_AS(edw::build_design_doc(fixtures / "no-such-folder"),
                         doctest::Contains("no-such-folder: no such folder"), edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::build_design_doc(fixtures / "process.json"),
                         doctest::Contains("process.json: not a folder"), edw::ConfigError);
}

TEST_CASE("a design doc loads from its folder the same as it builds")
{
    const auto folder = source_dir / "design-docs/process";
    CHECK(edw::load_design_doc(folder) == edw::build_design_doc(folder));
}

TEST_CASE("a design doc loads from a .json file without its _rev")
{
    const auto doc = edw::load_design_doc(fixtures / "process.json");
    CHECK(doc["_id"] == "_design/process");
    CHECK_FALSE(doc.contains("_rev"));
    CHECK(doc["views"]["lastproc"]["reduce"] == "_count");
    CHECK(doc["filters"]["with_process"].is_string());
}

TEST_CASE("a .json file that is not a design doc is refused by path")
{
    CHECK_THROWS_WITH_AS(edw::load_design_doc(fixtures / "not-design.json"),
                         doctest::Contains("not-design.json: its _id does not start with _design/"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::load_design_doc(fixtures / "truncated.json"),
                         doctest::Contains("truncated.json: not valid JSON"), edw::JsonError);
    CHECK_THROWS_WITH_AS(edw::load_design_doc(fixtures / "missing.json"),
                         doctest::Contains("missing.json: no such file or folder"),
                         edw::ConfigError);
    CHECK_THROWS_WITH_AS(edw::load_design_doc(fixtures / "every-field/language"),
                         doctest::Contains("expected a folder or a .json file"), edw::ConfigError);
}

TEST_CASE("a function in a .json design doc is checked like one in a folder")
{
    CHECK_THROWS_WITH_AS(edw::load_design_doc(fixtures / "broken-function.json"),
                         doctest::Contains("broken-function.json#views.v.map:2: unmatched ')'"),
                         edw::JsonError);
}

TEST_CASE("design docs differing only in _rev have the same content")
{
    const auto built = edw::build_design_doc(source_dir / "design-docs/process");
    auto stored = built;
    stored["_rev"] = "7-0d6f4c2b1a9e8d7c6b5a493827160504";
    CHECK(edw::same_design_content(built, stored));
    CHECK(edw::same_design_content(stored, built));
    auto other_rev = stored;
    other_rev["_rev"] = "8-1e7a5d3c2b0f9e8d7c6b5a4938271605";
    CHECK(edw::same_design_content(stored, other_rev));
}

TEST_CASE("a changed map, an added field or a removed field is a different content")
{
    const auto built = edw::build_design_doc(source_dir / "design-docs/process");
    auto changed = built;
    changed["views"]["lastproc"]["map"] = "function (doc) { emit(doc._id, null); }";
    CHECK_FALSE(edw::same_design_content(built, changed));
    auto added = built;
    added["updates"] = nlohmann::json::object();
    CHECK_FALSE(edw::same_design_content(built, added));
    auto removed = built;
    removed.erase("filters");
    CHECK_FALSE(edw::same_design_content(built, removed));
}

TEST_SUITE_END();
