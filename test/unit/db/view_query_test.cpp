#include "recording.hpp"

#include <edw/db/view_query.hpp>
#include <edw/util/error.hpp>

#include <doctest/doctest.h>

TEST_SUITE_BEGIN("view query");

TEST_CASE("string keys are JSON-quoted, then URL-encoded")
{
    edw::ViewQuery query;
    query.key = "ma22a000_000";
    CHECK(query.to_query_string() == "?key=%22ma22a000_000%22");
}

TEST_CASE("a step range runs from [step] to [step, {}], not a string prefix")
{
    edw::ViewQuery query;
    query.startkey = nlohmann::json::array({"move_to_sps"});
    query.endkey = nlohmann::json::array({"move_to_sps", nlohmann::json::object()});
    query.include_docs = true;
    query.limit = 10;
    CHECK(query.to_query_string() ==
          "?startkey=%5B%22move_to_sps%22%5D&endkey=%5B%22move_to_sps%22%2C%7B%7D%5D"
          "&include_docs=true&limit=10");
}

TEST_CASE("every option has its CouchDB name")
{
    edw::ViewQuery query;
    query.startkey_docid = "a b";
    query.endkey_docid = "z";
    query.inclusive_end = false;
    query.descending = true;
    query.skip = 2;
    query.reduce = true;
    query.group = true;
    query.group_level = 1;
    query.update = false;
    query.stable = true;
    CHECK(query.to_query_string() ==
          "?startkey_docid=a%20b&endkey_docid=z&inclusive_end=false&descending=true&skip=2"
          "&reduce=true&group=true&group_level=1&update=false&stable=true");
    CHECK(edw::ViewQuery{}.to_query_string().empty());
}

TEST_CASE("keys go in the body as a JSON array")
{
    edw::ViewQuery query;
    query.keys = std::vector<nlohmann::json>{nlohmann::json::array({0, "a"}), "b"};
    CHECK(query.needs_body());
    CHECK(query.body() == R"({"keys":[[0,"a"],"b"]})");
}

TEST_CASE("recorded view answers of every server parse alike")
{
    for (const char* server : {"couchdb-3.4.3", "couchdb-3.4.3-cluster3", "pouchdb-server-4.2.0"}) {
        const auto rows =
            edw::parse_view_result(load_recording(server, "view-lastproc-reduce-false").body);
        CHECK(rows.total_rows == 3U);
        REQUIRE(rows.rows.size() == 2);
        CHECK(rows.rows[0].key == nlohmann::json::parse(R"([0,"ma22a000_000"])"));
        CHECK(rows.rows[0].doc->at("status") == "good");
        const auto grouped =
            edw::parse_view_result(load_recording(server, "view-lastproc-group-level-1").body);
        CHECK(grouped.rows.size() == 2);
        CHECK(grouped.rows[0].id.empty());
    }
}

TEST_CASE("a body that is not a view answer is a JSON error")
{
    CHECK_THROWS_AS(edw::parse_view_result(R"({"error":"x"})"), edw::JsonError);
    CHECK_THROWS_AS(edw::parse_view_result("{\"rows\":["), edw::JsonError);
}

TEST_SUITE_END();
