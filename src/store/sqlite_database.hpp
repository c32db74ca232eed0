// SqliteDatabase: the embedded store, a CouchDB-style database in one SQLite file.
#pragma once

#include <edw/db/database.hpp>
#include <edw/db/revision.hpp>
#include <edw/javascript/javascript_engine.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct sqlite3;

namespace edw {

struct SqliteConnection;
class WalWatch;

/// Helpers the embedded store's files share (sqlite_database.cpp).
std::string stored_body(const nlohmann::json& doc);
/// The write of `doc` refused for its fields (not an object, an unknown `_` field), if it is.
std::optional<BulkResult> refused_fields(const nlohmann::json& doc, const std::string& id);
/// Throws HttpError 413 for a body over CouchDB's max_document_size.
void check_document_size(const std::string& body, const std::string& id, const std::string& where);
void create_revision_tree(SqliteConnection& connection);

/// Documents with CouchDB revisions (`N-hash`, 409 on a stale or missing rev, tombstones),
/// `_local` docs outside the feed, `_all_docs`, and a changes feed whose seq only grows, in one
/// SQLite file in WAL mode that several processes may share. Live feeds wake on any process's
/// write through inotify on the WAL file, with no polling of the database.
///
/// Views and design-doc filters run in a JavaScriptEngine (an edw-js child process). A view's
/// index lives in the same file and is brought up to date from the feed when it is queried, as
/// CouchDB does; keys are stored as collation sort keys, so SQLite's own index gives CouchDB's
/// order. A design doc whose functions do not compile is refused when it is written.
class SqliteDatabase final : public Database {
public:
    /// `js_timeout` bounds each call of a design-doc function; `name` is the database name the
    /// settings give, which info() reports as `db_name` (the file's stem when empty).
    explicit SqliteDatabase(std::filesystem::path path,
                            std::chrono::milliseconds js_timeout = std::chrono::seconds(5),
                            std::string name = {});
    ~SqliteDatabase() override;

    [[nodiscard]] std::string describe() const override;
    [[nodiscard]] bool is_local() const override { return true; }
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
    std::optional<nlohmann::json> get_with_history(std::string_view id) override;
    std::map<std::string, RevsDiff>
    revs_diff(const std::map<std::string, std::vector<std::string>>& revs) override;
    std::vector<RevisionRead> bulk_get(const std::vector<RevisionRequest>& revisions) override;
    std::vector<BulkResult> bulk_save_replicated(const std::vector<nlohmann::json>& docs) override;

    /// The format version this build writes; a store with a newer one is refused.
    /// Format 2 added view indexes, format 3 an index on `deleted`, format 4 the kept
    /// reductions (view_groups; older indexes are built again on their next query), format 5
    /// the revision tree (`revs`; an older store's current revisions become roots); an older
    /// store gains them when opened.
    static constexpr int format_version = 5;

private:
    struct Design;
    Design load_design(std::string_view design);
    void check_design(const nlohmann::json& doc);
    void update_view_index(const Design& design);
    ViewResult read_view(const Design& design, std::size_t view, const ViewQuery& query);

    SqliteConnection& open_existing();
    BulkResult write_one(const nlohmann::json& doc, bool local);
    BulkResult write_local(BulkResult result, const std::string& given_rev, bool deleting,
                           bool exists, const std::string& text);
    void check_designs(const std::vector<nlohmann::json>& docs, std::vector<BulkResult>& rejected);

    // The revision tree (sqlite_database_revs.cpp). `docs` holds each doc's winning revision
    // and its body; `revs` every revision with its parent, and the bodies of the other leaves.
    struct StoredDoc {
        std::string rev;
        bool deleted = false;
        std::string body;
    };
    BulkResult write_replicated(const nlohmann::json& doc);
    [[nodiscard]] bool is_leaf(const std::string& id, const std::string& rev);
    void add_revision(const std::string& id, const std::string& rev, const std::string& parent,
                      bool deleted);
    void store_winner(const std::string& id, const std::string& rev, bool deleted,
                      const std::string& body);
    void settle_winner(const std::string& id, const StoredDoc* before, const std::string& added,
                       bool added_deleted, const std::string& added_body);
    std::vector<Leaf> leaves_of(const std::string& id);
    std::vector<std::string> history_of(const std::string& id, const std::string& rev);

    std::filesystem::path m_path;
    std::string m_name;
    std::mutex m_mutex; ///< One connection, used by one thread at a time.
    std::unique_ptr<SqliteConnection> m_connection;
    std::unique_ptr<JavaScriptEngine> m_engine;
    /// Watches kept between live feed requests: closing an inotify instance makes the kernel
    /// wait for a grace period (milliseconds), which a listener asking one longpoll after
    /// another would otherwise pay on every request.
    std::mutex m_watches_mutex;
    std::vector<std::shared_ptr<WalWatch>> m_idle_watches;

    friend class BorrowedWatch;
};

} // namespace edw
