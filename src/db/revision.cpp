// Revision ids, `_revisions` histories and CouchDB's choice of the winning leaf.
#include <edw/db/revision.hpp>
#include <edw/util/error.hpp>

#include <charconv>

namespace edw {

RevisionId parse_revision(std::string_view rev)
{
    const auto dash = rev.find('-');
    RevisionId id;
    const auto* end = rev.data() + (dash == std::string_view::npos ? rev.size() : dash);
    const auto [stop, error] = std::from_chars(rev.data(), end, id.generation);
    if (dash == std::string_view::npos || error != std::errc() || stop != end ||
        id.generation < 0 || dash + 1 >= rev.size()) {
        throw JsonError("invalid revision id \"" + std::string(rev) + "\"");
    }
    id.hash = rev.substr(dash + 1);
    return id;
}

std::vector<std::string> revision_path(const nlohmann::json& doc)
{
    const auto rev_field = doc.find("_rev");
    if (rev_field == doc.end() || !rev_field->is_string()) {
        throw JsonError("a replicated doc needs its _rev");
    }
    const std::string rev = rev_field->get<std::string>();
    const auto leaf = parse_revision(rev);
    const auto revisions = doc.find("_revisions");
    if (revisions == doc.end()) {
        return {rev};
    }
    const auto start = revisions->find("start");
    const auto ids = revisions->find("ids");
    if (!revisions->is_object() || start == revisions->end() || !start->is_number_integer() ||
        ids == revisions->end() || !ids->is_array() || ids->empty()) {
        throw JsonError("_revisions must be {\"start\": N, \"ids\": [hash, ...]}");
    }
    const auto generation = start->get<std::int64_t>();
    if (generation != leaf.generation || !(*ids)[0].is_string() ||
        (*ids)[0].get<std::string>() != leaf.hash) {
        throw JsonError("_revisions does not start with _rev " + rev);
    }
    if (static_cast<std::int64_t>(ids->size()) > generation) {
        throw JsonError("_revisions of " + rev + " holds more ids than generations");
    }
    std::vector<std::string> path;
    path.reserve(ids->size());
    for (std::size_t i = 0; i < ids->size(); ++i) {
        const auto& hash = (*ids)[i];
        if (!hash.is_string() || hash.get<std::string>().empty()) {
            throw JsonError("_revisions of " + rev + " holds an id that is not a string");
        }
        path.push_back(std::to_string(generation - static_cast<std::int64_t>(i)) + "-" +
                       hash.get<std::string>());
    }
    return path;
}

nlohmann::json revisions_field(const std::vector<std::string>& path)
{
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& rev : path) {
        ids.push_back(parse_revision(rev).hash);
    }
    return {{"start", path.empty() ? 0 : parse_revision(path.front()).generation},
            {"ids", std::move(ids)}};
}

std::size_t winning_leaf(const std::vector<Leaf>& leaves)
{
    // couch_doc:to_doc_info_path sorts leaves by {not deleted, generation, hash}, highest first.
    // Hashes are lower-case hex of equal length, so comparing them as text compares their bytes.
    std::size_t best = 0;
    RevisionId best_id = parse_revision(leaves[0].rev);
    for (std::size_t i = 1; i < leaves.size(); ++i) {
        const auto id = parse_revision(leaves[i].rev);
        const auto key = std::tie(id.generation, id.hash);
        const auto best_key = std::tie(best_id.generation, best_id.hash);
        const bool live_over_deleted = !leaves[i].deleted && leaves[best].deleted;
        const bool same_state = leaves[i].deleted == leaves[best].deleted;
        if (live_over_deleted || (same_state && key > best_key)) {
            best = i;
            best_id = id;
        }
    }
    return best;
}

} // namespace edw
