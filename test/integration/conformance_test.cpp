// Database behaviour that every backend must share, run against each of them: the live test
// server and the embedded store.
#include "conformance.hpp"

#include <edw/util/error.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

TEST_SUITE_BEGIN("conformance");

TEST_CASE("revisions: N-hash, 409 on a stale or missing rev, create over a live doc refused")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-revs");
        const auto first = db->save({{"_id", "a"}, {"n", 1}});
        REQUIRE(first.status == edw::SaveStatus::ok);
        CHECK(first.rev.rfind("1-", 0) == 0);
        const auto second = db->save({{"_id", "a"}, {"_rev", first.rev}, {"n", 2}});
        REQUIRE(second.status == edw::SaveStatus::ok);
        CHECK(second.rev.rfind("2-", 0) == 0);
        CHECK(db->save({{"_id", "a"}, {"_rev", first.rev}, {"n", 3}}).is_conflict());
        CHECK(db->save({{"_id", "a"}, {"n", 4}}).is_conflict());
        const auto doc = db->get("a");
        REQUIRE(doc.has_value());
        CHECK((*doc)["n"] == 2);
        CHECK((*doc)["_rev"] == second.rev);
    }
}

TEST_CASE("a deleted doc is gone for get, stays in the feed as a tombstone, and can be recreated")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-delete");
        const auto saved = db->save({{"_id", "a"}, {"n", 1}});
        const auto removed = db->remove("a", saved.rev);
        REQUIRE(removed.status == edw::SaveStatus::ok);
        // DELETE looks the doc up first: a deleted one is not found, whatever the rev. Through
        // _bulk_docs the same stale rev is a conflict.
        if (!skipped(backend, backend.no_not_found_on_deleting_deleted)) {
            try {
                (void)db->remove("a", saved.rev);
                FAIL("deleting a deleted doc was accepted");
            } catch (const edw::HttpError& error) {
                CHECK(error.is_not_found());
                CHECK(error.reason() == "deleted");
            }
        }
        const auto again = db->bulk_save({{{"_id", "a"}, {"_rev", saved.rev}, {"_deleted", true}}});
        CHECK(again.at(0).is_conflict());
        CHECK_FALSE(db->get("a").has_value());
        edw::ChangesQuery query;
        query.include_docs = true;
        const auto rows = read_feed(*db, query);
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].deleted);
        CHECK(rows[0].doc->parse().value("_deleted", false));
        CHECK(db->info()["doc_count"] == 0);
        CHECK(db->save({{"_id", "a"}, {"n", 2}}).status == edw::SaveStatus::ok);
    }
}

TEST_CASE("bulk writes answer per doc, in order")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-bulk");
        db->save({{"_id", "b"}});
        const auto results = db->bulk_save({{{"_id", "a"}}, {{"_id", "b"}}, {{"_id", "c"}}});
        REQUIRE(results.size() == 3);
        CHECK(results[0].ok());
        CHECK(results[1].is_conflict());
        CHECK(results[2].ok());
        CHECK(results[2].id == "c");
    }
}

TEST_CASE("_all_docs orders ids and honours ranges, limits, descending and keys")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-alldocs");
        db->bulk_save({{{"_id", "b"}}, {{"_id", "a"}}, {{"_id", "d"}}, {{"_id", "c"}}});
        const auto ids = [](const edw::ViewResult& result) {
            std::vector<std::string> out;
            for (const auto& row : result.rows) {
                out.push_back(row.id);
            }
            return out;
        };
        CHECK(ids(db->all_docs({})) == std::vector<std::string>{"a", "b", "c", "d"});
        edw::ViewQuery range;
        range.startkey = "b";
        range.endkey = "c";
        CHECK(ids(db->all_docs(range)) == std::vector<std::string>{"b", "c"});
        range.inclusive_end = false;
        CHECK(ids(db->all_docs(range)) == std::vector<std::string>{"b"});
        edw::ViewQuery backwards;
        backwards.descending = true;
        backwards.limit = 2;
        CHECK(ids(db->all_docs(backwards)) == std::vector<std::string>{"d", "c"});
        edw::ViewQuery keyed;
        keyed.keys = std::vector<nlohmann::json>{"c", "a"};
        keyed.include_docs = true;
        const auto rows = db->all_docs(keyed);
        CHECK(ids(rows) == std::vector<std::string>{"c", "a"});
        CHECK(rows.rows[0].doc->at("_id") == "c");
        CHECK(db->all_docs({}).total_rows == 4U);
    }
}

TEST_CASE("_local docs take any write, count their revs 0-N, and stay out of the feed and count")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-local");
        const auto saved = db->save({{"_id", "_local/checkpoint"}, {"seq", 1}});
        REQUIRE(saved.status == edw::SaveStatus::ok);
        CHECK(saved.rev == "0-1");
        CHECK(db->save({{"_id", "_local/checkpoint"}, {"_rev", saved.rev}, {"seq", 2}}).rev ==
              "0-2");
        CHECK((*db->get("_local/checkpoint"))["seq"] == 2);
        if (!skipped(backend, backend.no_unchecked_local_revs)) {
            // CouchDB 3 checks no rev on a _local doc: the last writer wins, and the rev is the
            // given one's number plus one (none: 0-1). edw's checkpoints must not count on 409s.
            const auto blind = db->save({{"_id", "_local/checkpoint"}, {"seq", 3}});
            CHECK(blind.status == edw::SaveStatus::ok);
            CHECK(blind.rev == "0-1");
            const auto stale =
                db->save({{"_id", "_local/checkpoint"}, {"_rev", "0-9"}, {"seq", 4}});
            CHECK(stale.status == edw::SaveStatus::ok);
            CHECK(stale.rev == "0-10");
            CHECK((*db->get("_local/checkpoint"))["seq"] == 4);
        }
        CHECK(read_feed(*db, {}).empty());
        CHECK(db->info()["doc_count"] == 0);
    }
}

TEST_CASE("a doc over 8,000,000 bytes is refused with 413, and nothing else of its request")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        if (skipped(backend, backend.no_max_document_size)) {
            continue;
        }
        auto db = backend.make("edw-conf-toolarge");
        const nlohmann::json big = {{"_id", "big"}, {"notes", std::string(8'100'000, 'n')}};
        try {
            (void)db->bulk_save({{{"_id", "small"}}, big});
            FAIL("a doc over max_document_size was taken");
        } catch (const edw::HttpError& error) {
            CHECK(error.status() == 413);
            CHECK(error.error() == "document_too_large");
        }
        CHECK_FALSE(db->get("small").has_value());
        CHECK_THROWS_AS((void)db->save(big), edw::HttpError);
        const nlohmann::json fits = {{"_id", "fits"}, {"notes", std::string(7'900'000, 'n')}};
        CHECK(db->save(fits).status == edw::SaveStatus::ok);
    }
}

TEST_CASE("the normal feed gives each doc's latest change once, with since, limit and doc_ids")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-feed");
        const auto a = db->save({{"_id", "a"}});
        db->save({{"_id", "b"}});
        db->save({{"_id", "a"}, {"_rev", a.rev}, {"edited", true}});
        std::optional<edw::FeedEnd> end;
        auto rows = read_feed(*db, {}, &end);
        REQUIRE(rows.size() == 2);
        CHECK(rows[0].id == "b"); // a moved to the end when it was edited
        CHECK(rows[1].id == "a");
        REQUIRE(end.has_value());
        CHECK(end->last_seq == rows[1].seq);

        edw::ChangesQuery since;
        since.since = rows[0].seq;
        rows = read_feed(*db, since);
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].id == "a");

        edw::ChangesQuery limited;
        limited.limit = 1;
        CHECK(read_feed(*db, limited).size() == 1);

        edw::ChangesQuery by_id;
        by_id.doc_ids = {"b"};
        rows = read_feed(*db, by_id);
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].id == "b");
    }
}

TEST_CASE("a longpoll waits for the next write and answers with it")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        auto db = backend.make("edw-conf-longpoll");
        db->save({{"_id", "before"}});
        edw::ChangesQuery query;
        query.feed = edw::Feed::longpoll;
        query.since = edw::Seq::now();
        query.include_docs = true;
        std::jthread writer([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            db->save({{"_id", "after"}});
        });
        const auto rows = read_feed(*db, query);
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].id == "after");
    }
}

TEST_CASE("a continuous feed with a limit ends with a last_seq after that many rows")
{
    for (const auto& backend : backends) {
        const std::string backend_name = backend.name;
        CAPTURE(backend_name);
        if (skipped(backend, backend.no_last_seq_after_limit)) {
            continue;
        }
        auto db = backend.make("edw-conf-continuous");
        db->bulk_save({{{"_id", "a"}}, {{"_id", "b"}}, {{"_id", "c"}}});
        edw::ChangesQuery query;
        query.feed = edw::Feed::continuous;
        query.limit = 2;
        query.heartbeat = std::chrono::milliseconds(200);
        std::optional<edw::FeedEnd> end;
        const auto rows = read_feed(*db, query, &end);
        CHECK(rows.size() == 2);
        REQUIRE(end.has_value());
        CHECK(end->last_seq == rows[1].seq);
    }
}

TEST_SUITE_END();
