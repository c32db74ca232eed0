// Conformance: the live test server and a fresh embedded store, side by side.
#include "conformance.hpp"

#include "store/sqlite_database.hpp"
#include "test_server.hpp"

#include <doctest/doctest.h>

#include <filesystem>

namespace {

std::unique_ptr<edw::Database> embedded(const std::string& database)
{
    const auto path =
        std::filesystem::temp_directory_path() / "edw-conformance" / (database + ".db");
    auto store = std::make_unique<edw::SqliteDatabase>(path);
    if (std::filesystem::exists(path)) {
        store->destroy();
    }
    store->create();
    return store;
}

struct Rows final : edw::ChangesHandler {
    std::vector<edw::Change> changes;
    void on_change(edw::Change&& change) override { changes.push_back(std::move(change)); }
};

} // namespace

const Backend backends[2] = {
    {.name = "server",
     .make = fresh_database,
     .no_last_seq_after_limit =
         "pouchdb-server 4.2.0 ends a limited continuous feed without the last_seq line CouchDB "
         "sends (see test/data/pouchdb-server-4.2.0/changes-continuous-limit.http)",
     .no_selector = "pouchdb-server 4.2.0 crashes on filter=_selector",
     .no_compile_check = "pouchdb-server 4.2.0 stores a design doc without compiling it, where "
                         "CouchDB 3 refuses it with compilation_error",
     .no_throwing_filter = "pouchdb-server 4.2.0 crashes when a filter throws",
     .no_unicode_collation = "pouchdb-server 4.2.0 orders strings by code unit (\"A\" before "
                             "\"a\"), where CouchDB uses ICU's Unicode Collation Algorithm",
     .no_missing_filter_error = "pouchdb-server 4.2.0 crashes when a named filter is missing",
     .no_unchecked_local_revs = "pouchdb-server 4.2.0 checks the rev of a _local doc (409), where "
                                "CouchDB 3 takes any write and counts 0-1, 0-2, ...",
     .no_not_found_on_deleting_deleted =
         "pouchdb-server 4.2.0 answers DELETE of a deleted doc with 409, CouchDB 3 with 404 "
         "deleted",
     .no_max_document_size = "pouchdb-server 4.2.0 takes docs of any size, CouchDB 3 refuses "
                             "those over 8,000,000 bytes (413)",
     .no_revs_diff_of_ancestors =
         "pouchdb-server 4.2.0 calls a stored ancestor revision missing in _revs_diff and names "
         "no possible_ancestors"},
    {.name = "embedded",
     .make = embedded,
     .no_last_seq_after_limit = nullptr,
     .no_selector = nullptr,
     .no_compile_check = nullptr,
     .no_throwing_filter = nullptr,
     .no_unicode_collation = nullptr,
     .no_missing_filter_error = nullptr,
     .no_unchecked_local_revs = nullptr,
     .no_not_found_on_deleting_deleted = nullptr,
     .no_max_document_size = nullptr,
     .no_revs_diff_of_ancestors = nullptr}};

bool skipped(const Backend& backend, const char* reason)
{
    if (reason == nullptr || (std::string_view(backend.name) == "server" && server_is_couchdb())) {
        return false;
    }
    MESSAGE("skipped on " << std::string(backend.name) << ": " << std::string(reason));
    return true;
}

std::vector<edw::Change> read_feed(edw::Database& db, edw::ChangesQuery query,
                                   std::optional<edw::FeedEnd>* end)
{
    Rows rows;
    auto got = db.changes(query, rows);
    if (end != nullptr) {
        *end = got;
    }
    return rows.changes;
}
