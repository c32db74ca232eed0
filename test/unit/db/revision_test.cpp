#include "couch/couch_database.hpp"

#include <edw/db/revision.hpp>
#include <edw/util/error.hpp>

#include <doctest/doctest.h>

TEST_SUITE_BEGIN("revision");

TEST_CASE("a revision id splits into generation and hash, and anything else is refused")
{
    const auto id = edw::parse_revision("12-abc");
    CHECK(id.generation == 12);
    CHECK(id.hash == "abc");
    for (const char* bad : {"", "12", "12-", "-abc", "x-abc", "1x-abc"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(edw::parse_revision(bad), edw::JsonError);
    }
}

TEST_CASE("_revisions turns into full revision ids, newest first, and back")
{
    const nlohmann::json doc = {
        {"_id", "a"}, {"_rev", "3-c"}, {"_revisions", {{"start", 3}, {"ids", {"c", "b", "a"}}}}};
    const std::vector<std::string> path = {"3-c", "2-b", "1-a"};
    CHECK(edw::revision_path(doc) == path);
    CHECK(edw::revisions_field(path) == doc["_revisions"]);
    // Without a history, the revision alone (a stemmed tree's root).
    CHECK(edw::revision_path({{"_id", "a"}, {"_rev", "3-c"}}) == std::vector<std::string>{"3-c"});
}

TEST_CASE("a history that disagrees with _rev, or is malformed, is refused")
{
    const auto with = [](nlohmann::json revisions) {
        return nlohmann::json{{"_id", "a"}, {"_rev", "3-c"}, {"_revisions", std::move(revisions)}};
    };
    CHECK_THROWS_AS(edw::revision_path(with({{"start", 2}, {"ids", {"c"}}})), edw::JsonError);
    CHECK_THROWS_AS(edw::revision_path(with({{"start", 3}, {"ids", {"x"}}})), edw::JsonError);
    CHECK_THROWS_AS(edw::revision_path(with({{"start", 3}, {"ids", nlohmann::json::array()}})),
                    edw::JsonError);
    CHECK_THROWS_AS(edw::revision_path(with({{"start", 3}, {"ids", {"c", "b", "a", "z"}}})),
                    edw::JsonError);
    CHECK_THROWS_AS(edw::revision_path({{"_id", "a"}}), edw::JsonError);
}

TEST_CASE("the winning leaf: live before deleted, then the highest generation, then hash")
{
    using edw::Leaf;
    CHECK(edw::winning_leaf({Leaf{"2-a", false}, Leaf{"2-b", false}}) == 1);
    CHECK(edw::winning_leaf({Leaf{"3-a", false}, Leaf{"2-b", false}}) == 0);
    CHECK(edw::winning_leaf({Leaf{"9-z", true}, Leaf{"1-a", false}}) == 1);
    CHECK(edw::winning_leaf({Leaf{"2-a", true}, Leaf{"3-a", true}}) == 1);
    CHECK(edw::winning_leaf({Leaf{"10-a", false}, Leaf{"9-z", false}}) == 0); // numbers, not text
}

TEST_CASE("a _bulk_get answer gives each revision, CouchDB's errors and PouchDB's missing")
{
    // CouchDB 3.4.3 and pouchdb-server 4.2.0, asked for one present and one missing revision.
    const auto couchdb = nlohmann::json::parse(
        R"({"results":[{"id":"a","docs":[{"ok":{"_id":"a","_rev":"2-bb","n":2,"_revisions":{"start":2,"ids":["bb","aa"]}}}]},{"id":"missing","docs":[{"error":{"rev":"1-aa","reason":"missing","id":"missing","error":"not_found"}}]}]})");
    const auto pouchdb = nlohmann::json::parse(
        R"({"results":[{"id":"a","docs":[{"ok":{"n":2,"_id":"a","_rev":"2-bb","_revisions":{"start":2,"ids":["bb","aa"]}}}]},{"id":"missing","docs":[{"missing":"1-aa"}]}]})");
    for (const auto& answer : {couchdb, pouchdb}) {
        const auto reads = edw::parse_bulk_get(answer);
        REQUIRE(reads.size() == 2);
        CHECK(reads[0].rev == "2-bb");
        CHECK(reads[0].doc.value()["_revisions"]["ids"].size() == 2);
        CHECK(reads[1].id == "missing");
        CHECK(reads[1].rev == "1-aa");
        CHECK(reads[1].error == "not_found");
        CHECK_FALSE(reads[1].doc.has_value());
    }
    CHECK_THROWS_AS(edw::parse_bulk_get(nlohmann::json::array()), edw::JsonError);
    CHECK_THROWS_AS(edw::parse_bulk_get({{"results", {{{"id", "a"}, {"docs", {{{"x", 1}}}}}}}}),
                    edw::JsonError);
}
