// ViewGroups: the embedded store's reductions, kept as view rows are indexed.
#pragma once

#include "sqlite_connection.hpp"
#include "view_reduce.hpp"

#include <edw/db/database.hpp>
#include <edw/db/view_query.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace edw {

/// Counts and sums of a view's rows per group, updated with the rows themselves, so that a
/// reduced query reads a few group rows instead of every row it covers. CouchDB keeps its
/// reductions in the inner nodes of its B-tree for the same reason; here they are a table.
///
/// Kept for the `_count` and `_sum` reduces, per group level: level 0 (everything), levels 1 to
/// 8 (the first N elements of an array key longer than N), and the exact key (which also stands
/// for an array key of N elements or fewer at level N, and any other key at every level).
/// Other reduces, and queries whose range could cut into a group, are answered from the rows.
class ViewGroups {
public:
    /// The deepest group level kept; deeper queries read the rows.
    static constexpr int deepest_level = 8;

    static void create_tables(SqliteConnection& connection);
    /// Forgets every group of design doc `ddoc` (its index is built again).
    static void clear(SqliteConnection& connection, const std::string& ddoc);

    /// Adds one view row to its groups (`sign` +1), or takes it away (-1).
    static void apply(SqliteConnection& connection, const std::string& ddoc,
                      const std::string& view, const nlohmann::json& key,
                      const nlohmann::json& value, int sign);

    /// The reduced rows of `query` from the kept groups, or nothing when they cannot answer it
    /// exactly (another reduce, a `keys` query, docid bounds, descending order, a range that
    /// could cut into a group, a level deeper than kept, or a `_sum` over values that are not
    /// numbers, whose error the rows then report as CouchDB does).
    static std::optional<std::vector<ViewRow>> read(SqliteConnection& connection,
                                                    const std::string& ddoc,
                                                    const std::string& view, BuiltinReduce reduce,
                                                    const ViewQuery& query);
};

} // namespace edw
