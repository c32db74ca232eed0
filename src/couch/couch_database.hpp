// CouchDatabase: the Database interface over a CouchDB-compatible server's HTTP API.
#pragma once

#include <edw/couch/couch_server.hpp>
#include <edw/db/database.hpp>

#include <memory>
#include <string>

namespace edw {

class CouchDatabase final : public Database {
public:
    CouchDatabase(std::shared_ptr<CouchServer> server, std::string name);

    [[nodiscard]] std::string describe() const override;
    nlohmann::json server_welcome() override;
    void drop_idle_connections() override { m_server->drop_idle_connections(); }
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

private:
    [[nodiscard]] std::string path(std::string_view suffix = {}) const;
    ViewResult run_view(const std::string& suffix, const ViewQuery& query, const std::string& what);

    std::shared_ptr<CouchServer> m_server;
    std::string m_name;
    std::string m_encoded_name;
};

/// The URL path of a document id: `_design/` and `_local/` keep their slash, the rest is encoded.
std::string encode_doc_id(std::string_view id);

/// `_bulk_docs` results in the order of `docs`, matched by id when the server sent them in
/// another order; unchanged when the docs have no distinct ids to match on.
std::vector<BulkResult> in_request_order(const std::vector<nlohmann::json>& docs,
                                         std::vector<BulkResult> results);

/// The revisions of a `_bulk_get` answer (`{"results": [{"id", "docs": [{"ok": doc} or
/// {"error": {...}}]}]}`), one per `ok` or error. Throws JsonError for another shape.
std::vector<RevisionRead> parse_bulk_get(const nlohmann::json& answer);

/// The query string of a `_changes` request (starting with '?').
std::string changes_query_string(const ChangesQuery& query);

} // namespace edw
