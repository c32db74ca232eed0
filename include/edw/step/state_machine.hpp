// StateMachine: the states a workflow's documents move through, and the moves it allows.
#pragma once

#include <edw/util/error.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace edw {

/// A move a workflow does not allow, or one asked of a doc that is not where the caller thought.
/// A fault of the data or of the caller, never to be retried as it is.
class TransitionRefused : public Error {
public:
    using Error::Error;
};

/// The life cycle of a workflow's documents (ALMA's OUS states, SKA's processing block states):
/// which state field holds the state, which moves are allowed, and where each move is recorded.
///
/// Defined in JSON, as a design doc or a file can hold it:
///
///     {"field": "state", "history": "state_history",
///      "initial": ["ReadyForProcessing"],
///      "states": {"ReadyForProcessing": ["Processing"],
///                 "Processing": ["ReadyForReview", "ProcessingProblem"],
///                 "Delivered": []}}
///
/// `states` maps each state to the states it may move to (a final state to none); every target
/// must itself be a state. `initial` lists the states a doc without one may enter (default: none).
/// `field` defaults to "state", `history` to "state_history".
class StateMachine {
public:
    /// Throws ConfigError naming what is wrong: not an object, an unknown key, a target that is
    /// not a state, a field name that is empty or starts with '_'.
    static StateMachine parse(const nlohmann::json& definition);

    [[nodiscard]] const std::string& field() const noexcept { return m_field; }
    [[nodiscard]] const std::string& history_field() const noexcept { return m_history; }

    /// The doc's state: its state field when that is a string; nothing otherwise.
    [[nodiscard]] std::optional<std::string> state_of(const nlohmann::json& doc) const;

    /// True when a doc in state `from` (nothing: a doc without a state) may move to `to`.
    [[nodiscard]] bool allows(const std::optional<std::string>& from, std::string_view to) const;

    /// `doc` moved to `to`: the state field set, the fields of `changes` (an object) set at the
    /// top level, and `{from, to, date, by}` plus `note` (when not null) appended to the history
    /// array. Throws TransitionRefused, naming the doc, when the move is not allowed from the
    /// doc's state, when `expected_from` is given and the doc is elsewhere (another worker moved
    /// it), or when `changes` would set `_id`, `_rev`, the state field or the history.
    [[nodiscard]] nlohmann::json apply(nlohmann::json doc, std::string_view to,
                                       const nlohmann::json& changes, std::string_view by,
                                       std::string_view date,
                                       const std::optional<std::string>& expected_from = {},
                                       const nlohmann::json& note = nullptr) const;

    /// How many times the doc's history records the move from `from` to `to`.
    [[nodiscard]] std::size_t times_moved(const nlohmann::json& doc, std::string_view from,
                                          std::string_view to) const;

private:
    std::string m_field = "state";
    std::string m_history = "state_history";
    std::set<std::string, std::less<>> m_initial;
    std::map<std::string, std::set<std::string, std::less<>>, std::less<>> m_moves;
};

} // namespace edw
