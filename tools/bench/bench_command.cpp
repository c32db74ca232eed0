// edw bench: registers the benchmarks (`parse`, `pipeline`) and the pipeline's listener (`step`).
#include "bench.hpp"

#include <memory>

namespace edw::tools {
namespace {

void add_parse(CLI::App& bench, Action& action)
{
    auto* parse = bench.add_subcommand(
        "parse", "Changes feed parser: lines/s and MB/s over a generated continuous feed with "
                 "include_docs");
    parse->fallthrough();
    auto lines = std::make_shared<std::uint64_t>(1000000);
    auto chunk = std::make_shared<std::size_t>(65536);
    parse->add_option("--lines", *lines, "Feed lines to generate and parse")
        ->check(CLI::Range(1ULL, 100000000ULL))
        ->capture_default_str();
    parse->add_option("--chunk", *chunk, "Bytes handed to the parser at a time")
        ->check(CLI::Range(static_cast<std::size_t>(1), static_cast<std::size_t>(1) << 30))
        ->capture_default_str();
    parse->callback([&action, lines, chunk] {
        action = [lines, chunk] { return bench_parse(*lines, *chunk); };
    });
}

void add_pipeline(CLI::App& bench, const GlobalOptions& global, Action& action)
{
    auto* pipeline = bench.add_subcommand(
        "pipeline",
        "A synthetic K-step pipeline (trivial callbacks, in K listener processes or as "
        "--processes says) on a fresh database, against the database's own limit: the null "
        "pipeline (bulk create, then per step one read of the changes with docs and one "
        "_bulk_docs write back), raw _bulk_docs and single-PUT rates, creation-to-last-step "
        "latency of single docs and its floor (K+1 writes in a row), listener peak RSS, CPU "
        "seconds of the listeners and of a server on this machine. Prints one JSON line");
    pipeline->fallthrough();
    auto options = std::make_shared<PipelineBenchOptions>();
    pipeline->add_option("-n,--docs", options->docs, "Docs sent through the pipeline")
        ->check(CLI::Range(1ULL, 100000000ULL))
        ->capture_default_str();
    pipeline
        ->add_option("-k,--steps", options->steps,
                     "Steps; 2 are the EDELWEISS move_to_sps and signal_processing")
        ->check(CLI::Range(1, 20))
        ->capture_default_str();
    pipeline
        ->add_option("--processes", options->processes,
                     "Listener processes the steps are spread over, in order, each following the "
                     "feed once for its steps (1: all steps in one process; default: one per "
                     "step)")
        ->check(CLI::Range(1, 20));
    pipeline->add_option("--jobs", options->jobs, "Callbacks at once in each listener")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    pipeline
        ->add_option("--batch-size", options->batch_size,
                     "Most docs each listener writes in one _bulk_docs, as listeners take it")
        ->check(CLI::Range(static_cast<std::size_t>(1), static_cast<std::size_t>(10000)))
        ->capture_default_str();
    pipeline
        ->add_option("--backend", options->backend,
                     "embedded (a new SQLite file) or server (new databases on the settings' "
                     "server); default: the backend the settings name")
        ->check(CLI::IsMember({"embedded", "server"}));
    pipeline->add_flag("--python", options->python,
                       "The steps are trivial Python callbacks run by the package edw "
                       "(python3 -m edw.bench step; $EDW_PYTHON, default /usr/bin/python3), "
                       "not C++ ones");
    pipeline->add_flag("--backlog", options->backlog,
                       "Create the docs before starting the listeners, which then catch up on "
                       "them (default: listeners first, then the docs are created)");
    pipeline
        ->add_option("--trickle", options->trickle,
                     "Single docs sent one at a time through the idle pipeline for the latency "
                     "percentiles (0: none)")
        ->check(CLI::Range(0, 100000))
        ->capture_default_str();
    pipeline->add_option("--puts", options->puts, "Single PUTs timed for the write rate")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
    pipeline->add_option(
        "--dir", options->dir,
        "Folder for the embedded store's files and the listeners' logs (default: a "
        "new folder in $TMPDIR, removed afterwards)");
    pipeline->add_option("--design", options->design_dir,
                         "The process design doc folder (default: design-docs/process found "
                         "beside the program or in the working directory)");
    pipeline
        ->add_option("--feed-filter", options->feed_filter,
                     "How the listeners' server feeds are filtered: auto (chosen from the "
                     "server's GET /), design (the design doc's filter), selector (_selector), all "
                     "(no filter)")
        ->check(CLI::IsMember({"auto", "design", "selector", "all"}))
        ->capture_default_str();
    pipeline
        ->add_option("--listener-log-level", options->listener_log_level,
                     "The listeners' log level; debug logs every request with its time")
        ->check(CLI::IsMember({"debug", "info", "warning", "error"}))
        ->capture_default_str();
    pipeline
        ->add_option("--workers", options->workers,
                     "Listener processes for each share of the steps, each following the feed: "
                     "with --lease they share the docs through claims, without it each takes a "
                     "fixed part of them (--shard K/W, no claims: the bound claims are measured "
                     "against)")
        ->check(CLI::Range(1, 32))
        ->capture_default_str();
    pipeline
        ->add_option("--lease", options->lease_s,
                     "Each listener claims its docs with this lease, in seconds (default: no "
                     "claims)")
        ->check(CLI::Range(0.5, 3600.0));
    pipeline
        ->add_option("--callback-ms", options->callback_ms,
                     "Each callback sleeps this long, as a step that takes time (default: 0, "
                     "trivial)")
        ->check(CLI::Range(0, 600000));
    pipeline->add_flag("--keep", options->keep,
                       "Keep the databases, files and logs afterwards, and say where they are");
    pipeline->callback([&global, &action, options] {
        action = [&global, options] { return bench_pipeline(global, *options); };
    });
}

void add_replicate(CLI::App& bench, const GlobalOptions& global, Action& action)
{
    auto* replicate = bench.add_subcommand(
        "replicate",
        "edw replicate each way between a fresh embedded store and a fresh database on the "
        "server the settings name, against each side's own _bulk_docs rate for the same docs, "
        "then the latency of continuous replication (a write on the store to its arrival on the "
        "server). Prints one JSON line");
    replicate->fallthrough();
    auto options = std::make_shared<ReplicateBenchOptions>();
    replicate->add_option("-n,--docs", options->docs, "Docs replicated each way")
        ->check(CLI::Range(1ULL, 100000000ULL))
        ->capture_default_str();
    replicate->add_option("--batch", options->batch, "Docs per _bulk_docs and per batch")
        ->check(CLI::Range(static_cast<std::size_t>(1), static_cast<std::size_t>(10000)))
        ->capture_default_str();
    replicate
        ->add_option("--latency-samples", options->latency_samples,
                     "Single writes timed through continuous replication")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    replicate->add_option("--dir", options->dir, "Folder for the embedded stores (a new temp dir)");
    replicate->add_flag("--keep", options->keep, "Keep the databases and files afterwards");
    replicate->callback([&global, &action, options] {
        action = [&global, options] { return bench_replicate(global, *options); };
    });
}

void add_rerun(CLI::App& bench, const GlobalOptions& global, Action& action)
{
    auto* rerun = bench.add_subcommand(
        "rerun", "edw rerun of signal_processing over N docs that have passed both EDELWEISS "
                 "steps, on a fresh database: first a tenth of them (a selector), then the rest "
                 "(by step version), against the _bulk_docs rate creating them. Prints one JSON "
                 "line");
    rerun->fallthrough();
    auto options = std::make_shared<RerunBenchOptions>();
    rerun->add_option("-n,--docs", options->docs, "Docs in the database")
        ->check(CLI::Range(10ULL, 100000000ULL))
        ->capture_default_str();
    rerun->add_option("--batch", options->batch, "Docs per request")
        ->check(CLI::Range(static_cast<std::size_t>(1), static_cast<std::size_t>(10000)))
        ->capture_default_str();
    rerun
        ->add_option("--backend", options->backend,
                     "embedded (a new SQLite file) or server (a new database on the settings' "
                     "server); default: the backend the settings name")
        ->check(CLI::IsMember({"embedded", "server"}));
    rerun->add_option("--dir", options->dir, "Folder for the embedded store (a new temp dir)");
    rerun->add_flag("--keep", options->keep, "Keep the database and files afterwards");
    rerun->callback([&global, &action, options] {
        action = [&global, options] { return bench_rerun(global, *options); };
    });
}

void add_step(CLI::App& bench, const GlobalOptions& global, Action& action)
{
    // Run by `bench pipeline`, not by hand: hidden from --help by its empty description.
    auto* step = bench.add_subcommand("step", "");
    step->group("");
    step->fallthrough();
    auto options = std::make_shared<BenchStepOptions>();
    step->add_option("--name", options->name, "The step's name, or several in a chain: a,b,c")
        ->required();
    step->add_option("--follows", options->follows, "The step before the first (none: new docs)");
    step->add_option("--jobs", options->jobs, "Callbacks at once")->check(CLI::Range(1, 256));
    step->add_option("--batch-size", options->batch_size, "Most docs written in one request")
        ->check(CLI::Range(static_cast<std::size_t>(1), static_cast<std::size_t>(10000)));
    step->add_option("--feed-filter", options->feed_filter, "auto, design, selector or all");
    step->add_option("--log-level", options->log_level, "debug, info, warning or error");
    step->add_option("--worker", options->worker, "Which of several workers on these steps");
    step->add_option("--lease", options->lease_s, "Claims with this lease, in seconds");
    step->add_option("--shard", options->shard, "K/N: only this share of the docs");
    step->add_option("--callback-ms", options->callback_ms, "Each callback sleeps this long");
    step->callback([&global, &action, options] {
        action = [&global, options] { return bench_step(global, *options); };
    });
}

} // namespace

void add_bench_commands(CLI::App& app, const GlobalOptions& global, Action& action)
{
    auto* bench = app.add_subcommand("bench", "Benchmarks that print their figures as JSON lines");
    bench->require_subcommand(1);
    bench->fallthrough();
    add_parse(*bench, action);
    add_pipeline(*bench, global, action);
    add_replicate(*bench, global, action);
    add_rerun(*bench, global, action);
    add_step(*bench, global, action);
}

} // namespace edw::tools
