// PipelineStatus: where a pipeline's documents are, read from the database's views alone.
#pragma once

#include <edw/db/database.hpp>
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
/// Throws ConfigError saying what is wrong with it.
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

/// The documents of one step.
struct StepStatus {
    PipelineStep step;
    bool declared = false;     ///< From the design doc, rather than seen in the documents.
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
    [[nodiscard]] std::uint64_t in_progress_total() const;
    /// Docs done in the last `minutes` minutes (the current minute counted as one).
    [[nodiscard]] std::uint64_t done_in_last(int minutes) const;
};

/// Where every document of a database is.
struct PipelineStatus {
    std::string database;          ///< Database::describe().
    std::string time;              ///< When it was read, ISO 8601.
    std::vector<StepStatus> steps; ///< Declared steps first, in order, then those seen in docs.
    /// Docs per position (the last step done, "0" for new docs): the lastproc view's counts.
    std::map<std::string, std::uint64_t> positions;
    /// Docs past the pipeline's last step (at a known step's position that no step follows).
    std::uint64_t finished = 0;
    /// Docs after a step whose place in the pipeline is unknown (an undeclared name, or a step
    /// taking from a position a declared step takes), per position: no step will take them.
    std::map<std::string, std::uint64_t> stranded;
    /// Good docs whose `process` no step can route, per reason ("process is not an array", "the
    /// last process entry has no name"): the lastproc view leaves them out.
    std::map<std::string, std::uint64_t> unroutable;
    /// Docs per state, from `_design/states` when the database has it (see state_counts.hpp).
    std::vector<StateGroup> states;
};

/// How many minutes of throughput PipelineStatus keeps.
inline constexpr int throughput_minutes = 60;

/// Reads the status of the pipeline whose design doc is `_design/<design>`: a handful of grouped
/// queries on its `steps` view, never a read of the docs themselves. (A server answers them from
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
