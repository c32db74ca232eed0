// SqliteDatabase: documents, revisions and the changes feed in one SQLite file.
#include "sqlite_database.hpp"

#include "sqlite_connection.hpp"
#include "view_groups.hpp"

#include <edw/util/error.hpp>
#include <edw/util/md5.hpp>
#include <edw/util/random_id.hpp>

#include <sqlite3.h>

#include <chrono>
#include <fstream>
#include <random>
#include <string_view>
#include <thread>

namespace edw {

// The text stored for a doc: the doc without `_id`, `_rev` and `_deleted` (kept in columns of
// their own) and `_revisions` (kept as the revision tree), written straight from the doc rather
// than from a trimmed copy of it.
std::string stored_body(const nlohmann::json& doc)
{
    std::string text;
    text.reserve(512);
    nlohmann::detail::serializer<nlohmann::json> writer(
        nlohmann::detail::output_adapter<char>(text), ' ');
    text.push_back('{');
    bool first = true;
    for (auto it = doc.begin(); it != doc.end(); ++it) {
        const auto& key = it.key();
        if (key == "_id" || key == "_rev" || key == "_deleted" || key == "_revisions") {
            continue;
        }
        if (!first) {
            text.push_back(',');
        }
        first = false;
        writer.dump(nlohmann::json(key), false, false, 0);
        text.push_back(':');
        writer.dump(it.value(), false, false, 0);
    }
    text.push_back('}');
    return text;
}

std::optional<BulkResult> refused_fields(const nlohmann::json& doc, const std::string& id)
{
    BulkResult result;
    result.id = id;
    if (!doc.is_object()) {
        result.error = "bad_request";
        result.reason = "Document must be a JSON object";
        return result;
    }
    for (auto it = doc.begin(); it != doc.end(); ++it) {
        // Other underscore fields are CouchDB's own; an unknown one is refused there too.
        const auto& key = it.key();
        if (key.size() > 0 && key[0] == '_' && key != "_id" && key != "_rev" && key != "_deleted" &&
            key != "_attachments" && key != "_conflicts" && key != "_revisions") {
            result.error = "doc_validation";
            result.reason = "Bad special document member: " + key;
            return result;
        }
    }
    return std::nullopt;
}

void check_document_size(const std::string& body, const std::string& id, const std::string& where)
{
    // CouchDB 3's max_document_size (8,000,000 bytes by default): the whole request is refused
    // with 413, none of its docs written (the caller's transaction is rolled back).
    constexpr std::size_t max_document_size = 8'000'000;
    if (body.size() > max_document_size) {
        throw HttpError("cannot save doc " + id + " to " + where + ": document_too_large: it is " +
                            std::to_string(body.size()) + " bytes, more than " +
                            std::to_string(max_document_size),
                        413, "document_too_large", id);
    }
}

namespace {

// Another connection holds the write lock. SQLite's own busy timeout sleeps 1, 2, 5, 10 ... 100
// ms between looks, so with listeners committing small batches back to back the lock mostly sits
// free while a writer sleeps. Look every 100 us at first, then at most every 2 ms, for 10 s.
int wait_for_lock(void*, int attempt)
{
    constexpr int steps_to_2ms = 5; // 0.1, 0.2, 0.4, 0.8, 1.6 ms
    constexpr int attempts_in_10s = steps_to_2ms + 10000 / 2;
    if (attempt >= attempts_in_10s) {
        return 0; // SQLITE_BUSY: "database is locked"
    }
    const auto pause = attempt < steps_to_2ms ? std::chrono::microseconds(100 << attempt)
                                              : std::chrono::microseconds(2000);
    std::this_thread::sleep_for(pause);
    return 1;
}

// The next revision: the generation counts writes; the hash depends on the previous revision and
// the new content, so the same edit made twice gives the same rev, as in CouchDB.
std::string next_rev(const std::string& previous, const std::string& body, bool deleted)
{
    long generation = 0;
    if (!previous.empty()) {
        generation = std::strtol(previous.c_str(), nullptr, 10);
    }
    return std::to_string(generation + 1) + "-" +
           md5_hex(previous + (deleted ? "\ndeleted\n" : "\n") + body);
}

HttpError missing_database(const std::string& path)
{
    // Still a 404 not_found to callers, as a missing database is on a server; the words are
    // for a file.
    return HttpError("the embedded store " + path +
                         " does not exist (no such file); create it with: edw db create",
                     404, "not_found", "Database does not exist.");
}

// A view's rows, one per emitted key, ordered as CouchDB orders them by (key, doc id): the
// *_order columns hold collation sort keys, which SQLite compares as bytes. The signature says
// which functions built an index; when a design doc's views change, its rows are built again.
void create_view_tables(SqliteConnection& connection)
{
    connection.execute("CREATE TABLE IF NOT EXISTS view_indexes (ddoc TEXT PRIMARY KEY, "
                       "signature TEXT NOT NULL, seq INTEGER NOT NULL)");
    connection.execute("CREATE TABLE IF NOT EXISTS view_rows (ddoc TEXT NOT NULL, view TEXT NOT "
                       "NULL, key_order BLOB NOT NULL, id_order BLOB NOT NULL, doc_id TEXT NOT "
                       "NULL, key TEXT NOT NULL, value TEXT NOT NULL)");
    connection.execute("CREATE INDEX IF NOT EXISTS view_rows_by_key ON view_rows (ddoc, view, "
                       "key_order, id_order)");
    connection.execute("CREATE INDEX IF NOT EXISTS view_rows_by_doc ON view_rows (ddoc, doc_id)");
    ViewGroups::create_tables(connection);
}

// Lets info() count live and deleted docs from a small index instead of reading every row.
void create_doc_indexes(SqliteConnection& connection)
{
    connection.execute("CREATE INDEX IF NOT EXISTS docs_by_deleted ON docs (deleted)");
}

} // namespace

SqliteDatabase::SqliteDatabase(std::filesystem::path path, std::chrono::milliseconds js_timeout,
                               std::string name)
    : m_path(std::move(path))
    , m_name(name.empty() ? m_path.stem().string() : std::move(name))
    , m_engine(std::make_unique<JavaScriptEngine>(js_timeout))
{}

SqliteDatabase::~SqliteDatabase() = default;

std::string SqliteDatabase::describe() const
{
    return "file:" + m_path.string();
}

namespace {

// False only for a file that is surely not an SQLite database: its first bytes, once there, are
// not SQLite's header. A new store's file is empty or short while its creator writes it.
bool may_be_sqlite(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    char header[16] = {};
    in.read(header, sizeof header);
    return in.gcount() < static_cast<std::streamsize>(sizeof header) ||
           std::string_view(header, sizeof header) == std::string_view("SQLite format 3\0", 16);
}

// True for an SQLite file without a single table: new, or being created by another process. An
// error reading it (busy, or a header not written yet) counts as the same, unless the file is
// surely not SQLite.
bool has_no_tables(SqliteConnection& connection)
{
    try {
        auto& count = connection.statement("SELECT count(*) FROM sqlite_master");
        const bool empty = count.step() && count.integer(0) == 0;
        count.reset();
        return empty;
    } catch (const std::exception&) {
        return may_be_sqlite(connection.path);
    }
}

} // namespace

SqliteConnection& SqliteDatabase::open_existing()
{
    if (m_connection) {
        return *m_connection;
    }
    if (!std::filesystem::exists(m_path)) {
        throw missing_database(m_path.string());
    }
    auto connection = std::make_unique<SqliteConnection>();
    connection->path = m_path.string();
    sqlite3* raw = nullptr;
    const int opened =
        sqlite3_open_v2(m_path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    connection->db.reset(raw);
    if (opened != SQLITE_OK) {
        throw StoreError("cannot open embedded store " + m_path.string() + ": " +
                         (raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
    }
    sqlite3_busy_handler(raw, wait_for_lock, nullptr);
    // Checked before anything is written, so that a file that is not ours stays untouched. A
    // file with no tables at all is a store another process is creating at this moment (several
    // daemons started at once on a new machine): its tables appear when that commits.
    const auto read_format = [&connection] {
        int value = 0;
        try {
            auto& check = connection->statement("SELECT value FROM meta WHERE key = 'format'");
            if (check.step()) {
                value = std::stoi(check.text(0));
            }
            check.reset();
        } catch (const std::exception&) {
            value = 0;
        }
        return value;
    };
    int format = 0;
    for (int wait = 0; format == 0 && wait < 500; ++wait) {
        format = read_format();
        if (format == 0 && !has_no_tables(*connection)) {
            // The tables appeared between the two reads (the creator committed): read the format
            // again, now with the new schema, before judging the file.
            format = read_format();
            break;
        }
        if (format == 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    if (format == 0) {
        throw StoreError(m_path.string() + " is not an edw store");
    }
    if (format > format_version) {
        throw StoreError(m_path.string() + " was written by a newer edw (store format " +
                         std::to_string(format) + ", this one reads up to " +
                         std::to_string(format_version) + ")");
    }
    connection->use_wal();
    if (format < format_version) {
        WriteTransaction upgrade(*connection);
        if (format < 5) {
            // Stores before format 5 kept the current revision only: it becomes its doc's root.
            create_revision_tree(*connection);
            connection->execute("INSERT INTO revs (doc_id, rev, parent, deleted, leaf, body) "
                                "SELECT id, rev, NULL, deleted, 1, NULL FROM docs");
        }
        create_view_tables(*connection);
        create_doc_indexes(*connection);
        connection->execute("UPDATE meta SET value = '" + std::to_string(format_version) +
                            "' WHERE key = 'format'");
        upgrade.commit();
    }
    // NORMAL in WAL mode: a committed write survives the death of any process (kill -9); only a
    // power cut may lose the last transactions.
    connection->execute("PRAGMA synchronous = NORMAL");
    m_connection = std::move(connection);
    return *m_connection;
}

bool SqliteDatabase::create()
{
    const std::lock_guard lock(m_mutex);
    if (std::filesystem::exists(m_path)) {
        open_existing();
        return false;
    }
    if (m_path.has_parent_path()) {
        std::error_code ignored;
        std::filesystem::create_directories(m_path.parent_path(), ignored);
    }
    sqlite3* raw = nullptr;
    const int opened =
        sqlite3_open_v2(m_path.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<sqlite3, ConnectionCloser> db(raw);
    if (opened != SQLITE_OK) {
        throw StoreError("cannot create embedded store " + m_path.string() + ": " +
                         (raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
    }
    sqlite3_busy_handler(raw, wait_for_lock, nullptr);
    SqliteConnection setup;
    setup.db = std::move(db);
    setup.path = m_path.string();
    setup.use_wal();
    setup.execute("BEGIN IMMEDIATE");
    // Another process may have created the store between our look and our lock.
    if (!has_no_tables(setup)) {
        setup.execute("ROLLBACK");
        open_existing();
        return false;
    }
    setup.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    setup.execute("CREATE TABLE docs (id TEXT PRIMARY KEY, rev TEXT NOT NULL, deleted INTEGER "
                  "NOT NULL, body TEXT NOT NULL, seq INTEGER NOT NULL UNIQUE)");
    setup.execute("CREATE TABLE local_docs (id TEXT PRIMARY KEY, rev TEXT NOT NULL, body TEXT "
                  "NOT NULL)");
    create_revision_tree(setup);
    create_view_tables(setup);
    create_doc_indexes(setup);
    setup.execute("INSERT INTO meta VALUES ('format', '" + std::to_string(format_version) +
                  "'), ('instance_start_time', '" +
                  std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count()) +
                  "')");
    setup.execute("COMMIT");
    return true;
}

void SqliteDatabase::destroy()
{
    const std::lock_guard lock(m_mutex);
    if (!std::filesystem::exists(m_path)) {
        throw missing_database(m_path.string());
    }
    m_connection.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::error_code ignored;
        std::filesystem::remove(m_path.string() + suffix, ignored);
    }
}

nlohmann::json SqliteDatabase::info()
{
    const std::lock_guard lock(m_mutex);
    auto& connection = open_existing();
    // From indexes only (docs_by_deleted, the seq index): reading every row of a store with a
    // million docs would take seconds, and every listener asks at start.
    auto& totals = connection.statement(
        "SELECT (SELECT COUNT(*) FROM docs WHERE deleted = 0), (SELECT COUNT(*) FROM docs WHERE "
        "deleted = 1), (SELECT COALESCE(MAX(seq), 0) FROM docs)");
    totals.step();
    const auto doc_count = totals.integer(0);
    const auto doc_del_count = totals.integer(1);
    const auto update_seq = totals.integer(2);
    totals.reset();
    return {{"db_name", m_name},
            {"file", m_path.string()},
            {"doc_count", doc_count},
            {"doc_del_count", doc_del_count},
            {"update_seq", update_seq},
            {"adapter", "edw-sqlite"},
            {"disk_size", std::filesystem::file_size(m_path)}};
}

std::optional<nlohmann::json> SqliteDatabase::get(std::string_view id)
{
    const std::lock_guard lock(m_mutex);
    auto& connection = open_existing();
    const bool local = id.substr(0, 7) == "_local/";
    auto& read = connection.statement(local ? "SELECT rev, body, 0 FROM local_docs WHERE id = ?"
                                            : "SELECT rev, body, deleted FROM docs WHERE id = ?");
    read.bind(1, id);
    if (!read.step() || read.integer(2) != 0) {
        read.reset();
        return std::nullopt;
    }
    auto doc = nlohmann::json::parse(read.text(1));
    doc["_id"] = id;
    doc["_rev"] = read.text(0);
    read.reset();
    return doc;
}

// Writes one doc inside the caller's transaction; a conflict is a result, not an exception.
BulkResult SqliteDatabase::write_one(const nlohmann::json& doc, bool local)
{
    auto& connection = *m_connection;
    const auto id_field = doc.is_object() ? doc.find("_id") : doc.end();
    const std::string id = doc.is_object() && id_field != doc.end() && id_field->is_string()
                               ? id_field->get<std::string>()
                               : random_hex_id();
    if (auto refused = refused_fields(doc, id)) {
        return *refused;
    }
    BulkResult result;
    result.id = id;
    const std::string given_rev = doc.value("_rev", "");
    const bool deleting = doc.value("_deleted", false);
    const std::string text = stored_body(doc);
    check_document_size(text, result.id, describe());

    // The body only when the winner may move (below): most writes replace the winner.
    auto& read = connection.statement(local ? "SELECT rev, 0 FROM local_docs WHERE id = ?"
                                            : "SELECT rev, deleted FROM docs WHERE id = ?");
    read.bind(1, result.id);
    std::optional<StoredDoc> before;
    if (read.step()) {
        before = StoredDoc{read.text(0), read.integer(1) != 0, {}};
    }
    read.reset();
    const bool exists = before.has_value();
    if (local) {
        return write_local(result, given_rev, deleting, exists, text);
    }
    // The revision the write replaces: the winner, or another leaf (an edit of a conflict).
    // Without a rev, only a new doc or one whose every leaf is deleted (then the new revision
    // follows the winning tombstone).
    std::string parent;
    bool matches = false;
    if (given_rev.empty()) {
        matches = !exists || before->deleted;
        parent = exists ? before->rev : std::string();
    } else if (exists && given_rev == before->rev) {
        matches = true;
        parent = given_rev;
    } else if (exists && is_leaf(result.id, given_rev)) {
        matches = true;
        parent = given_rev;
    }
    if (!matches || (deleting && !exists)) {
        result.error = deleting && !exists ? "not_found" : "conflict";
        result.reason = deleting && !exists ? "missing" : "Document update conflict.";
        return result;
    }
    result.rev = next_rev(parent, text, deleting);
    add_revision(result.id, result.rev, parent, deleting);
    if (exists && parent == before->rev && !deleting) {
        // The common case: a live child of the winner wins (its generation is above every other
        // leaf's), and no other leaf's body moves.
        store_winner(result.id, result.rev, false, text);
    } else {
        if (before) {
            auto& body = connection.statement("SELECT body FROM docs WHERE id = ?");
            if (body.bind(1, result.id).step()) {
                before->body = body.text(0);
            }
            body.reset();
        }
        settle_winner(result.id, before ? &*before : nullptr, result.rev, deleting, text);
    }
    return result;
}

// A _local doc as CouchDB 3 writes one (couch_db_updater's increment_local_doc_revs): no rev
// check, the last writer wins, and the new rev is "0-" and the given rev's number plus one.
BulkResult SqliteDatabase::write_local(BulkResult result, const std::string& given_rev,
                                       bool deleting, bool exists, const std::string& text)
{
    auto& connection = *m_connection;
    if (deleting) {
        if (!exists) {
            result.error = "not_found";
            result.reason = "missing";
            return result;
        }
        connection.statement("DELETE FROM local_docs WHERE id = ?").bind(1, result.id).run();
        result.rev = "0-0";
        return result;
    }
    const auto dash = given_rev.find('-');
    const std::string number = dash == std::string::npos ? given_rev : given_rev.substr(dash + 1);
    const long long given = std::strtoll(number.c_str(), nullptr, 10);
    result.rev = "0-" + std::to_string(given > 0 ? given + 1 : 1);
    connection.statement("INSERT OR REPLACE INTO local_docs VALUES (?, ?, ?)")
        .bind(1, result.id)
        .bind(2, result.rev)
        .bind(3, text)
        .run();
    return result;
}

// Design docs are compiled before the write (and without the connection's lock, since the
// JavaScript engine may take a while to start): one that does not compile is refused.
void SqliteDatabase::check_designs(const std::vector<nlohmann::json>& docs,
                                   std::vector<BulkResult>& rejected)
{
    for (std::size_t i = 0; i < docs.size(); ++i) {
        const auto& doc = docs[i];
        if (doc.is_object() && doc.value("_id", std::string()).rfind("_design/", 0) == 0 &&
            !doc.value("_deleted", false)) {
            try {
                check_design(doc);
            } catch (const HttpError& error) {
                rejected[i] = BulkResult{.id = doc["_id"].get<std::string>(),
                                         .rev = {},
                                         .error = error.error(),
                                         .reason = error.reason()};
            }
        }
    }
}

std::vector<BulkResult> SqliteDatabase::bulk_save(const std::vector<nlohmann::json>& docs)
{
    std::vector<BulkResult> rejected(docs.size());
    check_designs(docs, rejected);
    const std::lock_guard lock(m_mutex);
    auto& connection = open_existing();
    std::vector<BulkResult> results;
    results.reserve(docs.size());
    WriteTransaction transaction(connection);
    for (std::size_t i = 0; i < docs.size(); ++i) {
        const auto& doc = docs[i];
        if (!rejected[i].error.empty()) {
            results.push_back(rejected[i]);
            continue;
        }
        const bool local =
            doc.is_object() && doc.value("_id", std::string()).rfind("_local/", 0) == 0;
        results.push_back(write_one(doc, local));
    }
    transaction.commit();
    return results;
}

SaveResult SqliteDatabase::save(const nlohmann::json& doc)
{
    const auto id = doc.find("_id");
    if (id == doc.end() || !id->is_string()) {
        throw JsonError("cannot save a doc without a string _id to " + describe());
    }
    const auto result = bulk_save({doc}).front();
    if (result.is_conflict()) {
        return SaveResult{.status = SaveStatus::conflict, .id = result.id, .rev = {}};
    }
    if (!result.ok()) {
        throw HttpError("cannot save doc " + result.id + " to " + describe() + ": " + result.error +
                            ": " + result.reason,
                        result.error == "not_found" ? 404 : 400, result.error, result.reason);
    }
    return SaveResult{.status = SaveStatus::ok, .id = result.id, .rev = result.rev};
}

SaveResult SqliteDatabase::remove(std::string_view id, std::string_view rev)
{
    // As CouchDB's DELETE does, the doc is looked up first: a deleted one is not found
    // ("deleted"), whatever rev is given. _bulk_docs with _deleted still answers a conflict.
    if (id.substr(0, 7) != "_local/") {
        const std::lock_guard lock(m_mutex);
        auto& read = open_existing().statement("SELECT deleted FROM docs WHERE id = ?");
        read.bind(1, std::string(id));
        const bool tombstone = read.step() && read.integer(0) != 0;
        read.reset();
        if (tombstone) {
            throw HttpError("cannot delete doc " + std::string(id) + " of " + describe() +
                                ": not_found: deleted",
                            404, "not_found", "deleted");
        }
    }
    return save({{"_id", id}, {"_rev", rev}, {"_deleted", true}});
}

ViewResult SqliteDatabase::all_docs(const ViewQuery& query)
{
    const auto as_id = [&](const std::optional<nlohmann::json>& key, const char* name) {
        if (key && !key->is_string()) {
            throw HttpError("cannot query _all_docs of " + describe() + ": " + name +
                                " must be a string doc id",
                            400, "query_parse_error", std::string(name) + " must be a string");
        }
        return key ? std::optional<std::string>(key->get<std::string>()) : std::nullopt;
    };
    const std::lock_guard lock(m_mutex);
    auto& connection = open_existing();
    ViewResult result;
    auto& count = connection.statement("SELECT COUNT(*) FROM docs WHERE deleted = 0");
    count.step();
    result.total_rows = static_cast<std::uint64_t>(count.integer(0));
    count.reset();

    const auto add_row = [&](const std::string& id, const std::string& rev,
                             const std::string& body) {
        ViewRow row;
        row.id = id;
        row.key = id;
        row.value = {{"rev", rev}};
        if (query.include_docs) {
            auto doc = nlohmann::json::parse(body);
            doc["_id"] = id;
            doc["_rev"] = rev;
            row.doc = std::move(doc);
        }
        result.rows.push_back(std::move(row));
    };

    if (query.keys) {
        auto& read =
            connection.statement("SELECT rev, body FROM docs WHERE id = ? AND deleted = 0");
        for (const auto& key : *query.keys) {
            if (key.is_string() && read.bind(1, key.get<std::string>()).step()) {
                add_row(key.get<std::string>(), read.text(0), read.text(1));
            } else {
                result.rows.push_back(ViewRow{.id = {}, .key = key, .value = nullptr, .doc = {}});
            }
            read.reset();
        }
        return result;
    }
    auto start = as_id(query.key ? query.key : query.startkey, "startkey");
    auto end = as_id(query.key ? query.key : query.endkey, "endkey");
    const bool inclusive = query.key ? true : query.inclusive_end;
    // `+deleted` keeps SQLite off the docs_by_deleted index, which it would otherwise pick for
    // the equality: then every page read every live doc and sorted them, and paging through a
    // database cost its size squared. Walking the id index reads only the page.
    std::string sql = "SELECT id, rev, body FROM docs WHERE +deleted = 0";
    const char* from = query.descending ? " AND id <= ?1" : " AND id >= ?1";
    const char* to = query.descending ? (inclusive ? " AND id >= ?2" : " AND id > ?2")
                                      : (inclusive ? " AND id <= ?2" : " AND id < ?2");
    if (start) {
        sql += from;
    }
    if (end) {
        sql += to;
    }
    // SQLite compares TEXT by bytes, which for UTF-8 is code point order: CouchDB's raw
    // collation of _all_docs ids.
    sql += query.descending ? " ORDER BY id DESC" : " ORDER BY id";
    sql += " LIMIT ?3 OFFSET ?4";
    auto& read = connection.statement(sql);
    if (start) {
        read.bind(1, *start);
    }
    if (end) {
        read.bind(2, *end);
    }
    read.bind(3, query.limit ? static_cast<std::int64_t>(*query.limit) : std::int64_t{-1});
    read.bind(4, static_cast<std::int64_t>(query.skip));
    while (read.step()) {
        add_row(read.text(0), read.text(1), read.text(2));
    }
    read.reset();
    result.offset = query.skip;
    return result;
}

} // namespace edw
