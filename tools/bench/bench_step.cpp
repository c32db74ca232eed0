// edw bench step: one listener of the synthetic pipeline, reporting its count on standard output.
#include "bench.hpp"

#include <edw/app/bench_listener.hpp>
#include <edw/app/open_database.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/util/log.hpp>

#include <chrono>
#include <thread>

namespace edw::tools {
namespace {

std::vector<std::string> split_names(const std::string& names)
{
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t comma; (comma = names.find(',', start)) != std::string::npos;
         start = comma + 1) {
        out.push_back(names.substr(start, comma - start));
    }
    out.push_back(names.substr(start));
    return out;
}

} // namespace

int bench_step(const GlobalOptions& global, const BenchStepOptions& options)
{
    const Settings settings = load_tool_settings(global);
    LogSettings log_settings;
    log_settings.program = "bench-" + options.name;
    // Several steps in one process: one feed, one checkpoint (bench-<names>).
    log_settings.level = parse_log_level(options.log_level);
    configure_log(log_settings);
    const auto database = open_database(settings);
    std::vector<Step> steps;
    std::string follows = options.follows;
    for (const auto& name : split_names(options.name)) {
        Step step;
        step.name = name;
        step.follows =
            follows.empty() ? StepPosition::new_document() : StepPosition::after(follows);
        // Trivial work, so that what is measured is edw and the database; or a wait, as a
        // step that takes time (its CPU left to the others).
        step.run = [sleep = std::chrono::milliseconds(options.callback_ms)](const nlohmann::json&) {
            if (sleep.count() > 0) {
                std::this_thread::sleep_for(sleep);
            }
            return nlohmann::json{{"bench", true}};
        };
        steps.push_back(std::move(step));
        follows = name;
    }
    RunnerOptions runner_options;
    // Each worker keeps its own checkpoint.
    runner_options.listener =
        "bench-" + options.name + (options.worker > 0 ? "-w" + std::to_string(options.worker) : "");
    if (!options.shard.empty()) {
        runner_options.shard = Shard::parse(options.shard);
    }
    if (options.lease_s > 0) {
        runner_options.lease = std::chrono::milliseconds(static_cast<long>(options.lease_s * 1000));
    }
    runner_options.design = settings.design;
    runner_options.view = settings.view;
    runner_options.jobs = options.jobs;
    runner_options.batch_size = options.batch_size;
    runner_options.heartbeat = settings.heartbeat;
    runner_options.feed_filter = parse_feed_filter(options.feed_filter);
    return run_bench_listener(*database, steps, runner_options);
}

} // namespace edw::tools
