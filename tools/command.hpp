// Command: what every `edw` subcommand shares: global options and a registration hook.
#pragma once

#include <edw/util/settings.hpp>

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace edw::tools {

/// Options given before or after any subcommand.
struct GlobalOptions {
    std::string config;
};

/// The settings named by --config (or ./edw.ini), with the environment applied.
Settings load_tool_settings(const GlobalOptions& global);

/// Each subcommand file adds its subcommand to the app and stores what to run when it is chosen.
using Action = std::function<int()>;
void add_db_commands(CLI::App& app, const GlobalOptions& global, Action& action);
void add_design_commands(CLI::App& app, const GlobalOptions& global, Action& action);
void add_metadata_commands(CLI::App& app, const GlobalOptions& global, Action& action);
void add_status_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_doc_commands(CLI::App& app, const GlobalOptions& global, Action& action);
void add_retry_commands(CLI::App& app, const GlobalOptions& global, Action& action);
void add_pause_commands(CLI::App& app, const GlobalOptions& global, Action& action);
void add_checkpoint_commands(CLI::App& app, const GlobalOptions& global, Action& action);
void add_rerun_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_bench_commands(CLI::App& app, const GlobalOptions& global, Action& action);
void add_serve_command(CLI::App& app, const GlobalOptions& global, Action& action);
void add_replicate_command(CLI::App& app, const GlobalOptions& global, Action& action);

} // namespace edw::tools
