// edw metadata make: create EDELWEISS-shaped metadata documents for a new run.
#include "command.hpp"

#include <edw/app/open_database.hpp>
#include <edw/util/error.hpp>
#include <edw/util/exit_status.hpp>
#include <edw/util/progress.hpp>
#include <edw/util/utc_time.hpp>
#include <edw/workflow/metadata.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>

namespace edw::tools {
namespace {

struct MetadataOptions {
    int count = 1;
    std::string run;
    int batch = 500;
    std::string raw_file_directory; ///< --with-files: empty, docs name files that do not exist.
};

int make_metadata(const GlobalOptions& global, const MetadataOptions& options)
{
    const auto database = open_database(load_tool_settings(global));
    if (!options.run.empty() && run_exists(*database, options.run)) {
        // Nothing would be created: an existing doc is never overwritten.
        std::cerr << "edw: run " << options.run << " already has docs in " << database->describe()
                  << " (" << options.run
                  << "_000 ...); metadata make never overwrites a doc: give another --run, or "
                     "none for the next free run\n";
        return exit_failure;
    }
    const std::string run = options.run.empty() ? next_free_run(*database) : options.run;
    Progress progress("run " + run, static_cast<std::uint64_t>(options.count), "docs");
    const MetadataRun made = write_metadata_run(
        *database, run, options.count, options.batch,
        [&progress](std::uint64_t docs) { progress.advance(docs); }, options.raw_file_directory);
    const int created = made.created;
    const auto& refused = made.refused;
    progress.finish();
    std::cout << "created " << created << " docs of run " << run << " in " << database->describe();
    if (!options.raw_file_directory.empty()) {
        std::cout
            << ", their raw files in "
            << std::filesystem::absolute(options.raw_file_directory).lexically_normal().string();
    }
    std::cout << "\n";
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
    make->add_option("--with-files", options->raw_file_directory,
                     "Also write each doc's raw file into DIR (created if missing): synthetic "
                     "detector traces, <_id>.edwtrace, 4 KB, the same for the same _id; the doc's "
                     "original_file and md5sum then name that file and its MD5. Without it, docs "
                     "name /mnt/data/<_id>.root, which exists nowhere, as the original ones did")
        ->type_name("DIR");
    make->callback([&action, &global, options] {
        action = [&global, options] { return make_metadata(global, *options); };
    });
}

} // namespace edw::tools
