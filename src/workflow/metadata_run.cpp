// Metadata runs: which run comes next in a database, and writing a run's docs in batches.
#include "edw/workflow/metadata.hpp"

#include <edw/util/error.hpp>
#include <edw/util/utc_time.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <system_error>

namespace edw {
namespace {

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

} // namespace

bool run_exists(Database& database, const std::string& run)
{
    ViewQuery query;
    query.startkey = run + "_";
    query.endkey = run + "_\uffff";
    query.limit = 1;
    return !database.all_docs(query).rows.empty();
}

std::string next_free_run(Database& database)
{
    // Ids sort as text, so "ma22a999_..." sorts above "ma22a1000_...": after the textual
    // highest, step on while the next run already has docs.
    std::string run = next_run_name(highest_metadata_id(database));
    while (run_exists(database, run)) {
        run = next_run_name(run + "_000");
    }
    return run;
}

MetadataRun write_metadata_run(Database& database, const std::string& run, int count, int batch,
                               const std::function<void(std::uint64_t)>& advance,
                               const std::filesystem::path& raw_file_directory)
{
    if (count < 0 || batch < 1) {
        throw ConfigError("metadata: the count must be 0 or more and the batch 1 or more");
    }
    if (!raw_file_directory.empty()) {
        std::error_code error;
        std::filesystem::create_directories(raw_file_directory, error);
        if (error) {
            std::string reason = error.message();
            reason.front() =
                static_cast<char>(std::tolower(static_cast<unsigned char>(reason.front())));
            throw StoreError("cannot create the raw file directory " + raw_file_directory.string() +
                             ": " + reason);
        }
    }
    MetadataRun made{.run = run, .created = 0, .refused = {}};
    std::mt19937_64 rng(std::random_device{}());
    for (int first = 0; first < count; first += batch) {
        const int last = std::min(count, first + batch);
        std::vector<nlohmann::json> docs;
        docs.reserve(static_cast<std::size_t>(last - first));
        for (int number = first; number < last; ++number) {
            docs.push_back(make_metadata_doc(run, number, epoch_seconds_now(), rng));
            if (!raw_file_directory.empty()) {
                attach_raw_file(docs.back(), raw_file_directory);
            }
        }
        for (const auto& result : database.bulk_save(docs)) {
            if (result.ok()) {
                ++made.created;
            } else {
                // A new doc without _rev conflicts with an existing one, which stays as it is.
                made.refused.push_back(result.id + " (" + result.error + ")");
            }
        }
        if (advance) {
            advance(static_cast<std::uint64_t>(last - first));
        }
    }
    return made;
}

MetadataRun make_metadata_run(Database& database, std::string run, int count, int batch,
                              const std::function<void(std::uint64_t)>& advance)
{
    if (run.empty()) {
        run = next_free_run(database);
    } else if (run_exists(database, run)) {
        throw ConfigError("run " + run + " already has docs in " + database.describe() +
                          "; an existing doc is never overwritten: give another run, or none "
                          "for the next free run");
    }
    return write_metadata_run(database, run, count, batch, advance);
}

} // namespace edw
