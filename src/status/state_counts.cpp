// StateCounts: one grouped query on the workflow's states view, ordered as it declares.
#include "edw/status/state_counts.hpp"

#include <edw/util/error.hpp>

#include <algorithm>

namespace edw {
namespace {

std::string key_text(const nlohmann::json& part)
{
    return part.is_string() ? part.get<std::string>() : part.dump();
}

} // namespace

std::uint64_t StateGroup::total() const
{
    std::uint64_t sum = 0;
    for (const auto& count : states) {
        sum += count.docs;
    }
    return sum;
}

std::vector<StateGroup> parse_states_declaration(const nlohmann::json& declaration)
{
    const std::string shape = R"(expected [{"group": "<name>", "states": ["<state>", ...]}, ...])";
    if (!declaration.is_array()) {
        throw ConfigError("the state groups are not an array: " + shape);
    }
    std::vector<StateGroup> groups;
    for (const auto& item : declaration) {
        if (!item.is_object() || !item.contains("group") || !item["group"].is_string() ||
            item["group"].get<std::string>().empty()) {
            throw ConfigError("a state group without a name: " + shape);
        }
        StateGroup group{.group = item["group"].get<std::string>(), .states = {}};
        if (std::any_of(groups.begin(), groups.end(),
                        [&](const StateGroup& other) { return other.group == group.group; })) {
            throw ConfigError("state group '" + group.group + "' is declared twice");
        }
        const auto states = item.find("states");
        if (states != item.end()) {
            if (!states->is_array()) {
                throw ConfigError("the states of group '" + group.group +
                                  "' are not an array: " + shape);
            }
            for (const auto& state : *states) {
                if (!state.is_string()) {
                    throw ConfigError("a state of group '" + group.group +
                                      "' is not text: " + state.dump());
                }
                group.states.push_back({.state = state.get<std::string>(), .docs = 0});
            }
        }
        groups.push_back(std::move(group));
    }
    return groups;
}

std::optional<std::vector<StateGroup>> read_state_counts(Database& database)
{
    const auto design = database.get(std::string("_design/") + states_design);
    if (!design) {
        return std::nullopt;
    }
    if (!design->contains("views") || !(*design)["views"].contains(states_view)) {
        throw ConfigError(std::string("_design/") + states_design + " in " + database.describe() +
                          " has no view '" + states_view + "', which edw status reads");
    }
    std::vector<StateGroup> groups;
    if (design->contains(states_field)) {
        try {
            groups = parse_states_declaration((*design)[states_field]);
        } catch (const ConfigError& error) {
            throw ConfigError(std::string("_design/") + states_design + " in " +
                              database.describe() + ": " + error.what());
        }
    }
    ViewQuery query;
    query.group_level = 2;
    for (const auto& row : database.query(states_design, states_view, query).rows) {
        if (!row.key.is_array() || row.key.size() < 2 || !row.value.is_number_unsigned()) {
            continue; // not a [group, state] row counted by _count
        }
        const std::string group_name = key_text(row.key[0]);
        const std::string state = key_text(row.key[1]);
        auto group = std::find_if(groups.begin(), groups.end(),
                                  [&](const StateGroup& each) { return each.group == group_name; });
        if (group == groups.end()) {
            groups.push_back({.group = group_name, .states = {}});
            group = std::prev(groups.end());
        }
        auto count = std::find_if(group->states.begin(), group->states.end(),
                                  [&](const StateCount& each) { return each.state == state; });
        if (count == group->states.end()) {
            group->states.push_back({.state = state, .docs = 0});
            count = std::prev(group->states.end());
        }
        count->docs += row.value.get<std::uint64_t>();
    }
    return groups;
}

nlohmann::json to_json(const std::vector<StateGroup>& groups)
{
    nlohmann::json out = nlohmann::json::array();
    for (const auto& group : groups) {
        nlohmann::json states = nlohmann::json::array();
        for (const auto& count : group.states) {
            states.push_back({{"state", count.state}, {"docs", count.docs}});
        }
        out.push_back({{"group", group.group}, {"total", group.total()}, {"states", states}});
    }
    return out;
}

} // namespace edw
