// ViewReduce: the arithmetic of CouchDB's built-in reduces.
#include "view_reduce.hpp"

#include <edw/util/error.hpp>

#include <algorithm>

namespace edw {
namespace {

HttpError reduce_error(const std::string& function, const nlohmann::json& value)
{
    const std::string reason = "The " + function + " function requires that map values be numbers" +
                               (function == "_sum" ? ", or arrays of numbers" : "") + ", not " +
                               value.dump();
    return HttpError("cannot reduce the view: " + reason, 400, "builtin_reduce_error", reason);
}

// Adds `value` into `total`: numbers add; arrays of numbers add element by element, the
// shorter one padded with zeros, as CouchDB's _sum does.
void add_into(nlohmann::json& total, const nlohmann::json& value)
{
    if (value.is_number()) {
        if (!total.is_number()) {
            throw reduce_error("_sum", value);
        }
        if (total.is_number_integer() && value.is_number_integer()) {
            total = total.get<std::int64_t>() + value.get<std::int64_t>();
        } else {
            total = total.get<double>() + value.get<double>();
        }
        return;
    }
    if (!value.is_array()) {
        throw reduce_error("_sum", value);
    }
    if (total.is_number()) {
        if (total != 0) {
            throw reduce_error("_sum", value);
        }
        total = nlohmann::json::array();
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_number()) {
            throw reduce_error("_sum", value);
        }
        if (i >= total.size()) {
            total.push_back(0);
        }
        add_into(total[i], value[i]);
    }
}

} // namespace

std::optional<BuiltinReduce> parse_builtin_reduce(std::string_view source)
{
    const auto first = source.find_first_not_of(" \t\r\n");
    const auto last = source.find_last_not_of(" \t\r\n");
    const auto name = first == std::string_view::npos ? std::string_view()
                                                      : source.substr(first, last - first + 1);
    if (name == "_count") {
        return BuiltinReduce::count;
    }
    if (name == "_sum") {
        return BuiltinReduce::sum;
    }
    if (name == "_stats") {
        return BuiltinReduce::stats;
    }
    return std::nullopt;
}

void Reducer::add(const nlohmann::json& value)
{
    switch (m_function) {
    case BuiltinReduce::count:
        break;
    case BuiltinReduce::sum:
        add_into(m_sum, value);
        break;
    case BuiltinReduce::stats: {
        if (!value.is_number()) {
            throw reduce_error("_stats", value);
        }
        const double number = value.get<double>();
        m_min = m_count == 0 ? number : std::min(m_min, number);
        m_max = m_count == 0 ? number : std::max(m_max, number);
        m_sum_of_squares += number * number;
        add_into(m_sum, value);
        break;
    }
    }
    ++m_count;
}

nlohmann::json Reducer::result() const
{
    switch (m_function) {
    case BuiltinReduce::count:
        return m_count;
    case BuiltinReduce::sum:
        return m_sum;
    case BuiltinReduce::stats:
        return {{"sum", m_sum},
                {"count", m_count},
                {"min", m_min},
                {"max", m_max},
                {"sumsqr", m_sum_of_squares}};
    }
    return nullptr;
}

nlohmann::json group_key(const nlohmann::json& key, bool group, std::optional<int> group_level)
{
    if (group_level) {
        if (*group_level == 0) {
            return nullptr; // CouchDB's group_level=0 is no grouping: one row
        }
        if (!key.is_array() || static_cast<int>(key.size()) <= *group_level) {
            return key;
        }
        return nlohmann::json(key.begin(), key.begin() + *group_level);
    }
    return group ? key : nlohmann::json(nullptr);
}

} // namespace edw
