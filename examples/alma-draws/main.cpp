// alma_draws: the ALMA data reduction workflow (DRAWS) on edw: the launcher, DR assignment, the
// pipeline drivers, the State System, QA2, the product ingestor, two-site replication, and a
// scenario. `alma_draws --help` lists the commands; README.md tells the story.
#include "draws.hpp"

#include <edw/util/error.hpp>
#include <edw/util/exit_status.hpp>
#include <edw/util/settings.hpp>
#include <edw/workflow/step_group.hpp>

#include <CLI/CLI.hpp>

#include <iostream>

namespace {

struct Options {
    std::string config;
    std::string arc_config;
    std::string entity_id;
    std::string program = "2026.1.00001.S";
    std::string recipe = "PipelineCalibration";
    std::string verdict;
    std::string executive;
    std::string site = "JAO";
    int run_time_ms = 300;
    double failure_rate = 0.1;
    int ous_count = 50;
    double timeout_seconds = 120;
};

edw::RunnerOptions runner_options(const std::string& listener, int jobs)
{
    edw::RunnerOptions options;
    options.listener = "draws-" + listener;
    options.jobs = jobs;
    options.retry.first_delay = std::chrono::seconds(1);
    return options;
}

} // namespace

int scenario(draws::Archive& archive, const edw::Settings& jao, int ous_count,
             double timeout_seconds, const std::string& arc_config);

int main(int argc, char** argv)
{
    Options options;
    CLI::App app("alma_draws: the ALMA data reduction workflow (DRAWS) on edw", "alma_draws");
    app.require_subcommand(1);
    app.add_option("--config", options.config, "edw settings file (default ./edw.ini)");

    auto* launcher = app.add_subcommand(
        "launch", "Create an OUS ready for processing, or launch one in ProcessingProblem again");
    launcher->add_option("entity-id", options.entity_id, "The OUS, e.g. uid://A003/X1/X1a")
        ->required();
    launcher->add_option("--program", options.program, "Its observing program")
        ->capture_default_str();
    launcher->add_option("--recipe", options.recipe, "Its pipeline recipe")->capture_default_str();

    auto* dra = app.add_subcommand("dr-assign", "Run data reducer assignment (a daemon)");
    dra->add_option("--executive", options.executive,
                    "Assign every OUS to this executive (EA, EU, JAO, NA); default: spread");

    auto* driver = app.add_subcommand("pipeline-driver", "Run an executive's pipeline driver");
    driver->add_option("--executive", options.executive, "EA, EU, JAO or NA")->required();
    driver->add_option("--site", options.site, "The site it runs at, for its reports")
        ->capture_default_str();
    driver->add_option("--run-time", options.run_time_ms, "Milliseconds a pipeline run takes")
        ->capture_default_str();
    driver->add_option("--failure-rate", options.failure_rate, "Share of runs that fail")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));

    auto* xtss = app.add_subcommand("xtss", "Run the State System (applies asked state changes)");
    auto* qa2 = app.add_subcommand("qa2", "List the OUSs ready for review, or review one");
    qa2->add_option("entity-id", options.entity_id, "The OUS to review");
    qa2->add_option("verdict", options.verdict, "Pass, SemiPass or Fail")
        ->check(CLI::IsMember({"Pass", "SemiPass", "Fail"}));
    auto* ingestor = app.add_subcommand("product-ingestor", "Run the product ingestor (a daemon)");
    auto* replicate = app.add_subcommand(
        "replicate", "Set up replication from this (JAO) server to an ARC server's databases");
    replicate->add_option("--arc-config", options.arc_config, "The ARC's settings file")
        ->required();
    auto* play = app.add_subcommand(
        "scenario", "Launch OUSs, play operator and QA2 reviewer until all are Delivered, and "
                    "check every state, move, report and product");
    play->add_option("--ous", options.ous_count, "OUSs to launch")->capture_default_str();
    play->add_option("--timeout", options.timeout_seconds, "Seconds to wait for the end")
        ->capture_default_str();
    play->add_option("--arc-config", options.arc_config,
                     "Two sites: also check the ARC's replicas (its settings file)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? edw::exit_ok : edw::exit_usage;
    }
    try {
        const auto settings = edw::load_settings(options.config, edw::process_environment());
        auto archive = draws::open_archive(settings);
        edw::StepGroup group;
        if (*launcher) {
            std::cout << draws::launch(*archive.status_entities, options.entity_id, options.program,
                                       options.recipe)
                      << "\n";
            return edw::exit_ok;
        }
        if (*qa2) {
            if (options.entity_id.empty()) {
                for (const auto& ous : draws::ready_for_review(*archive.status_entities)) {
                    std::cout << ous << "\n";
                }
                return edw::exit_ok;
            }
            if (options.verdict.empty()) {
                std::cerr << "alma_draws qa2: give the verdict (Pass, SemiPass or Fail)\n";
                return edw::exit_usage;
            }
            std::cout << draws::review(*archive.status_entities, options.entity_id, options.verdict,
                                       "qa2")
                      << "\n";
            return edw::exit_ok;
        }
        if (*replicate) {
            const auto arc = edw::load_settings(options.arc_config, edw::process_environment());
            for (const auto& id : draws::set_up_replication(settings, arc)) {
                std::cout << "replication " << id << "\n";
            }
            return edw::exit_ok;
        }
        if (*play) {
            return scenario(archive, settings, options.ous_count, options.timeout_seconds,
                            options.arc_config);
        }
        if (*dra) {
            group.add(*archive.status_entities,
                      draws::dr_assign_step(*archive.msgq, options.executive.empty()
                                                               ? std::nullopt
                                                               : std::optional(options.executive)),
                      runner_options("dr-assign", 1));
        } else if (*driver) {
            // Runs are long: several at once, as a cluster's queue would.
            group.add(*archive.msgq,
                      draws::pipeline_driver_step(*archive.msgq, options.executive, options.site,
                                                  std::chrono::milliseconds(options.run_time_ms),
                                                  options.failure_rate),
                      runner_options("pipeline-driver-" + options.executive, 4));
        } else if (*xtss) {
            group.add(*archive.msgq,
                      draws::xtss_step(*archive.status_entities, *archive.pipeline_reports),
                      runner_options("xtss", 1));
        } else if (*ingestor) {
            group.add(*archive.status_entities, draws::ingest_products_step(archive),
                      runner_options("ingest-products", 2));
            group.add(*archive.status_entities, draws::deliver_step(archive),
                      runner_options("deliver", 2));
        }
        group.run_until_signal();
        return edw::exit_ok;
    } catch (const edw::Error& error) {
        return edw::report_failure("alma_draws", error);
    }
}
