// The State System (XTSS): the one program that moves OUSs on behalf of others. State changes
// come as msgq messages, so a pipeline driver at an ARC needs no write access to the JAO's
// status-entities.
#include "draws.hpp"

#include <edw/util/utc_time.hpp>

namespace draws {

edw::Step xtss_step(edw::Database& status_entities, edw::Database& pipeline_reports)
{
    edw::Step step;
    step.name = "xtss";
    step.selection = edw::StepSelection::matching(
        {{"type", "message"}, {"topic", "set-state"}, {"handled", nullptr}});
    // A change waits for the one it follows (ReadyForReview for Processing): messages from
    // another site may arrive in any order.
    step.dependencies = edw::Dependencies{
        .ids =
            [](const nlohmann::json& message) {
                const auto after = message.find("after");
                return after != message.end() && after->is_string()
                           ? std::vector<std::string>{after->get<std::string>()}
                           : std::vector<std::string>{};
            },
        .ready =
            [](const nlohmann::json&, const std::vector<std::optional<nlohmann::json>>& before) {
                return std::all_of(before.begin(), before.end(), [](const auto& message) {
                    return message && !message->value("handled", nlohmann::json()).is_null();
                });
            }};
    step.run = [&status_entities, &pipeline_reports](const nlohmann::json& message) {
        const std::string by = "xtss:" + message.value("_id", "");
        const std::string id = ous_doc_id(message.value("ous", ""));
        const auto ous = status_entities.get(id);
        bool applied = false;
        if (ous) {
            // Applied already, by a run of this step that stopped before marking the message.
            for (const auto& entry : ous->value("state_history", nlohmann::json::array())) {
                applied = applied || entry.value("by", "") == by;
            }
        }
        if (!applied) {
            move_ous(status_entities, id, message.value("to", ""), nlohmann::json::object(), by,
                     "asked from " + message.value("from_site", "?"));
        }
        if (message.contains("report") && message["report"].is_object()) {
            create_once(pipeline_reports, message["report"]);
        }
        return nlohmann::json{{"handled", edw::utc_now_iso8601()}};
    };
    step.record = edw::record_field_update("xtss", "receipts", "xtss");
    return step;
}

} // namespace draws
