// edw bench pipeline: the synthetic pipeline against the null pipeline, on a fresh database.
#include "bench.hpp"
#include "listener_process.hpp"
#include "process_cpu.hpp"
#include "shipped_files.hpp"

#include <edw/app/open_database.hpp>
#include <edw/design/design_doc.hpp>
#include <edw/util/child_process.hpp>
#include <edw/util/error.hpp>
#include <edw/util/exit_status.hpp>
#include <edw/util/progress.hpp>
#include <edw/util/utc_time.hpp>
#include <edw/workflow/metadata.hpp>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace edw::tools {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::vector<std::string> step_names(int steps)
{
    if (steps == 2) {
        return {"move_to_sps", "signal_processing"};
    }
    std::vector<std::string> names;
    for (int i = 1; i <= steps; ++i) {
        names.push_back("step" + std::to_string(i));
    }
    return names;
}

// The design doc folder: given, or the source tree's (the program runs from build/tools), or the
// installed one, or the working directory's.
// Where the bench's databases live, and how a listener process is told.
struct Target {
    Settings base;
    std::string backend;
    fs::path dir;
    std::string prefix; ///< Server database names start with it: edw-bench-<pid>-.

    [[nodiscard]] Settings settings(const std::string& name) const
    {
        Settings settings = base;
        if (backend == "embedded") {
            settings.server = Url::parse("file://" + (dir / (name + ".db")).string());
            settings.database = name;
        } else {
            settings.database = prefix + name;
        }
        return settings;
    }
};

// Synthetic EDELWEISS docs: run `run`, files from `first`.
std::vector<nlohmann::json> make_docs(const std::string& run, std::uint64_t first,
                                      std::uint64_t count, std::mt19937_64& rng)
{
    std::vector<nlohmann::json> docs;
    docs.reserve(count);
    const double now = epoch_seconds_now();
    for (std::uint64_t i = 0; i < count; ++i) {
        docs.push_back(make_metadata_doc(run, static_cast<int>(first + i), now, rng));
    }
    return docs;
}

void check_all_written(const std::vector<BulkResult>& results, const std::string& what)
{
    for (const auto& result : results) {
        if (!result.ok()) {
            throw StoreError(what + ": doc " + result.id + " was refused: " + result.error + ": " +
                             result.reason);
        }
    }
}

} // namespace

fs::path bench_folder(const std::string& given)
{
    if (!given.empty()) {
        const auto dir = fs::absolute(given);
        fs::create_directories(dir);
        return dir;
    }
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/edw-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw StoreError("cannot make a temporary folder: " + std::string(std::strerror(errno)));
    }
    return pattern;
}

double create_bench_docs(Database& database, std::uint64_t count, std::size_t batch,
                         std::mt19937_64& rng, const std::string& label)
{
    Progress progress(label, count, "docs");
    const auto start = Clock::now();
    for (std::uint64_t done = 0; done < count;) {
        const auto size = std::min<std::uint64_t>(batch, count - done);
        const auto docs = make_docs("ma22a000", done, size, rng);
        check_all_written(database.bulk_save(docs), "creating docs");
        done += size;
        progress.advance(size);
    }
    const double seconds = seconds_since(start);
    progress.finish();
    return seconds;
}

namespace {

struct PageReader final : ChangesHandler {
    std::vector<Change> rows;
    void on_change(Change&& change) override { rows.push_back(std::move(change)); }
};

// One null-pipeline step: read the feed since `since` in pages, with the docs, and write each
// doc back with the step's entry. Our own writes land after every doc not yet read, so the
// first `count` rows are exactly the docs to move.
double null_step(Database& database, const Seq& since, std::uint64_t count, std::size_t batch,
                 const std::string& step)
{
    Progress progress("null pipeline, " + step, count, "docs");
    const auto start = Clock::now();
    ChangesQuery query;
    query.since = since;
    query.include_docs = true;
    query.limit = batch;
    for (std::uint64_t done = 0; done < count;) {
        PageReader page;
        const auto end = database.changes(query, page);
        if (!end || page.rows.empty()) {
            throw StoreError("null pipeline: the feed ended after " + std::to_string(done) +
                             " of " + std::to_string(count) + " docs");
        }
        std::vector<nlohmann::json> docs;
        docs.reserve(page.rows.size());
        const std::string date = utc_now_iso8601();
        for (auto& row : page.rows) {
            if (!row.doc || done + docs.size() >= count) {
                continue;
            }
            nlohmann::json doc = row.doc->parse();
            doc["process"].push_back({{"name", step}, {"bench", true}, {"date", date}});
            docs.push_back(std::move(doc));
        }
        check_all_written(database.bulk_save(docs), "null pipeline");
        done += docs.size();
        progress.advance(docs.size());
        query.since = end->last_seq;
    }
    const double seconds = seconds_since(start);
    progress.finish();
    return seconds;
}

struct NullFigures {
    double seconds = 0;
    double create_seconds = 0;
    double single_put_per_s = 0;
    double server_cpu_seconds = 0; ///< Of the create and the steps, not of the single PUTs.
    std::vector<double> latency_floor_ms;
};

// The least latency any pipeline of K steps can have on this database: a doc created, then
// written once per step, one request after the other, with nothing read in between.
std::vector<double> measure_latency_floor(Database& database, std::size_t steps, int count,
                                          std::mt19937_64& rng)
{
    std::vector<double> milliseconds;
    const auto docs = make_docs("ma22a003", 0, static_cast<std::uint64_t>(count), rng);
    Progress progress("latency floor", docs.size(), "docs");
    for (auto doc : docs) {
        const auto start = Clock::now();
        auto saved = database.save(doc);
        for (std::size_t step = 0; step < steps && saved.status == SaveStatus::ok; ++step) {
            doc["_rev"] = saved.rev;
            doc["process"].push_back({{"name", "step"}, {"bench", true}});
            saved = database.save(doc);
        }
        if (saved.status != SaveStatus::ok) {
            throw StoreError("latency floor: doc " + doc["_id"].get<std::string>() +
                             " was refused");
        }
        milliseconds.push_back(seconds_since(start) * 1000.0);
        progress.advance(1);
    }
    progress.finish();
    std::sort(milliseconds.begin(), milliseconds.end());
    return milliseconds;
}

NullFigures run_null_pipeline(Database& database, const PipelineBenchOptions& options,
                              const std::vector<std::string>& steps, std::mt19937_64& rng,
                              const std::function<double()>& server_cpu)
{
    NullFigures figures;
    const double cpu_start = server_cpu();
    Seq since = update_seq_of(database);
    figures.create_seconds = create_bench_docs(database, options.docs, options.create_batch, rng,
                                               "null pipeline, create");
    figures.seconds = figures.create_seconds;
    for (const auto& step : steps) {
        const Seq next = update_seq_of(database);
        figures.seconds += null_step(database, since, options.docs, options.create_batch, step);
        since = next;
    }
    figures.server_cpu_seconds = server_cpu() - cpu_start;
    figures.latency_floor_ms = measure_latency_floor(database, steps.size(), options.trickle, rng);
    // Single PUTs, one after the other, of new docs.
    const auto docs = make_docs("ma22a002", 0, static_cast<std::uint64_t>(options.puts), rng);
    Progress progress("single PUTs", docs.size(), "docs");
    const auto start = Clock::now();
    for (const auto& doc : docs) {
        database.save(doc);
        progress.advance(1);
    }
    figures.single_put_per_s = static_cast<double>(docs.size()) / seconds_since(start);
    progress.finish();
    return figures;
}

std::string self_program()
{
    std::error_code error;
    const fs::path program = fs::read_symlink("/proc/self/exe", error);
    if (error) {
        throw StoreError("cannot find this program (/proc/self/exe): " + error.message());
    }
    return program.string();
}

// The command that runs one listener: `edw bench step`, or its Python twin with --python.
std::vector<std::string> listener_command(const PipelineBenchOptions& options,
                                          std::vector<std::string>& environment)
{
    const std::string program = self_program();
    if (!options.python) {
        return {program, "bench", "step"};
    }
    const char* python = std::getenv("EDW_PYTHON");
    // From the build tree, the package built beside this program (build/python).
    const fs::path built = fs::path(program).parent_path().parent_path() / "python";
    if (fs::exists(built / "edw" / "__init__.py")) {
        const char* path = std::getenv("PYTHONPATH");
        environment.push_back("PYTHONPATH=" + built.string() +
                              (path != nullptr && *path != '\0' ? ":" + std::string(path) : ""));
    }
    return {python != nullptr && *python != '\0' ? python : "/usr/bin/python3", "-m", "edw.bench",
            "step"};
}

// The steps each listener process runs: K steps over P processes, in order, as even as can be.
std::vector<std::vector<std::string>> spread_steps(const std::vector<std::string>& steps,
                                                   int processes)
{
    const std::size_t count =
        processes <= 0 ? steps.size() : std::min(steps.size(), static_cast<std::size_t>(processes));
    std::vector<std::vector<std::string>> shares(count);
    for (std::size_t i = 0; i < steps.size(); ++i) {
        shares[i * count / steps.size()].push_back(steps[i]);
    }
    return shares;
}

std::string joined(const std::vector<std::string>& names, const std::string& separator)
{
    std::string out;
    for (const auto& name : names) {
        out += (out.empty() ? "" : separator) + name;
    }
    return out;
}

std::vector<std::unique_ptr<ListenerProcess>>
start_listeners(const GlobalOptions& global, const Target& target, const Settings& settings,
                const PipelineBenchOptions& options, const std::vector<std::string>& steps)
{
    // Credentials too: the settings may have had them in the URL, which EDW_URL replaces.
    std::vector<std::string> environment = {"EDW_URL=" + settings.server.str(),
                                            "EDW_DB=" + settings.database};
    if (!settings.username.empty()) {
        environment.push_back("EDW_USERNAME=" + settings.username);
        environment.push_back("EDW_PASSWORD=" + settings.password);
    }
    std::vector<std::unique_ptr<ListenerProcess>> listeners;
    const std::vector<std::string> command = listener_command(options, environment);
    std::string before;
    for (const auto& share : spread_steps(steps, options.processes)) {
        for (int worker = 1; worker <= options.workers; ++worker) {
            std::vector<std::string> argv = command;
            if (!global.config.empty()) {
                argv.insert(argv.end(), {"--config", global.config});
            }
            argv.insert(argv.end(),
                        {"--name", joined(share, ","), "--jobs", std::to_string(options.jobs),
                         "--batch-size", std::to_string(options.batch_size), "--feed-filter",
                         options.feed_filter, "--log-level", options.listener_log_level});
            if (!before.empty()) {
                argv.insert(argv.end(), {"--follows", before});
            }
            std::string log = joined(share, "+");
            if (options.workers > 1) {
                argv.insert(argv.end(), {"--worker", std::to_string(worker)});
                log += "-w" + std::to_string(worker);
            }
            if (options.lease_s > 0) {
                argv.insert(argv.end(), {"--lease", std::to_string(options.lease_s)});
            } else if (options.workers > 1) {
                argv.insert(argv.end(), {"--shard", std::to_string(worker) + "/" +
                                                        std::to_string(options.workers)});
            }
            if (options.callback_ms > 0) {
                argv.insert(argv.end(), {"--callback-ms", std::to_string(options.callback_ms)});
            }
            listeners.push_back(
                std::make_unique<ListenerProcess>(argv, environment, target.dir / (log + ".log")));
        }
        before = share.back();
    }
    for (auto& listener : listeners) {
        if (!listener->wait_ready(std::chrono::seconds(60))) {
            throw StoreError("a listener did not start; see " + listener->log().string());
        }
    }
    return listeners;
}

// The docs the last step's workers have recorded between them.
long recorded_by(const std::vector<ListenerProcess*>& workers)
{
    long sum = 0;
    for (auto* worker : workers) {
        sum += worker->recorded();
    }
    return sum;
}

// Waits until the last step's workers have recorded `count` docs between them; false when one
// of them ended first or they recorded nothing new for `silence`.
bool wait_for(const std::vector<ListenerProcess*>& workers, long count,
              std::chrono::seconds silence)
{
    if (workers.size() == 1) {
        return workers.front()->wait_for(count, silence);
    }
    long seen = recorded_by(workers);
    auto progress_at = Clock::now();
    while (seen < count) {
        std::this_thread::sleep_for(std::chrono::microseconds(500));
        const long now = recorded_by(workers);
        if (now != seen) {
            seen = now;
            progress_at = Clock::now();
        } else if (Clock::now() - progress_at > silence) {
            return false;
        }
    }
    return true;
}

// Waits for the last step's workers to record `count` docs, drawing progress.
void wait_for_pipeline(const std::vector<ListenerProcess*>& last, std::uint64_t count)
{
    Progress progress("pipeline", count, "docs");
    long shown = 0;
    while (shown < static_cast<long>(count)) {
        // No timing assertion: only a listener that ends or stalls for minutes stops the bench.
        if (!wait_for(last, std::min<long>(shown + 100, static_cast<long>(count)),
                      std::chrono::seconds(300))) {
            throw StoreError("the pipeline stopped at " + std::to_string(recorded_by(last)) +
                             " of " + std::to_string(count) + " docs; see " +
                             last.front()->log().string());
        }
        const long now = recorded_by(last);
        progress.advance(static_cast<std::uint64_t>(now - shown));
        shown = now;
    }
    progress.finish();
}

double percentile(std::vector<double> sorted, double q)
{
    if (sorted.empty()) {
        return 0;
    }
    const auto at = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(at, sorted.size() - 1)];
}

// Single docs, one at a time on the idle pipeline: from just before the PUT to the last step's
// write having returned.
std::vector<double> measure_latency(Database& database, const std::vector<ListenerProcess*>& last,
                                    int count, std::mt19937_64& rng)
{
    std::vector<double> milliseconds;
    const auto docs = make_docs("ma22a001", 0, static_cast<std::uint64_t>(count), rng);
    Progress progress("latency", docs.size(), "docs");
    for (const auto& doc : docs) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20)); // idle again
        const long before = recorded_by(last);
        const auto start = Clock::now();
        database.save(doc);
        if (!wait_for(last, before + 1, std::chrono::seconds(60))) {
            throw StoreError("a single doc did not get through the pipeline; see " +
                             last.front()->log().string());
        }
        milliseconds.push_back(seconds_since(start) * 1000.0);
        progress.advance(1);
    }
    progress.finish();
    std::sort(milliseconds.begin(), milliseconds.end());
    return milliseconds;
}

} // namespace

int bench_pipeline(const GlobalOptions& global, const PipelineBenchOptions& options)
{
    Target target;
    target.base = load_tool_settings(global);
    target.backend = options.backend.empty()
                         ? (target.base.server.is_file() ? "embedded" : "server")
                         : options.backend;
    if (target.backend == "server" && target.base.server.is_file()) {
        throw ConfigError(
            "--backend server needs a server URL in the settings (url in edw.ini, or EDW_URL)");
    }
    if (options.python && (options.workers > 1 || options.lease_s > 0 || options.callback_ms > 0)) {
        throw ConfigError("--workers, --lease and --callback-ms measure C++ listeners; "
                          "--python takes none of them");
    }
    target.prefix = "edw-bench-" + std::to_string(::getpid()) + "-";
    const bool temporary_dir = options.dir.empty();
    target.dir = bench_folder(options.dir);
    const auto design =
        load_design_doc(options.design_dir.empty() ? find_shipped_design_doc("process")
                                                   : fs::path(options.design_dir));
    const auto steps = step_names(options.steps);
    std::mt19937_64 rng(20261201);

    // The database's own limit, in the same run.
    const auto null_settings = target.settings("null");
    const auto null_database = open_database(null_settings);
    null_database->create();
    // The server's CPU, when it runs on this machine: what bounds a pipeline on 2 cores.
    const pid_t server = target.backend == "server"
                             ? local_server_pid(target.base.server).value_or(0)
                             : 0; // 0: not on this machine
    const auto server_cpu = [server] {
        return server > 0 ? process_tree_cpu_seconds(server) : 0.0;
    };
    const NullFigures null_figures =
        run_null_pipeline(*null_database, options, steps, rng, server_cpu);

    const auto settings = target.settings("pipeline");
    const auto database = open_database(settings);
    database->create();
    database->save(design);
    std::vector<std::unique_ptr<ListenerProcess>> listeners;
    Clock::time_point start;
    double pipeline_cpu_start = 0;
    if (options.backlog) {
        create_bench_docs(*database, options.docs, options.create_batch, rng, "backlog, create");
        start = Clock::now();
        pipeline_cpu_start = server_cpu();
        listeners = start_listeners(global, target, settings, options, steps);
    } else {
        listeners = start_listeners(global, target, settings, options, steps);
        std::this_thread::sleep_for(std::chrono::milliseconds(500)); // feeds connected
        start = Clock::now();
        pipeline_cpu_start = server_cpu();
        create_bench_docs(*database, options.docs, options.create_batch, rng, "create");
    }
    std::vector<ListenerProcess*> last; // the last step's workers
    for (std::size_t i = listeners.size() - static_cast<std::size_t>(options.workers);
         i < listeners.size(); ++i) {
        last.push_back(listeners[i].get());
    }
    wait_for_pipeline(last, options.docs);
    const double seconds = seconds_since(start);
    const double pipeline_server_cpu = server_cpu() - pipeline_cpu_start;
    nlohmann::json listener_cpu = nlohmann::json::array();
    for (auto& listener : listeners) {
        listener_cpu.push_back(round_to(listener->cpu_seconds(), 2));
    }
    nlohmann::json recorded = nlohmann::json::array();
    for (auto& listener : listeners) {
        recorded.push_back(listener->recorded());
    }
    const auto latency = measure_latency(*database, last, options.trickle, rng);

    nlohmann::json rss = nlohmann::json::array();
    for (auto& listener : listeners) {
        rss.push_back(round_to(listener->peak_rss_mb(), 1));
    }
    int failed = 0;
    nlohmann::json feed_rows = nlohmann::json::array();
    for (auto& listener : listeners) {
        if (listener->stop() != 0) {
            std::cerr << "edw: bench pipeline: a listener failed; see " << listener->log().string()
                      << "\n";
            ++failed;
        }
        feed_rows.push_back(listener->feed_rows());
    }
    const double docs = static_cast<double>(options.docs);
    const double null_rate = docs / null_figures.seconds;
    const double rate = docs / seconds;
    nlohmann::json figures = {
        {"benchmark", "pipeline"},
        {"backend", target.backend},
        {"mode", options.backlog ? "backlog" : "live"},
        {"docs", options.docs},
        {"steps", options.steps},
        {"processes", listeners.size()},
        {"step_language", options.python ? "python" : "c++"},
        {"workers", options.workers},
        {"lease_s", options.lease_s > 0 ? nlohmann::json(options.lease_s) : nullptr},
        {"callback_ms", options.callback_ms},
        {"jobs", options.jobs},
        {"batch_size", options.batch_size},
        {"feed_filter", options.feed_filter},
        {"seconds", round_to(seconds, 3)},
        {"docs_per_s", round_to(rate, 1)},
        {"null_docs_per_s", round_to(null_rate, 1)},
        {"fraction_of_null", round_to(rate / null_rate, 3)},
        {"bulk_docs_per_s", round_to(docs / null_figures.create_seconds, 1)},
        {"single_put_per_s", round_to(null_figures.single_put_per_s, 1)},
        {"latency_ms",
         {{"docs", latency.size()},
          {"p50", round_to(percentile(latency, 0.50), 2)},
          {"p95", round_to(percentile(latency, 0.95), 2)},
          {"p99", round_to(percentile(latency, 0.99), 2)},
          // K+1 writes of one doc in a row: what no pipeline can beat.
          {"floor_p50", round_to(percentile(null_figures.latency_floor_ms, 0.50), 2)}}},
        {"listener_peak_rss_mb", rss},
        {"listener_feed_rows", feed_rows},
        {"listener_recorded", recorded}, // each listener's own count, when the run ended
        // CPU seconds from the first create to the last step (the bench's own creating
        // included in neither); the server's only when it runs here (null otherwise).
        {"cpu_s",
         {{"server_null",
           server > 0 ? nlohmann::json(round_to(null_figures.server_cpu_seconds, 2)) : nullptr},
          {"server", server > 0 ? nlohmann::json(round_to(pipeline_server_cpu, 2)) : nullptr},
          {"listeners", listener_cpu}}},
    };
    std::cout << figures.dump() << "\n";
    std::cout.flush();
    listeners.clear();
    if (options.keep) {
        std::cerr << "edw: bench pipeline: kept " << target.dir.string()
                  << (target.backend == "server" ? " and databases " + target.prefix + "*" : "")
                  << "\n";
    } else {
        if (target.backend == "server") {
            null_database->destroy();
            database->destroy();
        }
        if (temporary_dir) {
            fs::remove_all(target.dir);
        }
    }
    return failed == 0 ? exit_ok : exit_failure;
}

} // namespace edw::tools
