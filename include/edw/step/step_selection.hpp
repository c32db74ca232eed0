// StepSelection: which documents wait at a step.
#pragma once

#include <edw/db/selector.hpp>
#include <edw/step/process_log.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace edw {

/// Which documents wait at a step: those whose `process` array ends at a position (EDELWEISS, the
/// `lastproc` view), those a Mango selector matches (`{"state": "ReadyForProcessing",
/// "executive": "EU"}`), or those a C++ predicate accepts. A step whose docs are found by its
/// position catches up from the view and follows a filtered feed; the others read the feed from
/// its start at every start (each doc's latest revision appears once) and choose in the runner.
class StepSelection {
public:
    /// Docs whose process array ends at `position`.
    static StepSelection at(StepPosition position);
    /// Docs `selector` matches. Throws JsonError ("invalid selector: ...") for a bad selector.
    static StepSelection matching(const nlohmann::json& selector);
    /// Docs `predicate` accepts; `description` names the rule in logs.
    static StepSelection where(std::function<bool(const nlohmann::json& doc)> predicate,
                               std::string description);

    /// Whether `doc` waits at the step: never a tombstone, a design doc or a parked doc.
    [[nodiscard]] bool selects(const nlohmann::json& doc) const;
    /// A first look at a doc's JSON text: false only when the doc surely is not selected.
    [[nodiscard]] bool may_select(std::string_view doc_json) const;
    /// The position, for a step whose docs are found through the `lastproc` view.
    [[nodiscard]] const std::optional<StepPosition>& position() const noexcept
    {
        return m_position;
    }
    /// For logs: "after move_to_sps", "docs matching {...}", or the predicate's description.
    [[nodiscard]] const std::string& description() const noexcept { return m_description; }

private:
    StepSelection() = default;

    std::optional<StepPosition> m_position;
    std::optional<Selector> m_selector;
    std::function<bool(const nlohmann::json&)> m_predicate;
    std::string m_description;
};

/// What to do after a write met a 409 and the doc was read again (`fresh`, empty when deleted):
/// reapply while the step still selects it; otherwise drop the result, as already recorded when
/// the doc's process array holds the step, else as no longer waiting.
ConflictDecision decide_after_conflict(const std::optional<nlohmann::json>& fresh,
                                       std::string_view step, const StepSelection& selection);

} // namespace edw
