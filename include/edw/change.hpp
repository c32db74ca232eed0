// Change: one row of a database's changes feed.
#pragma once

#include <edw/seq.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace edw {

/// One row of a `_changes` response: a document that changed, and where in the feed.
struct Change {
    Seq seq;
    std::string id;
    std::vector<std::string> revs;     ///< The `rev` of each entry in `changes`.
    bool deleted = false;              ///< The winning revision is a tombstone.
    std::optional<nlohmann::json> doc; ///< Present when the feed was asked for `include_docs`.
};

/// The end of one feed response: where to resume, and how many rows the server still holds.
struct FeedEnd {
    Seq last_seq;
    std::optional<std::uint64_t> pending; ///< Absent on servers before CouchDB 2.
};

} // namespace edw
