// edw pause / edw resume: stop a step's workers taking new docs, everywhere, and let them go on.
#include "command.hpp"

#include <edw/app/open_database.hpp>
#include <edw/runtime/step_pause.hpp>
#include <edw/runtime/step_workers.hpp>
#include <edw/util/utc_time.hpp>

#include <cstdlib>
#include <iostream>
#include <memory>

namespace edw::tools {
namespace {

struct PauseOptions {
    std::string step;
    std::string reason;
};

std::string user_at_host()
{
    const char* user = std::getenv("USER");
    return std::string(user != nullptr && *user != '\0' ? user : "?") + "@" + this_host_name();
}

int set_pause(const GlobalOptions& global, const PauseOptions& options, bool pause)
{
    const auto settings = load_tool_settings(global);
    const auto database = open_database(settings);
    std::optional<StepPause> wanted;
    if (pause) {
        wanted =
            StepPause{.since = utc_now_iso8601(), .by = user_at_host(), .reason = options.reason};
    }
    const bool changed = write_pause(*database, options.step, wanted);
    if (!changed) {
        std::cout << "step " << options.step << " was " << (pause ? "paused" : "running")
                  << " already\n";
    } else if (pause) {
        std::cout << "paused step " << options.step
                  << ": its workers finish the callbacks running and start no new one within a "
                     "second or so (edw resume "
                  << options.step << " lets them go on)\n";
    } else {
        std::cout << "resumed step " << options.step << "\n";
    }
    return 0;
}

} // namespace

void add_pause_commands(CLI::App& app, const GlobalOptions& global, Action& action)
{
    auto options = std::make_shared<PauseOptions>();
    auto* pause = app.add_subcommand(
        "pause", "Pause a step: every worker of it, on any machine, finishes the callbacks "
                 "running and takes no new doc until edw resume (stored in the database)");
    pause->fallthrough();
    pause->add_option("STEP", options->step, "The step")->required();
    pause->add_option("--reason", options->reason, "Why, shown by edw status and the logs");
    pause->callback([&action, &global, options] {
        action = [&global, options] { return set_pause(global, *options, true); };
    });
    auto* resume = app.add_subcommand("resume", "Let a paused step's workers take docs again");
    resume->fallthrough();
    resume->add_option("STEP", options->step, "The step")->required();
    resume->callback([&action, &global, options] {
        action = [&global, options] { return set_pause(global, *options, false); };
    });
}

} // namespace edw::tools
