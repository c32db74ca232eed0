// edw bench step: one listener of the synthetic pipeline, reporting its count on standard output.
#include "bench.hpp"

#include <edw/app/bench_listener.hpp>
#include <edw/app/open_database.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/util/log.hpp>

namespace edw::tools {

int bench_step(const GlobalOptions& global, const BenchStepOptions& options)
{
    const Settings settings = load_tool_settings(global);
    LogSettings log_settings;
    log_settings.program = "bench-" + options.name;
    log_settings.level = parse_log_level(options.log_level);
    configure_log(log_settings);
    const auto database = open_database(settings);
    Step step;
    step.name = options.name;
    step.follows = options.follows.empty() ? StepPosition::new_document()
                                           : StepPosition::after(options.follows);
    // Trivial work, so that what is measured is edw and the database.
    step.run = [](const nlohmann::json&) { return nlohmann::json{{"bench", true}}; };
    RunnerOptions runner_options;
    runner_options.listener = "bench-" + options.name;
    runner_options.design = settings.design;
    runner_options.view = settings.view;
    runner_options.jobs = options.jobs;
    runner_options.batch_size = options.batch_size;
    runner_options.heartbeat = settings.heartbeat;
    runner_options.feed_filter = parse_feed_filter(options.feed_filter);
    return run_bench_listener(*database, step, runner_options);
}

} // namespace edw::tools
