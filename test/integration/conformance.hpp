// Conformance: the backends that one suite of database behaviour runs against, and helpers.
#pragma once

#include <edw/db/database.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

/// A backend under test. A `no_*` field is set when the backend is known to differ from CouchDB
/// 3 in that respect, with the reason; the cases that need it are then skipped for that backend
/// only, and the reason printed. The server's reasons are pouchdb-server's: when the test server
/// is CouchDB (ctest -L couchdb), every case runs there.
struct Backend {
    const char* name;
    std::unique_ptr<edw::Database> (*make)(const std::string& database);
    const char* no_last_seq_after_limit;
    const char* no_selector;
    const char* no_compile_check;
    const char* no_throwing_filter;
    const char* no_unicode_collation;
    const char* no_missing_filter_error;
    const char* no_unchecked_local_revs;
    const char* no_not_found_on_deleting_deleted;
    const char* no_max_document_size;
    const char* no_revs_diff_of_ancestors;
};

extern const Backend backends[2];

/// True (and the reason printed) when `reason` is set: the case does not run on `backend`.
bool skipped(const Backend& backend, const char* reason);

/// The rows of one changes request.
std::vector<edw::Change> read_feed(edw::Database& db, edw::ChangesQuery query,
                                   std::optional<edw::FeedEnd>* end = nullptr);
