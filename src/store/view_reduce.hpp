// ViewReduce: CouchDB's built-in reduce functions (_count, _sum, _stats) and key grouping.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>

namespace edw {

enum class BuiltinReduce { count, sum, stats };

/// The built-in reduce a design doc names ("_count", "_sum", "_stats", spaces around allowed);
/// nothing for anything else, which would be JavaScript.
std::optional<BuiltinReduce> parse_builtin_reduce(std::string_view source);

/// Folds the values of one group of view rows into a reduced value, as CouchDB does.
class Reducer {
public:
    explicit Reducer(BuiltinReduce function)
        : m_function(function)
    {}

    /// Throws HttpError 400 builtin_reduce_error when `_sum` or `_stats` meets a value that is
    /// not a number (or, for `_sum`, an array of numbers).
    void add(const nlohmann::json& value);
    [[nodiscard]] nlohmann::json result() const;

private:
    BuiltinReduce m_function;
    std::uint64_t m_count = 0;
    nlohmann::json m_sum = 0;
    double m_min = 0;
    double m_max = 0;
    double m_sum_of_squares = 0;
};

/// The key a row is grouped under: the whole key with `group`, the first `group_level`
/// elements of an array key (other keys whole), or null when all rows reduce to one.
nlohmann::json group_key(const nlohmann::json& key, bool group, std::optional<int> group_level);

} // namespace edw
