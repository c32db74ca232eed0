// Revision: CouchDB's `N-hash` revision ids, their histories (`_revisions`) and which leaf of a
// revision tree wins.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace edw {

/// A revision id split into its generation (edits since creation) and its hash.
struct RevisionId {
    std::int64_t generation = 0;
    std::string hash;
};

/// Splits `N-hash`. Throws JsonError for anything else (no number, no dash, empty hash).
RevisionId parse_revision(std::string_view rev);

/// A doc's history as replication sends it: `_revisions` `{start, ids}` turned into full
/// revision ids, newest (the doc's `_rev`) first. Without `_revisions`, the `_rev` alone.
/// Throws JsonError when the two disagree or either is malformed.
std::vector<std::string> revision_path(const nlohmann::json& doc);

/// The `_revisions` value of a history given newest first, generations consecutive.
nlohmann::json revisions_field(const std::vector<std::string>& path);

/// A leaf of a revision tree: a revision no other revision replaced.
struct Leaf {
    std::string rev;
    bool deleted = false;
};

/// The index of the leaf CouchDB shows as the doc: a live leaf before a deleted one, then the
/// highest generation, then the highest hash. Every replica picks the same one, with no
/// communication. `leaves` must not be empty.
std::size_t winning_leaf(const std::vector<Leaf>& leaves);

} // namespace edw
