// SqliteConnection: prepared statements and transactions on one SQLite connection.
#pragma once

#include <edw/util/error.hpp>

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

namespace edw {

struct ConnectionCloser {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};

/// The message for a failed SQLite call; a full disk is named as such, since that is the one a
/// user can act on.
inline StoreError sqlite_error(sqlite3* db, int result, const std::string& what,
                               const std::string& path)
{
    if (result == SQLITE_FULL || sqlite3_errcode(db) == SQLITE_FULL) {
        return StoreError("cannot write to " + path + ": the disk is full");
    }
    return StoreError("cannot " + what + " on " + path + ": " + sqlite3_errmsg(db));
}

/// A prepared statement, reset before each use so it can be reused.
class Statement {
public:
    Statement(sqlite3* db, const std::string& sql, const std::string& path)
        : m_db(db)
        , m_path(path)
    {
        sqlite3_stmt* raw = nullptr;
        check(sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr), "prepare a statement");
        m_statement.reset(raw);
    }

    Statement& bind(int index, std::string_view text)
    {
        check(sqlite3_bind_text(m_statement.get(), index, text.data(),
                                static_cast<int>(text.size()), SQLITE_TRANSIENT),
              "bind a value");
        return *this;
    }
    Statement& bind_blob(int index, std::string_view bytes)
    {
        check(sqlite3_bind_blob(m_statement.get(), index, bytes.data(),
                                static_cast<int>(bytes.size()), SQLITE_TRANSIENT),
              "bind a value");
        return *this;
    }
    Statement& bind(int index, std::int64_t number)
    {
        check(sqlite3_bind_int64(m_statement.get(), index, number), "bind a value");
        return *this;
    }
    Statement& bind_real(int index, double number)
    {
        check(sqlite3_bind_double(m_statement.get(), index, number), "bind a value");
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
            check(result, "run a statement");
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
        const auto* bytes = sqlite3_column_blob(m_statement.get(), column);
        return bytes == nullptr ? std::string()
                                : std::string(static_cast<const char*>(bytes),
                                              static_cast<size_t>(
                                                  sqlite3_column_bytes(m_statement.get(), column)));
    }
    /// The column's bytes without a copy: valid until the next step() or reset().
    [[nodiscard]] std::string_view text_view(int column) const
    {
        const auto* bytes = sqlite3_column_blob(m_statement.get(), column);
        return bytes == nullptr
                   ? std::string_view()
                   : std::string_view(
                         static_cast<const char*>(bytes),
                         static_cast<size_t>(sqlite3_column_bytes(m_statement.get(), column)));
    }
    [[nodiscard]] std::int64_t integer(int column) const
    {
        return sqlite3_column_int64(m_statement.get(), column);
    }
    [[nodiscard]] double real(int column) const
    {
        return sqlite3_column_double(m_statement.get(), column);
    }
    /// True when the column holds an integer (not a real, text or null).
    [[nodiscard]] bool is_integer(int column) const
    {
        return sqlite3_column_type(m_statement.get(), column) == SQLITE_INTEGER;
    }

private:
    struct Finalizer {
        void operator()(sqlite3_stmt* statement) const noexcept { sqlite3_finalize(statement); }
    };

    void check(int result, const char* what) const
    {
        if (result != SQLITE_OK) {
            throw sqlite_error(m_db, result, what, m_path);
        }
    }

    sqlite3* m_db;
    std::string m_path;
    std::unique_ptr<sqlite3_stmt, Finalizer> m_statement;
};

/// One connection and its cache of prepared statements.
struct SqliteConnection {
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

    /// Puts the file in WAL mode. The switch needs the file to itself for a moment, and SQLite
    /// answers SQLITE_BUSY at once, without the busy handler, while another connection holds it
    /// (several programs creating or opening one new store at once): so wait and try again.
    void use_wal()
    {
        for (int attempt = 0;; ++attempt) {
            const int result =
                sqlite3_exec(db.get(), "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr);
            if (result == SQLITE_OK) {
                return;
            }
            if ((result != SQLITE_BUSY && result != SQLITE_LOCKED) || attempt >= 1000) {
                execute("PRAGMA journal_mode = WAL"); // throws with SQLite's reason
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    void execute(const std::string& sql)
    {
        char* message = nullptr;
        const int result = sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, &message);
        if (result != SQLITE_OK) {
            const std::string why = message != nullptr ? message : "unknown error";
            sqlite3_free(message);
            if (result == SQLITE_FULL || sqlite3_errcode(db.get()) == SQLITE_FULL) {
                throw StoreError("cannot write to " + path + ": the disk is full");
            }
            throw StoreError("cannot run '" + sql.substr(0, 40) + "' on " + path + ": " + why);
        }
    }
};

/// A write transaction, rolled back unless committed: an exception leaves the store as it was.
class WriteTransaction {
public:
    explicit WriteTransaction(SqliteConnection& connection)
        : m_connection(connection)
    {
        // IMMEDIATE takes the write lock now, so that two writers wait for each other (the busy
        // timeout) instead of one failing on upgrade from a read lock.
        m_connection.execute("BEGIN IMMEDIATE");
    }
    ~WriteTransaction()
    {
        if (!m_committed) {
            sqlite3_exec(m_connection.db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
        }
    }
    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;

    void commit()
    {
        m_connection.execute("COMMIT");
        m_committed = true;
    }

private:
    SqliteConnection& m_connection;
    bool m_committed = false;
};

} // namespace edw
