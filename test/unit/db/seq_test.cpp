#include <edw/db/seq.hpp>
#include <edw/util/error.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

TEST_SUITE_BEGIN("seq");

TEST_CASE("a string seq is kept verbatim and sent without quotes")
{
    const edw::Seq seq(R"("12-g1AAAABXeJzLYWBg")");
    CHECK(seq.json() == R"("12-g1AAAABXeJzLYWBg")");
    CHECK(seq.to_query() == "12-g1AAAABXeJzLYWBg");
    CHECK(seq != edw::Seq("12")); // same digits, different JSON
}

TEST_CASE("a number seq stays a number")
{
    const edw::Seq seq("42");
    CHECK(seq.to_query() == "42");
    CHECK(seq.to_json().is_number_unsigned());
    CHECK(edw::Seq::from_json(nlohmann::json(42)) == seq);
    CHECK(edw::Seq() == edw::Seq("0"));
}

TEST_CASE("a seq that is neither string nor number is refused with its text")
{
    CHECK_THROWS_WITH_AS(edw::Seq("[1]"), doctest::Contains("[1]"), edw::JsonError);
    CHECK_THROWS_AS(edw::Seq("-3"), edw::JsonError);
    CHECK_THROWS_AS(edw::Seq::from_json(nlohmann::json::object()), edw::JsonError);
}

TEST_CASE("seqs read from a feed equal the same seqs parsed as JSON")
{
    for (const std::string text : {"12-g1AAAAB", "now", "", "caf\xc3\xa9", "a\"b", "tab\there"}) {
        CAPTURE(text);
        CHECK(edw::Seq::from_string(text) == edw::Seq::from_json(nlohmann::json(text)));
    }
    CHECK(edw::Seq::from_number(42) == edw::Seq::from_json(nlohmann::json(42)));
    CHECK(edw::Seq::from_number(0) == edw::Seq());
}

TEST_SUITE_END();
