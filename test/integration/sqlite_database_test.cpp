// The embedded store's own promises: several processes on one file, and files it must refuse.
#include "sqlite_database.hpp"

#include <edw/error.hpp>

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
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

TEST_SUITE_END();
