// edw: the command-line tool: database set-up, design docs, metadata, status, the status page,
// benchmarks.
#include "command.hpp"

#include <edw/util/error.hpp>
#include <edw/util/exit_status.hpp>
#include <edw/util/version.hpp>

#include <functional>
#include <iostream>

namespace edw::tools {

Settings load_tool_settings(const GlobalOptions& global)
{
    return load_settings(global.config, process_environment());
}

} // namespace edw::tools

int main(int argc, char** argv)
{
    using namespace edw::tools;
    GlobalOptions global;
    Action action;
    CLI::App app("edw: run scientific data-processing pipelines on a CouchDB changes feed", "edw");
    app.set_version_flag("--version", edw::version_line("edw"), "Print the version and exit");
    // --version alone needs no subcommand; anything else needs one.
    app.require_subcommand(0, 1);
    app.fallthrough();
    app.add_option("--config", global.config,
                   "Settings file (default ./edw.ini; EDW_* environment variables override it)");
    add_db_commands(app, global, action);
    add_design_commands(app, global, action);
    add_metadata_commands(app, global, action);
    add_status_command(app, global, action);
    add_doc_commands(app, global, action);
    add_retry_commands(app, global, action);
    add_pause_commands(app, global, action);
    add_checkpoint_commands(app, global, action);
    add_rerun_command(app, global, action);
    add_serve_command(app, global, action);
    add_replicate_command(app, global, action);
    add_bench_commands(app, global, action);
    // A subcommand's --help shows only its own options: say where the global one goes.
    const std::function<void(CLI::App&)> add_footer = [&add_footer](CLI::App& command) {
        for (auto* sub : command.get_subcommands({})) {
            sub->footer(sub->get_footer() +
                        "\nGlobal option (before or after the subcommand):\n  --config FILE    "
                        "Settings file (default ./edw.ini; EDW_* environment variables override "
                        "it)");
            add_footer(*sub);
        }
    };
    add_footer(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        const int status = app.exit(error);
        return status == 0 ? edw::exit_ok : edw::exit_usage;
    }
    if (!action) {
        std::cerr << "edw: a subcommand is required (edw --help lists them)\n";
        return edw::exit_usage;
    }
    try {
        return action();
    } catch (const edw::Error& error) {
        return edw::report_failure("edw", error);
    }
}
