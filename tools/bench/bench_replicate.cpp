// edw bench replicate: replication each way between the embedded store and a server, against
// each side's own _bulk_docs rate, and the latency of continuous replication.
#include "bench.hpp"

#include <edw/app/open_database.hpp>
#include <edw/replication/replicator.hpp>
#include <edw/util/error.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <thread>

namespace edw::tools {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point start, Clock::time_point end)
{
    return std::chrono::duration<double>(end - start).count();
}

std::unique_ptr<Database> fresh(const Settings& base, const std::string& name, const fs::path& file)
{
    Settings settings = base;
    if (!file.empty()) {
        settings.server = Url::parse("file://" + file.string());
    }
    settings.database = name;
    auto database = open_database(settings);
    try {
        database->destroy();
    } catch (const HttpError& error) {
        if (!error.is_not_found()) {
            throw;
        }
    }
    database->create();
    return database;
}

struct Quiet final : ReplicationObserver {};

// Seconds for one replication run; checks that it copied every doc.
double timed_replication(Database& source, Database& target, std::uint64_t docs, std::size_t batch)
{
    ReplicationOptions options;
    options.batch_size = batch;
    Quiet quiet;
    const auto start = Clock::now();
    const auto stats = Replicator(source, target, options).run(quiet);
    const double seconds = seconds_between(start, Clock::now());
    if (stats.docs_written != docs || stats.doc_write_failures != 0) {
        throw StoreError("replication wrote " + std::to_string(stats.docs_written) + " of " +
                         std::to_string(docs) + " docs (" +
                         std::to_string(stats.doc_write_failures) + " failed)");
    }
    return seconds;
}

// Waits on the target's feed for the doc `id` to arrive after `since`.
struct Arrival final : ChangesHandler {
    std::string id;
    bool seen = false;
    void on_change(Change&& change) override { seen = seen || change.id == id; }
};

// A write on the source to its arrival on the target, `samples` times, through one continuous
// replication; milliseconds, sorted.
std::vector<double> continuous_latency(Database& source, Database& target, int samples)
{
    ReplicationOptions options;
    options.continuous = true;
    options.heartbeat = std::chrono::milliseconds(1000);
    std::stop_source stop;
    Quiet quiet;
    std::exception_ptr failure;
    std::thread running([&] {
        try {
            Replicator(source, target, options).run(quiet, stop.get_token());
        } catch (...) {
            failure = std::current_exception();
        }
    });
    std::vector<double> latencies;
    try {
        for (int i = 0; i < samples && !failure; ++i) {
            Arrival arrival;
            arrival.id = "latency-" + std::to_string(i);
            Seq since = update_seq_of(target);
            const auto start = Clock::now();
            if (source.save({{"_id", arrival.id}, {"n", i}}).is_conflict()) {
                throw StoreError("latency doc " + arrival.id + " exists");
            }
            while (!arrival.seen && seconds_between(start, Clock::now()) < 30) {
                ChangesQuery query;
                query.feed = Feed::longpoll;
                query.since = since;
                query.timeout = std::chrono::milliseconds(5000);
                since = target.changes(query, arrival).value_or(FeedEnd{since, 0}).last_seq;
            }
            if (!arrival.seen) {
                throw StoreError("doc " + arrival.id + " did not arrive within 30 s");
            }
            latencies.push_back(seconds_between(start, Clock::now()) * 1000);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    } catch (...) {
        stop.request_stop();
        running.join();
        throw;
    }
    stop.request_stop();
    running.join();
    if (failure) {
        std::rethrow_exception(failure);
    }
    std::sort(latencies.begin(), latencies.end());
    return latencies;
}

// Seconds for the server to send every doc once, in one `_changes?include_docs=true`: the
// fastest way it hands out its docs, and so a bound on replicating from it.
double timed_full_read(Database& database, std::uint64_t docs)
{
    struct Count final : ChangesHandler {
        std::uint64_t rows = 0;
        void on_change(Change&&) override { ++rows; }
    } count;
    ChangesQuery query;
    query.include_docs = true;
    const auto start = Clock::now();
    (void)database.changes(query, count);
    const double seconds = seconds_between(start, Clock::now());
    if (count.rows != docs) {
        throw StoreError("the feed held " + std::to_string(count.rows) + " docs, not " +
                         std::to_string(docs));
    }
    return seconds;
}

double percentile(const std::vector<double>& sorted, double fraction)
{
    if (sorted.empty()) {
        return 0;
    }
    const auto index = static_cast<std::size_t>(fraction * static_cast<double>(sorted.size() - 1));
    return sorted[index];
}

} // namespace

int bench_replicate(const GlobalOptions& global, const ReplicateBenchOptions& options)
{
    const Settings base = load_tool_settings(global);
    if (base.server.is_file()) {
        throw ConfigError("edw bench replicate needs a server URL in the settings (url in "
                          "edw.ini, or EDW_URL): it replicates between it and the embedded store");
    }
    const fs::path dir = bench_folder(options.dir);
    const std::string prefix = "edw-bench-repl-" + std::to_string(::getpid()) + "-";
    std::mt19937_64 rng(20261204);

    // Each side's own write rate: the same docs through _bulk_docs.
    auto store = fresh(base, "source", dir / "source.db");
    const double store_bulk =
        create_bench_docs(*store, options.docs, options.batch, rng, "embedded _bulk_docs");
    auto server_source = fresh(base, prefix + "source", {});
    const double server_bulk =
        create_bench_docs(*server_source, options.docs, options.batch, rng, "server _bulk_docs");
    const double server_read = timed_full_read(*server_source, options.docs);
    // Replication each way, into empty databases.
    auto server_target = fresh(base, prefix + "target", {});
    const double to_server = timed_replication(*store, *server_target, options.docs, options.batch);
    auto store_target = fresh(base, "target", dir / "target.db");
    const double to_store =
        timed_replication(*server_source, *store_target, options.docs, options.batch);
    const auto latency = continuous_latency(*store, *server_target, options.latency_samples);

    const auto rate = [&](double seconds) {
        return static_cast<double>(options.docs) / std::max(seconds, 1e-9);
    };
    const nlohmann::json figures = {
        {"bench", "replicate"},
        {"docs", options.docs},
        {"batch", options.batch},
        {"server", base.server.str()},
        {"embedded_bulk_docs_per_s", rate(store_bulk)},
        {"server_bulk_docs_per_s", rate(server_bulk)},
        {"embedded_to_server_docs_per_s", rate(to_server)},
        {"embedded_to_server_fraction_of_server_bulk_docs", server_bulk / to_server},
        {"server_to_embedded_docs_per_s", rate(to_store)},
        {"server_changes_include_docs_per_s", rate(server_read)},
        {"server_to_embedded_fraction_of_embedded_bulk_docs", store_bulk / to_store},
        {"continuous_latency_ms",
         {{"samples", latency.size()},
          {"p50", percentile(latency, 0.5)},
          {"p95", percentile(latency, 0.95)},
          {"max", latency.empty() ? 0 : latency.back()}}}};
    std::cout << figures.dump() << std::endl;
    if (!options.keep) {
        server_source->destroy();
        server_target->destroy();
        store->destroy();
        store_target->destroy();
        if (options.dir.empty()) {
            fs::remove_all(dir);
        }
    }
    return 0;
}

} // namespace edw::tools
