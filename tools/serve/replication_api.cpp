// ReplicationApi: the routes a replicator needs, over one Database.
#include "replication_api.hpp"

#include <edw/util/error.hpp>
#include <edw/util/url.hpp>

#include <nlohmann/json.hpp>

#include <httplib.h>

#include <regex>

namespace edw::tools {
namespace {

void answer(httplib::Response& response, int status, const nlohmann::json& body)
{
    response.status = status;
    response.set_content(body.dump(), "application/json");
}

void answer_failure(httplib::Response& response, const HttpError& error)
{
    answer(
        response, error.status(),
        {{"error", error.error().empty() ? "error" : error.error()}, {"reason", error.reason()}});
}

nlohmann::json body_of(const httplib::Request& request)
{
    auto json = nlohmann::json::parse(request.body, nullptr, false);
    if (json.is_discarded()) {
        throw HttpError("the request body is not JSON", 400, "bad_request", "invalid UTF-8 JSON");
    }
    return json;
}

bool flag(const httplib::Request& request, const char* name)
{
    return request.has_param(name) && request.get_param_value(name) == "true";
}

nlohmann::json row_of(const Change& change)
{
    nlohmann::json changes = nlohmann::json::array();
    for (const auto& rev : change.revs) {
        changes.push_back({{"rev", rev}});
    }
    nlohmann::json row = {{"seq", change.seq.to_json()}, {"id", change.id}, {"changes", changes}};
    if (change.deleted) {
        row["deleted"] = true;
    }
    if (change.doc) {
        row["doc"] = change.doc->parse();
    }
    return row;
}

// The `_changes` parameters CouchDB's and PouchDB's replicators send, from the query string (and
// a POST body for doc_ids and selector).
ChangesQuery changes_query(const httplib::Request& request)
{
    ChangesQuery query;
    const auto feed = request.get_param_value("feed");
    query.feed = feed == "longpoll"     ? Feed::longpoll
                 : feed == "continuous" ? Feed::continuous
                                        : Feed::normal;
    if (request.has_param("since")) {
        const auto since = request.get_param_value("since");
        const auto parsed = nlohmann::json::parse(since, nullptr, false);
        query.since = since == "now"                ? Seq::now()
                      : parsed.is_number_unsigned() ? Seq::from_json(parsed)
                                                    : Seq::from_string(since);
    }
    if (request.has_param("limit")) {
        query.limit = std::stoull(request.get_param_value("limit"));
    }
    if (request.has_param("heartbeat")) {
        const auto value = request.get_param_value("heartbeat");
        query.heartbeat = std::chrono::milliseconds(value == "true" ? 60000 : std::stoll(value));
    }
    if (request.has_param("timeout")) {
        query.timeout = std::chrono::milliseconds(std::stoll(request.get_param_value("timeout")));
    } else if (query.feed != Feed::normal && query.heartbeat.count() == 0) {
        query.timeout = std::chrono::milliseconds(60000); // CouchDB's default
    }
    query.include_docs = flag(request, "include_docs");
    if (request.get_param_value("style") == "all_docs") {
        query.style = ChangesStyle::all_docs;
    }
    if (request.has_param("filter")) {
        query.filter = request.get_param_value("filter");
    }
    nlohmann::json body = request.body.empty() ? nlohmann::json::object() : body_of(request);
    if (query.filter == "_doc_ids") {
        auto ids = body.value("doc_ids", nlohmann::json());
        if (ids.is_null() && request.has_param("doc_ids")) {
            ids = nlohmann::json::parse(request.get_param_value("doc_ids"), nullptr, false);
        }
        if (!ids.is_array()) {
            throw HttpError("doc_ids must be an array", 400, "bad_request",
                            "`doc_ids` filter parameter is not a list of doc ids.");
        }
        query.doc_ids = ids.get<std::vector<std::string>>();
    } else if (query.filter == "_selector") {
        query.selector = body.value("selector", nlohmann::json::object());
    }
    return query;
}

struct CollectedRows final : ChangesHandler {
    nlohmann::json rows = nlohmann::json::array();
    const std::atomic<bool>* stopping = nullptr;
    void on_change(Change&& change) override { rows.push_back(row_of(change)); }
    bool keep_going() override { return !stopping->load(); }
};

// A continuous feed written to the client as rows arrive: a newline for each heartbeat, and
// the last_seq line when the feed ends (timeout or limit).
struct StreamedRows final : ChangesHandler {
    httplib::DataSink* sink = nullptr;
    const std::atomic<bool>* stopping = nullptr;
    bool write(const std::string& text) { return sink->write(text.data(), text.size()); }
    void on_change(Change&& change) override { write(row_of(change).dump() + "\n"); }
    void on_activity() override { write("\n"); }
    bool keep_going() override { return !stopping->load() && sink->is_writable(); }
};

void answer_changes(const httplib::Request& request, httplib::Response& response,
                    Database& database, const std::atomic<bool>& stopping)
{
    const auto query = changes_query(request);
    if (query.feed != Feed::continuous) {
        CollectedRows rows;
        rows.stopping = &stopping;
        const auto end = database.changes(query, rows);
        if (!end) {
            answer(response, 503, {{"error", "shutdown"}, {"reason", "edw serve is stopping"}});
            return;
        }
        nlohmann::json body = {{"results", std::move(rows.rows)},
                               {"last_seq", end->last_seq.to_json()}};
        body["pending"] = end->pending.value_or(0);
        answer(response, 200, body);
        return;
    }
    response.set_chunked_content_provider(
        "application/json", [&database, &stopping, query](std::size_t, httplib::DataSink& sink) {
            StreamedRows rows;
            rows.sink = &sink;
            rows.stopping = &stopping;
            try {
                if (const auto end = database.changes(query, rows)) {
                    rows.write(nlohmann::json{{"last_seq", end->last_seq.to_json()}}.dump() + "\n");
                }
            } catch (const std::exception&) {
                // The status line is sent: all a client learns is a feed without a last_seq,
                // which it reads as a dropped connection and asks again.
            }
            sink.done();
            return true;
        });
}

// `_bulk_get`: the revisions grouped by doc, as CouchDB answers.
nlohmann::json bulk_get_answer(Database& database, const nlohmann::json& body)
{
    std::vector<RevisionRequest> requests;
    for (const auto& item : body.value("docs", nlohmann::json::array())) {
        requests.push_back(RevisionRequest{item.value("id", ""), item.value("rev", "")});
    }
    nlohmann::json results = nlohmann::json::array();
    for (auto& read : database.bulk_get(requests)) {
        if (results.empty() || results.back()["id"] != read.id) {
            results.push_back({{"id", read.id}, {"docs", nlohmann::json::array()}});
        }
        auto& docs = results.back()["docs"];
        if (read.doc) {
            docs.push_back({{"ok", std::move(*read.doc)}});
        } else {
            docs.push_back({{"error",
                             {{"id", read.id},
                              {"rev", read.rev},
                              {"error", read.error},
                              {"reason", read.reason}}}});
        }
    }
    return {{"results", std::move(results)}};
}

// `_all_docs`, as PouchDB's replicator asks it for first revisions: keys (in the body or the
// query), include_docs, conflicts, and the usual range options.
nlohmann::json all_docs_answer(Database& database, const httplib::Request& request)
{
    ViewQuery query;
    const auto json_param = [&](const char* name) -> std::optional<nlohmann::json> {
        if (!request.has_param(name)) {
            return std::nullopt;
        }
        auto value = nlohmann::json::parse(request.get_param_value(name), nullptr, false);
        if (value.is_discarded()) {
            throw HttpError(std::string(name) + " is not JSON", 400, "bad_request",
                            std::string("invalid JSON in ") + name);
        }
        return value;
    };
    const nlohmann::json body = request.body.empty() ? nlohmann::json::object() : body_of(request);
    if (body.contains("keys") && body["keys"].is_array()) {
        query.keys = body["keys"].get<std::vector<nlohmann::json>>();
    } else if (const auto keys = json_param("keys"); keys && keys->is_array()) {
        query.keys = keys->get<std::vector<nlohmann::json>>();
    }
    query.key = json_param("key");
    query.startkey = json_param(request.has_param("start_key") ? "start_key" : "startkey");
    query.endkey = json_param(request.has_param("end_key") ? "end_key" : "endkey");
    query.include_docs = flag(request, "include_docs");
    query.descending = flag(request, "descending");
    query.inclusive_end = request.get_param_value("inclusive_end") != "false";
    if (request.has_param("limit")) {
        query.limit = std::stoull(request.get_param_value("limit"));
    }
    if (request.has_param("skip")) {
        query.skip = std::stoull(request.get_param_value("skip"));
    }
    const bool conflicts = flag(request, "conflicts");
    auto result = database.all_docs(query);
    nlohmann::json rows = nlohmann::json::array();
    for (auto& row : result.rows) {
        if (row.id.empty()) {
            rows.push_back({{"key", row.key}, {"error", "not_found"}});
            continue;
        }
        nlohmann::json item = {{"id", row.id}, {"key", row.key}, {"value", row.value}};
        if (row.doc) {
            if (conflicts) {
                if (const auto full = database.get_with_history(row.id);
                    full && full->contains("_conflicts")) {
                    (*row.doc)["_conflicts"] = (*full)["_conflicts"];
                }
            }
            item["doc"] = std::move(*row.doc);
        }
        rows.push_back(std::move(item));
    }
    return {{"total_rows", result.total_rows.value_or(rows.size())},
            {"offset", result.offset.value_or(0)},
            {"rows", std::move(rows)}};
}

// `GET /db/id?open_revs=[...]|all`: each revision with its history, as a JSON array, or as
// multipart/mixed (one JSON part per revision) for a client that asks for it, as CouchDB's own
// replicator does for the docs it does not read through `_bulk_get`.
void answer_open_revs(const httplib::Request& request, httplib::Response& response,
                      Database& database, const std::string& id)
{
    std::vector<RevisionRequest> wanted;
    const auto revs = request.get_param_value("open_revs");
    if (revs == "all") {
        const auto doc = database.get_with_history(id);
        if (doc) {
            wanted.push_back({id, (*doc)["_rev"].get<std::string>()});
            for (const auto& rev : doc->value("_conflicts", nlohmann::json::array())) {
                wanted.push_back({id, rev.get<std::string>()});
            }
        }
    } else {
        const auto list = nlohmann::json::parse(revs, nullptr, false);
        if (!list.is_array()) {
            throw HttpError("open_revs must be a JSON array or all", 400, "bad_request",
                            "invalid open_revs");
        }
        for (const auto& rev : list) {
            wanted.push_back({id, rev.get<std::string>()});
        }
    }
    std::vector<nlohmann::json> parts;
    for (auto& read : database.bulk_get(wanted)) {
        parts.push_back(read.doc ? nlohmann::json{{"ok", std::move(*read.doc)}}
                                 : nlohmann::json{{"missing", read.rev}});
    }
    if (request.get_header_value("Accept").find("multipart/mixed") == std::string::npos) {
        answer(response, 200, parts);
        return;
    }
    const std::string boundary = "edw-open-revs-boundary";
    std::string body;
    for (const auto& part : parts) {
        body += "--" + boundary + "\r\nContent-Type: application/json\r\n\r\n" +
                (part.contains("ok") ? part["ok"].dump() : part.dump()) + "\r\n";
    }
    body += "--" + boundary + "--";
    response.status = 200;
    response.set_content(body, "multipart/mixed; boundary=\"" + boundary + "\"");
}

nlohmann::json bulk_docs_answer(Database& database, const nlohmann::json& body)
{
    const auto docs =
        body.value("docs", nlohmann::json::array()).get<std::vector<nlohmann::json>>();
    nlohmann::json answer = nlohmann::json::array();
    const auto error_of = [](const BulkResult& result) {
        return nlohmann::json{
            {"id", result.id}, {"error", result.error}, {"reason", result.reason}};
    };
    if (!body.value("new_edits", true)) {
        for (const auto& failure : database.bulk_save_replicated(docs)) {
            answer.push_back(error_of(failure));
        }
        return answer;
    }
    for (const auto& result : database.bulk_save(docs)) {
        answer.push_back(result.ok()
                             ? nlohmann::json{{"ok", true}, {"id", result.id}, {"rev", result.rev}}
                             : error_of(result));
    }
    return answer;
}

} // namespace

void add_replication_routes(httplib::Server& server, Database& database, const std::string& name,
                            const std::atomic<bool>& stopping)
{
    // The database name as it appears in a path, regex-escaped.
    const std::string base =
        "/" + std::regex_replace(url_encode(name), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
    const auto guarded = [](auto handler) {
        return [handler](const httplib::Request& request, httplib::Response& response) {
            try {
                handler(request, response);
            } catch (const HttpError& error) {
                answer_failure(response, error);
            } catch (const JsonError& error) {
                answer(response, 400, {{"error", "bad_request"}, {"reason", error.what()}});
            } catch (const std::invalid_argument& error) {
                answer(response, 400, {{"error", "bad_request"}, {"reason", error.what()}});
            }
        };
    };
    server.Get(base + "/?", guarded([&database](const auto&, auto& response) {
                   auto info = database.info();
                   info["instance_start_time"] = "0";
                   answer(response, 200, info);
               }));
    server.Put(base + "/?", guarded([](const auto&, auto& response) {
                   answer(response, 412,
                          {{"error", "file_exists"},
                           {"reason", "The database could not be created, the file already "
                                      "exists."}});
               }));
    server.Get(base + "/_changes",
               guarded([&database, &stopping](const auto& request, auto& response) {
                   answer_changes(request, response, database, stopping);
               }));
    server.Post(base + "/_changes",
                guarded([&database, &stopping](const auto& request, auto& response) {
                    answer_changes(request, response, database, stopping);
                }));
    server.Post(base + "/_revs_diff", guarded([&database](const auto& request, auto& response) {
                    const auto body = body_of(request);
                    std::map<std::string, std::vector<std::string>> revs;
                    for (const auto& [id, list] : body.items()) {
                        revs[id] = list.template get<std::vector<std::string>>();
                    }
                    nlohmann::json answer_body = nlohmann::json::object();
                    for (const auto& [id, diff] : database.revs_diff(revs)) {
                        answer_body[id] = {{"missing", diff.missing}};
                        if (!diff.possible_ancestors.empty()) {
                            answer_body[id]["possible_ancestors"] = diff.possible_ancestors;
                        }
                    }
                    answer(response, 200, answer_body);
                }));
    server.Post(base + "/_bulk_get", guarded([&database](const auto& request, auto& response) {
                    answer(response, 200, bulk_get_answer(database, body_of(request)));
                }));
    server.Post(base + "/_bulk_docs", guarded([&database](const auto& request, auto& response) {
                    answer(response, 201, bulk_docs_answer(database, body_of(request)));
                }));
    const auto all_docs = guarded([&database](const auto& request, auto& response) {
        answer(response, 200, all_docs_answer(database, request));
    });
    server.Get(base + "/_all_docs", all_docs);
    server.Post(base + "/_all_docs", all_docs);
    server.Post(base + "/_ensure_full_commit", guarded([](const auto&, auto& response) {
                    // Every write is committed before it is answered.
                    answer(response, 201, {{"ok", true}, {"instance_start_time", "0"}});
                }));
    server.Get(base + "/(_local/[^/]+|_design/[^/]+|[^_/][^/]*)",
               guarded([&database](const auto& request, auto& response) {
                   const std::string id = request.matches[1].str(); // httplib decoded the path
                   if (request.has_param("open_revs")) {
                       answer_open_revs(request, response, database, id);
                       return;
                   }
                   const auto doc = flag(request, "revs") || flag(request, "conflicts")
                                        ? database.get_with_history(id)
                                        : database.get(id);
                   if (!doc) {
                       answer(response, 404, {{"error", "not_found"}, {"reason", "missing"}});
                       return;
                   }
                   answer(response, 200, *doc);
               }));
    server.Put(base + "/(_local/[^/]+)", guarded([&database](const auto& request, auto& response) {
                   auto doc = body_of(request);
                   doc["_id"] = request.matches[1].str();
                   const auto saved = database.save(doc);
                   if (saved.is_conflict()) {
                       answer(response, 409,
                              {{"error", "conflict"}, {"reason", "Document update conflict."}});
                       return;
                   }
                   answer(response, 201, {{"ok", true}, {"id", saved.id}, {"rev", saved.rev}});
               }));
}

} // namespace edw::tools
