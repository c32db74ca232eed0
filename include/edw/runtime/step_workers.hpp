// StepWorkers: the workers of a step, each announcing itself and beating in one `_local` doc per
// step, so that every other worker and `edw status` can list them, live or dead since when.
#pragma once

#include <edw/db/database.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edw {

/// One worker of a step, as it last wrote itself.
struct WorkerRecord {
    std::string name; ///< RunnerOptions::worker: "<host>:<pid>/<listener>" unless named.
    std::string host;
    long pid = 0;
    std::string listener;
    std::string started; ///< ISO 8601.
    std::string beat;    ///< The last heartbeat (or the stop), ISO 8601.
    double beat_every_s = 0;
    /// "running", "paused", "stopping" (gave back what it had not started, finishes what
    /// runs) or "stopped".
    std::string state;
    long done = 0;    ///< Results and failures recorded since it started.
    long in_hand = 0; ///< Docs queued, claimed or running in it.
    std::optional<double> lease_s;
    std::string shard; ///< "K/N", or empty for the whole step.
    /// Stopping or stopped: the docs it gave back, claimed and not started, which the step's
    /// other workers then take before anything else (the feed may bring them back late).
    std::vector<std::string> gave_back;
};

/// What a record says of its worker at a time.
enum class WorkerLiveness {
    live,
    stopped, ///< It said so: stopped cleanly since `beat`.
    dead,    ///< Silent for three heartbeats (or its pid is gone on this host): dead since `beat`.
};

/// The `_local` doc that lists `step`'s workers: in no feed, view or replication.
std::string workers_doc_id(std::string_view step);

/// The records of `step`'s workers, oldest start first. Throws what the read throws.
std::vector<WorkerRecord> read_workers(Database& database, std::string_view step);

/// Writes `record` over the one of the same name (or adds it), dropping records stopped or dead
/// for more than a day; written again after a 409, or when a read-back shows that a concurrent
/// write dropped it (CouchDB writes `_local` docs without checking `_rev`). Returns the records
/// as written. Throws what the write throws.
std::vector<WorkerRecord> write_worker(Database& database, std::string_view step,
                                       const WorkerRecord& record);

/// `record`'s worker at `now`. On `this_host`, a record whose pid runs no more is dead at once:
/// a listener restarted after a crash is not kept waiting by its own ghost.
WorkerLiveness liveness(const WorkerRecord& record, std::chrono::system_clock::time_point now,
                        std::string_view this_host);

/// How a worker starting on a step goes along with the live ones already there.
struct JoinDecision {
    bool refused = false;
    std::string why; ///< Why it is refused, or how it joins, for the log.
    /// Set when a worker started with neither --lease nor --shard joins workers that all claim
    /// with a lease: it claims with theirs (the longest).
    std::optional<double> lease_s;
};

/// Whether `me` may run beside `others` (the step's live workers but itself). Workers share a
/// step by claiming each doc (all with a lease) or by owning shares (all with one count, each
/// its own share); anything else would run docs twice.
JoinDecision decide_join(const WorkerRecord& me, const std::vector<WorkerRecord>& others);

/// This machine's host name, as records name it.
std::string this_host_name();

} // namespace edw
