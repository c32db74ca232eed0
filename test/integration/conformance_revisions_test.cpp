// Revision trees as replication sees them, on every backend: histories written with
// new_edits=false, conflicts and the winner every replica picks, _revs_diff and _bulk_get.
#include "conformance.hpp"

#include <doctest/doctest.h>

#include <string>

TEST_SUITE_BEGIN("conformance");

namespace {

std::string hash(char c)
{
    return std::string(32, c);
}

// A replicated revision: `_rev` generation-hash, with its history of `ids` (newest first).
nlohmann::json revision(const std::string& id, int generation, const std::string& ids,
                        nlohmann::json body)
{
    nlohmann::json history = nlohmann::json::array();
    for (const char c : ids) {
        history.push_back(hash(c));
    }
    body["_id"] = id;
    body["_rev"] = std::to_string(generation) + "-" + hash(ids.front());
    body["_revisions"] = {{"start", generation}, {"ids", history}};
    return body;
}

std::string rev(int generation, char c)
{
    return std::to_string(generation) + "-" + hash(c);
}

} // namespace

TEST_CASE("a replicated history is stored as given, and writing it again changes nothing")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-history");
        const auto doc = revision("a", 3, "cba", {{"n", 3}});
        CHECK(db->bulk_save_replicated({doc}).empty());
        const auto stored = db->get_with_history("a");
        REQUIRE(stored.has_value());
        CHECK((*stored)["_rev"] == rev(3, 'c'));
        CHECK((*stored)["n"] == 3);
        CHECK((*stored)["_revisions"] == doc["_revisions"]);
        CHECK_FALSE(stored->contains("_conflicts"));
        const auto seq = edw::update_seq_of(*db);
        CHECK(db->bulk_save_replicated({doc}).empty());
        CHECK(edw::update_seq_of(*db) == seq);
        // An ordinary edit continues the replicated history.
        const auto edited = db->save({{"_id", "a"}, {"_rev", rev(3, 'c')}, {"n", 4}});
        REQUIRE(edited.status == edw::SaveStatus::ok);
        const auto after = db->get_with_history("a");
        CHECK((*after)["_revisions"]["start"] == 4);
        CHECK((*after)["_revisions"]["ids"].size() == 4);
        CHECK((*after)["_revisions"]["ids"][1] == hash('c'));
    }
}

TEST_CASE("two branches make a conflict: every replica picks the same winner and lists the other")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-conflict");
        // Same generation: the higher hash wins. A longer branch wins over a higher hash.
        CHECK(db->bulk_save_replicated({revision("a", 2, "ba", {{"side", "b"}}),
                                        revision("a", 2, "ea", {{"side", "e"}}),
                                        revision("z", 2, "ea", {{"side", "e"}}),
                                        revision("z", 3, "dca", {{"side", "d"}})})
                  .empty());
        const auto a = db->get_with_history("a");
        REQUIRE(a.has_value());
        CHECK((*a)["_rev"] == rev(2, 'e'));
        CHECK((*a)["side"] == "e");
        CHECK((*a)["_conflicts"] == nlohmann::json::array({rev(2, 'b')}));
        const auto z = db->get_with_history("z");
        CHECK((*z)["_rev"] == rev(3, 'd'));
        CHECK((*z)["_conflicts"] == nlohmann::json::array({rev(2, 'e')}));
        CHECK(db->get("a").value()["side"] == "e");

        edw::ChangesQuery query;
        query.style = edw::ChangesStyle::all_docs;
        query.doc_ids = {"a"};
        query.filter = "_doc_ids";
        auto rows = read_feed(*db, query);
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].revs.size() == 2);
        CHECK(std::find(rows[0].revs.begin(), rows[0].revs.end(), rev(2, 'b')) !=
              rows[0].revs.end());

        // The losing leaf can be edited, and deleting the winner lets the other win.
        const auto fixed = db->save({{"_id", "a"}, {"_rev", rev(2, 'b')}, {"side", "b2"}});
        REQUIRE(fixed.status == edw::SaveStatus::ok);
        CHECK(fixed.rev.rfind("3-", 0) == 0);
        CHECK(db->get("a").value()["side"] == "b2"); // generation 3 beats generation 2
        REQUIRE(db->remove("a", fixed.rev).status == edw::SaveStatus::ok);
        CHECK(db->get("a").value()["side"] == "e");
        CHECK_FALSE(db->get_with_history("a").value().contains("_conflicts"));
        CHECK(db->info()["doc_count"] == 2);
    }
}

TEST_CASE("a replicated tombstone deletes the doc, and a replicated edit of it brings it back")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-replicated-delete");
        CHECK(db->bulk_save_replicated({revision("a", 1, "a", {{"n", 1}})}).empty());
        auto tombstone = revision("a", 2, "ba", nlohmann::json::object());
        tombstone["_deleted"] = true;
        CHECK(db->bulk_save_replicated({tombstone}).empty());
        CHECK_FALSE(db->get("a").has_value());
        CHECK(db->info()["doc_count"] == 0);
        edw::ChangesQuery query;
        const auto rows = read_feed(*db, query);
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].deleted);
        CHECK(rows[0].revs.at(0) == rev(2, 'b'));
        CHECK(db->bulk_save_replicated({revision("a", 3, "cba", {{"n", 3}})}).empty());
        CHECK(db->get("a").value()["n"] == 3);
    }
}

TEST_CASE("_revs_diff names the missing revisions and the leaves that may be their ancestors")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-revs-diff");
        CHECK(db->bulk_save_replicated({revision("a", 2, "ba", {{"n", 2}})}).empty());
        const auto diff =
            db->revs_diff({{"a", {rev(1, 'a'), rev(2, 'b'), rev(3, 'c')}}, {"b", {rev(1, 'f')}}});
        CHECK(diff.size() == 2);
        if (!skipped(backend, backend.no_revs_diff_of_ancestors)) {
            CHECK(diff.at("a").missing == std::vector<std::string>{rev(3, 'c')});
            CHECK(diff.at("a").possible_ancestors == std::vector<std::string>{rev(2, 'b')});
        }
        CHECK(diff.at("b").missing == std::vector<std::string>{rev(1, 'f')});
        CHECK(db->revs_diff({{"a", {rev(2, 'b')}}}).empty());
    }
}

TEST_CASE("_bulk_get reads revisions with their history, the latest leaf of a replaced one")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-bulk-get");
        const auto first = db->save({{"_id", "a"}, {"n", 1}});
        const auto second = db->save({{"_id", "a"}, {"_rev", first.rev}, {"n", 2}});
        const auto reads = db->bulk_get({{"a", second.rev}, {"missing", rev(1, 'a')}});
        REQUIRE(reads.size() == 2);
        CHECK(reads[0].doc.value()["n"] == 2);
        CHECK(reads[0].doc.value()["_revisions"]["start"] == 2);
        CHECK(reads[0].doc.value()["_revisions"]["ids"].size() == 2);
        CHECK_FALSE(reads[1].doc.has_value());
        CHECK(reads[1].error == "not_found");
        CHECK(reads[1].id == "missing");
        // latest=true: the revision that replaced the one asked for.
        const auto latest = db->bulk_get({{"a", first.rev}});
        REQUIRE(latest.size() == 1);
        CHECK(latest[0].doc.value()["_rev"] == second.rev);
    }
}
