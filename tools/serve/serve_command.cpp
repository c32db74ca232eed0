// edw serve: the status web page for one database, until SIGINT or SIGTERM.
#include "command.hpp"
#include "status_server.hpp"

#include <edw/util/error.hpp>
#include <edw/util/log.hpp>
#include <edw/util/stop_signals.hpp>

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

namespace edw::tools {
namespace {

struct ServeCommandOptions {
    ServeOptions server;
    std::string token_file;
    int nice = 10;
};

// The token from --token-file (its first line), else EDW_SERVE_TOKEN, else none.
std::string access_token(const std::string& token_file)
{
    if (!token_file.empty()) {
        std::ifstream in(token_file);
        std::string token;
        if (!in || !std::getline(in, token)) {
            throw ConfigError("cannot read the access token from " + token_file);
        }
        if (token.size() < 16) {
            throw ConfigError("the access token in " + token_file +
                              " is shorter than 16 characters: use a long random one "
                              "(openssl rand -hex 24)");
        }
        return token;
    }
    const char* from_environment = std::getenv("EDW_SERVE_TOKEN");
    return from_environment == nullptr ? "" : from_environment;
}

int serve(const GlobalOptions& global, ServeCommandOptions options)
{
    const Settings settings = load_tool_settings(global);
    options.server.token = access_token(options.token_file);
    // The page must not slow the pipeline: on a busy machine the listeners get the CPU first.
    // Set before any thread starts, so that every thread, and every edw-js child the embedded
    // store starts for its views, inherits it.
    if (options.nice > 0 && setpriority(PRIO_PROCESS, 0, options.nice) != 0) {
        log_warning(std::string("edw serve: cannot lower its priority: ") + std::strerror(errno));
    }
    // Before any thread starts, so that every thread inherits the blocked signals.
    std::stop_source stop;
    const StopSignals signals(stop);

    StatusServer server(settings, options.server);
    server.bind();
    const std::string host = options.server.address.find(':') != std::string::npos
                                 ? "[" + options.server.address + "]"
                                 : options.server.address;
    log_info("edw serve: the status of " + settings.server.str() + " " + settings.database +
             " at http://" + host + ":" + std::to_string(server.port()) + "/" +
             (options.server.token.empty() ? "" : " (access token required)"));
    const std::stop_callback on_stop(stop.get_token(), [&server] { server.stop(); });
    server.run();
    return 0;
}

} // namespace

void add_serve_command(CLI::App& app, const GlobalOptions& global, Action& action)
{
    auto options = std::make_shared<ServeCommandOptions>();
    auto* serve_app = app.add_subcommand(
        "serve", "Serve the pipeline's status page and its JSON API (/api/) until Ctrl-C");
    serve_app->fallthrough();
    serve_app->add_option("--port", options->server.port, "TCP port (0: any free port)")
        ->capture_default_str()
        ->check(CLI::Range(0, 65535));
    serve_app
        ->add_option("--address", options->server.address,
                     "Address to listen on; other than loopback needs an access token")
        ->capture_default_str();
    serve_app->add_option("--token-file", options->token_file,
                          "File whose first line is the access token asked of every request "
                          "(default: EDW_SERVE_TOKEN, else none)");
    serve_app
        ->add_option("--nice", options->nice,
                     "Scheduling niceness of edw serve and its view work, so that listeners on "
                     "the same machine come first (0: as started)")
        ->capture_default_str()
        ->check(CLI::Range(0, 19));
    serve_app->add_flag("--replication-api", options->server.replication_api,
                        "Also serve the embedded store at /DBNAME/ to replicators: CouchDB's "
                        "_replicate and _replicator, PouchDB, edw replicate");
    serve_app->footer(
        "With a token, open http://HOST:PORT/?token=TOKEN once: a cookie keeps it. Scripts send "
        "Authorization: Bearer TOKEN. The API is described in the README (/api/status, "
        "/api/steps/STEP/waiting|failed|retrying, /api/docs/ID, POST /api/docs/ID/retry, POST "
        "/api/rerun, POST /api/rerun/ID/resume).");
    serve_app->callback([&action, &global, options] {
        action = [&global, options] { return serve(global, *options); };
    });
}

} // namespace edw::tools
