#include "edw/workflow/trace_file.hpp"

#include <edw/util/error.hpp>
#include <edw/util/md5.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {

std::string u32(std::uint32_t value)
{
    std::string bytes;
    for (int shift = 0; shift < 32; shift += 8) {
        bytes += static_cast<char>((value >> shift) & 0xffU);
    }
    return bytes;
}

std::string header(std::uint32_t version, std::uint32_t channels, std::uint32_t samples)
{
    return "EDWTRACE" + u32(version) + u32(channels) + u32(samples) + u32(1000);
}

} // namespace

TEST_SUITE_BEGIN("trace file");

TEST_CASE("samples are written little-endian after a 24-byte header, channel after channel")
{
    const edw::edelweiss::Traces traces{.sample_rate_hz = 500, .channels = {{1, -2}, {258, 32767}}};
    const std::string bytes = edw::edelweiss::encode_traces(traces);
    const std::string expected = std::string("EDWTRACE") + u32(1) + u32(2) + u32(2) + u32(500) +
                                 std::string("\x01\x00\xfe\xff\x02\x01\xff\x7f", 8);
    CHECK(bytes == expected);
    CHECK(edw::edelweiss::decode_traces(bytes, "t") == traces);
}

TEST_CASE("the synthetic traces of a doc are 4 channels of 512 samples, 4120 bytes")
{
    const auto traces = edw::edelweiss::synthetic_traces("ma22a000_000");
    CHECK(traces.sample_rate_hz == 1000);
    REQUIRE(traces.channels.size() == 4);
    for (const auto& channel : traces.channels) {
        CHECK(channel.size() == 512);
    }
    const std::string bytes = edw::edelweiss::encode_traces(traces);
    CHECK(bytes.size() == 4120);
    CHECK(edw::edelweiss::decode_traces(bytes, "t") == traces);
}

TEST_CASE("the same id gives the same bytes on every machine, another id other bytes")
{
    const auto first =
        edw::edelweiss::encode_traces(edw::edelweiss::synthetic_traces("ma22a000_000"));
    CHECK(first == edw::edelweiss::encode_traces(edw::edelweiss::synthetic_traces("ma22a000_000")));
    CHECK(first != edw::edelweiss::encode_traces(edw::edelweiss::synthetic_traces("ma22a000_001")));
    // Pinned: integer arithmetic and mt19937_64's raw output only, so no library or machine may
    // change this. If the generator is changed on purpose, docs made before name other bytes.
    CHECK(edw::md5_hex(first) == "b5079688cb8989088146a124124de564");
}

TEST_CASE("a file that is not a trace file is refused with what is wrong")
{
    const std::string good =
        edw::edelweiss::encode_traces({.sample_rate_hz = 1, .channels = {{7}}});
    CHECK_THROWS_WITH_AS(edw::edelweiss::decode_traces(std::string("root\x00\x01", 6), "/d/x.root"),
                         "/d/x.root is not a readable edw trace file: it does not start with "
                         "\"EDWTRACE\" (6 bytes)",
                         edw::StoreError);
    CHECK_THROWS_WITH_AS(edw::edelweiss::decode_traces(header(2, 1, 1) + "ab", "f"),
                         doctest::Contains("format version 2, this edw reads version 1"),
                         edw::StoreError);
    CHECK_THROWS_WITH_AS(edw::edelweiss::decode_traces(header(1, 0, 1), "f"),
                         doctest::Contains("0 channels of 1 samples"), edw::StoreError);
    CHECK_THROWS_WITH_AS(edw::edelweiss::decode_traces(header(1, 65, 1), "f"),
                         doctest::Contains("65 channels"), edw::StoreError);
    CHECK_THROWS_WITH_AS(edw::edelweiss::decode_traces(good.substr(0, good.size() - 1), "f"),
                         doctest::Contains("25 bytes where 1 channels of 1 samples make 26 "
                                           "(truncated)"),
                         edw::StoreError);
    CHECK_THROWS_WITH_AS(edw::edelweiss::decode_traces(good + "x", "f"),
                         doctest::Contains("27 bytes where 1 channels of 1 samples make 26"),
                         edw::StoreError);
}

TEST_CASE("traces that the format cannot hold are refused before anything is written")
{
    CHECK_THROWS_AS((void)edw::edelweiss::encode_traces({.sample_rate_hz = 1, .channels = {}}),
                    edw::StoreError);
    CHECK_THROWS_WITH_AS(
        (void)edw::edelweiss::encode_traces({.sample_rate_hz = 1, .channels = {{1, 2}, {3}}}),
        "cannot write a trace file whose channels differ in length", edw::StoreError);
}

TEST_SUITE_END();
