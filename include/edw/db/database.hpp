// Database: what edw needs of a CouchDB-style database, whatever serves it.
#pragma once

#include <edw/db/change.hpp>
#include <edw/db/seq.hpp>
#include <edw/db/view_query.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edw {

enum class SaveStatus { ok, conflict };

/// The answer to a single-document write. A 409 is an expected answer, not an exception: the
/// caller re-reads and decides.
struct SaveResult {
    SaveStatus status = SaveStatus::ok;
    std::string id;
    std::string rev; ///< The new revision; empty on conflict.
    /// False when a cluster stored the write on fewer nodes than its quorum (HTTP 202): the write
    /// stands but a conflicting one may also have been accepted elsewhere.
    bool quorum_met = true;
    [[nodiscard]] bool is_conflict() const noexcept { return status == SaveStatus::conflict; }
};

/// One element of a `_bulk_docs` answer: each document succeeds or fails on its own.
struct BulkResult {
    std::string id;
    std::string rev;   ///< Set on success.
    std::string error; ///< CouchDB's error token ("conflict", "forbidden", ...) on failure.
    std::string reason;
    /// A cluster stored this doc on fewer nodes than its quorum (`"accepted": true`, HTTP 202):
    /// the write stands, but a conflicting one may also have been accepted on other nodes.
    bool accepted = false;
    [[nodiscard]] bool ok() const noexcept { return error.empty(); }
    [[nodiscard]] bool is_conflict() const noexcept { return error == "conflict"; }
};

/// What `_revs_diff` says of one doc: the revisions the database lacks, and the leaves it has
/// that may be their ancestors.
struct RevsDiff {
    std::vector<std::string> missing;
    std::vector<std::string> possible_ancestors;
};

/// One revision asked of `_bulk_get`.
struct RevisionRequest {
    std::string id;
    std::string rev;
};

/// One revision read for replication: the doc with `_revisions` (its history, newest first) and
/// `_deleted` for a tombstone, or the error that replaced it.
struct RevisionRead {
    std::string id;
    std::string rev;
    std::optional<nlohmann::json> doc;
    std::string error;
    std::string reason;
};

enum class Feed { normal, longpoll, continuous };
enum class ChangesStyle { main_only, all_docs };

/// The parameters of one `_changes` request.
struct ChangesQuery {
    Feed feed = Feed::normal;
    Seq since;                         ///< `0`, `now` or a seq from an earlier answer.
    std::optional<std::string> filter; ///< "ddoc/name", "_doc_ids", "_design", ...
    std::map<std::string, std::string> filter_parameters; ///< Extra query values, `req.query`.
    std::vector<std::string> doc_ids; ///< With `filter=_doc_ids`; sent in the body.
    /// A Mango selector: sent as `filter=_selector` with `{"selector": ...}` in the body.
    std::optional<nlohmann::json> selector;
    bool include_docs = false;
    std::optional<std::uint64_t> limit;
    std::chrono::milliseconds heartbeat{0}; ///< Zero: no heartbeat.
    std::optional<std::chrono::milliseconds> timeout;
    ChangesStyle style = ChangesStyle::main_only;
};

/// Receives the rows of a changes feed as they are read.
class ChangesHandler {
public:
    virtual ~ChangesHandler() = default;
    virtual void on_change(Change&& change) = 0;
    /// Any byte from the server, a heartbeat included: the connection is alive.
    virtual void on_activity() {}
    /// Polled while waiting; returning false ends the request early (shutdown, silence).
    virtual bool keep_going() { return true; }
};

/// A CouchDB-style database: documents with revisions, views, and a changes feed.
/// Implementations are safe to use from several threads at once.
class Database {
public:
    virtual ~Database() = default;

    /// Where the database lives, without credentials, for messages: "http://host:5984/edw".
    [[nodiscard]] virtual std::string describe() const = 0;

    /// True for a store inside this process (the embedded one): reading a row costs no network,
    /// so a listener reads the whole feed and applies its own rule rather than a filter function.
    [[nodiscard]] virtual bool is_local() const { return false; }

    /// The server's `GET /` answer (`{"couchdb": "Welcome", "version": "3.4.3", ...}`), which says
    /// what the server is; an empty object for a store in this process.
    virtual nlohmann::json server_welcome() { return nlohmann::json::object(); }

    /// Closes kept-alive connections to the server, after its feed went silent: the others may
    /// have been dropped on the way too (a firewall, a load balancer). Nothing for a local store.
    virtual void drop_idle_connections() {}

    /// `GET /db`: doc_count, update_seq, ... Throws HttpError (404) when the database is missing.
    virtual nlohmann::json info() = 0;
    /// Creates the database; returns false when it already existed.
    virtual bool create() = 0;
    /// Deletes the database and everything in it.
    virtual void destroy() = 0;

    /// The current revision of a document, `_local/` ones included; empty when missing or deleted.
    virtual std::optional<nlohmann::json> get(std::string_view id) = 0;
    /// Writes a document that has an `_id` (and the `_rev` it replaces, unless new).
    virtual SaveResult save(const nlohmann::json& doc) = 0;
    /// Deletes (leaves a tombstone for) revision `rev` of a document.
    virtual SaveResult remove(std::string_view id, std::string_view rev) = 0;
    /// Writes many documents in one request; one result per document, in order.
    virtual std::vector<BulkResult> bulk_save(const std::vector<nlohmann::json>& docs) = 0;

    /// The winning revision with `_revisions` (its history) and `_conflicts` (the other live
    /// leaves), as `GET /db/id?revs=true&conflicts=true`; empty when missing or deleted.
    virtual std::optional<nlohmann::json> get_with_history(std::string_view id) = 0;
    /// `_revs_diff`: of the revisions given per doc id, those this database lacks. Docs it has
    /// all of are left out of the answer.
    virtual std::map<std::string, RevsDiff>
    revs_diff(const std::map<std::string, std::vector<std::string>>& revs) = 0;
    /// `_bulk_get?revs=true&latest=true`: each revision with its history. A revision replaced
    /// since it was asked for gives the leaves that replaced it (`latest`).
    virtual std::vector<RevisionRead> bulk_get(const std::vector<RevisionRequest>& revisions) = 0;
    /// `_bulk_docs` with `new_edits=false`: each doc is a revision with its history
    /// (`_revisions`), stored as given, beside any other branch (a conflict), never refused as
    /// one. A revision already stored is left as it is. Returns the docs that failed only.
    virtual std::vector<BulkResult>
    bulk_save_replicated(const std::vector<nlohmann::json>& docs) = 0;

    virtual ViewResult all_docs(const ViewQuery& query) = 0;
    virtual ViewResult query(std::string_view design, std::string_view view,
                             const ViewQuery& query) = 0;

    /// Sends one `_changes` request and hands its rows to `handler` as they arrive. Returns the
    /// feed's end (`last_seq`) when the server sent one, or nothing when the handler stopped the
    /// request. Throws TransportError when the connection failed or ended without a `last_seq`
    /// (a dropped feed), HttpError for an error status (404: the database is gone).
    virtual std::optional<FeedEnd> changes(const ChangesQuery& query, ChangesHandler& handler) = 0;
};

/// The database's `update_seq`, from its info. Throws JsonError when the info has none, and what
/// Database::info throws.
[[nodiscard]] Seq update_seq_of(Database& database);

} // namespace edw
