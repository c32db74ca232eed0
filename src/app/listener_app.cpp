// ListenerApp: everything a step daemon does besides the step itself.
#include "edw/app/listener_app.hpp"

#include <edw/app/daemon.hpp>
#include <edw/app/listener_lock.hpp>
#include <edw/app/open_database.hpp>
#include <edw/app/service_manager.hpp>
#include <edw/app/stop_deadline.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/status/listener_metrics.hpp>
#include <edw/util/error.hpp>
#include <edw/util/exit_status.hpp>
#include <edw/util/log.hpp>
#include <edw/util/settings.hpp>
#include <edw/util/stop_signals.hpp>
#include <edw/util/url.hpp>
#include <edw/util/version.hpp>
#include <edw/workflow/step_group.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace edw {
namespace {

struct ListenerCommandLine {
    std::string config;
    std::string name;
    int jobs = 1;
    std::string since = "checkpoint";
    bool daemon = false;
    std::string pidfile;
    std::string log_file;
    std::string log_level = "info";
    std::string lock_dir;
    std::size_t batch_size = 200;
    std::string feed_filter = "auto";
    std::string shard;
    int max_attempts = 5;
    double retry_delay = 10;
    double retry_max_delay = 600;
    double lease = 0;
    double step_timeout = 3600;
    double stop_timeout = 30;
    int metrics_port = -1; ///< -1: no metrics server.
    std::string metrics_address = "127.0.0.1";
    std::string step_version; ///< Empty: each step's own version, else the program's.
};

StartFrom parse_start(const std::string& since, Seq& seq)
{
    if (since == "checkpoint") {
        return StartFrom::checkpoint;
    }
    if (since == "now") {
        return StartFrom::now;
    }
    const bool digits =
        !since.empty() && since.find_first_not_of("0123456789") == std::string::npos;
    // A number is an integer seq (CouchDB 1, PouchDB); anything else is an opaque string seq.
    seq = digits ? Seq(since) : Seq::from_json(nlohmann::json(since));
    return StartFrom::seq;
}

// "step checksum" or "steps move_to_sps, signal_processing", for the start-up line.
std::string describe_steps(const std::vector<Step>& steps)
{
    std::string names;
    for (const auto& step : steps) {
        names += (names.empty() ? "" : ", ") + step.name;
    }
    return (steps.size() == 1 ? "step " : "steps ") + names;
}

} // namespace

int run_listener_app(int argc, char** argv, const ListenerSpec& spec)
{
    ListenerCommandLine options;
    CLI::App app(spec.summary, spec.program);
    app.set_version_flag("--version", version_line(spec.program), "Print the version and exit");
    app.add_option("--config", options.config,
                   "Settings file (default ./edw.ini; EDW_* environment variables override it)");
    app.add_option("--name", options.name,
                   "Listener name: names its checkpoint and lock (default " +
                       (spec.default_name_help.empty() ? spec.program : spec.default_name_help) +
                       ")");
    app.add_option("--jobs", options.jobs, "Callbacks run at once (1 to 256)")
        ->type_name("N")
        ->check(CLI::Range(1, 256).description(""))
        ->capture_default_str();
    app.add_option("--since", options.since,
                   "Where to start: 'checkpoint' (catch up, then resume from the saved seq), "
                   "'now', or a seq")
        ->capture_default_str();
    app.add_option("--batch-size", options.batch_size,
                   "Most docs written in one request (1 to 10000)")
        ->type_name("N")
        ->check(CLI::Range(1, 10000).description(""))
        ->capture_default_str();
    app.add_option("--feed-filter", options.feed_filter,
                   "Which changes a server sends: 'auto' (from what the server says it is: a "
                   "_selector on CouchDB 2+ and Cloudant, the design doc's filter elsewhere), "
                   "'design' (the design doc's filter function, e.g. one made stricter), "
                   "'selector', or 'all' (every change; this listener picks)")
        ->check(CLI::IsMember({"auto", "design", "selector", "all"}))
        ->capture_default_str();
    app.add_flag("--daemon", options.daemon, "Detach from the terminal (needs --log-file)");
    app.add_option("--pidfile", options.pidfile, "Write the process id to this file");
    app.add_option("--log-file", options.log_file, "Append log lines here (default stderr)");
    app.add_option("--log-level", options.log_level, "debug, info, warning or error")
        ->capture_default_str();
    app.add_option("--shard", options.shard,
                   "K/N: take only share K of N of the step's docs (by a hash of _id), so that N "
                   "workers split a step with no claim writes");
    app.add_option("--lease", options.lease,
                   "Seconds: several workers share the step; each claims a doc before its "
                   "callback runs, renews the claim while it runs, and takes over claims left "
                   "by dead workers once they are this old (0: no claims)")
        ->check(CLI::Range(0.0, 86400.0))
        ->capture_default_str();
    app.add_option("--step-timeout", options.step_timeout,
                   "Seconds one callback may run; past that its doc counts as failed and another "
                   "thread takes its place (0: no limit)")
        ->check(CLI::Range(0.0, 604800.0))
        ->capture_default_str();
    app.add_option("--stop-timeout", options.stop_timeout,
                   "Seconds a stop (SIGTERM) may take to finish the work in hand; past that the "
                   "listener ends at once, leaving the rest for its next start (0: no limit)")
        ->check(CLI::Range(0.0, 86400.0))
        ->capture_default_str();
    app.add_option("--max-attempts", options.max_attempts,
                   "Attempts per doc before a failing doc is parked as status \"failed:<step>\"")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    app.add_option("--retry-delay", options.retry_delay,
                   "Seconds before the first retry of a failed doc; doubles per attempt")
        ->check(CLI::Range(0.0, 86400.0))
        ->capture_default_str();
    app.add_option("--retry-max-delay", options.retry_max_delay,
                   "Longest wait between two attempts, in seconds")
        ->check(CLI::Range(0.0, 604800.0))
        ->capture_default_str();
    app.add_option("--lock-dir", options.lock_dir,
                   "Directory of the lock files, one per listener name and store (default "
                   "$XDG_RUNTIME_DIR/edw, /run/edw for root, else /tmp/edw-UID)");
    app.add_option("--metrics-port", options.metrics_port,
                   "Serve Prometheus metrics at http://ADDRESS:PORT/metrics (0: any free port, "
                   "logged; default: none)")
        ->check(CLI::Range(0, 65535));
    app.add_option("--metrics-address", options.metrics_address, "Address of the metrics server")
        ->capture_default_str();
    app.add_option("--step-version", options.step_version,
                   "Version recorded as step_version in each process entry the steps write, for "
                   "`edw rerun --version` (default: the step's own version, else edw's)");
    if (spec.add_options) {
        spec.add_options(app);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        const int status = app.exit(error);
        return status == 0 ? exit_ok : exit_usage;
    }
    if (options.name.empty()) {
        options.name = spec.default_name ? spec.default_name() : spec.program;
    }

    std::optional<Daemon> daemon;
    // Said to the command that started a daemon, if it still waits for word; else logged.
    const auto fail = [&daemon, &options](const Error& error) {
        if (daemon && !daemon->has_reported()) {
            log_error(error.what());
            daemon->failed(exit_status_for(error),
                           options.name + ": " + redact_credentials(error.what()));
            return exit_status_for(error);
        }
        return report_failure(options.name, error);
    };
    try {
        if (options.daemon && options.log_file.empty()) {
            throw ConfigError("--daemon needs --log-file: a daemon has no terminal to log to");
        }
        const Settings settings = load_settings(options.config, process_environment());
        RunnerOptions runner;
        if (!options.shard.empty()) {
            runner.shard = Shard::parse(options.shard);
            // Each share keeps its own checkpoint and lock: shares follow the feed apart.
            if (!runner.shard.is_whole()) {
                options.name += "-shard-" + std::to_string(runner.shard.index()) + "-of-" +
                                std::to_string(runner.shard.count());
            }
        }
        runner.retry.max_attempts = options.max_attempts;
        runner.retry.first_delay =
            std::chrono::milliseconds(static_cast<long>(options.retry_delay * 1000));
        runner.retry.max_delay =
            std::chrono::milliseconds(static_cast<long>(options.retry_max_delay * 1000));
        if (options.lease > 0) {
            if (!runner.shard.is_whole()) {
                throw ConfigError("--lease and --shard are two ways to share a step: use one");
            }
            runner.lease = std::chrono::milliseconds(static_cast<long>(options.lease * 1000));
        }
        runner.step_timeout =
            std::chrono::milliseconds(static_cast<long>(options.step_timeout * 1000));
        runner.listener = options.name;
        runner.design = settings.design;
        runner.view = settings.view;
        runner.jobs = options.jobs;
        runner.start = parse_start(options.since, runner.since);
        runner.batch_size = options.batch_size;
        runner.feed_filter = parse_feed_filter(options.feed_filter);
        runner.heartbeat = settings.heartbeat;

        LogSettings log_settings;
        log_settings.program = options.name;
        log_settings.level = parse_log_level(options.log_level);
        if (!options.log_file.empty()) {
            log_settings.file = std::filesystem::absolute(options.log_file);
        }
        configure_log(log_settings);
        const auto pidfile = options.pidfile.empty() ? std::filesystem::path()
                                                     : std::filesystem::absolute(options.pidfile);

        ListenerLock lock(options.lock_dir.empty() ? default_lock_dir()
                                                   : std::filesystem::path(options.lock_dir),
                          store_identity(settings), options.name);
        if (options.daemon) {
            daemon.emplace(Daemon::detach());
            lock.record_owner();
        }
        if (!pidfile.empty()) {
            write_pidfile(pidfile);
        }
        // After the fork: its watchdog is a thread.
        ServiceManager service;

        std::stop_source stop;
        const StopSignals signals(stop);
        const StopDeadline deadline(
            stop.get_token(),
            std::chrono::milliseconds(static_cast<long>(options.stop_timeout * 1000)), exit_failure,
            [&service] { service.stopping(); });

        if (spec.use_settings) {
            spec.use_settings(settings);
        }
        const auto database = open_database(settings);
        std::vector<Step> steps =
            spec.make_steps ? spec.make_steps() : std::vector<Step>{spec.make_step()};
        for (auto& step : steps) {
            if (!options.step_version.empty()) {
                step.version = options.step_version;
            } else if (step.version.empty()) {
                step.version = version();
            }
        }
        // The steps of a process share one feed and its checkpoint, named by the listener.
        StepGroup group(options.name);
        // Ready once every step has reached the database: then, and only then, the command
        // that started a daemon returns 0, and systemd hears READY=1.
        auto starting = std::make_shared<std::atomic<std::size_t>>(steps.size());
        runner.on_started = [starting, &daemon, &service] {
            if (--*starting == 0) {
                if (daemon) {
                    daemon->started();
                }
                service.ready();
            }
        };
        for (const auto& step : steps) {
            RunnerOptions options_of_step = runner;
            // Each step's log lines and claims name it.
            if (steps.size() > 1) {
                options_of_step.listener = options.name + "." + step.name;
            }
            group.add(*database, step, options_of_step);
        }
        log_info("starting " + describe_steps(steps) + " on " + database->describe() + " with " +
                 std::to_string(options.jobs) + (options.jobs == 1 ? " job" : " jobs") +
                 (steps.size() > 1 ? " each" : "") +
                 (runner.shard.is_whole() ? std::string()
                                          : ", share " + runner.shard.str() + " of its docs"));
        std::unique_ptr<MetricsServer> metrics;
        if (options.metrics_port >= 0) {
            metrics = std::make_unique<MetricsServer>(
                options.metrics_address, options.metrics_port,
                [&group, &database, &steps, listener = options.name] {
                    std::optional<Seq> update_seq;
                    try {
                        update_seq = update_seq_of(*database);
                    } catch (const Error&) {
                        // edw_database_up 0 says it; the listener's own log says why.
                    }
                    std::vector<ListenerSnapshot> snapshots;
                    for (std::size_t i = 0; i < steps.size(); ++i) {
                        const StepRunner& step_runner = group.runner(i);
                        snapshots.push_back({.listener = listener,
                                             .step = steps[i].name,
                                             .counts = &step_runner.counts(),
                                             .handled_seq = step_runner.handled_seq(),
                                             .update_seq = update_seq,
                                             .feed_lag = step_runner.feed_lag()});
                    }
                    return prometheus_text(snapshots);
                });
            log_info("metrics at http://" + options.metrics_address + ":" +
                     std::to_string(metrics->port()) + "/metrics");
        }
        try {
            const std::function<void()> run = [&group, &stop] { group.run(stop.get_token()); };
            if (spec.around_run) {
                spec.around_run(run);
            } else {
                run();
            }
        } catch (const Error& error) {
            log_error(error.what());
            if (!pidfile.empty()) {
                std::filesystem::remove(pidfile);
            }
            throw;
        }
        if (!pidfile.empty()) {
            std::error_code ignored;
            std::filesystem::remove(pidfile, ignored);
        }
        return exit_ok;
    } catch (const AlreadyRunning& error) {
        report_failure(options.name, error);
        return exit_locked;
    } catch (const Error& error) {
        // A seq is opaque, so --since SEQ is checked by the server: a 400 on the feed then
        // means the command line was wrong, not the server.
        const auto* http = dynamic_cast<const HttpError*>(&error);
        const bool given_seq = options.since != "checkpoint" && options.since != "now";
        if (http != nullptr && given_seq && http->is_bad_request() &&
            std::string_view(error.what()).find("changes feed") != std::string_view::npos) {
            return fail(ConfigError("--since " + options.since +
                                    ": the server refused it as a seq: " + error.what()));
        }
        return fail(error);
    }
}

} // namespace edw
