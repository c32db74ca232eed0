// PipelineStatus: where a pipeline's documents are, read from the database's views alone.
#pragma once

#include <edw/db/database.hpp>
#include <edw/runtime/rerun_campaign.hpp>
#include <edw/runtime/step_pause.hpp>
#include <edw/runtime/step_workers.hpp>
#include <edw/status/state_counts.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace edw {

/// The view, in the pipeline's design doc, that status reads (design-docs/process/views/steps).
inline constexpr const char* steps_view = "steps";
/// The design doc field declaring the pipeline's steps (from `pipeline.json` in its folder).
inline constexpr const char* pipeline_field = "edw_pipeline";

/// One step of a pipeline: its name and the position it takes documents from (0 for new docs,
/// or the name of the step before it).
struct PipelineStep {
    std::string name;
    nlohmann::json after = 0;
};

/// Reads the `edw_pipeline` declaration: an array whose items are a step name (following the item
/// before it, the first following new docs) or `{"name": ..., "after": <step name or 0>}`.
/// Throws ConfigError saying what is wrong with it (a name declared twice, steps that follow
/// each other in a loop).
std::vector<PipelineStep> parse_pipeline(const nlohmann::json& declaration);

/// A worker's live claims at one step.
struct WorkerClaims {
    std::string worker;
    std::uint64_t docs = 0;
};

/// A worker of a step as its record says, and what that means at the time status was read.
struct WorkerSeen {
    WorkerRecord record;
    WorkerLiveness liveness = WorkerLiveness::live;
    /// "running" or "paused" while live, else "stopped" or "dead".
    [[nodiscard]] std::string state() const;
    /// Since when it is in that state: its start while live, its last beat after.
    [[nodiscard]] const std::string& since() const;
};

/// How many minutes the recent rate looks back (the current minute counted as one).
inline constexpr int rate_minutes = 5;
/// The shortest time a recent rate is taken over, so that one doc just done is not a huge rate.
inline constexpr std::chrono::seconds shortest_rate_span{5};

/// Docs done over a span of time.
struct RecentRate {
    std::uint64_t docs = 0;
    double seconds = 0;
    [[nodiscard]] double per_second() const
    {
        return seconds > 0 ? static_cast<double>(docs) / seconds : 0;
    }
};

/// The documents of one step.
struct StepStatus {
    PipelineStep step;
    bool declared = false; ///< From the design doc, rather than seen in the documents.
    /// Seen in the docs (done, failed, retrying or claimed) but not in the pipeline the design
    /// doc declares: no doc waits for it (`step.after` is null), and the docs after it are
    /// stranded unless a declared step takes them from there.
    bool retired = false;
    std::uint64_t waiting = 0; ///< At the step's position, not claimed and not retrying.
    std::vector<WorkerClaims> in_progress;           ///< Claims that have not expired.
    std::uint64_t retrying = 0;                      ///< Failed with attempts left.
    std::uint64_t failed = 0;                        ///< Parked as failed:<step>.
    std::uint64_t done = 0;                          ///< Process entries of this step.
    std::optional<std::string> oldest_waiting_since; ///< ISO 8601.
    std::optional<double> oldest_waiting_seconds;
    /// Docs done per minute over the last hour, oldest first; the last is the current minute.
    std::vector<std::uint64_t> done_per_minute;
    std::optional<StepPause> pause; ///< Set while `edw pause` holds the step.
    /// The step's workers (`_local/edw-workers-<step>`): live ones, and those that stopped or
    /// died in the last day; oldest start first.
    std::vector<WorkerSeen> worker_records;
    /// Where the recent rate's span starts: when the step was busy the minute before the last
    /// `rate_minutes` minutes, their start; else the first doc done in them (to the second when
    /// the steps view gives entry dates, else the start of its minute). Unset when none was.
    std::optional<std::chrono::system_clock::time_point> recent_since;
    [[nodiscard]] std::uint64_t in_progress_total() const;
    /// Docs done in the last `minutes` minutes (the current minute counted as one).
    [[nodiscard]] std::uint64_t done_in_last(int minutes) const;
    /// The docs done in the last `rate_minutes` minutes over the time from `recent_since` to
    /// `now` (at least `shortest_rate_span`), rather than over the whole window: 50 docs done in
    /// the last second are 10/s, not 10/min. With none done, 0 over the window.
    [[nodiscard]] RecentRate recent_rate(std::chrono::system_clock::time_point now) const;
};

/// A rerun as the status shows it: its record, and how far the docs it sent back have gone since.
struct RerunSeen {
    RerunCampaign campaign;
    std::string state; ///< campaign.state_at(the status's time)
    /// Docs whose last `edw_reruns` item is this campaign's (a later rerun of a doc takes it).
    std::uint64_t marked = 0;
    /// Of those, the docs that have passed the campaign's step again.
    std::uint64_t run_again = 0;
};

/// How many finished (done, interrupted, failed) reruns the status shows, the newest, of those
/// started in the last `reruns_shown_days` days; running ones are always shown.
inline constexpr std::size_t reruns_shown = 10;
inline constexpr int reruns_shown_days = 7;

/// The reruns to show (every running one, and the newest others), oldest first, each with its
/// docs counted by one grouped query on the steps view's "rerun" rows.
std::vector<RerunSeen> read_reruns(Database& database, const std::string& design,
                                   std::chrono::system_clock::time_point now);

nlohmann::json to_json(const RerunSeen& rerun);

/// Where every document of a database is.
struct PipelineStatus {
    std::string database;          ///< Database::describe().
    std::string time;              ///< When it was read, ISO 8601.
    std::vector<StepStatus> steps; ///< Declared steps first, in order, then those seen in docs.
    /// Docs per position (the last step done, "0" for new docs): the lastproc view's counts.
    std::map<std::string, std::uint64_t> positions;
    /// Docs past the pipeline's end: whose last step is one of the pipeline's (the declared
    /// steps, or without a declaration those seen in the docs) that none of its steps follows.
    std::uint64_t finished = 0;
    /// `finished` per last step (the pipeline's ends: one per branch).
    std::map<std::string, std::uint64_t> finished_at;
    /// Docs after a step that is not in the pipeline (retired, or an unknown name) and that no
    /// step takes docs from, per position: no step will take them.
    std::map<std::string, std::uint64_t> stranded;
    /// Good docs whose `process` no step can route, per reason ("process is not an array", "the
    /// last process entry has no name"): the lastproc view leaves them out.
    std::map<std::string, std::uint64_t> unroutable;
    /// Docs per state, from `_design/states` when the database has it (see state_counts.hpp).
    std::vector<StateGroup> states;
    /// The reruns started on the database that are worth showing (read_reruns).
    std::vector<RerunSeen> reruns;
};

/// How many minutes of throughput PipelineStatus keeps.
inline constexpr int throughput_minutes = 60;

/// Reads the status of the pipeline whose design doc is `_design/<design>`: a handful of grouped
/// queries on its `steps` view, never a read of the docs themselves. With a declared pipeline
/// (`edw_pipeline`), its steps are the live ones and any other step seen in the docs is retired;
/// without one, the steps seen in the docs make the pipeline. (A server answers them from
/// the reductions in its index; the embedded store scans the grouped rows.) Adds the state
/// counts of `_design/states` when there is one; with only that design doc, the status has no
/// steps. Throws ConfigError when neither design doc is there, or the pipeline's has no `steps`
/// view (with the command that adds it), and what the queries throw.
PipelineStatus read_pipeline_status(Database& database, const std::string& design,
                                    std::chrono::system_clock::time_point now);

nlohmann::json to_json(const PipelineStatus& status);

/// One page of the docs waiting at, or parked after failing at, a step, oldest first.
struct DocPage {
    struct Row {
        std::string id;
        nlohmann::json since;  ///< ISO 8601 text, or null when the doc does not say.
        nlohmann::json detail; ///< For failed docs: {message, attempt}; else null.
    };
    std::vector<Row> rows;
    std::uint64_t total = 0;
};

enum class DocList { waiting, failed, retrying, unroutable };

/// Rows `skip`..`skip+limit` of `list` at `step` (whose position is `step.after`); for
/// `unroutable`, of every unroutable doc, `step` unused, the reason as `detail`.
DocPage list_docs(Database& database, const std::string& design, const PipelineStep& step,
                  DocList list, std::uint64_t skip, std::uint64_t limit);

nlohmann::json to_json(const DocPage& page);

} // namespace edw
