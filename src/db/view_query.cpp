// ViewQuery: encoding of view options and decoding of view responses.
#include "edw/db/view_query.hpp"

#include <edw/util/error.hpp>
#include <edw/util/url.hpp>

namespace edw {

std::string ViewQuery::to_query_string() const
{
    // Every key option is JSON: a string key goes out as "\"abc\"", which is what CouchDB expects.
    std::string query;
    if (key) {
        append_query_parameter(query, "key", key->dump());
    }
    if (startkey) {
        append_query_parameter(query, "startkey", startkey->dump());
    }
    if (endkey) {
        append_query_parameter(query, "endkey", endkey->dump());
    }
    if (startkey_docid) {
        append_query_parameter(query, "startkey_docid", *startkey_docid);
    }
    if (endkey_docid) {
        append_query_parameter(query, "endkey_docid", *endkey_docid);
    }
    if (!inclusive_end) {
        append_query_parameter(query, "inclusive_end", "false");
    }
    if (include_docs) {
        append_query_parameter(query, "include_docs", "true");
    }
    if (descending) {
        append_query_parameter(query, "descending", "true");
    }
    if (limit) {
        append_query_parameter(query, "limit", std::to_string(*limit));
    }
    if (skip != 0) {
        append_query_parameter(query, "skip", std::to_string(skip));
    }
    if (reduce) {
        append_query_parameter(query, "reduce", *reduce ? "true" : "false");
    }
    if (group) {
        append_query_parameter(query, "group", "true");
    }
    if (group_level) {
        append_query_parameter(query, "group_level", std::to_string(*group_level));
    }
    if (update_seq) {
        append_query_parameter(query, "update_seq", "true");
    }
    if (!update) {
        append_query_parameter(query, "update", "false");
    }
    if (stable) {
        append_query_parameter(query, "stable", "true");
    }
    return query;
}

std::string ViewQuery::body() const
{
    nlohmann::json body = nlohmann::json::object();
    body["keys"] = keys ? nlohmann::json(*keys) : nlohmann::json::array();
    return body.dump();
}

ViewResult parse_view_result(std::string_view body)
{
    const auto json = nlohmann::json::parse(body, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("rows") ||
        !json["rows"].is_array()) {
        throw JsonError("not a view response: " + std::string(body.substr(0, 200)));
    }
    ViewResult result;
    if (const auto it = json.find("total_rows"); it != json.end() && it->is_number_unsigned()) {
        result.total_rows = it->get<std::uint64_t>();
    }
    if (const auto it = json.find("offset"); it != json.end() && it->is_number_unsigned()) {
        result.offset = it->get<std::uint64_t>();
    }
    result.rows.reserve(json["rows"].size());
    for (const auto& row : json["rows"]) {
        if (!row.is_object()) {
            throw JsonError("not a view row: " + row.dump());
        }
        ViewRow out;
        if (const auto it = row.find("id"); it != row.end() && it->is_string()) {
            out.id = it->get<std::string>();
        }
        out.key = row.value("key", nlohmann::json());
        out.value = row.value("value", nlohmann::json());
        if (const auto it = row.find("doc"); it != row.end()) {
            out.doc = *it;
        }
        result.rows.push_back(std::move(out));
    }
    return result;
}

} // namespace edw
