// QA2: a reviewer looks at an OUS's pipeline results and passes or fails them (AQUA/QA2).
#include "draws.hpp"

#include <edw/db/view_query.hpp>
#include <edw/util/error.hpp>

namespace draws {

std::vector<std::string> ready_for_review(edw::Database& status_entities)
{
    // From the states view: ["ous", state] rows, with the doc ids, no doc read.
    if (!status_entities.get("_design/states")) {
        throw edw::ConfigError(
            "no _design/states in " + status_entities.describe() +
            ": push it (edw design push examples/alma-draws/design-docs/states)");
    }
    edw::ViewQuery query;
    query.key = nlohmann::json::array({"ous", "ReadyForReview"});
    query.reduce = false;
    std::vector<std::string> ready;
    for (const auto& row : status_entities.query("states", "states", query).rows) {
        ready.push_back(row.value.is_string() ? row.value.get<std::string>() : row.id);
    }
    return ready;
}

std::string review(edw::Database& status_entities, const std::string& entity_id,
                   const std::string& verdict, const std::string& reviewer)
{
    if (verdict != "Pass" && verdict != "SemiPass" && verdict != "Fail") {
        throw edw::TransitionRefused("QA2 verdict '" + verdict +
                                     "' is none of Pass, SemiPass, Fail");
    }
    const std::string id = ous_doc_id(entity_id);
    const auto ous = status_entities.get(id);
    // A review opened earlier and not finished (the reviewer's session ended) goes on.
    if (!ous || ous->value("state", "") != "Reviewing") {
        move_ous(status_entities, id, "Reviewing", nlohmann::json::object(), reviewer,
                 "QA2 review opened");
    }
    if (verdict == "Fail") {
        // Back to processing; DRA assigns it again.
        move_ous(status_entities, id, "ReadyForProcessing",
                 {{"executive", nullptr}, {"qa2", verdict}}, reviewer, "QA2 Fail");
        return entity_id + ": QA2 Fail, ReadyForProcessing again";
    }
    move_ous(status_entities, id, "Verified", {{"qa2", verdict}}, reviewer, "QA2 " + verdict);
    return entity_id + ": QA2 " + verdict + ", Verified";
}

} // namespace draws
