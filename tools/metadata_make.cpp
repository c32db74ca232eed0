// edw metadata make: create EDELWEISS-shaped metadata documents for a new run.
#include "command.hpp"

#include <edw/app/open_database.hpp>
#include <edw/util/error.hpp>
#include <edw/util/exit_status.hpp>
#include <edw/util/progress.hpp>
#include <edw/util/utc_time.hpp>
#include <edw/workflow/metadata.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <random>

namespace edw::tools {
namespace {

struct MetadataOptions {
    int count = 1;
    std::string run;
    int batch = 500;
};

// The highest id of a metadata doc: the runs are numbered, so this names the latest run.
std::optional<std::string> highest_metadata_id(Database& database)
{
    ViewQuery query;
    query.descending = true;
    query.limit = 100;
    for (;;) {
        const auto page = database.all_docs(query);
        for (const auto& row : page.rows) {
            if (is_metadata_id(row.id)) {
                return row.id;
            }
        }
        if (page.rows.size() < *query.limit) {
            return std::nullopt;
        }
        // Ids are unique, so starting at the last one and skipping it is exact here.
        query.startkey = page.rows.back().key;
        query.skip = 1;
    }
}

// True when any doc of `run` exists (ids "<run>_<number>").
bool run_exists(Database& database, const std::string& run)
{
    ViewQuery query;
    query.startkey = run + "_";
    query.endkey = run + "_\uffff";
    query.limit = 1;
    return !database.all_docs(query).rows.empty();
}

// The run after the highest one. Ids sort as text, so "ma22a999_..." sorts above
// "ma22a1000_...": after the textual highest, step on while the next run already has docs.
std::string next_free_run(Database& database)
{
    std::string run = next_run_name(highest_metadata_id(database));
    while (run_exists(database, run)) {
        run = next_run_name(run + "_000");
    }
    return run;
}

int make_metadata(const GlobalOptions& global, const MetadataOptions& options)
{
    const auto database = open_database(load_tool_settings(global));
    const std::string run = options.run.empty() ? next_free_run(*database) : options.run;
    if (!options.run.empty() && run_exists(*database, run)) {
        // Nothing would be created: an existing doc is never overwritten.
        std::cerr << "edw: run " << run << " already has docs in " << database->describe() << " ("
                  << run
                  << "_000 ...); metadata make never overwrites a doc: give another --run, or "
                     "none for the next free run\n";
        return exit_failure;
    }
    std::mt19937_64 rng(std::random_device{}());
    Progress progress("run " + run, static_cast<std::uint64_t>(options.count), "docs");
    int created = 0;
    std::vector<std::string> refused;
    for (int first = 0; first < options.count; first += options.batch) {
        const int last = std::min(options.count, first + options.batch);
        std::vector<nlohmann::json> docs;
        docs.reserve(static_cast<std::size_t>(last - first));
        for (int number = first; number < last; ++number) {
            docs.push_back(make_metadata_doc(run, number, epoch_seconds_now(), rng));
        }
        const auto results = database->bulk_save(docs);
        for (const auto& result : results) {
            if (result.ok()) {
                ++created;
            } else {
                // An existing doc is never overwritten: a new doc without _rev conflicts with it.
                refused.push_back(result.id + " (" + result.error + ")");
            }
        }
        progress.advance(static_cast<std::uint64_t>(last - first));
    }
    progress.finish();
    std::cout << "created " << created << " docs of run " << run << " in " << database->describe()
              << "\n";
    if (!refused.empty()) {
        std::cerr << "edw: " << refused.size()
                  << " docs were not created (existing docs are never overwritten), for example "
                  << refused.front() << "\n";
        return 1;
    }
    return 0;
}

} // namespace

void add_metadata_commands(CLI::App& app, const GlobalOptions& global, Action& action)
{
    auto* metadata = app.add_subcommand("metadata", "Generate EDELWEISS metadata documents");
    metadata->require_subcommand(1);
    metadata->fallthrough();

    auto* make = metadata->add_subcommand(
        "make", "Create N new documents for the run after the highest existing one");
    make->fallthrough();
    auto options = std::make_shared<MetadataOptions>();
    make->add_option("count", options->count, "How many documents")
        ->check(CLI::Range(1, 100'000'000))
        ->capture_default_str();
    make->add_option("--run", options->run, "Run name (default: the next run, e.g. ma22a001)");
    make->add_option("--batch", options->batch, "Documents per _bulk_docs request")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
    make->callback([&action, &global, options] {
        action = [&global, options] { return make_metadata(global, *options); };
    });
}

} // namespace edw::tools
