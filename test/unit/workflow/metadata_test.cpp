#include "edw/workflow/metadata.hpp"

#include "scratch_directory.hpp"

#include <edw/util/error.hpp>
#include <edw/util/md5.hpp>
#include <edw/workflow/trace_file.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <random>
#include <string>

TEST_SUITE_BEGIN("metadata");

TEST_CASE("run names follow each other from ma22a000")
{
    CHECK(edw::next_run_name(std::nullopt) == "ma22a000");
    CHECK(edw::next_run_name("ma22a000_000") == "ma22a001");
    CHECK(edw::next_run_name("ma22a000_029") == "ma22a001");
    CHECK(edw::next_run_name("ma22a009_004") == "ma22a010");
    CHECK(edw::next_run_name("ma22a099_000") == "ma22a100");
    CHECK(edw::next_run_name("ma22a999_000") == "ma22a1000");
    CHECK(edw::next_run_name("ma22a1000_000") == "ma22a1001");
}

TEST_CASE("the next run keeps the prefix and at least 3 digits")
{
    CHECK(edw::next_run_name("mb23c041_002") == "mb23c042");
    CHECK(edw::next_run_name("run7_0") == "run008");
    CHECK(edw::next_run_name("ma22a0099_000") == "ma22a0100");
}

TEST_CASE("an id that is no metadata id starts the first run")
{
    CHECK(edw::next_run_name("_design/process") == "ma22a000");
    CHECK(edw::next_run_name("") == "ma22a000");
    CHECK(edw::next_run_name("ma22a_000") == "ma22a000");
}

TEST_CASE("metadata ids are a run name, an underscore and a file number")
{
    CHECK(edw::is_metadata_id("ma22a000_000"));
    CHECK(edw::is_metadata_id("ma22a1000_1234"));
    CHECK(edw::is_metadata_id("x1_2"));
    CHECK_FALSE(edw::is_metadata_id(""));
    CHECK_FALSE(edw::is_metadata_id("_design/process"));
    CHECK_FALSE(edw::is_metadata_id("_local/listener"));
    CHECK_FALSE(edw::is_metadata_id("ma22a000"));
    CHECK_FALSE(edw::is_metadata_id("ma22a000_"));
    CHECK_FALSE(edw::is_metadata_id("ma22a_000"));
    CHECK_FALSE(edw::is_metadata_id("22a000_000"));
    CHECK_FALSE(edw::is_metadata_id("ma22a000_000_1"));
    CHECK_FALSE(edw::is_metadata_id("ma22a000_00a"));
    CHECK_FALSE(edw::is_metadata_id("ma-22a000_000"));
}

TEST_CASE("a metadata doc has the EDELWEISS shape")
{
    std::mt19937_64 rng(42);
    const auto doc = edw::make_metadata_doc("ma22a000", 7, 1378222673.477208, rng);
    CHECK(doc["_id"] == "ma22a000_007");
    CHECK(doc["status"] == "good");
    CHECK(doc["run"] == "ma22a000");
    CHECK(doc["datecreated"].is_number_float());
    CHECK(doc["datecreated"].get<double>() == 1378222673.477208);
    CHECK(doc["process"] == nlohmann::json::array());
    CHECK(doc["original_file"] == "/mnt/data/ma22a000_007.root");
    CHECK(doc["conditions"]["volts"]["detector_a"] == nlohmann::json({8, -8, 2, -2}));
    CHECK(doc["conditions"]["volts"]["detector_b"] == nlohmann::json({4, -4, 1.5, -1.5}));
    const std::string md5sum = doc["md5sum"].get<std::string>();
    CHECK(md5sum.size() == 32);
    CHECK(md5sum.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(doc.size() == 8);
    CHECK(edw::is_metadata_id(doc["_id"].get<std::string>()));
}

TEST_CASE("file numbers are at least 3 digits wide")
{
    std::mt19937_64 rng(1);
    CHECK(edw::make_metadata_doc("ma22a000", 0, 0.0, rng)["_id"] == "ma22a000_000");
    CHECK(edw::make_metadata_doc("ma22a000", 42, 0.0, rng)["_id"] == "ma22a000_042");
    CHECK(edw::make_metadata_doc("ma22a000", 1234, 0.0, rng)["_id"] == "ma22a000_1234");
}

TEST_CASE("the temperature stays between 0.015 and 0.016")
{
    std::mt19937_64 rng(7);
    for (int file = 0; file < 1000; ++file) {
        const auto doc = edw::make_metadata_doc("ma22a000", file, 0.0, rng);
        const double temperature = doc["conditions"]["temperature"].get<double>();
        REQUIRE(temperature >= 0.015);
        REQUIRE(temperature < 0.016);
    }
}

TEST_CASE("a seeded rng gives the same docs, and each doc its own md5sum")
{
    std::mt19937_64 first(2013);
    std::mt19937_64 second(2013);
    const auto a0 = edw::make_metadata_doc("ma22a000", 0, 1.5, first);
    const auto a1 = edw::make_metadata_doc("ma22a000", 1, 1.5, first);
    CHECK(a0 == edw::make_metadata_doc("ma22a000", 0, 1.5, second));
    CHECK(a1 == edw::make_metadata_doc("ma22a000", 1, 1.5, second));
    CHECK(a0["md5sum"] != a1["md5sum"]);
    CHECK(a0["conditions"]["temperature"] != a1["conditions"]["temperature"]);
}

TEST_CASE("the same file drawn with another seed differs in md5sum and temperature")
{
    std::mt19937_64 first(1);
    std::mt19937_64 second(2);
    const auto a = edw::make_metadata_doc("ma22a000", 0, 0.0, first);
    const auto b = edw::make_metadata_doc("ma22a000", 0, 0.0, second);
    CHECK(a["md5sum"] != b["md5sum"]);
    CHECK(a["conditions"]["temperature"] != b["conditions"]["temperature"]);
}

TEST_CASE("a raw file attached to a doc holds its traces, and the doc names it and its md5")
{
    const edw::test::ScratchDirectory scratch;
    std::mt19937_64 first(9);
    std::mt19937_64 second(9);
    const auto plain = edw::make_metadata_doc("ma22a000", 4, 1.5, first);
    auto doc = edw::make_metadata_doc("ma22a000", 4, 1.5, second);
    edw::attach_raw_file(doc, scratch.directory("raw"));
    const auto path = std::filesystem::absolute(scratch.path() / "raw" / "ma22a000_004.edwtrace");
    CHECK(doc["original_file"] == path.string());
    const std::string bytes = edw::test::file_bytes(path);
    CHECK(doc["md5sum"] == edw::md5_hex(bytes));
    CHECK(edw::edelweiss::decode_traces(bytes, path.string()) ==
          edw::edelweiss::synthetic_traces("ma22a000_004"));
    // Otherwise the doc is the one metadata make writes without files.
    auto rest = doc;
    auto plain_rest = plain;
    for (const char* field : {"original_file", "md5sum"}) {
        rest.erase(field);
        plain_rest.erase(field);
    }
    CHECK(rest == plain_rest);
}

TEST_CASE("attaching a raw file to a directory that cannot hold one fails naming it")
{
    const edw::test::ScratchDirectory scratch;
    const auto not_a_directory = scratch.write("taken", "a file");
    std::mt19937_64 rng(9);
    auto doc = edw::make_metadata_doc("ma22a000", 0, 0.0, rng);
    CHECK_THROWS_WITH_AS(
        edw::attach_raw_file(doc, not_a_directory),
        doctest::Contains(
            ("cannot write " + (not_a_directory / "ma22a000_000.edwtrace").string()).c_str()),
        edw::StoreError);
}

TEST_SUITE_END();
