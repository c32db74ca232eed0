// StateMachine: reading a definition, checking and recording moves.
#include "edw/step/state_machine.hpp"

namespace edw {
namespace {

std::string field_name(const nlohmann::json& definition, const char* key, const char* fallback)
{
    if (!definition.contains(key)) {
        return fallback;
    }
    const auto& value = definition[key];
    if (!value.is_string() || value.get_ref<const std::string&>().empty() ||
        value.get_ref<const std::string&>().front() == '_') {
        throw ConfigError(std::string("state machine: ") + key +
                          " must be a field name (not empty, not starting with _), not " +
                          value.dump());
    }
    return value.get<std::string>();
}

std::set<std::string, std::less<>> names_in(const nlohmann::json& list, const std::string& what)
{
    if (!list.is_array()) {
        throw ConfigError("state machine: " + what + " must be an array of state names, not " +
                          list.dump());
    }
    std::set<std::string, std::less<>> names;
    for (const auto& name : list) {
        if (!name.is_string() || name.get_ref<const std::string&>().empty()) {
            throw ConfigError("state machine: " + what + " holds " + name.dump() +
                              ", which is not a state name");
        }
        names.insert(name.get<std::string>());
    }
    return names;
}

std::string describe(const std::optional<std::string>& state)
{
    return state ? *state : std::string("(no state)");
}

} // namespace

StateMachine StateMachine::parse(const nlohmann::json& definition)
{
    if (!definition.is_object()) {
        throw ConfigError("state machine: expected an object with states, not " +
                          definition.dump());
    }
    for (const auto& [key, value] : definition.items()) {
        if (key != "field" && key != "history" && key != "initial" && key != "states") {
            throw ConfigError("state machine: unknown key '" + key +
                              "' (expected field, history, initial, states)");
        }
    }
    StateMachine machine;
    machine.m_field = field_name(definition, "field", "state");
    machine.m_history = field_name(definition, "history", "state_history");
    if (machine.m_field == machine.m_history) {
        throw ConfigError("state machine: field and history are both '" + machine.m_field + "'");
    }
    if (!definition.contains("states") || !definition["states"].is_object() ||
        definition["states"].empty()) {
        throw ConfigError("state machine: states must be an object mapping each state to the "
                          "states it may move to");
    }
    for (const auto& [state, targets] : definition["states"].items()) {
        machine.m_moves[state] = names_in(targets, "states." + state);
    }
    for (const auto& [state, targets] : machine.m_moves) {
        for (const auto& target : targets) {
            if (!machine.m_moves.contains(target)) {
                throw ConfigError("state machine: " + state + " may move to " + target +
                                  ", which is not one of the states");
            }
        }
    }
    if (definition.contains("initial")) {
        machine.m_initial = names_in(definition["initial"], "initial");
        for (const auto& state : machine.m_initial) {
            if (!machine.m_moves.contains(state)) {
                throw ConfigError("state machine: initial state " + state +
                                  " is not one of the states");
            }
        }
    }
    return machine;
}

std::optional<std::string> StateMachine::state_of(const nlohmann::json& doc) const
{
    const auto found = doc.is_object() ? doc.find(m_field) : doc.end();
    if (!doc.is_object() || found == doc.end() || !found->is_string()) {
        return std::nullopt;
    }
    return found->get<std::string>();
}

bool StateMachine::allows(const std::optional<std::string>& from, std::string_view to) const
{
    if (!from) {
        return m_initial.contains(to);
    }
    const auto moves = m_moves.find(*from);
    return moves != m_moves.end() && moves->second.contains(to);
}

nlohmann::json StateMachine::apply(nlohmann::json doc, std::string_view to,
                                   const nlohmann::json& changes, std::string_view by,
                                   std::string_view date,
                                   const std::optional<std::string>& expected_from,
                                   const nlohmann::json& note) const
{
    const std::string id = doc.is_object() ? doc.value("_id", "(no _id)") : "(not a doc)";
    const auto from = state_of(doc);
    const std::string move = "doc " + id + ": " + describe(from) + " -> " + std::string(to);
    if (expected_from && from != expected_from) {
        throw TransitionRefused(move + " refused: the doc is no longer in " + *expected_from);
    }
    if (!allows(from, to)) {
        std::string allowed;
        if (const auto moves = from ? m_moves.find(*from) : m_moves.end(); moves != m_moves.end()) {
            for (const auto& target : moves->second) {
                allowed += (allowed.empty() ? "" : ", ") + target;
            }
        } else if (!from) {
            for (const auto& target : m_initial) {
                allowed += (allowed.empty() ? "" : ", ") + target;
            }
        }
        throw TransitionRefused(move + " is not allowed by the workflow (allowed: " +
                                (allowed.empty() ? std::string("none") : allowed) + ")");
    }
    if (!changes.is_null() && !changes.is_object()) {
        throw TransitionRefused(move + ": the changes must be a JSON object");
    }
    if (changes.is_object()) {
        for (const auto& [key, value] : changes.items()) {
            if (key == "_id" || key == "_rev" || key == m_field || key == m_history) {
                throw TransitionRefused(move + ": the changes may not set " + key);
            }
            doc[key] = value;
        }
    }
    auto& history = doc[m_history];
    if (!history.is_array()) {
        history = nlohmann::json::array();
    }
    nlohmann::json entry = {{"from", from ? nlohmann::json(*from) : nlohmann::json()},
                            {"to", to},
                            {"date", date},
                            {"by", by}};
    if (!note.is_null()) {
        entry["note"] = note;
    }
    history.push_back(std::move(entry));
    doc[m_field] = to;
    return doc;
}

std::size_t StateMachine::times_moved(const nlohmann::json& doc, std::string_view from,
                                      std::string_view to) const
{
    const auto history = doc.is_object() ? doc.find(m_history) : doc.end();
    if (!doc.is_object() || history == doc.end() || !history->is_array()) {
        return 0;
    }
    std::size_t count = 0;
    for (const auto& entry : *history) {
        if (entry.is_object() && entry.value("from", nlohmann::json()) == std::string(from) &&
            entry.value("to", nlohmann::json()) == std::string(to)) {
            ++count;
        }
    }
    return count;
}

} // namespace edw
