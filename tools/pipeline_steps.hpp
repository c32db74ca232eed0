// PipelineSteps: the steps a pipeline declares, for the tools that act on them by name.
#pragma once

#include <edw/db/database.hpp>

#include <string>
#include <vector>

namespace edw::tools {

/// The steps the pipeline declares (`edw_pipeline` in `_design/<design>`), in order; none when
/// the design doc or its declaration is missing. Throws ConfigError for a bad declaration.
std::vector<std::string> declared_steps(Database& database, const std::string& design);

/// Refuses (ConfigError) a rerun of a step the pipeline does not declare: its docs would wait at
/// a step no listener runs. With no declaration there is nothing to check against.
void check_rerun_step(Database& database, const std::string& design, const std::string& step);

} // namespace edw::tools
