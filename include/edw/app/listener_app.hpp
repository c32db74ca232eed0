// ListenerApp: the command-line program around one step: options, daemon, lock, signals.
#pragma once

#include <edw/step/step.hpp>
#include <edw/util/settings.hpp>

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
} // namespace CLI

namespace edw {

struct ListenerSpec {
    std::string program; ///< The executable's name, the default listener name.
    std::string summary; ///< One line for --help.
    /// Builds the step once options are parsed, so that steps may take options of their own.
    std::function<Step()> make_step{};
    /// Or several steps run by one process on one changes feed (a SharedFeed, checkpoint
    /// `_local/edw-checkpoint-<name>`), each with its own runner and threads, under one lock and
    /// one set of options.
    std::function<std::vector<Step>()> make_steps{};
    /// Adds the step's own options to the command line, before it is parsed; may be empty.
    std::function<void(CLI::App&)> add_options{};
    /// The listener name when --name is not given, asked after parsing; unset: the program name.
    std::function<std::string()> default_name{};
    /// How --help names that default ("command-<step>"); empty: the program name.
    std::string default_name_help{};
    /// Runs the steps: `run` returns when they have stopped. Python releases its GIL around it
    /// (and holds it through parsing and --daemon's fork before). Unset: `run()`.
    std::function<void(const std::function<void()>& run)> around_run{};
    /// Given the settings once loaded and the log set up, before make_step or make_steps, for
    /// steps configured by a section of edw.ini of their own (the EDELWEISS steps' `[edelweiss]`);
    /// may be empty. A ConfigError it throws stops the listener with that message.
    std::function<void(const Settings&)> use_settings{};
};

/// Runs a listener program: parses the common options (--config, --name, --jobs, --since,
/// --daemon, --pidfile, --log-file, --log-level, --lock-dir), takes the listener's lock, and runs
/// the step(s) until SIGINT or SIGTERM. Returns the process exit status.
int run_listener_app(int argc, char** argv, const ListenerSpec& spec);

} // namespace edw
