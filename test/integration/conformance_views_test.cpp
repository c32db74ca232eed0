// Views, design-doc filters and selectors, run against every backend: the live test server and
// the embedded store.
#include "conformance.hpp"

#include <edw/util/error.hpp>

#include <doctest/doctest.h>

#include <algorithm>

TEST_SUITE_BEGIN("conformance");

namespace {

const nlohmann::json design = {
    {"_id", "_design/t"},
    {"views",
     {{"by_key", {{"map", "function (doc) { if (doc.k !== undefined) { emit(doc.k, doc.v); } }"}}},
      {"counted",
       {{"map", "function (doc) { if (doc.g) { emit(doc.g, doc.n); } }"}, {"reduce", "_count"}}},
      {"summed",
       {{"map", "function (doc) { if (doc.g) { emit(doc.g, doc.n); } }"}, {"reduce", "_sum"}}},
      {"stats",
       {{"map", "function (doc) { if (doc.g) { emit(doc.g, doc.n); } }"}, {"reduce", "_stats"}}},
      {"throwing",
       {{"map", "function (doc) { if (doc.bad) { throw new Error('bad doc'); } "
                "if (doc.kind) { emit(doc._id, null); } }"}}}}},
    {"filters",
     {{"by_kind", "function (doc, req) { return doc.kind === req.query.kind; }"},
      {"throwing", "function (doc, req) { if (doc.bad) { throw new Error('bad'); } "
                   "return !!doc.kind; }"}}}};

std::vector<nlohmann::json> keys_of(const edw::ViewResult& result)
{
    std::vector<nlohmann::json> keys;
    for (const auto& row : result.rows) {
        keys.push_back(row.key);
    }
    return keys;
}

// Sorted: a feed gives the rows of one bulk write in no set order (a CouchDB database's
// shards interleave, and pouchdb-server may store a batch's docs in any order).
std::vector<std::string> ids_of(const std::vector<edw::Change>& rows)
{
    std::vector<std::string> ids;
    for (const auto& row : rows) {
        ids.push_back(row.id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

// Keys in CouchDB's collation order, written in another order.
const std::vector<nlohmann::json> ordered_keys = nlohmann::json::parse(
    R"([null, false, true, -1, 1, 2.5, "a", "aa", "b", "c", ["a"], ["a", 1], ["b"], {"a": 1}])");

std::unique_ptr<edw::Database> with_keyed_docs(const Backend& backend, const std::string& name)
{
    auto db = backend.make(name);
    REQUIRE(db->save(design).status == edw::SaveStatus::ok);
    std::vector<nlohmann::json> docs;
    for (std::size_t i = 0; i < ordered_keys.size(); ++i) {
        // Ids run against the key order, so that a store sorting by id would be caught.
        const std::size_t at = (i * 5) % ordered_keys.size();
        docs.push_back({{"_id", "d" + std::to_string(100 - at)},
                        {"k", ordered_keys[at]},
                        {"v", static_cast<int>(at)}});
    }
    for (const auto& result : db->bulk_save(docs)) {
        REQUIRE(result.ok());
    }
    return db;
}

} // namespace

TEST_CASE("a view orders keys by CouchDB's collation: null, booleans, numbers, strings, arrays, "
          "objects")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = with_keyed_docs(backend, "edw-conf-collation");
        const auto result = db->query("t", "by_key", {});
        CHECK(keys_of(result) == ordered_keys);
        CHECK(result.total_rows == ordered_keys.size());
        REQUIRE(!result.rows.empty());
        CHECK(result.rows[0].value == 0);

        edw::ViewQuery descending;
        descending.descending = true;
        auto reversed = ordered_keys;
        std::reverse(reversed.begin(), reversed.end());
        CHECK(keys_of(db->query("t", "by_key", descending)) == reversed);
    }
}

TEST_CASE("view keys that are strings follow the Unicode Collation Algorithm, as in CouchDB")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        if (skipped(backend, backend.no_unicode_collation)) {
            continue;
        }
        auto db = backend.make("edw-conf-uca");
        REQUIRE(db->save(design).status == edw::SaveStatus::ok);
        const std::vector<nlohmann::json> ordered = {"a", "A", "\u00e1", "aa", "b", "B", "ba"};
        std::vector<nlohmann::json> docs;
        for (std::size_t i = 0; i < ordered.size(); ++i) {
            docs.push_back({{"_id", "d" + std::to_string(9 - i)}, {"k", ordered[i]}});
        }
        db->bulk_save(docs);
        CHECK(keys_of(db->query("t", "by_key", {})) == ordered);
    }
}

TEST_CASE("view query options: key, ranges, inclusive_end, descending, limit, skip, keys, "
          "include_docs")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = with_keyed_docs(backend, "edw-conf-viewopts");
        using Keys = std::vector<nlohmann::json>;

        edw::ViewQuery by_key;
        by_key.key = "aa";
        CHECK(keys_of(db->query("t", "by_key", by_key)) == Keys{"aa"});

        edw::ViewQuery range;
        range.startkey = 1;
        range.endkey = "aa";
        CHECK(keys_of(db->query("t", "by_key", range)) == Keys{1, 2.5, "a", "aa"});
        range.inclusive_end = false;
        CHECK(keys_of(db->query("t", "by_key", range)) == Keys{1, 2.5, "a"});

        edw::ViewQuery down;
        down.descending = true;
        down.startkey = "c";
        down.endkey = "aa";
        CHECK(keys_of(db->query("t", "by_key", down)) == Keys{"c", "b", "aa"});

        // All arrays: from [] up to the first object, as a prefix range is written.
        edw::ViewQuery arrays;
        arrays.startkey = nlohmann::json::array();
        arrays.endkey = nlohmann::json::array({nlohmann::json::object()});
        CHECK(keys_of(db->query("t", "by_key", arrays)).size() == 3);

        edw::ViewQuery paged;
        paged.skip = 2;
        paged.limit = 3;
        const auto page = db->query("t", "by_key", paged);
        CHECK(keys_of(page) == Keys{true, -1, 1});
        CHECK(page.offset == 2);

        edw::ViewQuery listed;
        listed.keys = Keys{"b", nullptr, "missing"};
        listed.include_docs = true;
        const auto found = db->query("t", "by_key", listed);
        REQUIRE(found.rows.size() == 2);
        CHECK(found.rows[0].key == "b");
        CHECK(found.rows[1].key == nullptr);
        REQUIRE(found.rows[0].doc.has_value());
        CHECK((*found.rows[0].doc)["k"] == "b");
        CHECK((*found.rows[0].doc)["_id"] == found.rows[0].id);
    }
}

TEST_CASE("built-in reduces _count, _sum and _stats, with group and group_level")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-reduce");
        REQUIRE(db->save(design).status == edw::SaveStatus::ok);
        db->bulk_save({{{"_id", "a"}, {"g", {"x", 1}}, {"n", 1}},
                       {{"_id", "b"}, {"g", {"x", 2}}, {"n", 2}},
                       {{"_id", "c"}, {"g", {"y", 1}}, {"n", 3}},
                       {{"_id", "d"}, {"g", {"y", 1}}, {"n", 4}}});
        const auto all = db->query("t", "counted", {});
        REQUIRE(all.rows.size() == 1);
        CHECK(all.rows[0].key == nullptr);
        CHECK(all.rows[0].value == 4);

        edw::ViewQuery level;
        level.group_level = 1;
        const auto by_first = db->query("t", "counted", level);
        REQUIRE(by_first.rows.size() == 2);
        CHECK(by_first.rows[0].key == nlohmann::json::array({"x"}));
        CHECK(by_first.rows[0].value == 2);
        CHECK(by_first.rows[1].value == 2);

        edw::ViewQuery grouped;
        grouped.group = true;
        const auto sums = db->query("t", "summed", grouped);
        REQUIRE(sums.rows.size() == 3);
        CHECK(sums.rows[2].key == nlohmann::json::array({"y", 1}));
        CHECK(sums.rows[2].value == 7);

        const auto stats = db->query("t", "stats", {});
        REQUIRE(stats.rows.size() == 1);
        CHECK(stats.rows[0].value["sum"] == 10);
        CHECK(stats.rows[0].value["count"] == 4);
        CHECK(stats.rows[0].value["min"] == 1);
        CHECK(stats.rows[0].value["max"] == 4);
        CHECK(stats.rows[0].value["sumsqr"] == 30);

        edw::ViewQuery ranged;
        ranged.startkey = nlohmann::json::array({"y"});
        ranged.endkey = nlohmann::json::array({"y", nlohmann::json::object()});
        CHECK(db->query("t", "summed", ranged).rows.at(0).value == 7);

        edw::ViewQuery unreduced;
        unreduced.reduce = false;
        CHECK(db->query("t", "counted", unreduced).rows.size() == 4);
    }
}

TEST_CASE("a view follows later writes, edits and deletions")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-viewupdate");
        REQUIRE(db->save(design).status == edw::SaveStatus::ok);
        const auto a = db->save({{"_id", "a"}, {"k", 1}});
        const auto b = db->save({{"_id", "b"}, {"k", 2}});
        CHECK(db->query("t", "by_key", {}).rows.size() == 2);
        db->save({{"_id", "a"}, {"_rev", a.rev}, {"k", 3}});
        db->remove("b", b.rev);
        db->save({{"_id", "c"}, {"k", 0}});
        const auto result = db->query("t", "by_key", {});
        CHECK(keys_of(result) == std::vector<nlohmann::json>{0, 3});
        CHECK(result.rows.at(1).id == "a");
    }
}

TEST_CASE("a map function that throws leaves out that doc and indexes the others")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-mapthrows");
        REQUIRE(db->save(design).status == edw::SaveStatus::ok);
        db->bulk_save({{{"_id", "a"}, {"kind", "x"}},
                       {{"_id", "b"}, {"kind", "x"}, {"bad", true}},
                       {{"_id", "c"}, {"kind", "x"}}});
        const auto result = db->query("t", "throwing", {});
        CHECK(keys_of(result) == std::vector<nlohmann::json>{"a", "c"});
    }
}

TEST_CASE("a design-doc filter sees the doc and req.query, tombstones included")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-filter");
        REQUIRE(db->save(design).status == edw::SaveStatus::ok);
        db->bulk_save({{{"_id", "a"}, {"kind", "x"}},
                       {{"_id", "b"}, {"kind", "y"}},
                       {{"_id", "c"}, {"kind", "x"}}});
        edw::ChangesQuery query;
        query.filter = "t/by_kind";
        query.filter_parameters = {{"kind", "x"}};
        CHECK(ids_of(read_feed(*db, query)) == std::vector<std::string>{"a", "c"});
        query.filter_parameters = {{"kind", "y"}};
        query.limit = 1;
        CHECK(ids_of(read_feed(*db, query)) == std::vector<std::string>{"b"});

        // A deleted doc reaches the filter as {_id, _rev, _deleted}: no kind.
        const auto a = db->get("a");
        db->remove("a", (*a)["_rev"].get<std::string>());
        query.filter_parameters = {{"kind", "x"}};
        query.limit.reset();
        CHECK(ids_of(read_feed(*db, query)) == std::vector<std::string>{"c"});
    }
}

TEST_CASE("a filter that does not exist is a 404")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        if (skipped(backend, backend.no_missing_filter_error)) {
            continue;
        }
        auto db = backend.make("edw-conf-nofilter");
        REQUIRE(db->save(design).status == edw::SaveStatus::ok);
        for (const char* filter : {"t/no_such_filter", "nodesign/x"}) {
            edw::ChangesQuery missing;
            missing.filter = filter;
            try {
                read_feed(*db, missing);
                FAIL("expected an HttpError for " << filter);
            } catch (const edw::HttpError& error) {
                CHECK(error.status() == 404);
            }
        }
    }
}

TEST_CASE("a filter that throws on a doc fails the feed with a 500 until the doc or filter changes")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        if (skipped(backend, backend.no_throwing_filter)) {
            continue;
        }
        auto db = backend.make("edw-conf-filterthrows");
        REQUIRE(db->save(design).status == edw::SaveStatus::ok);
        db->bulk_save({{{"_id", "a"}, {"kind", "x"}},
                       {{"_id", "b"}, {"kind", "x"}, {"bad", true}},
                       {{"_id", "c"}, {"kind", "x"}}});
        edw::ChangesQuery query;
        query.filter = "t/throwing";
        // CouchDB 3 answers 500 {"error":"Error","reason":"{[]}"}: no doc is skipped silently.
        try {
            read_feed(*db, query);
            FAIL("a filter that throws gave a feed");
        } catch (const edw::HttpError& error) {
            CHECK(error.status() == 500);
            CHECK(error.error() == "Error");
        }
        // From past the doc, or once it no longer makes the filter throw, the feed goes on.
        auto bad = *db->get("b");
        bad.erase("bad");
        REQUIRE(db->save(bad).status == edw::SaveStatus::ok);
        CHECK(ids_of(read_feed(*db, query)) == std::vector<std::string>{"a", "b", "c"});
    }
}

TEST_CASE("a Mango selector filters the feed on nested fields")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        if (skipped(backend, backend.no_selector)) {
            continue;
        }
        auto db = backend.make("edw-conf-selector");
        db->bulk_save({{{"_id", "a"}, {"kind", "x"}, {"meta", {{"size", 1}}}},
                       {{"_id", "b"}, {"kind", "x"}, {"meta", {{"size", 5}}}},
                       {{"_id", "c"}, {"kind", "y"}, {"meta", {{"size", 9}}}},
                       {{"_id", "d"}, {"kind", "x"}, {"tags", {"raw", "good"}}}});
        edw::ChangesQuery query;
        query.selector = nlohmann::json::parse(R"({"kind": "x", "meta.size": {"$gt": 2}})");
        CHECK(ids_of(read_feed(*db, query)) == std::vector<std::string>{"b"});
        query.selector = nlohmann::json::parse(
            R"({"$or": [{"kind": "y"}, {"tags": {"$elemMatch": {"$eq": "good"}}}]})");
        CHECK(ids_of(read_feed(*db, query)) == std::vector<std::string>{"c", "d"});
        query.selector = nlohmann::json::parse(R"({"meta": {"$exists": false}})");
        query.include_docs = true;
        const auto rows = read_feed(*db, query);
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].doc->parse()["tags"][1] == "good");
        query.selector = nlohmann::json::parse(R"({"kind": {"$bogus": 1}})");
        CHECK_THROWS_AS(read_feed(*db, query), edw::HttpError);
    }
}

TEST_CASE("a design doc whose functions do not compile is refused when written, with the reason")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        if (skipped(backend, backend.no_compile_check)) {
            continue;
        }
        auto db = backend.make("edw-conf-compile");
        const nlohmann::json broken = {
            {"_id", "_design/broken"},
            {"views", {{"v", {{"map", "function (doc) { emit(doc._id, ; }"}}}}}};
        const auto results = db->bulk_save({broken, {{"_id", "fine"}}});
        REQUIRE(results.size() == 2);
        CHECK(results[0].error == "compilation_error");
        CHECK(results[0].reason.find("map function in the 'v' view") != std::string::npos);
        CHECK(results[1].ok());
        CHECK_FALSE(db->get("_design/broken").has_value());
        CHECK_THROWS_AS(db->save(broken), edw::HttpError);
    }
}

TEST_CASE(
    "a filter that does not compile: CouchDB takes it and fails its feed, the store refuses it")
{
    // CouchDB 3 compiles views when a design doc is written, not filters: the mistake shows
    // when a feed uses the filter (500). The embedded store refuses it at once, as it does a view.
    const nlohmann::json broken = {{"_id", "_design/f"},
                                   {"filters", {{"x", "function (doc) { return ; ( }"}}}};
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        if (skipped(backend, backend.no_throwing_filter)) {
            continue;
        }
        auto db = backend.make("edw-conf-badfilter");
        db->bulk_save({{{"_id", "a"}}});
        const auto saved = db->bulk_save({broken}).at(0);
        if (backend_name == "embedded") {
            CHECK(saved.error == "compilation_error");
            CHECK(saved.reason.find("filter function x") != std::string::npos);
            continue;
        }
        REQUIRE(saved.ok());
        edw::ChangesQuery query;
        query.filter = "f/x";
        try {
            read_feed(*db, query);
            FAIL("a filter that does not compile gave a feed");
        } catch (const edw::HttpError& error) {
            CHECK(error.status() == 500);
        }
    }
}

TEST_SUITE_END();
