// edw replicate: copy a database's revisions, histories and conflicts to another, either way
// between the embedded store and a CouchDB-compatible server.
#include "command.hpp"

#include <edw/app/open_database.hpp>
#include <edw/replication/replicator.hpp>
#include <edw/util/error.hpp>
#include <edw/util/exit_status.hpp>
#include <edw/util/log.hpp>
#include <edw/util/progress.hpp>
#include <edw/util/stop_signals.hpp>
#include <edw/util/url.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

namespace edw::tools {
namespace {

struct ReplicateCommandOptions {
    std::string source;
    std::string target;
    bool continuous = false;
    bool create_target = false;
    std::string selector;
    std::vector<std::string> doc_ids;
    std::size_t batch_size = 500;
    bool quiet = false;
};

// `file:PATH` or `http(s)://[user:password@]host[:port][/prefix]/db`. A server without
// credentials in its URL gets the settings' (edw.ini or EDW_USERNAME / EDW_PASSWORD).
std::unique_ptr<Database> open_endpoint(const std::string& text, const Settings& base,
                                        const char* side)
{
    const Url url = Url::parse(text);
    Settings settings = base;
    if (url.is_file()) {
        // Absolute, so that the replication id (and so the checkpoint) does not depend on the
        // folder the command runs in.
        const auto path = std::filesystem::absolute(url.path()).lexically_normal();
        settings.server = Url::parse("file://" + path.string());
        settings.database = path.stem().string();
        return open_database(settings);
    }
    const std::string printed = url.str();
    const auto slash = printed.rfind('/');
    const auto scheme_end = printed.find("://") + 3;
    if (slash == std::string::npos || slash < scheme_end || slash + 1 == printed.size()) {
        throw ConfigError(std::string("the ") + side + " " + printed +
                          " names no database: give it as http://host:5984/dbname");
    }
    settings.server = Url::parse(printed.substr(0, slash));
    settings.database = url_decode(printed.substr(slash + 1));
    if (!url.username().empty()) {
        settings.username = url.username();
        settings.password = url.password();
        if (settings.auth == AuthMethod::none) {
            settings.auth = AuthMethod::basic;
        }
    }
    return open_database(settings);
}

// A progress bar while catching up (log lines when standard error is not a terminal), then,
// in continuous mode, a log line per batch that wrote something.
class ProgressReport final : public ReplicationObserver {
public:
    explicit ProgressReport(bool quiet)
        : m_quiet(quiet)
    {}

    void on_start(const Seq& start, std::uint64_t expected) override
    {
        if (!(start == Seq())) {
            log_info("edw replicate: resuming from checkpoint " + start.json());
        }
        if (!m_quiet && expected > 0) {
            m_progress = std::make_unique<Progress>(
                "replicate", std::max<std::uint64_t>(expected, 1), "changes");
        }
    }
    void on_batch(std::uint64_t rows, const ReplicationStats& stats) override
    {
        if (m_progress) {
            m_progress->advance(rows);
        } else if (m_caught_up && stats.docs_written > m_written) {
            log_info("edw replicate: " + std::to_string(stats.docs_written - m_written) +
                     " revisions written");
        }
        m_written = stats.docs_written;
    }
    void on_caught_up(const ReplicationStats&) override
    {
        finish();
        m_caught_up = true;
    }
    void finish()
    {
        if (m_progress) {
            m_progress->finish();
            m_progress.reset();
        }
    }

private:
    bool m_quiet;
    bool m_caught_up = false;
    std::uint64_t m_written = 0;
    std::unique_ptr<Progress> m_progress;
};

// Runs the replication; in continuous mode, a server that is down or fails (network error,
// 5xx after the client's own retries) is waited for, and the run starts again from its last
// checkpoint, until a stop is requested. The figures are those of the last run.
ReplicationStats run_patiently(Replicator& replicator, ReplicationObserver& report, bool continuous,
                               std::stop_source& stop)
{
    std::chrono::seconds pause{1};
    for (;;) {
        try {
            return replicator.run(report, stop.get_token());
        } catch (const std::exception& error) {
            const auto* http = dynamic_cast<const HttpError*>(&error);
            const bool passing = dynamic_cast<const TransportError*>(&error) != nullptr ||
                                 (http != nullptr && http->status() >= 500);
            if (!continuous || !passing || stop.stop_requested()) {
                throw;
            }
            log_warning(std::string("edw replicate: ") + error.what() + "; trying again in " +
                        std::to_string(pause.count()) + " s from the last checkpoint");
        }
        for (auto waited = std::chrono::milliseconds(0); waited < pause && !stop.stop_requested();
             waited += std::chrono::milliseconds(100)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (stop.stop_requested()) {
            return {};
        }
        pause = std::min<std::chrono::seconds>(pause * 2, std::chrono::seconds(30));
    }
}

int replicate(const GlobalOptions& global, const ReplicateCommandOptions& options)
{
    const Settings settings = load_tool_settings(global);
    ReplicationOptions replication;
    replication.continuous = options.continuous;
    replication.doc_ids = options.doc_ids;
    replication.batch_size = options.batch_size;
    replication.heartbeat = settings.heartbeat;
    if (!options.selector.empty()) {
        auto selector = nlohmann::json::parse(options.selector, nullptr, false);
        if (selector.is_discarded() || !selector.is_object()) {
            throw ConfigError("--selector must be a JSON object, such as '{\"status\": \"good\"}'");
        }
        replication.selector = std::move(selector);
    }
    if (!options.selector.empty() && !options.doc_ids.empty()) {
        throw ConfigError("give --selector or --doc-ids, not both");
    }
    // Before any thread starts, so that every thread inherits the blocked signals.
    std::stop_source stop;
    const StopSignals signals(stop);

    const auto source = open_endpoint(options.source, settings, "source");
    const auto target = open_endpoint(options.target, settings, "target");
    (void)source->info(); // a missing source is an error of its own, before the target is made
    if (options.create_target) {
        if (target->create()) {
            log_info("edw replicate: created " + target->describe());
        }
    } else {
        try {
            (void)target->info();
        } catch (const HttpError& error) {
            if (error.status() != 404) {
                throw;
            }
            throw ConfigError("the target " + target->describe() +
                              " does not exist: create it, or add --create-target");
        }
    }
    Replicator replicator(*source, *target, replication);
    log_info("edw replicate: " + source->describe() + " -> " + target->describe() +
             " (replication " + replicator.id() + (options.continuous ? ", continuous" : "") + ")");
    ProgressReport report(options.quiet);
    const auto started = std::chrono::steady_clock::now();
    ReplicationStats stats = run_patiently(replicator, report, options.continuous, stop);
    report.finish();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::ostringstream summary;
    summary.precision(1);
    summary << std::fixed << "replicated " << source->describe() << " -> " << target->describe()
            << ": " << stats.docs_read << " changes read, " << stats.missing_found
            << " revisions missing, " << stats.docs_written << " written, "
            << stats.doc_write_failures << " failed, in " << seconds << " s; checkpoint "
            << stats.last_seq.json();
    std::cout << summary.str() << std::endl;
    for (const auto& failure : stats.failures) {
        std::cerr << "edw replicate: failed: " << failure << "\n";
    }
    return stats.doc_write_failures == 0 ? exit_ok : exit_failure;
}

} // namespace

void add_replicate_command(CLI::App& app, const GlobalOptions& global, Action& action)
{
    auto options = std::make_shared<ReplicateCommandOptions>();
    auto* command = app.add_subcommand(
        "replicate", "Copy every revision SOURCE has and TARGET lacks, with histories and "
                     "conflicts (CouchDB's replication protocol)");
    command->fallthrough();
    command
        ->add_option("SOURCE", options->source,
                     "file:PATH (an embedded store) or http(s)://host:port/db")
        ->required();
    command->add_option("TARGET", options->target, "file:PATH or http(s)://host:port/db")
        ->required();
    command->add_flag("--continuous", options->continuous,
                      "Keep copying new changes until Ctrl-C or SIGTERM");
    command->add_flag("--create-target", options->create_target,
                      "Create TARGET when it does not exist");
    command->add_option("--selector", options->selector,
                        "Only docs matching this Mango selector (JSON)");
    command->add_option("--doc-ids", options->doc_ids, "Only these doc ids (comma-separated)")
        ->delimiter(',');
    command
        ->add_option("--batch-size", options->batch_size,
                     "Changes per batch (one _revs_diff, _bulk_get and _bulk_docs each)")
        ->check(CLI::Range(1, 10000));
    command->add_flag("--quiet", options->quiet, "No progress bar");
    command->footer(
        "\nCheckpoints are kept in _local/<replication id> on both sides: a run that was "
        "stopped or killed resumes where it was, and a run with nothing new writes nothing.\n"
        "Credentials: in the URL, or from the settings (edw.ini, EDW_USERNAME, EDW_PASSWORD).\n"
        "Exit status: 0 when every revision was written, 1 when the target refused some "
        "(listed on standard error), as for other commands otherwise.");
    command->callback([&global, &action, options] {
        action = [&global, options] { return replicate(global, *options); };
    });
}

} // namespace edw::tools
