// ViewGroups: the embedded store's reductions, kept as view rows are indexed.
#include "view_groups.hpp"

#include <edw/db/collation.hpp>

#include <algorithm>
#include <cmath>

namespace edw {
namespace {

// The level of exact keys; levels 1..deepest_level are array prefixes, 0 is everything.
constexpr std::int64_t exact_level = 1000;

struct Group {
    std::int64_t level;
    std::string order; ///< sort_key(key): the collation order, compared as bytes
    std::string key;   ///< JSON text
};

// The groups one row belongs to.
std::vector<Group> groups_of(const nlohmann::json& key)
{
    std::vector<Group> groups;
    groups.push_back({0, std::string(), "null"});
    groups.push_back({exact_level, sort_key(key), key.dump()});
    if (key.is_array()) {
        const auto deepest =
            std::min<std::size_t>(key.size() - (key.empty() ? 0 : 1), ViewGroups::deepest_level);
        for (std::size_t level = 1; level <= deepest; ++level) {
            const nlohmann::json prefix(key.begin(), key.begin() + static_cast<long>(level));
            groups.push_back({static_cast<std::int64_t>(level), sort_key(prefix), prefix.dump()});
        }
    }
    return groups;
}

std::int64_t key_length(const nlohmann::json& key)
{
    return key.is_array() ? static_cast<std::int64_t>(key.size()) : 0;
}

// Binds what `value` adds to a sum (itself when a number, else nothing, counted as odd) and
// whether it is a real: a group whose reals all left sums to an integer again, as CouchDB's.
void bind_sum(Statement& statement, int sum_index, const nlohmann::json& value)
{
    const std::int64_t no = 0;
    const std::int64_t yes = 1;
    if (value.is_number_integer()) {
        statement.bind(sum_index, value.get<std::int64_t>())
            .bind(sum_index + 1, no)
            .bind(sum_index + 2, no);
    } else if (value.is_number()) {
        statement.bind_real(sum_index, value.get<double>())
            .bind(sum_index + 1, no)
            .bind(sum_index + 2, yes);
    } else {
        statement.bind(sum_index, no).bind(sum_index + 1, yes).bind(sum_index + 2, no);
    }
}

bool is_empty_object(const nlohmann::json& value)
{
    return value.is_object() && value.empty();
}

} // namespace

void ViewGroups::create_tables(SqliteConnection& connection)
{
    // `sum` has no type, so that integers add as integers and any real makes the sum real.
    connection.execute(
        "CREATE TABLE IF NOT EXISTS view_groups (ddoc TEXT NOT NULL, view TEXT NOT NULL, level "
        "INTEGER NOT NULL, group_order BLOB NOT NULL, group_key TEXT NOT NULL, key_length "
        "INTEGER NOT NULL, count INTEGER NOT NULL, sum NOT NULL, odd INTEGER NOT NULL, reals "
        "INTEGER NOT NULL, PRIMARY KEY (ddoc, view, level, group_order)) WITHOUT ROWID");
}

void ViewGroups::clear(SqliteConnection& connection, const std::string& ddoc)
{
    connection.statement("DELETE FROM view_groups WHERE ddoc = ?").bind(1, ddoc).run();
}

void ViewGroups::apply(SqliteConnection& connection, const std::string& ddoc,
                       const std::string& view, const nlohmann::json& key,
                       const nlohmann::json& value, int sign)
{
    const std::int64_t length = key_length(key);
    for (const auto& group : groups_of(key)) {
        if (sign > 0) {
            auto& add = connection.statement(
                "INSERT INTO view_groups VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9) ON "
                "CONFLICT (ddoc, view, level, group_order) DO UPDATE SET count = count + 1, "
                "sum = sum + excluded.sum, odd = odd + excluded.odd, reals = reals + "
                "excluded.reals");
            add.bind(1, ddoc)
                .bind(2, view)
                .bind(3, group.level)
                .bind_blob(4, group.order)
                .bind(5, group.key)
                .bind(6, length);
            bind_sum(add, 7, value);
            add.run();
            continue;
        }
        auto& take = connection.statement(
            "UPDATE view_groups SET count = count - 1, sum = sum - ?5, odd = odd - ?6, reals = "
            "reals - ?7 WHERE ddoc = ?1 AND view = ?2 AND level = ?3 AND group_order = ?4");
        take.bind(1, ddoc).bind(2, view).bind(3, group.level).bind_blob(4, group.order);
        bind_sum(take, 5, value);
        take.run();
        connection
            .statement("DELETE FROM view_groups WHERE ddoc = ? AND view = ? AND level = ? AND "
                       "group_order = ? AND count <= 0")
            .bind(1, ddoc)
            .bind(2, view)
            .bind(3, group.level)
            .bind_blob(4, group.order)
            .run();
    }
}

std::optional<std::vector<ViewRow>> ViewGroups::read(SqliteConnection& connection,
                                                     const std::string& ddoc,
                                                     const std::string& view, BuiltinReduce reduce,
                                                     const ViewQuery& query)
{
    if ((reduce != BuiltinReduce::count && reduce != BuiltinReduce::sum) || query.keys ||
        query.startkey_docid || query.endkey_docid || query.descending) {
        return std::nullopt;
    }
    const auto start = query.key ? query.key : query.startkey;
    const auto end = query.key ? query.key : query.endkey;
    const bool inclusive_end = query.key ? true : query.inclusive_end;

    // Which group rows: everything (level 0, or exact keys summed over a range), exact keys,
    // or level N. A range can be read from level N only when it cannot cut into a group: it
    // starts at a key of N elements or fewer and ends at one of N + 1 or fewer whose last is {}.
    std::string rows_sql;
    bool total = false;
    if (query.group_level && *query.group_level > deepest_level) {
        return std::nullopt;
    }
    if (query.group_level && *query.group_level > 0) {
        const auto level = *query.group_level;
        const bool start_fits =
            !start || (start->is_array() && start->size() <= std::size_t(level));
        const bool end_fits =
            !end || (inclusive_end && end->is_array() && !end->empty() &&
                     end->size() <= std::size_t(level) + 1 && is_empty_object(end->back()));
        if (!start_fits || !end_fits) {
            return std::nullopt;
        }
        rows_sql = "(level = " + std::to_string(level) +
                   " OR (level = " + std::to_string(exact_level) +
                   " AND key_length <= " + std::to_string(level) + "))";
    } else if (query.group && !query.group_level) {
        rows_sql = "level = " + std::to_string(exact_level);
    } else if (!start && !end) {
        rows_sql = "level = 0";
    } else {
        rows_sql = "level = " + std::to_string(exact_level);
        total = true;
    }

    std::string sql =
        total ? "SELECT 'null', SUM(count), SUM(sum), SUM(odd), x'', SUM(reals) FROM view_groups"
              : "SELECT group_key, count, sum, odd, group_order, reals FROM view_groups";
    sql += " WHERE ddoc = ?1 AND view = ?2 AND " + rows_sql + " AND count > 0";
    if (start) {
        sql += " AND group_order >= ?3";
    }
    if (end) {
        sql += std::string(" AND group_order ") + (inclusive_end ? "<=" : "<") + " ?4";
    }
    if (!total) {
        sql += " ORDER BY group_order";
    }
    auto& read = connection.statement(sql);
    read.bind(1, ddoc).bind(2, view);
    if (start) {
        read.bind_blob(3, sort_key(*start));
    }
    if (end) {
        read.bind_blob(4, sort_key(*end));
    }
    std::vector<ViewRow> rows;
    bool odd = false;
    std::string last_order;
    while (read.step()) {
        if (total && read.integer(1) == 0) {
            break; // no row in the range: no group
        }
        odd = odd || read.integer(3) > 0;
        nlohmann::json value;
        if (reduce == BuiltinReduce::count) {
            value = static_cast<std::uint64_t>(read.integer(1)); // as the Reducer counts
        } else if (read.is_integer(2)) {
            value = read.integer(2);
        } else if (read.integer(5) == 0) {
            value = static_cast<std::int64_t>(std::llround(read.real(2)));
        } else {
            value = read.real(2);
        }
        // A short key kept whole and the prefix of longer keys can be the same group: ["a"]
        // at level 1 is both. They come one after the other, and add up.
        const std::string_view order = read.text_view(4);
        if (!rows.empty() && order == last_order) {
            auto& merged = rows.back().value;
            if (merged.is_number_unsigned() && value.is_number_unsigned()) {
                merged = merged.get<std::uint64_t>() + value.get<std::uint64_t>();
            } else if (merged.is_number_integer() && value.is_number_integer()) {
                merged = merged.get<std::int64_t>() + value.get<std::int64_t>();
            } else {
                merged = merged.get<double>() + value.get<double>();
            }
            continue;
        }
        last_order = order;
        rows.push_back({.id = {},
                        .key = nlohmann::json::parse(read.text_view(0)),
                        .value = std::move(value),
                        .doc = {}});
    }
    read.reset();
    if (odd && reduce == BuiltinReduce::sum) {
        return std::nullopt; // the rows say which value is not a number, as CouchDB does
    }
    const auto skip = std::min<std::size_t>(query.skip, rows.size());
    rows.erase(rows.begin(), rows.begin() + static_cast<long>(skip));
    if (query.limit && rows.size() > *query.limit) {
        rows.resize(*query.limit);
    }
    return rows;
}

} // namespace edw
