// SqliteDatabase: documents, revisions and the changes feed in one SQLite file.
#include "sqlite_database.hpp"

#include <edw/error.hpp>
#include <edw/md5.hpp>

#include <sqlite3.h>

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <set>

namespace edw {
namespace {

using Clock = std::chrono::steady_clock;

struct ConnectionCloser {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};

struct StatementFinalizer {
    void operator()(sqlite3_stmt* statement) const noexcept { sqlite3_finalize(statement); }
};

// A prepared statement, reset after each use so it can be reused.
class Statement {
public:
    Statement(sqlite3* db, const std::string& sql, const std::string& path)
        : m_db(db)
        , m_path(path)
    {
        sqlite3_stmt* raw = nullptr;
        check(sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr), "prepare");
        m_statement.reset(raw);
    }

    Statement& bind(int index, std::string_view text)
    {
        check(sqlite3_bind_text(m_statement.get(), index, text.data(),
                                static_cast<int>(text.size()), SQLITE_TRANSIENT),
              "bind");
        return *this;
    }
    Statement& bind(int index, std::int64_t number)
    {
        check(sqlite3_bind_int64(m_statement.get(), index, number), "bind");
        return *this;
    }

    /// True while a row is available.
    bool step()
    {
        const int result = sqlite3_step(m_statement.get());
        if (result == SQLITE_ROW) {
            return true;
        }
        if (result != SQLITE_DONE) {
            check(result, "step");
        }
        return false;
    }

    void run()
    {
        while (step()) {
        }
        reset();
    }

    void reset()
    {
        sqlite3_reset(m_statement.get());
        sqlite3_clear_bindings(m_statement.get());
    }

    [[nodiscard]] std::string text(int column) const
    {
        const auto* bytes = sqlite3_column_text(m_statement.get(), column);
        return bytes == nullptr ? std::string()
                                : std::string(reinterpret_cast<const char*>(bytes),
                                              static_cast<size_t>(
                                                  sqlite3_column_bytes(m_statement.get(), column)));
    }
    [[nodiscard]] std::int64_t integer(int column) const
    {
        return sqlite3_column_int64(m_statement.get(), column);
    }

private:
    void check(int result, const char* what) const
    {
        if (result == SQLITE_OK) {
            return;
        }
        if (result == SQLITE_FULL) {
            throw StoreError("cannot write to " + m_path + ": the disk is full");
        }
        throw StoreError("cannot " + std::string(what) + " a statement on " + m_path + ": " +
                         sqlite3_errmsg(m_db));
    }

    sqlite3* m_db;
    std::string m_path;
    std::unique_ptr<sqlite3_stmt, StatementFinalizer> m_statement;
};

std::string new_doc_id()
{
    static thread_local std::mt19937_64 random{std::random_device{}()};
    char text[33];
    std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(random()),
                  static_cast<unsigned long long>(random()));
    return text;
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
    return HttpError("cannot open embedded store " + path +
                         ": HTTP 404 not_found: Database does not exist.",
                     404, "not_found", "Database does not exist.");
}

// Waits for any process's write to the store, by watching its directory for changes to the WAL.
class WalWatch {
public:
    explicit WalWatch(const std::filesystem::path& store)
        : m_wal_name(store.filename().string() + "-wal")
    {
        m_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (m_fd < 0) {
            throw StoreError("cannot watch " + store.string() +
                             ": inotify: " + std::strerror(errno));
        }
        const auto directory =
            store.has_parent_path() ? store.parent_path() : std::filesystem::path(".");
        if (inotify_add_watch(m_fd, directory.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
            ::close(m_fd);
            throw StoreError("cannot watch " + directory.string() + ": " + std::strerror(errno));
        }
    }
    ~WalWatch() { ::close(m_fd); }
    WalWatch(const WalWatch&) = delete;
    WalWatch& operator=(const WalWatch&) = delete;

    /// Waits up to `limit` for a write; true when one happened.
    bool wait(std::chrono::milliseconds limit)
    {
        pollfd watched{m_fd, POLLIN, 0};
        if (::poll(&watched, 1, static_cast<int>(limit.count())) <= 0) {
            return false;
        }
        bool written = false;
        alignas(inotify_event) char buffer[4096];
        for (;;) {
            const ssize_t got = ::read(m_fd, buffer, sizeof buffer);
            if (got <= 0) {
                break;
            }
            for (ssize_t at = 0; at < got;) {
                const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
                if (event->len > 0 && m_wal_name == event->name) {
                    written = true;
                }
                at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
            }
        }
        return written;
    }

private:
    std::string m_wal_name;
    int m_fd = -1;
};

} // namespace

struct SqliteDatabase::Connection {
    std::unique_ptr<sqlite3, ConnectionCloser> db;
    std::string path;
    std::map<std::string, std::unique_ptr<Statement>> statements;

    Statement& statement(const std::string& sql)
    {
        auto& slot = statements[sql];
        if (!slot) {
            slot = std::make_unique<Statement>(db.get(), sql, path);
        }
        slot->reset();
        return *slot;
    }

    void execute(const std::string& sql)
    {
        char* message = nullptr;
        if (sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
            const std::string why = message != nullptr ? message : "unknown error";
            sqlite3_free(message);
            if (sqlite3_errcode(db.get()) == SQLITE_FULL) {
                throw StoreError("cannot write to " + path + ": the disk is full");
            }
            throw StoreError("cannot run '" + sql.substr(0, 40) + "' on " + path + ": " + why);
        }
    }
};

SqliteDatabase::SqliteDatabase(std::filesystem::path path)
    : m_path(std::move(path))
{}

SqliteDatabase::~SqliteDatabase() = default;

std::string SqliteDatabase::describe() const
{
    return "file:" + m_path.string();
}

SqliteDatabase::Connection& SqliteDatabase::open_existing()
{
    if (m_connection) {
        return *m_connection;
    }
    if (!std::filesystem::exists(m_path)) {
        throw missing_database(m_path.string());
    }
    auto connection = std::make_unique<Connection>();
    connection->path = m_path.string();
    sqlite3* raw = nullptr;
    const int opened =
        sqlite3_open_v2(m_path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    connection->db.reset(raw);
    if (opened != SQLITE_OK) {
        throw StoreError("cannot open embedded store " + m_path.string() + ": " +
                         (raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
    }
    sqlite3_busy_timeout(raw, 10000);
    // Checked before anything is written, so that a file that is not ours stays untouched.
    int format = 0;
    try {
        auto& check = connection->statement("SELECT value FROM meta WHERE key = 'format'");
        if (check.step()) {
            format = std::stoi(check.text(0));
        }
        check.reset();
    } catch (const std::exception&) {
        format = 0;
    }
    if (format == 0) {
        throw StoreError(m_path.string() + " is not an edw store");
    }
    if (format > format_version) {
        throw StoreError(m_path.string() + " was written by a newer edw (store format " +
                         std::to_string(format) + ", this one reads up to " +
                         std::to_string(format_version) + ")");
    }
    connection->execute("PRAGMA journal_mode = WAL");
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
    Connection setup;
    setup.db = std::move(db);
    setup.path = m_path.string();
    setup.execute("PRAGMA journal_mode = WAL");
    setup.execute("BEGIN IMMEDIATE");
    setup.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    setup.execute("CREATE TABLE docs (id TEXT PRIMARY KEY, rev TEXT NOT NULL, deleted INTEGER "
                  "NOT NULL, body TEXT NOT NULL, seq INTEGER NOT NULL UNIQUE)");
    setup.execute("CREATE TABLE local_docs (id TEXT PRIMARY KEY, rev TEXT NOT NULL, body TEXT "
                  "NOT NULL)");
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
    // One pass over the table for all three figures.
    auto& totals =
        connection.statement("SELECT COALESCE(SUM(deleted = 0), 0), COALESCE(SUM(deleted = 1), 0), "
                             "COALESCE(MAX(seq), 0) FROM docs");
    totals.step();
    const auto doc_count = totals.integer(0);
    const auto doc_del_count = totals.integer(1);
    const auto update_seq = totals.integer(2);
    totals.reset();
    return {{"db_name", m_path.filename().string()},
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
    BulkResult result;
    if (!doc.is_object()) {
        result.error = "bad_request";
        result.reason = "Document must be a JSON object";
        return result;
    }
    const auto id_field = doc.find("_id");
    result.id = id_field != doc.end() && id_field->is_string() ? id_field->get<std::string>()
                                                               : new_doc_id();
    const std::string given_rev = doc.value("_rev", "");
    const bool deleting = doc.value("_deleted", false);
    nlohmann::json body = doc;
    body.erase("_id");
    body.erase("_rev");
    for (auto it = body.begin(); it != body.end();) {
        // Other underscore fields are CouchDB's own; an unknown one is refused there too.
        if (it.key().size() > 0 && it.key()[0] == '_' && it.key() != "_deleted" &&
            it.key() != "_attachments" && it.key() != "_conflicts") {
            result.error = "doc_validation";
            result.reason = "Bad special document member: " + it.key();
            return result;
        }
        ++it;
    }
    body.erase("_deleted");
    const std::string text = body.dump();

    auto& read = connection.statement(local ? "SELECT rev, 0 FROM local_docs WHERE id = ?"
                                            : "SELECT rev, deleted FROM docs WHERE id = ?");
    read.bind(1, result.id);
    const bool exists = read.step();
    const std::string current = exists ? read.text(0) : std::string();
    const bool tombstone = exists && read.integer(1) != 0;
    read.reset();
    // A stale rev, or a new doc over a live one, is a conflict. Over a tombstone a doc may be
    // written without a rev; the new rev then follows the tombstone's.
    const bool matches =
        given_rev.empty() ? (!exists || tombstone) : (exists && given_rev == current);
    if (!matches || (deleting && !exists)) {
        result.error = deleting && !exists ? "not_found" : "conflict";
        result.reason = deleting && !exists ? "missing" : "Document update conflict.";
        return result;
    }
    result.rev = next_rev(current, text, deleting);
    if (local) {
        if (deleting) {
            connection.statement("DELETE FROM local_docs WHERE id = ?").bind(1, result.id).run();
        } else {
            connection.statement("INSERT OR REPLACE INTO local_docs VALUES (?, ?, ?)")
                .bind(1, result.id)
                .bind(2, result.rev)
                .bind(3, text)
                .run();
        }
        return result;
    }
    // Each write takes the next seq; replacing the row keeps one entry per doc in the feed, the
    // latest, as CouchDB's feed does.
    connection
        .statement("INSERT OR REPLACE INTO docs (id, rev, deleted, body, seq) VALUES (?, ?, ?, "
                   "?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM docs))")
        .bind(1, result.id)
        .bind(2, result.rev)
        .bind(3, static_cast<std::int64_t>(deleting ? 1 : 0))
        .bind(4, deleting ? std::string("{}") : text)
        .run();
    return result;
}

std::vector<BulkResult> SqliteDatabase::bulk_save(const std::vector<nlohmann::json>& docs)
{
    const std::lock_guard lock(m_mutex);
    auto& connection = open_existing();
    std::vector<BulkResult> results;
    results.reserve(docs.size());
    connection.execute("BEGIN IMMEDIATE");
    try {
        for (const auto& doc : docs) {
            const bool local =
                doc.is_object() && doc.value("_id", std::string()).rfind("_local/", 0) == 0;
            results.push_back(write_one(doc, local));
        }
        connection.execute("COMMIT");
    } catch (...) {
        sqlite3_exec(connection.db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
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
    std::string sql = "SELECT id, rev, body FROM docs WHERE deleted = 0";
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

ViewResult SqliteDatabase::query(std::string_view design, std::string_view view, const ViewQuery&)
{
    throw StoreError("cannot query view " + std::string(design) + "/" + std::string(view) + " of " +
                     describe() + ": the embedded store does not run design-doc JavaScript yet");
}

std::optional<FeedEnd> SqliteDatabase::changes(const ChangesQuery& query, ChangesHandler& handler)
{
    const bool by_ids = query.filter == "_doc_ids" || (!query.filter && !query.doc_ids.empty());
    const bool design_only = query.filter == "_design";
    if (query.filter && !by_ids && !design_only) {
        throw StoreError("cannot filter the changes feed of " + describe() + " with " +
                         *query.filter +
                         ": the embedded store does not run design-doc JavaScript yet");
    }
    const std::set<std::string> ids(query.doc_ids.begin(), query.doc_ids.end());
    const auto passes = [&](const std::string& id) {
        return (!by_ids || ids.count(id) > 0) && (!design_only || id.rfind("_design/", 0) == 0);
    };

    std::int64_t position = 0;
    {
        const std::lock_guard lock(m_mutex);
        auto& connection = open_existing();
        if (query.since.is_now()) {
            auto& last = connection.statement("SELECT COALESCE(MAX(seq), 0) FROM docs");
            last.step();
            position = last.integer(0);
            last.reset();
        } else {
            const auto since = query.since.to_json();
            if (!since.is_number_integer()) {
                throw HttpError("cannot read the changes feed of " + describe() + ": since " +
                                    query.since.json() + " is not a seq of this store",
                                400, "bad_request", "Malformed since");
            }
            position = since.get<std::int64_t>();
        }
    }
    // Watch before reading, so that a write between the read and the wait still wakes us.
    std::optional<WalWatch> watch;
    if (query.feed != Feed::normal) {
        watch.emplace(m_path);
    }
    const auto started = Clock::now();
    auto last_beat = started;
    // A writer's last WAL write comes just before its commit is published in shared memory, which
    // no inotify event reports. So for a short while after a wake-up, look again every few
    // milliseconds even without a new event.
    std::optional<Clock::time_point> woken_at;
    std::uint64_t delivered = 0;
    for (;;) {
        std::vector<Change> rows;
        std::int64_t scanned_to = position;
        std::int64_t pending = 0;
        {
            const std::lock_guard lock(m_mutex);
            auto& connection = open_existing();
            // With a limit and no filter, read only as far as needed; what is left is counted,
            // not read. A filter may drop rows, so then the whole rest is read.
            const bool filtered = by_ids || design_only;
            const std::int64_t room =
                query.limit && !filtered ? static_cast<std::int64_t>(
                                               std::max<std::uint64_t>(*query.limit, 1) - delivered)
                                         : std::int64_t{-1};
            auto& read = connection.statement(
                "SELECT seq, id, rev, deleted, body FROM docs WHERE seq > ? ORDER BY seq LIMIT ?");
            read.bind(1, position).bind(2, room);
            while (read.step()) {
                scanned_to = read.integer(0);
                const std::string id = read.text(1);
                if (!passes(id)) {
                    continue;
                }
                Change change;
                change.seq = Seq(std::to_string(scanned_to));
                change.id = id;
                change.revs = {read.text(2)};
                change.deleted = read.integer(3) != 0;
                if (query.include_docs) {
                    nlohmann::json doc = change.deleted ? nlohmann::json::object()
                                                        : nlohmann::json::parse(read.text(4));
                    doc["_id"] = id;
                    doc["_rev"] = change.revs.front();
                    if (change.deleted) {
                        doc["_deleted"] = true;
                    }
                    change.doc = std::move(doc);
                }
                rows.push_back(std::move(change));
                if (query.limit &&
                    delivered + rows.size() >= std::max<std::uint64_t>(*query.limit, 1)) {
                    break;
                }
            }
            read.reset();
            auto& rest = connection.statement("SELECT COUNT(*) FROM docs WHERE seq > ?");
            rest.bind(1, scanned_to);
            rest.step();
            pending = rest.integer(0);
            rest.reset();
        }
        position = scanned_to;
        delivered += rows.size();
        for (auto& row : rows) {
            handler.on_change(std::move(row));
        }
        const bool limit_reached =
            query.limit && delivered >= std::max<std::uint64_t>(*query.limit, 1);
        const bool answered = query.feed == Feed::normal ||
                              (query.feed == Feed::longpoll && delivered > 0) || limit_reached;
        if (answered) {
            return FeedEnd{Seq(std::to_string(position)), static_cast<std::uint64_t>(pending)};
        }
        // Wait for a write, in slices, so that a stop request, a heartbeat and the timeout are
        // all noticed in time.
        for (;;) {
            if (!handler.keep_going()) {
                return std::nullopt;
            }
            const auto now = Clock::now();
            if (query.timeout && now - started >= *query.timeout) {
                return FeedEnd{Seq(std::to_string(position)), 0};
            }
            if (query.heartbeat.count() > 0 && now - last_beat >= query.heartbeat) {
                handler.on_activity(); // the embedded feed's heartbeat: it is alive
                last_beat = now;
            }
            const bool settling = woken_at && now - *woken_at < std::chrono::milliseconds(250);
            if (watch->wait(std::chrono::milliseconds(settling ? 5 : 100))) {
                woken_at = Clock::now();
                break;
            }
            if (settling) {
                break;
            }
        }
    }
}

} // namespace edw
