// Data reducer assignment (DRA): an OUS ready for processing gets an executive, and that
// executive's pipeline driver gets a request in msgq.
#include "draws.hpp"

#include <edw/util/utc_time.hpp>

namespace draws {

edw::Step dr_assign_step(edw::Database& msgq, std::optional<std::string> executive)
{
    edw::Step step;
    step.name = "dr-assign";
    // A new OUS, or one sent back for processing (QA2 Fail, launched again): no executive yet.
    step.selection = edw::StepSelection::matching(
        {{"type", "ous"}, {"state", "ReadyForProcessing"}, {"executive", nullptr}});
    step.run = [&msgq, executive](const nlohmann::json& ous) {
        const std::string entity = ous.value("entityId", "");
        const int attempt = runs_of(ous) + 1;
        // The same pick when done again after a crash, so the request below is the same one.
        const std::string chosen =
            executive ? *executive
                      : executives()[stable_pick(entity, attempt, executives().size())];
        // One request per run: sent again after a crash, it is already there (409).
        create_once(msgq, {{"_id", "pipeline.process-" + ous_doc_id(entity) + "-" +
                                       std::to_string(attempt)},
                           {"type", "message"},
                           {"topic", "pipeline.process"},
                           {"executive", chosen},
                           {"ous", entity},
                           {"recipe", ous.value("pipeline-recipe", "")},
                           {"attempt", attempt},
                           {"sent", edw::utc_now_iso8601()},
                           {"handled", nullptr}});
        return nlohmann::json{{"executive", chosen}};
    };
    step.record = edw::record_field_update("dr-assign", "assignments", "dra");
    return step;
}

} // namespace draws
