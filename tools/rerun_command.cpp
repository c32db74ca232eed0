// edw rerun: sends chosen docs back to wait at a step, keeping what the step and those after it
// wrote in each doc's `edw_reruns`; the listeners then run them again. A campaign's record
// (`_local/edw-rerun-<id>`) makes it resumable and lets the status page follow it.
#include "command.hpp"
#include "pipeline_steps.hpp"

#include <edw/app/open_database.hpp>
#include <edw/runtime/step_workers.hpp>
#include <edw/util/error.hpp>
#include <edw/util/exit_status.hpp>
#include <edw/util/log.hpp>
#include <edw/util/progress.hpp>
#include <edw/util/stop_signals.hpp>
#include <edw/util/utc_time.hpp>
#include <edw/workflow/rerun.hpp>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

namespace edw::tools {
namespace {

struct RerunCommandLine {
    std::string step;
    std::string selector;
    std::vector<std::string> ids;
    std::string ids_file;
    std::string processed_before;
    std::string version;
    std::string reason;
    bool all = false;
    bool dry_run = false;
    std::size_t batch = 1000;
    double max_rate = 0;
    std::string resume;
    bool list = false;
    bool json = false;
};

RerunCriteria criteria_of(const RerunCommandLine& options)
{
    RerunCriteria criteria;
    criteria.step = options.step;
    if (!options.selector.empty()) {
        try {
            criteria.selector = nlohmann::json::parse(options.selector);
        } catch (const nlohmann::json::parse_error& error) {
            throw ConfigError("--selector is not JSON: " + std::string(error.what()));
        }
    }
    if (!options.ids.empty() || !options.ids_file.empty()) {
        criteria.ids.emplace(options.ids.begin(), options.ids.end());
        if (!options.ids_file.empty()) {
            std::ifstream file(options.ids_file);
            if (!file) {
                throw ConfigError("cannot read --ids-file " + options.ids_file);
            }
            for (std::string line; std::getline(file, line);) {
                if (!line.empty() && line.back() == '\r') {
                    line.pop_back();
                }
                if (!line.empty()) {
                    criteria.ids->insert(line);
                }
            }
        }
    }
    if (!options.processed_before.empty()) {
        criteria.processed_before = options.processed_before;
    }
    if (!options.version.empty()) {
        criteria.version = options.version;
    }
    const bool narrowed =
        criteria.selector || criteria.ids || criteria.processed_before || criteria.version;
    if (!narrowed && !options.all) {
        throw ConfigError("say which docs to run " + options.step +
                          " again on (--selector, --ids, --ids-file, --processed-before, "
                          "--version), or --all for every doc that has passed it");
    }
    return criteria;
}

std::string thousands(std::uint64_t number)
{
    std::string text = std::to_string(number);
    for (auto i = static_cast<long>(text.size()) - 3; i > 0; i -= 3) {
        text.insert(static_cast<std::size_t>(i), ",");
    }
    return text;
}

// Says whether any worker of the step runs now: without one the docs wait, which is fine, but
// worth a word.
void warn_without_workers(Database& database, const std::string& step)
{
    const auto now = std::chrono::system_clock::now();
    for (const auto& record : read_workers(database, step)) {
        if (liveness(record, now, this_host_name()) == WorkerLiveness::live) {
            return;
        }
    }
    std::cerr << "edw rerun: note: no worker of step " << step
              << " is running now; the docs sent back wait for one\n";
}

int report(const RerunOutcome& outcome, bool dry_run, bool json)
{
    const auto& campaign = outcome.campaign;
    if (json) {
        nlohmann::json out = campaign.to_json();
        out["dry_run"] = dry_run;
        out["sample"] = outcome.sample;
        out["refusals"] = outcome.refusals;
        std::cout << out.dump(2) << "\n";
    } else if (dry_run) {
        std::cout << "dry run: " << thousands(campaign.sent_back) << " of "
                  << thousands(campaign.scanned) << " docs would go back to wait at "
                  << campaign.criteria.step << " (nothing written)\n";
        if (!outcome.sample.empty()) {
            std::cout << "for example:";
            for (const auto& id : outcome.sample) {
                std::cout << " " << id;
            }
            std::cout << "\n";
        }
    } else {
        std::cout << "rerun " << campaign.id << ": " << thousands(campaign.sent_back)
                  << " docs sent back to wait at " << campaign.criteria.step << " ("
                  << thousands(campaign.scanned) << " looked at";
        if (campaign.already > 0) {
            std::cout << ", " << thousands(campaign.already) << " sent back before";
        }
        std::cout << "); their earlier entries are kept in edw_reruns\n";
        if (campaign.refused > 0) {
            std::cout << thousands(campaign.refused) << " docs could not be sent back:\n";
            for (const auto& refusal : outcome.refusals) {
                std::cout << "  " << refusal << "\n";
            }
        }
        if (campaign.state == "interrupted") {
            std::cout << "interrupted (" << campaign.error << "): go on with edw rerun --resume "
                      << campaign.id << "\n";
        }
    }
    if (campaign.state == "interrupted") {
        return exit_failure;
    }
    return campaign.refused > 0 ? exit_failure : exit_ok;
}

int run_campaign(Database& database, RerunCampaign campaign, const RerunCommandLine& options)
{
    RerunOptions run_options;
    run_options.batch = options.batch;
    run_options.dry_run = options.dry_run;
    run_options.max_rate = options.max_rate;
    std::stop_source stop;
    const StopSignals signals(stop);
    Progress progress(options.dry_run ? "rerun (dry run)" : "rerun " + campaign.criteria.step,
                      campaign.criteria.ids ? campaign.criteria.ids->size()
                                            : database.info().value("doc_count", std::uint64_t{0}),
                      "docs");
    std::uint64_t shown = campaign.scanned;
    const auto outcome = run_rerun(
        database, std::move(campaign), run_options,
        [&progress, &shown](const RerunCampaign& now) {
            progress.advance(now.scanned - shown);
            shown = now.scanned;
        },
        stop.get_token());
    progress.finish();
    return report(outcome, options.dry_run, options.json);
}

int list(Database& database, bool json)
{
    const auto campaigns = list_campaigns(database);
    const auto now = std::chrono::system_clock::now();
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& campaign : campaigns) {
            auto item = campaign.to_json();
            item["state"] = campaign.state_at(now);
            out.push_back(std::move(item));
        }
        std::cout << out.dump(2) << "\n";
        return exit_ok;
    }
    if (campaigns.empty()) {
        std::cout << "no rerun has been started on " << database.describe() << "\n";
        return exit_ok;
    }
    std::cout << std::left << std::setw(44) << "CAMPAIGN" << std::setw(12) << "STATE"
              << std::setw(22) << "STARTED" << std::right << std::setw(10) << "SENT BACK"
              << "  REASON\n";
    for (const auto& campaign : campaigns) {
        std::cout << std::left << std::setw(44) << campaign.id << std::setw(12)
                  << campaign.state_at(now) << std::setw(22) << campaign.started.substr(0, 19)
                  << std::right << std::setw(10) << thousands(campaign.sent_back) << "  "
                  << campaign.reason << "\n";
    }
    return exit_ok;
}

int rerun(const GlobalOptions& global, const RerunCommandLine& options)
{
    const auto settings = load_tool_settings(global);
    const auto database = open_database(settings);
    if (options.list) {
        return list(*database, options.json);
    }
    if (!options.resume.empty()) {
        auto campaign = read_campaign(*database, options.resume);
        if (!campaign) {
            throw ConfigError("no rerun " + options.resume + " on " + database->describe() +
                              " (edw rerun --list shows them)");
        }
        if (campaign->state == "done") {
            std::cout << "rerun " << campaign->id << " is done already\n";
            return exit_ok;
        }
        if (campaign->state_at(std::chrono::system_clock::now()) == "running") {
            std::cerr << "edw rerun: rerun " << campaign->id << " is running (its record was "
                      << "written at " << campaign->updated << "); resume it once it has stopped\n";
            return exit_locked;
        }
        warn_without_workers(*database, campaign->criteria.step);
        return run_campaign(*database, std::move(*campaign), options);
    }
    if (options.step.empty()) {
        throw ConfigError("edw rerun needs a STEP (or --resume ID, or --list)");
    }
    const RerunCriteria criteria = criteria_of(options);
    check_rerun_step(*database, settings.design, criteria.step);
    std::optional<RerunCampaign> campaign;
    try {
        campaign = new_campaign(criteria, options.reason, rerun_starter(),
                                std::chrono::system_clock::now());
    } catch (const JsonError& error) {
        throw ConfigError(error.what()); // a bad --selector or date: the command line's fault
    }
    if (!options.dry_run) {
        warn_without_workers(*database, criteria.step);
    }
    return run_campaign(*database, std::move(*campaign), options);
}

} // namespace

void add_rerun_command(CLI::App& app, const GlobalOptions& global, Action& action)
{
    auto options = std::make_shared<RerunCommandLine>();
    auto* command = app.add_subcommand(
        "rerun",
        "Run a step again on chosen docs: each goes back to wait at STEP, its entries from STEP "
        "on move from process to edw_reruns (kept, with the date and reason), and the listeners "
        "run STEP and the steps after it again. Resumable (--resume), safe while listeners run");
    command->fallthrough();
    command->add_option("STEP", options->step, "The step to run again");
    command->add_option("--selector", options->selector,
                        "Only docs this Mango selector (JSON) matches, e.g. "
                        "'{\"run\": \"ma22a000\"}'");
    command->add_option("--ids", options->ids, "Only these doc ids (comma-separated)")
        ->delimiter(',');
    command->add_option("--ids-file", options->ids_file,
                        "Only the doc ids in this file, one a line");
    command->add_option("--processed-before", options->processed_before,
                        "Only docs whose STEP entry is dated before this UTC time "
                        "(YYYY-MM-DD, YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS)");
    command->add_option("--version", options->version,
                        "Only docs whose STEP entry was written by this step version "
                        "(its step_version; \"1.2\" also matches \"1.2 (git 3da8958)\")");
    command->add_flag("--all", options->all, "Every doc that has passed STEP (no other criterion)");
    command->add_option("--reason", options->reason, "Why, kept on each doc and in the record");
    command->add_flag("--dry-run", options->dry_run,
                      "Count the docs chosen and show some ids; write nothing");
    command->add_option("--batch", options->batch, "Docs read and written per request")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
    command
        ->add_option("--max-rate", options->max_rate,
                     "Look at no more than this many docs per second, to spare a busy server "
                     "(default: as fast as it answers)")
        ->check(CLI::Range(0.1, 1e9));
    command->add_option("--resume", options->resume,
                        "Go on with an interrupted rerun (its id), with its own criteria");
    command->add_flag("--list", options->list, "List the reruns started on this database");
    command->add_flag("--json", options->json, "Print the outcome (or the list) as JSON");
    command->footer("\nExit status: 0 when every chosen doc was sent back; 1 when some could not "
                    "be, or the rerun was interrupted (Ctrl-C, SIGTERM, a database error: go on "
                    "with --resume ID); 2 for bad options or a step the pipeline does not "
                    "declare; 75 for --resume of a rerun still running.\n");
    command->callback([&action, &global, options] {
        action = [&global, options] { return rerun(global, *options); };
    });
}

} // namespace edw::tools
