// Replicator: CouchDB's replication protocol between the embedded store and the test server.
#include "store/sqlite_database.hpp"
#include "test_server.hpp"

#include <edw/replication/replicator.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

TEST_SUITE_BEGIN("replicator");

namespace {

std::unique_ptr<edw::Database> fresh_store(const std::string& name)
{
    const auto path = std::filesystem::temp_directory_path() / "edw-replicator" / (name + ".db");
    auto store = std::make_unique<edw::SqliteDatabase>(path);
    if (std::filesystem::exists(path)) {
        store->destroy();
    }
    store->create();
    return store;
}

struct Quiet final : edw::ReplicationObserver {};

// Stops the run after `batches` batches were written.
struct StopAfter final : edw::ReplicationObserver {
    std::stop_source& stop;
    int batches;
    StopAfter(std::stop_source& source, int count)
        : stop(source)
        , batches(count)
    {}
    void on_batch(std::uint64_t, const edw::ReplicationStats&) override
    {
        if (--batches == 0) {
            stop.request_stop();
        }
    }
};

edw::ReplicationStats replicate(edw::Database& source, edw::Database& target,
                                edw::ReplicationOptions options = {})
{
    Quiet quiet;
    return edw::Replicator(source, target, std::move(options)).run(quiet);
}

// Every doc id with its winning rev, tombstones included, from the feed.
std::map<std::string, std::pair<std::string, bool>> revisions(edw::Database& db)
{
    struct Rows final : edw::ChangesHandler {
        std::map<std::string, std::pair<std::string, bool>> revs;
        void on_change(edw::Change&& change) override
        {
            revs[change.id] = {change.revs.at(0), change.deleted};
        }
    } rows;
    edw::ChangesQuery query;
    (void)db.changes(query, rows);
    return rows.revs;
}

// The same docs, revisions, histories and conflicts on both sides.
void check_same(edw::Database& left, edw::Database& right)
{
    const auto revs = revisions(left);
    CHECK(revs == revisions(right));
    for (const auto& [id, rev] : revs) {
        CAPTURE(id);
        if (!rev.second) {
            CHECK(left.get_with_history(id) == right.get_with_history(id));
        }
    }
}

} // namespace

TEST_CASE("replication copies revisions, histories, tombstones and conflicts, both ways")
{
    auto store = fresh_store("both-ways");
    auto server = fresh_database("edw-repl-both-ways");
    for (int i = 0; i < 30; ++i) {
        const auto saved = store->save({{"_id", "doc" + std::to_string(i)}, {"n", i}});
        if (i % 3 == 0) {
            (void)store->save({{"_id", "doc" + std::to_string(i)}, {"_rev", saved.rev}, {"n", -i}});
        }
        if (i == 7) {
            (void)store->remove("doc7", saved.rev);
        }
    }
    // A conflict, as a second site would have made it: another edit of doc3's first revision.
    const auto doc3 = store->get_with_history("doc3").value();
    REQUIRE(doc3["_revisions"]["ids"].size() == 2);
    nlohmann::json other = {
        {"_id", "doc3"},
        {"_rev", "2-" + std::string(32, '0')},
        {"_revisions",
         {{"start", 2}, {"ids", {std::string(32, '0'), doc3["_revisions"]["ids"][1]}}}},
        {"n", "other site"}};
    REQUIRE(store->bulk_save_replicated({other}).empty());

    edw::ReplicationOptions options;
    options.batch_size = 7;
    const auto first = replicate(*store, *server, options);
    CHECK(first.docs_read == 30);
    CHECK(first.missing_found == 31); // doc3 has two leaves
    CHECK(first.docs_written == 31);
    CHECK(first.doc_write_failures == 0);
    check_same(*store, *server);
    CHECK(server->get_with_history("doc3").value()["_conflicts"].size() == 1);
    CHECK_FALSE(server->get("doc7").has_value());

    // Nothing new: nothing read, nothing written, the target's feed unchanged.
    const auto seq = edw::update_seq_of(*server);
    const auto again = replicate(*store, *server, options);
    CHECK(again.docs_read == 0);
    CHECK(again.docs_written == 0);
    CHECK(edw::update_seq_of(*server) == seq);

    // Work done on the server comes back, and the conflict resolved there is resolved here.
    const auto winner = server->get("doc3").value();
    REQUIRE(server->remove("doc3", winner["_rev"].get<std::string>()).status ==
            edw::SaveStatus::ok);
    const auto doc2 = server->get("doc2").value();
    REQUIRE(server->save({{"_id", "doc2"}, {"_rev", doc2["_rev"]}, {"n", 200}}).status ==
            edw::SaveStatus::ok);
    const auto back = replicate(*server, *store, options);
    CHECK(back.docs_written == 2);
    check_same(*store, *server);
    CHECK(store->get("doc2").value()["n"] == 200);
    CHECK(store->get("doc3").value()["n"] == "other site");
    CHECK_FALSE(store->get_with_history("doc3").value().contains("_conflicts"));
}

TEST_CASE("a stopped replication resumes from its checkpoint and copies only the rest")
{
    auto store = fresh_store("resume");
    auto server = fresh_database("edw-repl-resume");
    std::vector<nlohmann::json> docs;
    for (int i = 0; i < 100; ++i) {
        docs.push_back({{"_id", "doc" + std::to_string(i)}, {"n", i}});
    }
    store->bulk_save(docs);
    edw::ReplicationOptions options;
    options.batch_size = 10;
    std::stop_source stop;
    StopAfter stop_after(stop, 3);
    const auto first = edw::Replicator(*store, *server, options).run(stop_after, stop.get_token());
    CHECK(first.docs_read >= 30);
    CHECK(first.docs_read < 100);
    CHECK(first.docs_written == first.docs_read);
    const auto second = replicate(*store, *server, options);
    CHECK_FALSE(second.start_seq == edw::Seq());
    CHECK(first.docs_read + second.docs_read == 100);
    CHECK(second.docs_written == 100 - first.docs_written);
    check_same(*store, *server);
}

TEST_CASE("doc ids and selectors limit what is copied, on the embedded store and on a server")
{
    auto store = fresh_store("filtered");
    std::vector<nlohmann::json> docs;
    for (int i = 0; i < 20; ++i) {
        docs.push_back({{"_id", "doc" + std::to_string(i)}, {"kind", i % 2 == 0 ? "even" : "odd"}});
    }
    store->bulk_save(docs);
    edw::ReplicationOptions by_ids;
    by_ids.doc_ids = {"doc3", "doc4"};
    auto server = fresh_database("edw-repl-filtered");
    CHECK(replicate(*store, *server, by_ids).docs_written == 2);
    CHECK(server->info()["doc_count"] == 2);

    edw::ReplicationOptions by_selector;
    by_selector.selector = nlohmann::json{{"kind", "odd"}};
    auto odd = fresh_store("filtered-odd");
    CHECK(replicate(*store, *odd, by_selector).docs_written == 10);
    CHECK(odd->info()["doc_count"] == 10);
    CHECK(odd->get("doc3").has_value());
    CHECK_FALSE(odd->get("doc4").has_value());
    // From a server, whether it runs selectors itself (CouchDB) or not (pouchdb-server).
    auto all = fresh_database("edw-repl-filtered-all");
    replicate(*store, *all);
    auto odd_again = fresh_store("filtered-odd-again");
    CHECK(replicate(*all, *odd_again, by_selector).docs_written == 10);
    CHECK_FALSE(odd_again->get("doc4").has_value());
    // Another filter is another replication, with a checkpoint of its own.
    CHECK(edw::Replicator(*store, *odd, by_selector).id() !=
          edw::Replicator(*store, *odd, {}).id());
}

TEST_CASE("a revision the target refuses is counted and named, and the others are written")
{
    if (server_is_couchdb()) {
        MESSAGE("skipped: CouchDB refuses a design doc that does not compile, so it cannot be the "
                "source of one");
        return;
    }
    // pouchdb-server stores a design doc without compiling it; the embedded store refuses it,
    // as CouchDB 3 does.
    auto server = fresh_database("edw-repl-refused");
    REQUIRE(server->save({{"_id", "good"}, {"n", 1}}).status == edw::SaveStatus::ok);
    REQUIRE(server
                ->save({{"_id", "_design/broken"},
                        {"views", {{"v", {{"map", "function (doc) { emit( }"}}}}}})
                .status == edw::SaveStatus::ok);
    auto store = fresh_store("refused");
    const auto stats = replicate(*server, *store);
    CHECK(stats.docs_written == 1);
    CHECK(stats.doc_write_failures == 1);
    REQUIRE(stats.failures.size() == 1);
    CHECK(stats.failures[0].find("_design/broken") != std::string::npos);
    CHECK(stats.failures[0].find("compilation_error") != std::string::npos);
    CHECK(store->get("good").has_value());
}

TEST_CASE("continuous replication copies a write made after it caught up, until stopped")
{
    auto store = fresh_store("continuous");
    auto server = fresh_database("edw-repl-continuous");
    REQUIRE(store->save({{"_id", "before"}}).status == edw::SaveStatus::ok);
    edw::ReplicationOptions options;
    options.continuous = true;
    options.heartbeat = std::chrono::milliseconds(200);
    std::stop_source stop;
    Quiet quiet;
    edw::ReplicationStats stats;
    std::thread running(
        [&] { stats = edw::Replicator(*store, *server, options).run(quiet, stop.get_token()); });
    const auto arrived = [&](const char* id) {
        for (int i = 0; i < 200; ++i) {
            if (server->get(id)) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    };
    CHECK(arrived("before"));
    REQUIRE(store->save({{"_id", "after"}}).status == edw::SaveStatus::ok);
    CHECK(arrived("after"));
    stop.request_stop();
    running.join();
    CHECK(stats.docs_written == 2);
    // The checkpoint covers both: a one-shot run now has nothing to do.
    CHECK(replicate(*store, *server, options = {}).docs_read == 0);
}
