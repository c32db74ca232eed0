// StepPause: the `_local` doc that pauses a step.
#include "edw/runtime/step_pause.hpp"

#include <edw/util/error.hpp>

namespace edw {

std::string pause_doc_id(std::string_view step)
{
    return "_local/edw-pause-" + std::string(step);
}

std::optional<StepPause> read_pause(Database& database, std::string_view step)
{
    const auto doc = database.get(pause_doc_id(step));
    if (!doc || !doc->value("paused", false)) {
        return std::nullopt;
    }
    return StepPause{.since = doc->value("since", ""),
                     .by = doc->value("by", ""),
                     .reason = doc->value("reason", "")};
}

bool write_pause(Database& database, std::string_view step, const std::optional<StepPause>& pause)
{
    const std::string id = pause_doc_id(step);
    for (int attempt = 0; attempt < 5; ++attempt) {
        const auto current = database.get(id);
        const bool paused = current && current->value("paused", false);
        if (paused == pause.has_value()) {
            return false;
        }
        nlohmann::json doc = {{"_id", id}, {"step", step}, {"paused", pause.has_value()}};
        if (pause) {
            doc["since"] = pause->since;
            doc["by"] = pause->by;
            doc["reason"] = pause->reason;
        }
        if (current) {
            doc["_rev"] = current->value("_rev", "");
        }
        if (!database.save(doc).is_conflict()) {
            return true;
        }
    }
    throw StoreError("cannot " + std::string(pause ? "pause" : "resume") + " step " +
                     std::string(step) + ": its pause doc keeps changing under us");
}

} // namespace edw
