// Step: the state-move recorder.
#include "edw/step.hpp"

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

} // namespace edw
