// ska_sdp: the SKA SDP processing controller, a simulated workflow, and a scenario that drives
// both, on edw. `ska_sdp --help` lists the commands; examples/ska-sdp/README.md tells the story.
#include "sdp.hpp"

#include <edw/app/open_database.hpp>
#include <edw/util/error.hpp>
#include <edw/util/exit_status.hpp>
#include <edw/util/log.hpp>
#include <edw/util/settings.hpp>
#include <edw/workflow/step_group.hpp>

#include <CLI/CLI.hpp>

#include <iostream>

namespace {

struct Options {
    std::string config;
    std::string definitions = "workflows.json";
    double reload_seconds = 300;
    int run_time_ms = 200;
    double timeout_seconds = 60;
};

edw::RunnerOptions runner_options(const std::string& step)
{
    edw::RunnerOptions options;
    options.listener = "sdp-" + step;
    options.jobs = 2;
    options.retry.first_delay = std::chrono::seconds(1);
    return options;
}

// Runs `steps` (each a StepRunner on its own thread) until SIGINT or SIGTERM.
int run_steps(edw::Database& database, std::vector<edw::Step> steps)
{
    edw::StepGroup group;
    for (auto& step : steps) {
        const auto options = runner_options(step.name);
        group.add(database, std::move(step), options);
    }
    group.run_until_signal();
    return 0;
}

} // namespace

int scenario(edw::Database& database, double timeout_seconds);

int main(int argc, char** argv)
{
    Options options;
    CLI::App app("ska_sdp: the SKA SDP processing controller example on edw", "ska_sdp");
    app.require_subcommand(1);
    app.add_option("--config", options.config, "edw settings file (default ./edw.ini)");
    auto* controller = app.add_subcommand("controller", "Run the processing controller");
    controller->add_option("--definitions", options.definitions, "Workflow definitions file")
        ->capture_default_str();
    controller
        ->add_option("--reload", options.reload_seconds,
                     "Seconds between reloads of the definitions")
        ->capture_default_str();
    auto* workflow = app.add_subcommand("workflow", "Run the simulated workflow");
    workflow->add_option("--run-time", options.run_time_ms, "Milliseconds a PB runs")
        ->capture_default_str();
    auto* play = app.add_subcommand(
        "scenario", "Write PBs (real-time, a chain of 5 batch, one of an unknown workflow), wait "
                    "for their end, delete one, and check every state and move");
    play->add_option("--timeout", options.timeout_seconds, "Seconds to wait for the end")
        ->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? edw::exit_ok : edw::exit_usage;
    }
    try {
        const auto settings = edw::load_settings(options.config, edw::process_environment());
        const auto database = edw::open_database(settings);
        database->create();
        if (*controller) {
            auto definitions = std::make_shared<sdp::WorkflowDefinitions>(options.definitions);
            return run_steps(
                *database, {sdp::deploy_step(*database, definitions,
                                             std::chrono::milliseconds(
                                                 static_cast<long>(options.reload_seconds * 1000))),
                            sdp::resources_step(), sdp::cleanup_step()});
        }
        if (*workflow) {
            return run_steps(*database, {sdp::workflow_wait_step(), sdp::workflow_run_step(),
                                         sdp::workflow_finish_step(
                                             std::chrono::milliseconds(options.run_time_ms))});
        }
        return scenario(*database, options.timeout_seconds);
    } catch (const edw::Error& error) {
        return edw::report_failure("ska_sdp", error);
    }
}
