// gemini_queues: the Gemini archive's dataflow queues (ingest, export, preview, calcache) on edw:
// a directory watcher, the queues' workers, and a scenario that drives and checks them.
// `gemini_queues --help` lists the commands; examples/gemini-queues/README.md tells the story.
#include "gemini.hpp"

#include <edw/app/open_database.hpp>
#include <edw/util/error.hpp>
#include <edw/util/exit_status.hpp>
#include <edw/util/log.hpp>
#include <edw/util/settings.hpp>
#include <edw/util/stop_signals.hpp>
#include <edw/workflow/step_group.hpp>

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <functional>
#include <map>

namespace {

std::chrono::milliseconds milliseconds(double seconds)
{
    return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

// Runs the watcher's two tasks, each once at once and then on its timer, until SIGINT or
// SIGTERM: a program with no step of its own, only timed work that feeds the ingest queue.
int watch(edw::Database& database, const gemini::WatchOptions& options)
{
    std::stop_source stop;
    const edw::StopSignals signals(stop);
    const auto tasks = gemini::watch_tasks(database, options);
    for (const auto& task : tasks) {
        edw::run_periodic_task(task);
    }
    edw::run_periodic_tasks(tasks, stop.get_token());
    return edw::exit_ok;
}

// Serves one queue until SIGINT or SIGTERM. Its twin, started with another name, shares the
// queue through claims: whichever claims an item first does it.
int work(edw::Database& database, const gemini::WorkerOptions& worker, int jobs,
         std::chrono::milliseconds lease)
{
    std::filesystem::create_directories(worker.archive);
    std::filesystem::create_directories(worker.previews);
    const std::map<std::string, std::function<edw::Step()>> steps = {
        {"ingest", [&] { return gemini::ingest_step(database, worker); }},
        {"export", [&] { return gemini::export_step(worker); }},
        {"preview", [&] { return gemini::preview_step(worker); }},
        {"calcache", [&] { return gemini::calcache_step(database, worker); }}};
    edw::RunnerOptions options;
    // A checkpoint per worker: twins sharing one would overwrite each other's (409s).
    options.listener = "gemini-" + worker.queue + "-" + worker.name;
    options.jobs = jobs;
    options.worker = worker.name;
    options.lease = lease;
    options.retry.first_delay = std::chrono::seconds(1);
    edw::StepGroup group;
    group.add(database, steps.at(worker.queue)(), options);
    group.run_until_signal();
    return edw::exit_ok;
}

std::string default_worker_name()
{
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return std::string(host) + ":" + std::to_string(::getpid());
}

} // namespace

int main(int argc, char** argv)
{
    std::string config;
    gemini::WatchOptions watching;
    double scan_seconds = 5;
    double requeue_seconds = 900;
    double recent_seconds = 4 * 24 * 3600;
    gemini::WorkerOptions worker;
    int jobs = 2;
    double lease_seconds = 30;
    int work_ms = 0;
    gemini::ScenarioOptions playing;
    double timeout_seconds = 60;

    CLI::App app("gemini_queues: the Gemini archive's dataflow queues on edw", "gemini_queues");
    app.require_subcommand(1);
    app.add_option("--config", config, "edw settings file (default ./edw.ini)");
    auto* watcher = app.add_subcommand(
        "watch", "Queue new and changed files of a directory for ingest, and re-queue recent ones");
    watcher->add_option("--dir", watching.dir, "Directory to watch")->required();
    watcher->add_option("--scan", scan_seconds, "Seconds between scans")->capture_default_str();
    watcher
        ->add_option("--requeue-every", requeue_seconds,
                     "Seconds between re-queues of the recent files")
        ->capture_default_str();
    watcher
        ->add_option("--recent", recent_seconds,
                     "A file modified this many seconds ago or less is recent")
        ->capture_default_str();
    auto* serve = app.add_subcommand("worker", "Serve one queue");
    serve->add_option("--queue", worker.queue, "The queue")
        ->required()
        ->check(CLI::IsMember(gemini::queues));
    serve->add_option("--name", worker.name, "This worker's name (default <host>:<pid>)");
    serve->add_option("--dir", worker.dir, "Where the queued files are")->capture_default_str();
    serve->add_option("--archive", worker.archive, "Where export copies files")
        ->capture_default_str();
    serve->add_option("--previews", worker.previews, "Where preview writes its images")
        ->capture_default_str();
    serve->add_option("--jobs", jobs, "Items worked on at once")->capture_default_str();
    serve
        ->add_option("--lease", lease_seconds,
                     "Seconds a claim on an item lasts unless renewed (a dead worker's items "
                     "are taken over after it)")
        ->capture_default_str();
    serve->add_option("--work-ms", work_ms, "Milliseconds of simulated work per item")
        ->capture_default_str();
    auto* play = app.add_subcommand("scenario", "Drive the queues and check what they did");
    play->add_option("--phase", playing.phase,
                     "write: write the files; ingested: wait for their ingest; change: modify "
                     "files; changed: wait for their ingest and a re-queue of every file; check: "
                     "check everything; status: check edw status")
        ->required()
        ->check(CLI::IsMember({"write", "ingested", "change", "changed", "check", "status"}));
    play->add_option("--dir", playing.dir, "The watched directory")->capture_default_str();
    play->add_option("--archive", playing.archive, "The export directory")->capture_default_str();
    play->add_option("--previews", playing.previews, "The preview directory")
        ->capture_default_str();
    play->add_option("--files", playing.files, "Files to write (5 of them are modified)")
        ->check(CLI::Range(125, 19998))
        ->capture_default_str();
    play->add_option("--until-ingested", playing.until_ingested,
                     "write: return once this many files are ingested (0: all)");
    play->add_option("--until-claimed-by", playing.until_claimed_by,
                     "write: and only while this worker has an ingest item claimed");
    play->add_option("--status-file", playing.status_file,
                     "status: the output of edw status --json");
    play->add_option("--timeout", timeout_seconds, "Seconds to wait in a phase")
        ->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? edw::exit_ok : edw::exit_usage;
    }
    try {
        edw::configure_log({.program = *serve     ? "gemini-" + worker.queue
                                       : *watcher ? "gemini-watch"
                                                  : "gemini",
                            .level = edw::LogLevel::info,
                            .file = {}});
        const auto settings = edw::load_settings(config, edw::process_environment());
        const auto database = edw::open_database(settings);
        database->create();
        if (*watcher) {
            watching.scan = milliseconds(scan_seconds);
            watching.requeue_every = milliseconds(requeue_seconds);
            watching.recent = std::chrono::seconds(static_cast<long>(recent_seconds));
            return watch(*database, watching);
        }
        if (*serve) {
            worker.name = worker.name.empty() ? default_worker_name() : worker.name;
            worker.work = std::chrono::milliseconds(work_ms);
            return work(*database, worker, jobs, milliseconds(lease_seconds));
        }
        playing.timeout = milliseconds(timeout_seconds);
        return gemini::scenario(*database, playing);
    } catch (const std::exception& error) {
        return edw::report_failure("gemini_queues", error);
    }
}
