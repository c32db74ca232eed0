// Bench: the `edw bench` benchmarks, which print their figures as JSON lines and assert nothing.
#pragma once

#include "command.hpp"

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>

namespace edw {
class Database;
}

namespace edw::tools {

/// Seconds on the steady clock since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// `value` rounded to `digits` decimals, for the figures printed.
inline double round_to(double value, int digits)
{
    const double scale = std::pow(10.0, digits);
    return std::round(value * scale) / scale;
}

/// `edw bench parse`: the changes feed parser over a generated continuous feed with include_docs.
int bench_parse(std::uint64_t lines, std::size_t chunk);

struct PipelineBenchOptions {
    std::uint64_t docs = 10000;
    int steps = 2; ///< 2: the EDELWEISS steps move_to_sps and signal_processing.
    int jobs = 1;  ///< Callbacks at once in each listener (--jobs, as listeners take it).
    /// Listener processes the steps are spread over, in order (one feed each); 0: one per step.
    int processes = 0;
    std::size_t batch_size = 200; ///< Most docs a listener writes at once (--batch-size).
    std::string backend;          ///< "embedded" or "server"; empty: the one the settings name.
    bool backlog = false;         ///< Create the docs first, then start the listeners.
    int trickle = 100; ///< Single docs sent through the idle pipeline for the latency figures.
    int puts = 1000;   ///< Single PUTs for the write-rate figure.
    std::size_t create_batch = 1000;  ///< Docs per `_bulk_docs` when creating them.
    std::string dir;                  ///< Embedded store files and listener logs; a new temp dir.
    std::string design_dir;           ///< The `process` design doc folder; found when empty.
    bool keep = false;                ///< Keep the databases and files afterwards.
    std::string feed_filter = "auto"; ///< Passed to each listener (--feed-filter).
    std::string listener_log_level = "info"; ///< Passed to each listener; debug: request timeline.
    /// The steps are trivial Python callbacks (`python3 -m edw.bench step`), not C++ ones.
    bool python = false;
    /// Listener processes per step share (each with its own feed), sharing the docs by claims
    /// when `lease_s` is set, else each taking a fixed part of them (`--shard K/workers`).
    int workers = 1;
    double lease_s = 0;  ///< --lease of each listener, in seconds; 0: no claims.
    int callback_ms = 0; ///< How long each callback sleeps: a step that takes time.
};

/// The folder a bench keeps its files in: `given` (made if missing), or a new temporary one.
/// Throws StoreError when it cannot be made.
std::filesystem::path bench_folder(const std::string& given);

/// Bulk-creates `count` EDELWEISS-shaped docs (run ma22a000) in batches of `batch`, with a
/// progress bar; returns the seconds it took. Throws when any doc is refused.
double create_bench_docs(Database& database, std::uint64_t count, std::size_t batch,
                         std::mt19937_64& rng, const std::string& label);

struct RerunBenchOptions {
    std::uint64_t docs = 100000;
    std::size_t batch = 1000; ///< Docs per request, creating them and in the reruns.
    std::string backend;      ///< "embedded" or "server"; empty: the one the settings name.
    std::string dir;          ///< The embedded store's folder; a new temp dir.
    bool keep = false;
};

/// `edw bench rerun`: two reruns (a tenth of the docs by a selector, then the rest by version)
/// over docs that have passed both EDELWEISS steps, against the _bulk_docs rate creating them.
int bench_rerun(const GlobalOptions& global, const RerunBenchOptions& options);

struct ReplicateBenchOptions {
    std::uint64_t docs = 10000;
    std::size_t batch = 500; ///< Docs per `_bulk_docs` when creating, and per replication batch.
    int latency_samples = 50;
    std::string dir; ///< The embedded stores; a new temp dir when empty.
    bool keep = false;
};

/// `edw bench replicate`: `edw replicate` each way between the embedded store and the server the
/// settings name, against each side's own `_bulk_docs` rate, and continuous-mode latency.
int bench_replicate(const GlobalOptions& global, const ReplicateBenchOptions& options);

/// `edw bench pipeline`: a K-step synthetic pipeline, each step a listener process, measured
/// against the database's own limit (the null pipeline), with write rates, latency and memory.
int bench_pipeline(const GlobalOptions& global, const PipelineBenchOptions& options);

struct BenchStepOptions {
    std::string name;    ///< The step, or several in a chain: "step3,step4,step5".
    std::string follows; ///< The step before the first; empty for new docs.
    int jobs = 1;
    std::size_t batch_size = 200;
    std::string feed_filter = "auto";
    std::string log_level = "info";
    int worker = 0;      ///< Above 0: one of several workers on these steps, named by it.
    double lease_s = 0;  ///< Claims with this lease, in seconds; 0: none.
    std::string shard;   ///< "K/N": only the docs of this share of the ids; empty: all.
    int callback_ms = 0; ///< How long each callback sleeps.
};

/// `edw bench step` (hidden): one listener of the synthetic pipeline, run by `bench pipeline`,
/// with one step or several on one feed. Prints "ready", then "recorded <count>" (of its last
/// step) whenever the count changes, and "feed_rows <count>"
/// when it stops, which it does at the end of its standard input, so that it never outlives the
/// bench.
int bench_step(const GlobalOptions& global, const BenchStepOptions& options);

} // namespace edw::tools
