// The embedded store's own promises: several processes on one file, and files it must refuse.
#include "store/sqlite_database.hpp"

#include "store/view_reduce.hpp"

#include <edw/db/collation.hpp>
#include <edw/util/error.hpp>

#include <doctest/doctest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

TEST_SUITE_BEGIN("embedded store");

namespace {

std::filesystem::path fresh_path(const std::string& name)
{
    const auto directory = std::filesystem::temp_directory_path() / "edw-store-tests";
    std::filesystem::create_directories(directory);
    const auto path = directory / name;
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::filesystem::remove(path.string() + suffix);
    }
    return path;
}

std::string file_bytes(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

struct Rows final : edw::ChangesHandler {
    std::vector<std::string> ids;
    void on_change(edw::Change&& change) override { ids.push_back(change.id); }
};

} // namespace

TEST_CASE("a write by another process wakes a waiting longpoll")
{
    const auto path = fresh_path("wake.db");
    edw::SqliteDatabase store(path);
    store.create();
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The writer: its own connection to the same file, as another program would have.
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        edw::SqliteDatabase writer(path);
        writer.save({{"_id", "from-child"}});
        _exit(0);
    }
    edw::ChangesQuery query;
    query.feed = edw::Feed::longpoll;
    query.since = edw::Seq::now();
    query.timeout = std::chrono::milliseconds(10000);
    Rows rows;
    const auto started = std::chrono::steady_clock::now();
    const auto end = store.changes(query, rows);
    const auto waited = std::chrono::steady_clock::now() - started;
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status));
    REQUIRE(end.has_value());
    CHECK(rows.ids == std::vector<std::string>{"from-child"});
    CHECK(waited < std::chrono::seconds(5)); // woken by the write, not by the timeout
}

TEST_CASE("a file that is not an edw store is refused and left untouched")
{
    const auto path = fresh_path("not-a-store.db");
    {
        std::ofstream out(path);
        out << "these are somebody's notes, not a database\n";
    }
    const std::string before = file_bytes(path);
    edw::SqliteDatabase store(path);
    CHECK_THROWS_WITH_AS(store.info(), doctest::Contains("is not an edw store"), edw::StoreError);
    CHECK(file_bytes(path) == before);
    CHECK_FALSE(std::filesystem::exists(path.string() + "-wal"));
}

TEST_CASE("programs started at once on a new store all open it: none sees it half-created")
{
    for (int round = 0; round < 5; ++round) {
        const auto path = fresh_path("created-at-once-" + std::to_string(round) + ".db");
        std::atomic<int> failures{0};
        std::vector<std::jthread> programs;
        for (int i = 0; i < 4; ++i) {
            programs.emplace_back([&, i] {
                try {
                    edw::SqliteDatabase store(path);
                    store.create();
                    store.save({{"_id", "from-" + std::to_string(i)}});
                } catch (const std::exception& error) {
                    MESSAGE(std::string(error.what()));
                    ++failures;
                }
            });
        }
        programs.clear();
        CHECK(failures == 0);
        edw::SqliteDatabase store(path);
        CHECK(store.info()["doc_count"] == 4);
    }
}

TEST_CASE("a store written by a newer edw is refused with both format versions named")
{
    const auto path = fresh_path("newer.db");
    {
        edw::SqliteDatabase store(path);
        store.create();
    }
    {
        // Simulate a newer edw by raising the format number in place.
        edw::SqliteDatabase store(path);
        store.save({{"_id", "_local/x"}});
    }
    const std::string command =
        "sqlite3 " + path.string() + " \"UPDATE meta SET value = '99' WHERE key = 'format'\"";
    if (std::system(command.c_str()) != 0) {
        MESSAGE("skipped: the sqlite3 command-line tool is not installed");
        return;
    }
    edw::SqliteDatabase store(path);
    CHECK_THROWS_WITH_AS(store.info(), doctest::Contains("store format 99"), edw::StoreError);
}

TEST_CASE("a missing store is a not-found error, as a missing database is on a server")
{
    edw::SqliteDatabase store(fresh_path("missing.db"));
    try {
        store.info();
        FAIL("expected an HttpError");
    } catch (const edw::HttpError& error) {
        CHECK(error.is_not_found());
    }
}

TEST_CASE("kill -9 in the middle of bulk writes, 20 times: nothing acknowledged is lost")
{
    const auto path = fresh_path("killed.db");
    edw::SqliteDatabase(path).create();
    std::mt19937 random(20261130);
    for (int round = 0; round < 20; ++round) {
        CAPTURE(round);
        int output[2];
        REQUIRE(pipe(output) == 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, output[0]);
        const std::string prefix = "r" + std::to_string(round);
        std::vector<char*> argv{const_cast<char*>(EDW_STORE_WRITER),
                                const_cast<char*>(path.c_str()), const_cast<char*>(prefix.c_str()),
                                nullptr};
        pid_t writer = 0;
        REQUIRE(posix_spawn(&writer, EDW_STORE_WRITER, &actions, nullptr, argv.data(), environ) ==
                0);
        posix_spawn_file_actions_destroy(&actions);
        close(output[1]);
        // Once the writer has acknowledged its first batch, it is killed at a random moment:
        // most land inside a bulk write, which is where it spends its time.
        std::string acknowledged;
        char bytes[4096];
        while (acknowledged.find('\n') == std::string::npos) {
            const auto got = read(output[0], bytes, sizeof bytes);
            if (got <= 0) {
                break;
            }
            acknowledged.append(bytes, static_cast<std::size_t>(got));
        }
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::uniform_int_distribution(0, 150)(random)));
        kill(writer, SIGKILL);
        int status = 0;
        waitpid(writer, &status, 0);
        CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
        for (ssize_t got; (got = read(output[0], bytes, sizeof bytes)) > 0;) {
            acknowledged.append(bytes, static_cast<std::size_t>(got));
        }
        close(output[0]);

        // Each complete line is a batch the writer was told was stored.
        int last_batch = -1;
        std::string last_rev;
        std::istringstream lines(acknowledged);
        for (std::string line; std::getline(lines, line);) {
            if (lines.eof()) {
                break; // a line cut by the kill was not acknowledged in full
            }
            std::istringstream fields(line);
            fields >> last_batch >> last_rev;
        }
        REQUIRE(last_batch >= 0); // the writer got some work done before the kill
        edw::SqliteDatabase store(path);
        REQUIRE_NOTHROW(store.info());
        for (int batch = 0; batch <= last_batch; ++batch) {
            for (int i = 0; i < 50; i += 7) {
                CHECK(store.get(prefix + "-" + std::to_string(batch * 50 + i)).has_value());
            }
        }
        CHECK(store.get(prefix + "-" + std::to_string(last_batch * 50 + 49)).has_value());
        const auto counter = store.get(prefix + "-counter");
        REQUIRE(counter.has_value());
        // The kill may have come after a commit and before its acknowledgement, never before.
        CHECK((*counter)["batch"].get<int>() >= last_batch);
        CHECK((*counter)["batch"].get<int>() <= last_batch + 1);
        if ((*counter)["batch"] == last_batch) {
            CHECK((*counter)["_rev"] == last_rev);
        }
    }
    const std::string check =
        "sqlite3 " + path.string() + " 'PRAGMA integrity_check' | grep -qx ok";
    if (std::system("command -v sqlite3 >/dev/null") == 0) {
        CHECK(std::system(check.c_str()) == 0);
    }
}

TEST_CASE("a full disk fails the write with a clear error and leaves the store consistent")
{
    const auto directory = std::filesystem::temp_directory_path() / "edw-full-disk";
    std::filesystem::create_directories(directory);
    umount(directory.c_str());
    if (mount("tmpfs", directory.c_str(), "tmpfs", 0, "size=2m") != 0) {
        MESSAGE("skipped: cannot mount a small tmpfs to fill (" << std::strerror(errno)
                                                                << "); this needs root");
        return;
    }
    struct Unmount {
        std::filesystem::path at;
        ~Unmount() { umount2(at.c_str(), MNT_DETACH); }
    } unmount{directory};
    // Room set aside, to be given back once the disk is full.
    const auto reserve = directory / "reserve";
    {
        std::ofstream out(reserve, std::ios::binary);
        out << std::string(512 * 1024, 'r');
    }
    const auto path = directory / "full.db";
    edw::SqliteDatabase store(path);
    store.create();
    const std::string payload(20000, 'x');
    int stored = 0;
    std::string failure;
    for (; stored < 1000; ++stored) {
        try {
            store.save({{"_id", "doc-" + std::to_string(stored)}, {"payload", payload}});
        } catch (const edw::StoreError& error) {
            failure = error.what();
            break;
        }
    }
    REQUIRE(stored < 1000);
    CHECK(failure.find("the disk is full") != std::string::npos);
    CHECK(failure.find(path.string()) != std::string::npos);
    // Every acknowledged doc is there, the failed one is not half there, and after space is
    // freed the store takes writes again.
    for (int i = 0; i < stored; ++i) {
        CHECK(store.get("doc-" + std::to_string(i)).has_value());
    }
    CHECK_FALSE(store.get("doc-" + std::to_string(stored)).has_value());
    CHECK(store.info()["doc_count"] == stored);
    std::filesystem::remove(reserve);
    store.save({{"_id", "small"}});
    CHECK(store.get("small").has_value());
}

TEST_CASE("a design function that runs too long is stopped with an error, and the next call works")
{
    const auto path = fresh_path("slow.db");
    edw::SqliteDatabase store(path, std::chrono::milliseconds(300));
    store.create();
    store.save({{"_id", "_design/slow"},
                {"views",
                 {{"loops", {{"map", "function (doc) { if (doc.loop) { while (true) {} } }"}}},
                  {"fine", {{"map", "function (doc) { emit(doc._id, null); }"}}}}}});
    store.save({{"_id", "a"}, {"loop", true}});
    CHECK_THROWS_WITH_AS(store.query("slow", "fine", {}),
                         doctest::Contains("ran longer than 300 ms on doc a"), edw::StoreError);
    const auto doc = store.get("a");
    store.save({{"_id", "a"}, {"_rev", (*doc)["_rev"]}, {"loop", false}});
    CHECK(store.query("slow", "fine", {}).rows.size() == 1);
}

TEST_CASE("deleting a design doc drops its view index")
{
    const auto path = fresh_path("ddoc-cleanup.db");
    edw::SqliteDatabase store(path);
    store.create();
    const auto design = store.save(
        {{"_id", "_design/d"}, {"views", {{"v", {{"map", "function (doc) { emit(doc._id); }"}}}}}});
    store.bulk_save({{{"_id", "a"}}, {{"_id", "b"}}});
    CHECK(store.query("d", "v", {}).rows.size() == 2);
    const auto index_is_empty = [&] {
        const std::string command =
            "test \"$(sqlite3 " + path.string() + " 'SELECT COUNT(*) FROM view_rows')\" = 0";
        return std::system(command.c_str()) == 0;
    };
    CHECK_FALSE(index_is_empty());
    store.remove("_design/d", design.rev);
    CHECK(index_is_empty());
    CHECK_THROWS_AS(store.query("d", "v", {}), edw::HttpError);
}

TEST_CASE("a store of format 1 gains view tables, the doc index and revision trees when opened")
{
    const auto path = fresh_path("format1.db");
    {
        edw::SqliteDatabase store(path);
        store.create();
        store.save({{"_id", "a"}, {"k", 1}});
    }
    const std::string downgrade =
        "sqlite3 " + path.string() +
        " \"DROP TABLE view_rows; DROP TABLE view_indexes; DROP INDEX docs_by_deleted; DROP "
        "TABLE revs; UPDATE meta SET value = '1' WHERE key = 'format'\"";
    if (std::system(downgrade.c_str()) != 0) {
        MESSAGE("skipped: the sqlite3 command-line tool is not installed");
        return;
    }
    edw::SqliteDatabase store(path);
    store.save(
        {{"_id", "_design/d"}, {"views", {{"v", {{"map", "function (doc) { emit(doc.k); }"}}}}}});
    CHECK(store.query("d", "v", {}).rows.size() == 1);
    CHECK(store.info()["doc_count"] == 2);
    // The doc's revision became the root of its tree: it can be edited, and its history grows.
    const auto a = store.get("a").value();
    CHECK(store.save({{"_id", "a"}, {"_rev", a["_rev"]}, {"k", 2}}).status == edw::SaveStatus::ok);
    CHECK(store.get_with_history("a").value()["_revisions"]["ids"].size() == 2);
    std::string found;
    const std::string ask = "sqlite3 " + path.string() +
                            " \"SELECT name FROM sqlite_master WHERE name = 'docs_by_deleted' "
                            "UNION ALL SELECT value FROM meta WHERE key = 'format'\"";
    if (FILE* answer = ::popen(ask.c_str(), "r")) {
        char line[128];
        while (std::fgets(line, sizeof line, answer) != nullptr) {
            found += line;
        }
        ::pclose(answer);
    }
    CHECK(found ==
          "docs_by_deleted\n" + std::to_string(edw::SqliteDatabase::format_version) + "\n");
}

namespace {

// What a reduced query must answer, worked out from the view's rows (reduce=false) in the
// same range: the rows' keys grouped and their values reduced, as CouchDB does.
std::vector<edw::ViewRow> reduced_from_rows(edw::Database& store, const std::string& view,
                                            edw::ViewQuery query, edw::BuiltinReduce reduce)
{
    const bool group = query.group;
    const auto level = query.group_level;
    const auto skip = query.skip;
    const auto limit = query.limit;
    query.reduce = false;
    query.group = false;
    query.group_level.reset();
    query.skip = 0;
    query.limit.reset();
    std::vector<edw::ViewRow> groups;
    std::optional<edw::Reducer> reducer;
    for (const auto& row : store.query("d", view, query).rows) {
        auto key = edw::group_key(row.key, group && !level, level);
        if (groups.empty() || edw::collate(groups.back().key, key) != 0) {
            if (reducer) {
                groups.back().value = reducer->result();
            }
            groups.push_back({.id = {}, .key = std::move(key), .value = {}, .doc = {}});
            reducer.emplace(reduce);
        }
        reducer->add(row.value);
    }
    if (reducer) {
        groups.back().value = reducer->result();
    }
    groups.erase(groups.begin(),
                 groups.begin() + static_cast<long>(std::min<std::size_t>(skip, groups.size())));
    if (limit && groups.size() > *limit) {
        groups.resize(*limit);
    }
    return groups;
}

nlohmann::json random_key(std::mt19937& rng)
{
    const nlohmann::json atoms = {"a", "b", "c", 0, 1, 2, nullptr};
    const auto atom = [&] { return atoms[rng() % atoms.size()]; };
    switch (rng() % 8) {
    case 0:
        return atom(); // not an array: one group at every level
    default: {
        nlohmann::json key = nlohmann::json::array();
        const auto length = rng() % 6;
        for (std::size_t i = 0; i < length; ++i) {
            key.push_back(atom());
        }
        return key;
    }
    }
}

} // namespace

TEST_CASE("kept reductions answer as the rows do: counts and sums per group level, range and edit")
{
    const auto path = fresh_path("kept-reductions.db");
    edw::SqliteDatabase store(path);
    store.create();
    const std::string map = "function (doc) { if (doc.k !== undefined) emit(doc.k, doc.n); }";
    REQUIRE(store
                .save({{"_id", "_design/d"},
                       {"views",
                        {{"count", {{"map", map}, {"reduce", "_count"}}},
                         {"sum", {{"map", map}, {"reduce", "_sum"}}}}}})
                .status == edw::SaveStatus::ok);
    std::mt19937 rng(20261204);
    const auto random_n = [&]() -> nlohmann::json {
        return rng() % 5 == 0 ? nlohmann::json(0.5 * static_cast<int>(rng() % 9))
                              : nlohmann::json(static_cast<int>(rng() % 9) - 3);
    };
    std::map<std::string, std::string> revs;
    int checked = 0;
    for (int round = 0; round < 4; ++round) {
        // New docs, edits that move docs between groups, and deletions.
        std::vector<nlohmann::json> writes;
        for (int i = 0; i < 150; ++i) {
            const std::string id = "r" + std::to_string(round) + "-" + std::to_string(i);
            writes.push_back({{"_id", id}, {"k", random_key(rng)}, {"n", random_n()}});
        }
        for (auto& [id, rev] : revs) {
            if (rng() % 3 == 0) {
                writes.push_back(
                    {{"_id", id}, {"_rev", rev}, {"k", random_key(rng)}, {"n", random_n()}});
            } else if (rng() % 6 == 0) {
                writes.push_back({{"_id", id}, {"_rev", rev}, {"_deleted", true}});
            }
        }
        const auto results = store.bulk_save(writes);
        for (std::size_t i = 0; i < results.size(); ++i) {
            REQUIRE(results[i].ok());
            if (writes[i].value("_deleted", false)) {
                revs.erase(results[i].id);
            } else {
                revs[results[i].id] = results[i].rev;
            }
        }
        // Every level, with no range, a range by prefix, and ranges the groups cannot answer.
        std::vector<edw::ViewQuery> queries;
        const nlohmann::json starts = {"a", "b", 0, nullptr};
        for (int level = -2; level <= 9; ++level) {
            edw::ViewQuery query;
            if (level == -1) {
                query.group = true;
            } else if (level >= 0) {
                query.group_level = level;
            }
            queries.push_back(query);
            for (const auto& first : starts) {
                edw::ViewQuery range = query;
                range.startkey = nlohmann::json::array({first});
                range.endkey = nlohmann::json::array({first, nlohmann::json::object()});
                queries.push_back(range);
                range.startkey = nlohmann::json::array({first, "b"});
                range.endkey = nlohmann::json::array({first, "b", nlohmann::json::object()});
                queries.push_back(range);
                range.endkey = nlohmann::json::array({first, "c"}); // may cut into a group
                range.skip = 1;
                range.limit = 3;
                queries.push_back(range);
                range.descending = true;
                std::swap(range.startkey, range.endkey);
                queries.push_back(range);
            }
        }
        for (const auto& query : queries) {
            for (const auto& [view, reduce] : {std::pair{"count", edw::BuiltinReduce::count},
                                               std::pair{"sum", edw::BuiltinReduce::sum}}) {
                const auto answered = store.query("d", view, query).rows;
                const auto expected = reduced_from_rows(store, view, query, reduce);
                CAPTURE(round);
                CAPTURE(view);
                CAPTURE(query.group);
                CAPTURE(query.group_level.value_or(-2));
                CAPTURE(query.startkey.value_or(nullptr).dump());
                CAPTURE(query.endkey.value_or(nullptr).dump());
                REQUIRE(answered.size() == expected.size());
                for (std::size_t i = 0; i < answered.size(); ++i) {
                    CHECK(answered[i].key == expected[i].key);
                    CHECK(answered[i].value == expected[i].value);
                    // The same JSON type too: callers test is_number_unsigned() on counts.
                    CHECK(answered[i].value.type() == expected[i].value.type());
                }
                ++checked;
            }
        }
    }
    CHECK(checked > 1000);
}

TEST_SUITE_END();
