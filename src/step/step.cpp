// Step: the state-move recorder.
#include "edw/step/step.hpp"

namespace edw {

StepRecorder record_state_move(StateMachine machine, std::string by)
{
    return [machine = std::move(machine), by = std::move(by)](
               nlohmann::json doc, const nlohmann::json& result, std::string_view date) {
        const auto to = result.is_object() ? result.find("to") : result.end();
        if (!result.is_object() || to == result.end() || !to->is_string()) {
            throw TransitionRefused("doc " + doc.value("_id", "(no _id)") +
                                    ": the step's result must be {\"to\": \"<state>\", ...}, not " +
                                    result.dump());
        }
        return machine.apply(std::move(doc), to->get<std::string>(),
                             result.value("changes", nlohmann::json()), by, date, std::nullopt,
                             result.value("note", nlohmann::json()));
    };
}

StepRecorder record_field_update(std::string step, std::string history, std::string by)
{
    return [step = std::move(step), history = std::move(history), by = std::move(by)](
               nlohmann::json doc, const nlohmann::json& result, std::string_view date) {
        const std::string id = doc.value("_id", "(no _id)");
        if (!result.is_object()) {
            throw TransitionRefused("doc " + id + ": the result of step " + step +
                                    " must be an object of fields, not " + result.dump());
        }
        if (result.value("_deleted", false)) {
            return nlohmann::json{{"_id", id}, {"_rev", doc.value("_rev", "")}, {"_deleted", true}};
        }
        for (const auto& [key, value] : result.items()) {
            if (key == "_id" || key == "_rev" || key == history) {
                throw TransitionRefused("doc " + id + ": the result of step " + step +
                                        " may not set " + key);
            }
            doc[key] = value;
        }
        auto& entries = doc[history];
        if (!entries.is_array()) {
            entries = nlohmann::json::array();
        }
        entries.push_back({{"step", step}, {"changes", result}, {"date", date}, {"by", by}});
        return doc;
    };
}

} // namespace edw
