// The Gemini archive queues example: its documents, its queue items' life cycle, its programs.
#pragma once

#include <edw/db/database.hpp>
#include <edw/step/periodic_task.hpp>
#include <edw/step/state_machine.hpp>
#include <edw/step/step.hpp>
#include <edw/util/error.hpp>
#include <edw/util/md5.hpp>
#include <edw/util/utc_time.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gemini {

// Documents, all in one database:
//   file-<name>                  a file as last ingested: {type: "file", name, size, mtime (ISO
//                                text with nanoseconds), md5, night, obstype, ingested (ISO),
//                                ingest_count, ingest_item (the item whose ingest wrote it)}
//   ingest-<name>-<mtime>-<size> an ingest queue item the watcher made for a new or changed file
//   ingest-<name>-recent-<time>  one the watcher's re-queue of recent files made
//   <queue>-<name>-<md5>         an export, preview or calcache item ingest made for a content
//   calcache-<name>              a file's calibration associations: {type: "calcache", name,
//                                md5, night, obstype, associations: [{name, obstype}]}
// A queue item is {type: "queue", queue, file, md5 (not for ingest), requested, reason, state,
// history}; its worker's result sets `action` and friends when it moves it to done.
inline const std::vector<std::string> queues = {"ingest", "export", "preview", "calcache"};

inline std::string file_doc_id(const std::string& name)
{
    return "file-" + name;
}

inline std::string calcache_doc_id(const std::string& name)
{
    return "calcache-" + name;
}

/// The item ingest makes for one content of a file: queued once, whoever asks again.
inline std::string queued_item_id(const std::string& queue, const std::string& name,
                                  const std::string& md5)
{
    return queue + "-" + name + "-" + md5;
}

/// A queue item's life: queued, then done, recorded in `history`.
inline const edw::StateMachine& queue_machine()
{
    static const auto machine = edw::StateMachine::parse(nlohmann::json::parse(R"({
        "field": "state", "history": "history", "initial": ["queued"],
        "states": {"queued": ["done"], "done": []}})"));
    return machine;
}

/// A new queue item, in state queued: its history says who asked and why.
inline nlohmann::json queue_item(const std::string& id, const std::string& queue,
                                 const std::string& file, nlohmann::json fields,
                                 const std::string& by, const std::string& reason)
{
    const std::string now = edw::utc_now_iso8601();
    nlohmann::json item = {{"_id", id},    {"type", "queue"},  {"queue", queue},
                           {"file", file}, {"requested", now}, {"reason", reason}};
    item.update(fields);
    return queue_machine().apply(item, "queued", nullptr, by, now, std::nullopt, reason);
}

/// Writes new queue items in one request; returns the ids written. An id that exists already
/// is an item queued before (a second scan, a restarted ingest): not an error.
inline std::vector<std::string> create_items(edw::Database& database,
                                             const std::vector<nlohmann::json>& items)
{
    std::vector<std::string> created;
    if (items.empty()) {
        return created;
    }
    for (const auto& result : database.bulk_save(items)) {
        if (result.ok()) {
            created.push_back(result.id);
        } else if (!result.is_conflict()) {
            throw edw::Error("cannot queue " + result.id + " in " + database.describe() + ": " +
                             result.error + " " + result.reason);
        }
    }
    return created;
}

/// A file's size and modification time, as the watcher compares them.
struct FileStamp {
    std::uintmax_t size = 0;
    std::int64_t mtime_ns = 0; ///< Since the Unix epoch.

    /// The modification time as ISO 8601 UTC with nanoseconds: the text sorts as the time, and
    /// unlike a 19-digit number it survives a JavaScript server unrounded.
    [[nodiscard]] std::string mtime_text() const
    {
        const auto seconds = mtime_ns / 1'000'000'000;
        const auto fraction = std::to_string(mtime_ns % 1'000'000'000);
        const auto whole = edw::iso8601(std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::seconds(seconds))));
        return whole.substr(0, 19) + "." + std::string(9 - fraction.size(), '0') + fraction + "Z";
    }
    friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

/// Throws std::filesystem::filesystem_error naming the path when it cannot be read.
inline FileStamp stamp_of(const std::filesystem::path& path)
{
    const auto written = std::chrono::file_clock::to_sys(std::filesystem::last_write_time(path));
    return {.size = std::filesystem::file_size(path),
            .mtime_ns =
                std::chrono::duration_cast<std::chrono::nanoseconds>(written.time_since_epoch())
                    .count()};
}

/// What ingest reads from a file's header: the night it was taken (from DATE-OBS) and its
/// OBSTYPE (OBJECT for science, BIAS or FLAT for calibrations).
struct Header {
    std::string night;
    std::string obstype;
};

/// Reads the `KEY = 'value'` lines before END; a key that is missing reads as empty.
inline Header read_header(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw edw::StoreError("cannot read the header of " + path.string());
    }
    Header header;
    std::string line;
    while (std::getline(in, line) && line != "END") {
        const auto equals = line.find('=');
        const auto open = line.find('\'');
        const auto close = line.rfind('\'');
        if (equals == std::string::npos || open == std::string::npos || close <= open) {
            continue;
        }
        const std::string key = line.substr(0, line.find_first_of(" =", 0));
        const std::string value = line.substr(open + 1, close - open - 1);
        if (key == "DATE-OBS") {
            header.night = value;
        } else if (key == "OBSTYPE") {
            header.obstype = value;
        }
    }
    return header;
}

/// Where the workers find files and put what they make.
struct WorkerOptions {
    std::string queue;
    std::string name; ///< Names the worker in claims and in the items' history.
    std::filesystem::path dir = ".";
    std::filesystem::path archive = "archive";
    std::filesystem::path previews = "previews";
    /// The rest of the work, simulated (Gemini's ingest reads whole headers into many tables,
    /// its export sends the file across the Pacific): slept after the real work's checks.
    std::chrono::milliseconds work{0};
};

/// The step serving `queue`: items {type: queue, queue, state: queued}, each moved to done by
/// `run`'s result ({"to": "done", "changes": {"action": ...}}), recorded as worker `by`.
inline edw::Step queue_step(const std::string& queue, const std::string& by,
                            std::function<nlohmann::json(const nlohmann::json& item)> run)
{
    edw::Step step;
    step.name = queue;
    step.selection =
        edw::StepSelection::matching({{"type", "queue"}, {"queue", queue}, {"state", "queued"}});
    step.run = std::move(run);
    step.record = edw::record_state_move(queue_machine(), by);
    return step;
}

/// The four workers' steps (ingest.cpp, export.cpp, preview.cpp, calcache.cpp).
edw::Step ingest_step(edw::Database& database, const WorkerOptions& options);
edw::Step export_step(const WorkerOptions& options);
edw::Step preview_step(const WorkerOptions& options);
edw::Step calcache_step(edw::Database& database, const WorkerOptions& options);

/// Export, preview and calcache work on the content ingest saw: nothing when the file still
/// has it, otherwise the result that closes the item as superseded (a newer ingest queued its
/// own item). Throws when the file cannot be read.
inline std::optional<nlohmann::json> superseded(const std::filesystem::path& file,
                                                const nlohmann::json& item)
{
    const std::string queued = item.value("md5", "");
    const std::string now = edw::md5_file_hex(file);
    if (now == queued) {
        return std::nullopt;
    }
    return nlohmann::json{{"to", "done"},
                          {"changes", {{"action", "superseded"}, {"current_md5", now}}},
                          {"note", "the file changed since it was queued"}};
}

/// The watcher's timed work (watcher.cpp): scan `dir` every `scan` for new or changed files,
/// and every `requeue_every` queue again the files modified in the last `recent`.
struct WatchOptions {
    std::filesystem::path dir;
    std::chrono::milliseconds scan{std::chrono::seconds(5)};
    std::chrono::milliseconds requeue_every{std::chrono::minutes(15)};
    std::chrono::seconds recent{std::chrono::hours(96)};
};
std::vector<edw::PeriodicTask> watch_tasks(edw::Database& database, const WatchOptions& options);

/// The scripted scenario (scenario.cpp), one phase per run, so that `run` can stop and start
/// workers between them: write the files (returning once `until_ingested` have file docs, or
/// all when 0), wait until all are ingested, change some, wait for the changes' ingest and a
/// re-queue of every file, check everything, check `edw status`.
struct ScenarioOptions {
    std::string phase;
    std::filesystem::path dir = "incoming";
    std::filesystem::path archive = "archive";
    std::filesystem::path previews = "previews";
    int files = 200;
    int until_ingested = 0;
    std::string until_claimed_by;      ///< write: and return only while this worker holds an item.
    std::filesystem::path status_file; ///< The output of `edw status --json`.
    std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};
/// Prints `ok: ...` and `FAIL: ...` lines; returns 0 when every check passed, else 1.
int scenario(edw::Database& database, const ScenarioOptions& options);

} // namespace gemini
