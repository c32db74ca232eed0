// ViewQuery: the options of a view or _all_docs query, and the rows that come back.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace edw {

/// Options of `GET /db/_design/d/_view/v` and `/db/_all_docs`, named as in CouchDB's API.
/// Keys are JSON values; they are JSON-encoded and then URL-encoded when sent.
struct ViewQuery {
    std::optional<nlohmann::json> key;
    std::optional<std::vector<nlohmann::json>> keys; ///< Sent as a POST body: lists can be long.
    std::optional<nlohmann::json> startkey;
    std::optional<nlohmann::json> endkey;
    std::optional<std::string> startkey_docid;
    std::optional<std::string> endkey_docid;
    bool inclusive_end = true;
    bool include_docs = false;
    bool descending = false;
    std::optional<std::uint64_t> limit;
    std::uint64_t skip = 0;
    std::optional<bool> reduce; ///< Unset: the server's default (reduce when the view has one).
    bool group = false;
    std::optional<int> group_level;
    bool update_seq = false;
    /// false: answer from the index as it is, without bringing it up to date first (`update`).
    /// A store in this process may still answer from a fresher index.
    bool update = true;
    /// Answer from the same shard copies every time (`stable`), on a cluster.
    bool stable = false;

    /// The query string, starting with '?' (or empty), without `keys`.
    [[nodiscard]] std::string to_query_string() const;
    /// True when the query must be a POST with `{"keys": [...]}` as body.
    [[nodiscard]] bool needs_body() const noexcept { return keys.has_value(); }
    /// The POST body for `keys`.
    [[nodiscard]] std::string body() const;
};

struct ViewRow {
    std::string id; ///< Empty on reduced rows.
    nlohmann::json key;
    nlohmann::json value;
    std::optional<nlohmann::json> doc; ///< With include_docs; null for a deleted or missing doc.
};

struct ViewResult {
    std::optional<std::uint64_t> total_rows;
    std::optional<std::uint64_t> offset;
    std::vector<ViewRow> rows;
};

/// Reads a view or _all_docs response body. Throws JsonError when it is not one.
ViewResult parse_view_result(std::string_view body);

} // namespace edw
