// ListenerApp: the command-line program around one step: options, daemon, lock, signals.
#pragma once

#include <edw/step/step.hpp>

#include <functional>
#include <string>

namespace CLI {
class App;
} // namespace CLI

namespace edw {

struct ListenerSpec {
    std::string program; ///< The executable's name, the default listener name.
    std::string summary; ///< One line for --help.
    /// Builds the step once options are parsed, so that steps may take options of their own.
    std::function<Step()> make_step;
    /// Adds the step's own options to the command line, before it is parsed; may be empty.
    std::function<void(CLI::App&)> add_options;
};

/// Runs a listener program: parses the common options (--config, --name, --jobs, --since,
/// --daemon, --pidfile, --log-file, --log-level, --lock-dir), takes the listener's lock, and runs
/// the step until SIGINT or SIGTERM. Returns the process exit status.
int run_listener_app(int argc, char** argv, const ListenerSpec& spec);

} // namespace edw
