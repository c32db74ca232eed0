// Shard: K/N parsing and a stable, even split of document ids.
#include "edw/runtime/shard.hpp"

#include <edw/util/error.hpp>

#include <doctest/doctest.h>

#include <vector>

TEST_SUITE_BEGIN("shard");

TEST_CASE("fnv1a64 gives the published FNV-1a values, so shares never move")
{
    CHECK(edw::fnv1a64("") == 0xcbf29ce484222325ULL);
    CHECK(edw::fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
    CHECK(edw::fnv1a64("foobar") == 0x85944171f73967e8ULL);
}

TEST_CASE("K/N parses, and anything else is refused naming the text")
{
    const auto shard = edw::Shard::parse("2/4");
    CHECK(shard.index() == 2);
    CHECK(shard.count() == 4);
    CHECK(shard.str() == "2/4");
    for (const char* bad : {"0/4", "5/4", "1/0", "4", "a/b", "1/4x", "", "/", "-1/4"}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH_AS(edw::Shard::parse(bad), doctest::Contains("shard"), edw::ConfigError);
    }
    CHECK(edw::Shard().is_whole());
    CHECK(edw::Shard().owns("anything"));
}

TEST_CASE("every id falls in exactly one share, and the shares are near even")
{
    std::vector<int> sizes(4, 0);
    for (int i = 0; i < 20000; ++i) {
        const std::string id = "ma22a" + std::to_string(i / 1000) + "_" + std::to_string(i);
        int owners = 0;
        for (unsigned k = 1; k <= 4; ++k) {
            if (edw::Shard(k, 4).owns(id)) {
                ++owners;
                ++sizes[k - 1];
            }
        }
        CHECK(owners == 1);
    }
    for (const int size : sizes) {
        CHECK(size > 4500);
        CHECK(size < 5500);
    }
}

TEST_SUITE_END();
