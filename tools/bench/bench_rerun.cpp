// edw bench rerun: `edw rerun` over N docs that have passed both EDELWEISS steps, against the
// database's own _bulk_docs rate for the same docs.
#include "bench.hpp"

#include <edw/app/open_database.hpp>
#include <edw/util/error.hpp>
#include <edw/util/exit_status.hpp>
#include <edw/util/progress.hpp>
#include <edw/workflow/metadata.hpp>
#include <edw/workflow/rerun.hpp>

#include <unistd.h>

#include <cmath>
#include <iostream>

namespace edw::tools {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double rounded(double value)
{
    return std::round(value * 10) / 10;
}

// A metadata doc that has passed move_to_sps and signal_processing, as version 1.0 wrote them.
nlohmann::json processed_doc(int file, std::mt19937_64& rng)
{
    auto doc = make_metadata_doc("ma22a000", file, 1796690160.0, rng);
    const std::string id = doc["_id"].get<std::string>();
    doc["process"] = nlohmann::json::array({{{"name", "move_to_sps"},
                                             {"hostname", "ccage"},
                                             {"file", "/sps/edelweiss/data/" + id + ".root"},
                                             {"md5sum", doc["md5sum"]},
                                             {"log", "copied"},
                                             {"step_version", "1.0"},
                                             {"date", "2026-12-01T00:00:00.000Z"}},
                                            {{"name", "signal_processing"},
                                             {"hostname", "ccage"},
                                             {"file", "/sps/edelweiss/data/" + id + ".amp.root"},
                                             {"md5sum", doc["md5sum"]},
                                             {"log", "amplitudes"},
                                             {"step_version", "1.0"},
                                             {"date", "2026-12-01T00:00:01.000Z"}}});
    return doc;
}

// Creates the docs; returns the _bulk_docs rate, docs/s.
double create_processed_docs(Database& database, std::uint64_t count, std::size_t batch)
{
    std::mt19937_64 rng(20261208);
    Progress progress("creating processed docs", count, "docs");
    const auto start = Clock::now();
    for (std::uint64_t done = 0; done < count;) {
        std::vector<nlohmann::json> docs;
        const auto size = std::min<std::uint64_t>(batch, count - done);
        for (std::uint64_t i = 0; i < size; ++i) {
            docs.push_back(processed_doc(static_cast<int>(done + i), rng));
        }
        for (const auto& result : database.bulk_save(docs)) {
            if (!result.ok()) {
                throw StoreError("creating docs: " + result.id + " was refused: " + result.error);
            }
        }
        done += size;
        progress.advance(size);
    }
    const double seconds = seconds_since(start);
    progress.finish();
    return static_cast<double>(count) / seconds;
}

struct RerunFigures {
    double seconds = 0;
    RerunCampaign campaign;
};

RerunFigures timed_rerun(Database& database, const RerunCriteria& criteria, std::size_t batch,
                         const std::string& label)
{
    RerunOptions options;
    options.batch = batch;
    auto campaign = new_campaign(criteria, "bench", "edw bench", std::chrono::system_clock::now());
    Progress progress(label, database.info().value("doc_count", std::uint64_t{0}), "docs");
    std::uint64_t shown = 0;
    const auto start = Clock::now();
    auto outcome = run_rerun(database, std::move(campaign), options,
                             [&](const RerunCampaign& now) {
                                 progress.advance(now.scanned - shown);
                                 shown = now.scanned;
                             },
                             {});
    const double seconds = seconds_since(start);
    progress.finish();
    return {seconds, std::move(outcome.campaign)};
}

} // namespace

int bench_rerun(const GlobalOptions& global, const RerunBenchOptions& options)
{
    Settings settings = load_tool_settings(global);
    const std::string backend = options.backend.empty()
                                    ? (settings.server.is_file() ? "embedded" : "server")
                                    : options.backend;
    if (backend == "server" && settings.server.is_file()) {
        throw ConfigError(
            "--backend server needs a server URL in the settings (url in edw.ini, or EDW_URL)");
    }
    const bool temporary_dir = options.dir.empty();
    const fs::path dir = bench_folder(options.dir);
    settings.database = "edw-bench-rerun-" + std::to_string(::getpid());
    if (backend == "embedded") {
        settings.server = Url::parse("file://" + (dir / "rerun.db").string());
    }
    const auto database = open_database(settings);
    database->create();

    const double bulk_rate = create_processed_docs(*database, options.docs, options.batch);
    // A tenth of the docs, by a selector that reads a field of each: what a campaign usually is.
    RerunCriteria some{.step = "signal_processing",
                       .selector = nlohmann::json{{"_id", {{"$regex", "0$"}}}}};
    const auto selected = timed_rerun(*database, some, options.batch, "rerun, a tenth");
    // Every doc, the step given by its version: the most a rerun writes.
    RerunCriteria every{.step = "signal_processing", .version = "1.0"};
    const auto all = timed_rerun(*database, every, options.batch, "rerun, every doc");

    const auto expected_tenth = (options.docs + 9) / 10;
    const bool right = selected.campaign.sent_back == expected_tenth &&
                       all.campaign.sent_back == options.docs - expected_tenth &&
                       selected.campaign.refused == 0 && all.campaign.refused == 0;
    const nlohmann::json figures = {
        {"bench", "rerun"},
        {"backend", backend},
        {"docs", options.docs},
        {"batch", options.batch},
        {"bulk_docs_per_s", rounded(bulk_rate)},
        {"tenth",
         {{"sent_back", selected.campaign.sent_back},
          {"seconds", rounded(selected.seconds * 10) / 10},
          {"docs_per_s", rounded(static_cast<double>(options.docs) / selected.seconds)}}},
        {"every",
         {{"sent_back", all.campaign.sent_back},
          {"seconds", rounded(all.seconds * 10) / 10},
          {"docs_per_s", rounded(static_cast<double>(options.docs) / all.seconds)},
          {"sent_back_per_s", rounded(static_cast<double>(all.campaign.sent_back) / all.seconds)}}},
    };
    std::cout << figures.dump() << "\n";
    if (options.keep) {
        std::cerr << "edw: bench rerun: kept " << dir.string()
                  << (backend == "server" ? " and database " + settings.database : "") << "\n";
    } else {
        if (backend == "server") {
            database->destroy();
        }
        if (temporary_dir) {
            fs::remove_all(dir);
        }
    }
    if (!right) {
        std::cerr << "edw: bench rerun: the reruns sent back " << selected.campaign.sent_back
                  << " and " << all.campaign.sent_back << " docs, expected " << expected_tenth
                  << " and " << options.docs - expected_tenth << "\n";
        return exit_failure;
    }
    return exit_ok;
}

} // namespace edw::tools
