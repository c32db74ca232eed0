// StepSelection: the three ways a step finds its docs, behind one question.
#include "edw/step/step_selection.hpp"

#include <edw/step/failure_log.hpp>

namespace edw {

StepSelection StepSelection::at(StepPosition position)
{
    StepSelection selection;
    selection.m_description =
        position.is_new_document() ? "new docs" : "docs after " + position.step();
    selection.m_position = std::move(position);
    return selection;
}

StepSelection StepSelection::matching(const nlohmann::json& selector)
{
    StepSelection selection;
    selection.m_selector.emplace(selector);
    selection.m_description = "docs matching " + selector.dump();
    return selection;
}

StepSelection StepSelection::where(std::function<bool(const nlohmann::json& doc)> predicate,
                                   std::string description)
{
    StepSelection selection;
    selection.m_predicate = std::move(predicate);
    selection.m_description = std::move(description);
    return selection;
}

bool StepSelection::selects(const nlohmann::json& doc) const
{
    if (!doc.is_object() || doc.value("_deleted", false) ||
        doc.value("_id", "").starts_with("_design/")) {
        return false;
    }
    if (m_position) {
        return is_waiting_at(doc, *m_position); // a parked doc's status keeps it out already
    }
    // A parked doc is out of every step until `edw retry` puts it back, whatever the selector
    // or predicate looks at.
    if (is_parked(doc)) {
        return false;
    }
    if (m_selector) {
        return m_selector->matches(doc);
    }
    return m_predicate && m_predicate(doc);
}

bool StepSelection::may_select(std::string_view doc_json) const
{
    return !m_position || may_be_waiting_at(doc_json, *m_position);
}

ConflictDecision decide_after_conflict(const std::optional<nlohmann::json>& fresh,
                                       std::string_view step, const StepSelection& selection)
{
    if (selection.position()) {
        return decide_after_conflict(fresh, step, *selection.position());
    }
    if (fresh && selection.selects(*fresh)) {
        return ConflictDecision::reapply;
    }
    return ConflictDecision::no_longer_waiting;
}

} // namespace edw
