// CouchDatabase: documents, views and the changes feed over HTTP.
#include "couch_database.hpp"

#include <edw/couch/feed_parser.hpp>
#include <edw/util/error.hpp>
#include <edw/util/log.hpp>
#include <edw/util/url.hpp>

#include <algorithm>
#include <exception>
#include <unordered_map>

namespace edw {
namespace {

nlohmann::json parse_object(const HttpResponse& response, const std::string& action)
{
    auto json = nlohmann::json::parse(response.body, nullptr, false);
    if (json.is_discarded()) {
        throw JsonError("cannot " + action +
                        ": the answer is not JSON: " + response.body.substr(0, 200));
    }
    return json;
}

std::string_view feed_name(Feed feed)
{
    switch (feed) {
    case Feed::normal:
        return "normal";
    case Feed::longpoll:
        return "longpoll";
    case Feed::continuous:
        return "continuous";
    }
    return "normal";
}

// Adapts the transport's byte stream to the feed parser and the caller's handler.
class FeedStream final : public StreamHandler, private ContinuousFeedParser::Handler {
public:
    FeedStream(Feed feed, ChangesHandler& handler)
        : m_feed(feed)
        , m_handler(handler)
    {}

    bool on_headers(int, const HttpHeaders&) override { return true; }

    // Runs inside libcurl's C callbacks, which exceptions must not cross: a failure is kept
    // and thrown again once the transfer is over.
    bool on_data(std::string_view bytes) override
    {
        try {
            m_handler.on_activity();
            if (m_feed != Feed::continuous) {
                m_body.append(bytes);
                return true;
            }
            for (;;) {
                try {
                    m_parser.feed(bytes, *this);
                    return true;
                } catch (const JsonError& error) {
                    // One bad line must not stop the feed: skip it, keep the lines after it.
                    if (m_handler_failed) {
                        throw;
                    }
                    log_error(error.what());
                    bytes = {};
                }
            }
        } catch (...) {
            m_failure = std::current_exception();
            return false;
        }
    }

    bool keep_going() override
    {
        if (!m_handler.keep_going()) {
            m_stopped = true;
            return false;
        }
        return true;
    }

    void rethrow_failure() const
    {
        if (m_failure) {
            std::rethrow_exception(m_failure);
        }
    }

    [[nodiscard]] bool stopped() const noexcept { return m_stopped; }
    [[nodiscard]] std::optional<FeedEnd>& end() noexcept { return m_end; }
    [[nodiscard]] const std::string& body() const noexcept { return m_body; }

private:
    void on_change(Change&& change) override
    {
        try {
            m_handler.on_change(std::move(change));
        } catch (...) {
            m_handler_failed = true;
            throw;
        }
    }
    void on_end(FeedEnd&& end) override { m_end = std::move(end); }

    Feed m_feed;
    ChangesHandler& m_handler;
    ContinuousFeedParser m_parser;
    std::string m_body;
    std::optional<FeedEnd> m_end;
    bool m_stopped = false;
    bool m_handler_failed = false;
    std::exception_ptr m_failure;
};

} // namespace

std::vector<BulkResult> in_request_order(const std::vector<nlohmann::json>& docs,
                                         std::vector<BulkResult> results)
{
    // CouchDB answers in request order, but pouchdb-server has been seen to put a conflict
    // after the successes that followed it. Callers pair results with docs by position, so
    // put them back in order by id whenever every doc has a distinct id to match on.
    std::unordered_map<std::string, std::size_t> position;
    for (std::size_t i = 0; i < docs.size(); ++i) {
        const auto id = docs[i].find("_id");
        if (id == docs[i].end() || !id->is_string() ||
            !position.emplace(id->get<std::string>(), i).second) {
            return results;
        }
    }
    std::vector<BulkResult> ordered(results.size());
    std::vector<bool> filled(results.size(), false);
    for (auto& result : results) {
        const auto at = position.find(result.id);
        if (at == position.end() || filled[at->second]) {
            return results; // not a permutation of the ids we sent: leave it as it came
        }
        filled[at->second] = true;
        ordered[at->second] = result;
    }
    return ordered;
}

std::string encode_doc_id(std::string_view id)
{
    for (const std::string_view prefix : {"_design/", "_local/"}) {
        if (id.substr(0, prefix.size()) == prefix) {
            return std::string(prefix) + url_encode(id.substr(prefix.size()));
        }
    }
    return url_encode(id);
}

std::string changes_query_string(const ChangesQuery& query)
{
    std::string text;
    append_query_parameter(text, "feed", feed_name(query.feed));
    append_query_parameter(text, "since", query.since.to_query());
    if (query.filter) {
        append_query_parameter(text, "filter", *query.filter);
    } else if (query.selector) {
        append_query_parameter(text, "filter", "_selector");
    } else if (!query.doc_ids.empty()) {
        append_query_parameter(text, "filter", "_doc_ids");
    }
    for (const auto& [name, value] : query.filter_parameters) {
        append_query_parameter(text, name, value);
    }
    if (query.include_docs) {
        append_query_parameter(text, "include_docs", "true");
    }
    if (query.limit) {
        append_query_parameter(text, "limit", std::to_string(*query.limit));
    }
    if (query.heartbeat.count() > 0) {
        append_query_parameter(text, "heartbeat", std::to_string(query.heartbeat.count()));
    }
    if (query.timeout) {
        append_query_parameter(text, "timeout", std::to_string(query.timeout->count()));
    }
    if (query.style == ChangesStyle::all_docs) {
        append_query_parameter(text, "style", "all_docs");
    }
    return text;
}

CouchDatabase::CouchDatabase(std::shared_ptr<CouchServer> server, std::string name)
    : m_server(std::move(server))
    , m_name(std::move(name))
    , m_encoded_name(url_encode(m_name))
{}

std::string CouchDatabase::describe() const
{
    return m_server->url().str() + "/" + m_encoded_name;
}

std::string CouchDatabase::path(std::string_view suffix) const
{
    return "/" + m_encoded_name + std::string(suffix);
}

nlohmann::json CouchDatabase::server_welcome()
{
    return m_server->info();
}

nlohmann::json CouchDatabase::info()
{
    const std::string action = "read database info of " + describe();
    const auto response = m_server->send(HttpMethod::get, path(), {}, action);
    throw_if_error(response, action);
    return parse_object(response, action);
}

bool CouchDatabase::create()
{
    const std::string action = "create database " + describe();
    const auto response = m_server->send(HttpMethod::put, path(), {}, action);
    if (response.status == 412) {
        return false; // file_exists: someone created it first, which is what we wanted
    }
    throw_if_error(response, action);
    return true;
}

void CouchDatabase::destroy()
{
    const std::string action = "delete database " + describe();
    const auto response = m_server->send(HttpMethod::del, path(), {}, action);
    throw_if_error(response, action);
}

std::optional<nlohmann::json> CouchDatabase::get(std::string_view id)
{
    const std::string action = "read doc " + std::string(id) + " of " + describe();
    const auto response =
        m_server->send(HttpMethod::get, path("/" + encode_doc_id(id)), {}, action);
    if (response.status == 404) {
        // A missing database is an error; a missing or deleted document is an answer.
        const auto body = nlohmann::json::parse(response.body, nullptr, false);
        const bool db_missing = body.is_object() && body.value("reason", "") != "missing" &&
                                body.value("reason", "") != "deleted";
        if (db_missing) {
            throw_if_error(response, action);
        }
        return std::nullopt;
    }
    throw_if_error(response, action);
    return parse_object(response, action);
}

SaveResult CouchDatabase::save(const nlohmann::json& doc)
{
    const auto id_field = doc.find("_id");
    if (id_field == doc.end() || !id_field->is_string()) {
        throw JsonError("cannot save a doc without a string _id to " + describe());
    }
    const std::string id = id_field->get<std::string>();
    const std::string action = "save doc " + id + " to " + describe();
    const auto response =
        m_server->send(HttpMethod::put, path("/" + encode_doc_id(id)), doc.dump(), action);
    if (response.status == 409) {
        return SaveResult{.status = SaveStatus::conflict, .id = id, .rev = {}};
    }
    throw_if_error(response, action);
    const auto body = parse_object(response, action);
    return SaveResult{.status = SaveStatus::ok,
                      .id = id,
                      .rev = body.value("rev", ""),
                      .quorum_met = response.status != 202};
}

SaveResult CouchDatabase::remove(std::string_view id, std::string_view rev)
{
    const std::string action = "delete doc " + std::string(id) + " of " + describe();
    const auto response = m_server->send(
        HttpMethod::del, path("/" + encode_doc_id(id) + "?rev=" + url_encode(rev)), {}, action);
    if (response.status == 409) {
        return SaveResult{.status = SaveStatus::conflict, .id = std::string(id), .rev = {}};
    }
    throw_if_error(response, action);
    const auto body = parse_object(response, action);
    return SaveResult{.status = SaveStatus::ok,
                      .id = std::string(id),
                      .rev = body.value("rev", ""),
                      .quorum_met = response.status != 202};
}

std::vector<BulkResult> CouchDatabase::bulk_save(const std::vector<nlohmann::json>& docs)
{
    const std::string action =
        "save " + std::to_string(docs.size()) + " docs in bulk to " + describe();
    const nlohmann::json body = {{"docs", docs}};
    const auto response =
        m_server->send(HttpMethod::post, path("/_bulk_docs"), body.dump(), action);
    throw_if_error(response, action);
    const auto json = parse_object(response, action);
    if (!json.is_array() || json.size() != docs.size()) {
        throw JsonError("cannot " + action + ": expected one result per doc, got " +
                        json.dump().substr(0, 200));
    }
    // A 201 answer may still hold failed documents: each element speaks for its own. CouchDB
    // 3 marks the docs a 202 answer stored below quorum with "accepted": true; an answer that
    // marks none leaves each of its docs in doubt.
    const bool marked = std::any_of(json.begin(), json.end(), [](const nlohmann::json& item) {
        return item.is_object() && item.contains("accepted");
    });
    std::vector<BulkResult> results;
    results.reserve(json.size());
    for (const auto& item : json) {
        BulkResult result;
        result.id = item.value("id", "");
        result.rev = item.value("rev", "");
        if (item.contains("error")) {
            result.error = item["error"].is_string() ? item["error"].get<std::string>() : "error";
            result.reason = item.value("reason", "");
        } else {
            result.accepted = marked ? item.value("accepted", false) : response.status == 202;
        }
        results.push_back(std::move(result));
    }
    return in_request_order(docs, std::move(results));
}

ViewResult CouchDatabase::run_view(const std::string& suffix, const ViewQuery& query,
                                   const std::string& what)
{
    const std::string action = "query " + what + " of " + describe();
    const auto target = path(suffix) + query.to_query_string();
    const auto response = query.needs_body()
                              ? m_server->send(HttpMethod::post, target, query.body(), action)
                              : m_server->send(HttpMethod::get, target, {}, action);
    throw_if_error(response, action);
    try {
        return parse_view_result(response.body);
    } catch (const JsonError& error) {
        throw JsonError("cannot " + action + ": " + error.what());
    }
}

ViewResult CouchDatabase::all_docs(const ViewQuery& query)
{
    return run_view("/_all_docs", query, "_all_docs");
}

ViewResult CouchDatabase::query(std::string_view design, std::string_view view,
                                const ViewQuery& query)
{
    return run_view("/_design/" + url_encode(design) + "/_view/" + url_encode(view), query,
                    "view " + std::string(design) + "/" + std::string(view));
}

std::optional<nlohmann::json> CouchDatabase::get_with_history(std::string_view id)
{
    const std::string action = "read doc " + std::string(id) + " of " + describe();
    const auto response = m_server->send(
        HttpMethod::get, path("/" + encode_doc_id(id) + "?revs=true&conflicts=true"), {}, action);
    if (response.status == 404) {
        const auto body = nlohmann::json::parse(response.body, nullptr, false);
        if (body.is_object() &&
            (body.value("reason", "") == "missing" || body.value("reason", "") == "deleted")) {
            return std::nullopt;
        }
    }
    throw_if_error(response, action);
    return parse_object(response, action);
}

std::map<std::string, RevsDiff>
CouchDatabase::revs_diff(const std::map<std::string, std::vector<std::string>>& revs)
{
    const std::string action = "compare revisions with " + describe() + " (_revs_diff)";
    const auto response =
        m_server->send(HttpMethod::post, path("/_revs_diff"), nlohmann::json(revs).dump(), action);
    throw_if_error(response, action);
    const auto json = parse_object(response, action);
    if (!json.is_object()) {
        throw JsonError("cannot " + action + ": expected an object, got " +
                        json.dump().substr(0, 200));
    }
    std::map<std::string, RevsDiff> answer;
    for (const auto& [id, diff] : json.items()) {
        RevsDiff entry;
        if (diff.is_object()) {
            entry.missing = diff.value("missing", std::vector<std::string>());
            entry.possible_ancestors = diff.value("possible_ancestors", std::vector<std::string>());
        }
        if (!entry.missing.empty()) {
            answer.emplace(id, std::move(entry));
        }
    }
    return answer;
}

std::vector<RevisionRead> parse_bulk_get(const nlohmann::json& answer)
{
    const auto results = answer.is_object() ? answer.find("results") : answer.end();
    if (!answer.is_object() || results == answer.end() || !results->is_array()) {
        throw JsonError("expected {\"results\": [...]}, got " + answer.dump().substr(0, 200));
    }
    std::vector<RevisionRead> reads;
    for (const auto& result : *results) {
        const std::string id = result.value("id", "");
        const auto docs = result.find("docs");
        if (docs == result.end() || !docs->is_array()) {
            throw JsonError("a _bulk_get result for " + id + " has no docs");
        }
        for (const auto& item : *docs) {
            RevisionRead read;
            read.id = id;
            if (item.contains("ok") && item["ok"].is_object()) {
                read.doc = item["ok"];
                read.rev = read.doc->value("_rev", "");
            } else if (item.contains("error") && item["error"].is_object()) {
                const auto& error = item["error"];
                read.rev = error.value("rev", "");
                read.error = error.value("error", "error");
                read.reason = error.value("reason", "");
            } else if (item.contains("missing") && item["missing"].is_string()) {
                // PouchDB's form of not_found.
                read.rev = item["missing"].get<std::string>();
                read.error = "not_found";
                read.reason = "missing";
            } else {
                throw JsonError("a _bulk_get result for " + id + " is neither ok nor error");
            }
            reads.push_back(std::move(read));
        }
    }
    return reads;
}

std::vector<RevisionRead> CouchDatabase::bulk_get(const std::vector<RevisionRequest>& revisions)
{
    const std::string action =
        "read " + std::to_string(revisions.size()) + " revisions of " + describe() + " (_bulk_get)";
    nlohmann::json docs = nlohmann::json::array();
    for (const auto& request : revisions) {
        docs.push_back({{"id", request.id}, {"rev", request.rev}});
    }
    const auto response = m_server->send(HttpMethod::post, path("/_bulk_get?revs=true&latest=true"),
                                         nlohmann::json{{"docs", std::move(docs)}}.dump(), action);
    throw_if_error(response, action);
    try {
        return parse_bulk_get(parse_object(response, action));
    } catch (const JsonError& error) {
        throw JsonError("cannot " + action + ": " + error.what());
    }
}

std::vector<BulkResult> CouchDatabase::bulk_save_replicated(const std::vector<nlohmann::json>& docs)
{
    const std::string action =
        "write " + std::to_string(docs.size()) + " replicated revisions to " + describe();
    const nlohmann::json body = {{"docs", docs}, {"new_edits", false}};
    const auto response =
        m_server->send(HttpMethod::post, path("/_bulk_docs"), body.dump(), action);
    throw_if_error(response, action);
    const auto json = parse_object(response, action);
    if (!json.is_array()) {
        throw JsonError("cannot " + action + ": expected an array, got " +
                        json.dump().substr(0, 200));
    }
    // With new_edits=false CouchDB answers with the failures only; an element without an error
    // (other servers list every doc) is a success.
    std::vector<BulkResult> failures;
    for (const auto& item : json) {
        if (item.is_object() && item.contains("error")) {
            BulkResult result;
            result.id = item.value("id", "");
            result.rev = item.value("rev", "");
            result.error = item["error"].is_string() ? item["error"].get<std::string>() : "error";
            result.reason = item.value("reason", "");
            failures.push_back(std::move(result));
        }
    }
    return failures;
}

std::optional<FeedEnd> CouchDatabase::changes(const ChangesQuery& query, ChangesHandler& handler)
{
    std::string body;
    if (query.selector) {
        body = nlohmann::json{{"selector", *query.selector}}.dump();
    } else if (!query.doc_ids.empty()) {
        body = nlohmann::json{{"doc_ids", query.doc_ids}}.dump();
    }
    const auto method = body.empty() ? HttpMethod::get : HttpMethod::post;
    FeedStream stream(query.feed, handler);
    HttpResponse response;
    const std::string action = "read the changes feed of " + describe();
    try {
        response = m_server->stream(method, path("/_changes") + changes_query_string(query),
                                    std::move(body), stream);
    } catch (const TransportError& error) {
        throw TransportError("cannot " + action + ": " + error.what());
    }
    stream.rethrow_failure();
    throw_if_error(response, action);
    if (stream.stopped()) {
        return std::nullopt;
    }
    if (query.feed != Feed::continuous) {
        ChangesPage page;
        try {
            page = parse_changes_page(stream.body());
        } catch (const JsonError& error) {
            // A normal or longpoll answer cut short is a dropped connection, not bad data.
            throw TransportError("cannot " + action + ": the answer was cut short (" +
                                 error.what() + ")");
        }
        for (auto& change : page.results) {
            handler.on_change(std::move(change));
        }
        return std::move(page.end);
    }
    if (!stream.end()) {
        throw TransportError("cannot " + action + ": the feed ended without a last_seq");
    }
    return std::move(stream.end());
}

} // namespace edw
