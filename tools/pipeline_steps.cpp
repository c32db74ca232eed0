// PipelineSteps: the `edw_pipeline` declaration read by name, for checkpoint and rerun.
#include "pipeline_steps.hpp"

#include <edw/status/pipeline_status.hpp>
#include <edw/util/error.hpp>

#include <algorithm>

namespace edw::tools {

std::vector<std::string> declared_steps(Database& database, const std::string& design)
{
    std::vector<std::string> names;
    const auto doc = database.get("_design/" + design);
    if (doc && doc->contains(pipeline_field)) {
        for (const auto& step : parse_pipeline((*doc)[pipeline_field])) {
            names.push_back(step.name);
        }
    }
    return names;
}

void check_rerun_step(Database& database, const std::string& design, const std::string& step)
{
    const auto steps = declared_steps(database, design);
    if (steps.empty() || std::find(steps.begin(), steps.end(), step) != steps.end()) {
        return;
    }
    std::string names;
    for (const auto& name : steps) {
        names += (names.empty() ? "" : ", ") + name;
    }
    throw ConfigError("step " + step + " is not in the pipeline of _design/" + design + " (" +
                      names + "): the docs sent back would wait at a step no listener runs");
}

} // namespace edw::tools
