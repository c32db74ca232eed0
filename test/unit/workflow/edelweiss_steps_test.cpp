#include "edw/workflow/edelweiss_steps.hpp"

#include "scratch_directory.hpp"

#include <edw/util/error.hpp>
#include <edw/util/md5.hpp>
#include <edw/workflow/amplitude_statistics.hpp>
#include <edw/workflow/metadata.hpp>
#include <edw/workflow/trace_file.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <random>
#include <string>

namespace {

// A new metadata doc whose raw file is in `raw`.
nlohmann::json doc_with_raw_file(const std::filesystem::path& raw, int file_number = 0)
{
    std::mt19937_64 rng(7);
    auto doc = edw::make_metadata_doc("ma22a000", file_number, 0.0, rng);
    edw::attach_raw_file(doc, raw);
    return doc;
}

// `doc` after `step` ran on it, its result recorded as the runner records it.
nlohmann::json after(nlohmann::json doc, const std::string& step, const nlohmann::json& result)
{
    nlohmann::json entry = result;
    entry["name"] = step;
    doc["process"].push_back(entry);
    return doc;
}

edw::edelweiss::SiteOptions real_site(const std::filesystem::path& data,
                                      const std::filesystem::path& results = {})
{
    return {.hostname = "sps.example",
            .data_directory = data.string(),
            .results_directory = results.string(),
            .file_work = edw::edelweiss::FileWork::real};
}

bool starts_with(const nlohmann::json& text, std::string_view prefix)
{
    return text.get<std::string>().starts_with(prefix);
}

} // namespace

TEST_SUITE_BEGIN("edelweiss steps");

TEST_CASE("simulated steps name files that nobody writes, and say so in their logs")
{
    const edw::test::ScratchDirectory scratch;
    std::mt19937_64 rng(7);
    const auto doc = edw::make_metadata_doc("ma22a000", 3, 0.0, rng);
    const auto moved = edw::edelweiss::move_to_sps({.hostname = "h"}).run(doc);
    CHECK(moved["file"] == "/sps/edelweiss/data/ma22a000_003.root");
    CHECK(moved["md5sum"] == doc["md5sum"]);
    CHECK(starts_with(moved["log"], "simulated: /mnt/data/ma22a000_003.root would be copied to "
                                    "h:/sps/edelweiss/data/ma22a000_003.root"));
    const auto processed =
        edw::edelweiss::signal_processing({.hostname = "h"}).run(after(doc, "move_to_sps", moved));
    CHECK(processed["file"] == "/sps/edelweiss/data/ma22a000_003.amp.root");
    CHECK(starts_with(processed["log"], "simulated: "));
}

TEST_CASE("move_to_sps copies the raw file and records its real path and checked md5")
{
    const edw::test::ScratchDirectory scratch;
    const auto doc = doc_with_raw_file(scratch.directory("raw"));
    const auto data = scratch.directory("data");
    const auto entry = edw::edelweiss::move_to_sps(real_site(data)).run(doc);
    const auto copy = data / "ma22a000_000.edwtrace";
    CHECK(entry["file"] == copy.string());
    CHECK(entry["hostname"] == "sps.example");
    CHECK(entry["md5sum"] == doc["md5sum"]);
    CHECK(edw::md5_file_hex(copy) == doc["md5sum"]);
    CHECK(entry["log"] == "copied " + doc["original_file"].get<std::string>() +
                              " to sps.example:" + copy.string() + ", 4120 bytes, md5 " +
                              doc["md5sum"].get<std::string>() + " (matches the doc's md5sum)");
    // A second run (its first result lost in a crash) finds the copy in place.
    const auto again = edw::edelweiss::move_to_sps(real_site(data)).run(doc);
    CHECK(again["file"] == entry["file"]);
    CHECK(again["md5sum"] == entry["md5sum"]);
    CHECK(again["log"].get<std::string>().find("not copied again") != std::string::npos);
}

TEST_CASE("a missing raw file fails move_to_sps with the reason")
{
    const edw::test::ScratchDirectory scratch;
    const auto doc = doc_with_raw_file(scratch.directory("raw"));
    const std::string raw = doc["original_file"];
    std::filesystem::remove(raw);
    CHECK_THROWS_WITH_AS(edw::edelweiss::move_to_sps(real_site(scratch.directory("data"))).run(doc),
                         ("cannot read raw file " + raw + ": no such file or directory").c_str(),
                         edw::StoreError);
}

TEST_CASE("a raw file whose md5 differs from the doc's md5sum fails move_to_sps")
{
    const edw::test::ScratchDirectory scratch;
    auto doc = doc_with_raw_file(scratch.directory("raw"));
    doc["md5sum"] = "0123456789abcdef0123456789abcdef";
    CHECK_THROWS_WITH_AS(edw::edelweiss::move_to_sps(real_site(scratch.directory("data"))).run(doc),
                         doctest::Contains("the doc's md5sum is 0123456789abcdef0123456789abcdef"),
                         edw::StoreError);
}

TEST_CASE("signal_processing writes the amplitudes of the moved file and records their md5")
{
    const edw::test::ScratchDirectory scratch;
    const auto doc = doc_with_raw_file(scratch.directory("raw"), 5);
    const auto site = real_site(scratch.directory("data"), scratch.directory("results"));
    const auto moved_doc = after(doc, "move_to_sps", edw::edelweiss::move_to_sps(site).run(doc));
    const auto entry = edw::edelweiss::signal_processing(site).run(moved_doc);
    const auto result_path = scratch.path() / "results" / "ma22a000_005.amplitudes.json";
    CHECK(entry["file"] == result_path.string());
    CHECK(entry["md5sum"] == edw::md5_file_hex(result_path));
    const auto result = nlohmann::json::parse(edw::test::file_bytes(result_path));
    CHECK(result["format"] == "edw amplitudes 1");
    CHECK(result["source"] == moved_doc["process"][0]["file"]);
    CHECK(result["source_md5"] == doc["md5sum"]);
    CHECK(result["samples_per_channel"] == 512);
    REQUIRE(result["channels"].size() == 4);
    const auto expected =
        edw::edelweiss::amplitude_statistics(edw::edelweiss::synthetic_traces("ma22a000_005"));
    int pulses = 0;
    for (int c = 0; c < 4; ++c) {
        CHECK(result["channels"][c] == edw::edelweiss::to_json(expected[c], c));
        CHECK(entry["amplitudes"]["pulses"][c] == expected[c].pulses);
        pulses += expected[c].pulses;
    }
    CHECK(entry["log"].get<std::string>().find(
              "4 channels, " + std::to_string(pulses) +
              " pulses) written to sps.example:" + result_path.string()) != std::string::npos);
}

TEST_CASE("signal_processing fails on a moved file that is gone, changed or simulated")
{
    const edw::test::ScratchDirectory scratch;
    const auto doc = doc_with_raw_file(scratch.directory("raw"));
    const auto site = real_site(scratch.directory("data"));
    const auto moved_doc = after(doc, "move_to_sps", edw::edelweiss::move_to_sps(site).run(doc));
    const std::string moved = moved_doc["process"][0]["file"];

    scratch.write("data/ma22a000_000.edwtrace", "EDWTRACE but not really");
    CHECK_THROWS_WITH_AS(edw::edelweiss::signal_processing(site).run(moved_doc),
                         doctest::Contains(("checksum mismatch reading " + moved).c_str()),
                         edw::StoreError);
    std::filesystem::remove(moved);
    CHECK_THROWS_WITH_AS(
        edw::edelweiss::signal_processing(site).run(moved_doc),
        ("cannot read moved file " + moved + ": no such file or directory").c_str(),
        edw::StoreError);

    const auto simulated_doc =
        after(doc, "move_to_sps", edw::edelweiss::move_to_sps({.hostname = "h"}).run(doc));
    CHECK_THROWS_WITH_AS(edw::edelweiss::signal_processing(site).run(simulated_doc),
                         doctest::Contains("its move_to_sps entry was simulated"), edw::StoreError);
}

TEST_CASE("without [edelweiss] data_directory the site simulates, and says so")
{
    const auto site = edw::edelweiss::site_options(edw::Settings{});
    CHECK(site.file_work == edw::edelweiss::FileWork::simulated);
    CHECK(edw::edelweiss::describe_file_work(site, "edw.ini")
              .starts_with("simulating: no [edelweiss] data_directory in edw.ini"));
}

TEST_CASE("[edelweiss] directories are made absolute against the working directory and checked")
{
    const edw::test::ScratchDirectory scratch;
    (void)scratch.directory("data");
    const edw::test::WorkingDirectory here(scratch.path());
    const std::string data = (std::filesystem::current_path() / "data").string();
    edw::Settings settings;
    settings.source = "site.ini";
    settings.edelweiss.data_directory = "data/";
    const auto site = edw::edelweiss::site_options(settings);
    CHECK(site.file_work == edw::edelweiss::FileWork::real);
    CHECK(site.data_directory == data);
    CHECK(site.results_directory == data);
    CHECK(edw::edelweiss::describe_file_work(site, "site.ini") ==
          "files: move_to_sps copies raw files into " + data +
              " and checks their md5; signal_processing writes amplitudes into " + data);

    settings.edelweiss.results_directory = "results";
    const std::string results = (std::filesystem::current_path() / "results").string();
    CHECK_THROWS_WITH_AS((void)edw::edelweiss::site_options(settings),
                         ("site.ini: [edelweiss] results_directory " + results +
                          ": no such file or directory (create the directory, or mount its "
                          "disk, first)")
                             .c_str(),
                         edw::ConfigError);
    scratch.write("results", "a file, not a directory");
    CHECK_THROWS_WITH_AS(
        (void)edw::edelweiss::site_options(settings),
        ("site.ini: [edelweiss] results_directory " + results + ": not a directory").c_str(),
        edw::ConfigError);
}

TEST_SUITE_END();
