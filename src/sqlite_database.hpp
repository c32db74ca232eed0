// SqliteDatabase: the embedded store, a CouchDB-style database in one SQLite file.
#pragma once

#include <edw/database.hpp>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

struct sqlite3;

namespace edw {

/// Documents with CouchDB revisions (`N-hash`, 409 on a stale or missing rev, tombstones),
/// `_local` docs outside the feed, `_all_docs`, and a changes feed whose seq only grows, in one
/// SQLite file in WAL mode that several processes may share. Live feeds wake on any process's
/// write through inotify on the WAL file, with no polling of the database.
///
/// Views and design-doc filters need the store's JavaScript engine, which this version does not
/// have yet: query() and a `ddoc/name` filter throw StoreError saying so.
class SqliteDatabase final : public Database {
public:
    explicit SqliteDatabase(std::filesystem::path path);
    ~SqliteDatabase() override;

    [[nodiscard]] std::string describe() const override;
    nlohmann::json info() override;
    bool create() override;
    void destroy() override;
    std::optional<nlohmann::json> get(std::string_view id) override;
    SaveResult save(const nlohmann::json& doc) override;
    SaveResult remove(std::string_view id, std::string_view rev) override;
    std::vector<BulkResult> bulk_save(const std::vector<nlohmann::json>& docs) override;
    ViewResult all_docs(const ViewQuery& query) override;
    ViewResult query(std::string_view design, std::string_view view,
                     const ViewQuery& query) override;
    std::optional<FeedEnd> changes(const ChangesQuery& query, ChangesHandler& handler) override;

    /// The format version this build writes; a store with a newer one is refused.
    static constexpr int format_version = 1;

private:
    struct Connection;
    Connection& open_existing();
    BulkResult write_one(const nlohmann::json& doc, bool local);

    std::filesystem::path m_path;
    std::mutex m_mutex; ///< One connection, used by one thread at a time.
    std::unique_ptr<Connection> m_connection;
};

} // namespace edw
