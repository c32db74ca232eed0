// The watcher: a scan that queues new and changed files for ingest, and the periodic re-queue of
// recent files (Gemini's cron job calling add_to_ingest_queue), as two periodic tasks.
#include "gemini.hpp"

#include <edw/util/log.hpp>

#include <cctype>
#include <map>

namespace gemini {
namespace {

struct Listed {
    std::string name;
    FileStamp stamp;
};

// The regular files of `dir`, without dotfiles: a file being written appears under a dotted
// name and is renamed into place when complete, as copy_from_dhs leaves DHS files.
std::vector<Listed> list_files(const std::filesystem::path& dir)
{
    std::vector<Listed> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        std::error_code error;
        if (name.empty() || name[0] == '.' || !entry.is_regular_file(error)) {
            continue;
        }
        // A file removed since the listing is simply not there this time.
        const auto size = entry.file_size(error);
        const auto written = entry.last_write_time(error);
        if (error) {
            continue;
        }
        files.push_back(
            {name,
             {.size = size,
              .mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::file_clock::to_sys(written).time_since_epoch())
                              .count()}});
    }
    return files;
}

// Every file doc, by file name, in one request.
std::map<std::string, nlohmann::json> file_docs(edw::Database& database)
{
    edw::ViewQuery query;
    query.startkey = file_doc_id("");
    query.endkey = file_doc_id("\xef\xbf\xb0"); // U+FFF0, after any name
    query.include_docs = true;
    std::map<std::string, nlohmann::json> docs;
    for (auto& row : database.all_docs(query).rows) {
        if (row.doc && row.doc->is_object()) {
            docs.emplace(row.doc->value("name", ""), std::move(*row.doc));
        }
    }
    return docs;
}

// An item per new or changed file, named by the file's stamp: the next scans, which see the
// same stamp until the ingest is done, ask for the same item and get a 409.
void scan(edw::Database& database, const std::filesystem::path& dir)
{
    const auto files = list_files(dir);
    const auto docs = file_docs(database);
    std::vector<nlohmann::json> items;
    for (const auto& file : files) {
        const auto doc = docs.find(file.name);
        const bool known = doc != docs.end();
        if (known && doc->second.value("mtime", "") == file.stamp.mtime_text() &&
            doc->second.value("size", std::uintmax_t{0}) == file.stamp.size) {
            continue;
        }
        items.push_back(queue_item(
            "ingest-" + file.name + "-" + std::to_string(file.stamp.mtime_ns) + "-" +
                std::to_string(file.stamp.size),
            "ingest", file.name, nlohmann::json::object(), "watcher", known ? "changed" : "new"));
    }
    const auto queued = create_items(database, items);
    if (!queued.empty()) {
        edw::log_info("scan of " + dir.string() + ": " + std::to_string(files.size()) + " files, " +
                      std::to_string(queued.size()) + " queued for ingest");
    }
}

// An item per file modified in the last `recent`, with an id of its own each time: the ingest
// finds most of them unchanged, and catches what changed without a new mtime or size.
void requeue(edw::Database& database, const std::filesystem::path& dir, std::chrono::seconds recent)
{
    const auto now = std::chrono::system_clock::now();
    const auto since =
        std::chrono::duration_cast<std::chrono::nanoseconds>((now - recent).time_since_epoch())
            .count();
    std::string stamp;
    for (const char c : edw::iso8601(now)) {
        if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
            stamp += c;
        }
    }
    std::vector<nlohmann::json> items;
    for (const auto& file : list_files(dir)) {
        if (file.stamp.mtime_ns >= since) {
            items.push_back(queue_item("ingest-" + file.name + "-recent-" + stamp, "ingest",
                                       file.name, nlohmann::json::object(), "watcher", "recent"));
        }
    }
    const auto queued = create_items(database, items);
    edw::log_info("re-queued " + std::to_string(queued.size()) + " files modified in the last " +
                  std::to_string(recent.count()) + " s");
}

} // namespace

std::vector<edw::PeriodicTask> watch_tasks(edw::Database& database, const WatchOptions& options)
{
    return {{.name = "scan " + options.dir.string(),
             .every = options.scan,
             .run = [&database, dir = options.dir] { scan(database, dir); }},
            {.name = "re-queue recent files",
             .every = options.requeue_every,
             .run = [&database, dir = options.dir, recent = options.recent] {
                 requeue(database, dir, recent);
             }}};
}

} // namespace gemini
