// StateCounts: how many docs are in each state, for workflows that move docs through states
// (ALMA OUSs, Gemini queue items) rather than along a `process` array.
#pragma once

#include <edw/db/database.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace edw {

/// The design doc and view that state counts come from: `_design/states`, view `states`, keyed
/// `[group, state]` and reduced with `_count`. A workflow writes its own map function (it alone
/// knows which field holds the state), so edw status and the status page need no code for it.
inline constexpr const char* states_design = "states";
inline constexpr const char* states_view = "states";
/// The design doc field giving the display order (from `states.json` in its folder):
/// `[{"group": "ous", "states": ["ReadyForProcessing", ...]}, ...]`.
inline constexpr const char* states_field = "edw_states";

struct StateCount {
    std::string state;
    std::uint64_t docs = 0;
};

/// One group's states: the declared ones in their order (with 0 when no doc is there), then
/// any other state seen in the view, in key order.
struct StateGroup {
    std::string group;
    std::vector<StateCount> states;
    [[nodiscard]] std::uint64_t total() const;
};

/// Reads a `states.json` declaration; throws ConfigError saying what is wrong with it.
std::vector<StateGroup> parse_states_declaration(const nlohmann::json& declaration);

/// The state counts of the database; nothing when it has no `_design/states`. Throws
/// ConfigError when that design doc has no `states` view or a bad declaration, and what the
/// query throws.
std::optional<std::vector<StateGroup>> read_state_counts(Database& database);

nlohmann::json to_json(const std::vector<StateGroup>& groups);

} // namespace edw
