// StepRunner: runs one step of a pipeline as a long-lived listener on a database.
#pragma once

#include <edw/db/database.hpp>
#include <edw/db/seq.hpp>
#include <edw/feed/feed_filter.hpp>
#include <edw/runtime/shard.hpp>
#include <edw/step/failure_log.hpp>
#include <edw/step/step.hpp>
#include <edw/util/duration_histogram.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

namespace edw {

class FeedCheckpoint;
class SharedFeed;

/// Where a listener starts reading the feed.
enum class StartFrom {
    checkpoint, ///< Catch up on every doc waiting at the step, then follow from the saved seq
                ///< (or, on a first run, from the seq taken before the catch-up).
    now,        ///< Only changes made from now on, like the original scripts: no catch-up.
    seq,        ///< From a given seq, with no catch-up.
};

struct RunnerOptions {
    std::string listener;           ///< Names the checkpoint and the log lines.
    std::string design = "process"; ///< Design doc holding the view and the filter.
    std::string view = "lastproc";
    std::string filter = "with_process";
    /// How a server sends only this step's changes (a step chosen by its `process` position).
    /// The embedded store always reads its whole feed and applies the runner's rule.
    FeedFilter feed_filter = FeedFilter::automatic;
    int jobs = 1; ///< Callbacks running at once.
    StartFrom start = StartFrom::checkpoint;
    Seq since;                       ///< With StartFrom::seq.
    std::size_t batch_size = 200;    ///< Most documents written in one `_bulk_docs`.
    std::size_t catch_up_page = 500; ///< View rows read per catch-up request.
    std::chrono::milliseconds heartbeat{10000};
    std::chrono::milliseconds checkpoint_interval{1000};
    /// This worker's share of the step's docs; the others are left to the other shares' workers.
    Shard shard;
    /// When a callback throws: the failure is recorded on the doc, which is tried again after a
    /// growing delay, and parked (status "failed:<step>") after the last attempt.
    RetryPolicy retry;
    /// Names this worker in claims and failure records; "<host>:<pid>/<listener>" when empty.
    std::string worker;
    /// Set: several workers share the step. Each doc is claimed with a revision-checked write
    /// before its callback runs (a 409 means another worker has it), the claim is renewed while
    /// the callback runs, and a claim left by a dead worker is taken over once it expires.
    std::optional<std::chrono::milliseconds> lease;
    /// With a lease, while claimed docs wait for a worker: how long a result may wait for others
    /// to share its write. Each write costs the server an fsync and wakes every feed following
    /// the database; a worker whose callbacks take 20 ms would otherwise write every result
    /// alone (measured: 2,900 writes for 1,000 docs through two steps, against 380 with this
    /// wait, for the same speed). An idle step writes at once; zero: always at once.
    std::chrono::milliseconds busy_write_wait{250};
    /// Above zero: a callback running longer is given up. Its doc gets a failure record (retry,
    /// then parking), another thread takes its place, and its late result is dropped.
    std::chrono::milliseconds step_timeout{0};
    /// How often the step's pause (`edw pause`, a `_local` doc) is read; zero: never.
    std::chrono::milliseconds pause_check{1000};
    /// How often the worker writes its record (`_local/edw-workers-<step>`): host, pid, counts,
    /// state. Three missed beats make it dead for other workers and `edw status`. Zero: no
    /// record, and no check against the step's other workers at start.
    std::chrono::milliseconds worker_beat{5000};
    /// Called once the runner has reached its database (its checkpoint read, or the database's
    /// update_seq) and starts catching up and following: what `--daemon` and systemd wait for.
    std::function<void()> on_started;
};

/// Counters of what a runner did, for logs, tests and status pages.
struct RunnerCounts {
    std::atomic<long> recorded{0}; ///< Step results written.
    std::atomic<long> failed{0};   ///< Callbacks that threw or results that could not be saved.
    std::atomic<long> parked{0};   ///< Docs parked after their last failed attempt.
    /// Docs another worker claimed first (a 409, or seen claimed on the feed), so skipped here.
    std::atomic<long> claims_lost{0};
    std::atomic<long> taken_over{0}; ///< Docs claimed after another worker's claim expired.
    std::atomic<long> conflicts{0};  ///< Writes answered 409 and resolved by re-reading.
    std::atomic<long> dropped{0};    ///< Results dropped: the step was already recorded elsewhere.
    std::atomic<long> caught_up{0};  ///< Docs handed to the step during the start-up catch-up.
    std::atomic<long> feed_rows{0};  ///< Rows read from the feed, for this step or not.
    std::atomic<long> retries{0};    ///< Failures recorded with a time to try again.
    std::atomic<long> running{0};    ///< Callbacks running now.
    std::atomic<bool> paused{false}; ///< Paused by `edw pause`: no new callback starts.
    std::atomic<long> workers_live{
        0}; ///< The step's live workers, this one included, as last read.
    std::atomic<long> workers_dead{0};  ///< The step's workers that died in the last day.
    DurationHistogram callback_seconds; ///< How long each callback ran, failed ones included.
};

/// Runs `step` on every document that reaches it, exactly once per arrival:
/// catch-up from the view, then the filtered changes feed; callbacks in a pool of `jobs`
/// threads; results appended to `process` and written in batches with `_bulk_docs`; a 409
/// re-reads the doc and re-applies or drops the result; the feed position is checkpointed in
/// `_local/edw-checkpoint-<listener>` once every change before it is handled.
class StepRunner {
public:
    StepRunner(Database& database, Step step, RunnerOptions options);
    ~StepRunner();
    StepRunner(const StepRunner&) = delete;
    StepRunner& operator=(const StepRunner&) = delete;

    /// Runs until `stop` is requested, then finishes the work in hand, saves the checkpoint and
    /// returns. Throws what cannot be mended by waiting: HttpError for a missing database or
    /// design doc and refused credentials.
    void run(std::stop_token stop);

    [[nodiscard]] const RunnerCounts& counts() const noexcept;
    /// The seq up to which every change is handled (what the checkpoint will hold).
    [[nodiscard]] std::optional<Seq> handled_seq() const;
    /// How long the oldest change read from the feed and not yet handled has waited.
    [[nodiscard]] std::chrono::steady_clock::duration feed_lag() const;

    /// The id of the `_local` doc holding a listener's checkpoint.
    static std::string checkpoint_id(const std::string& listener);

private:
    friend class SharedFeed;
    /// A runner handed the rows of a feed that a SharedFeed follows for several steps.
    StepRunner(Database& database, Step step, RunnerOptions options,
               std::shared_ptr<FeedCheckpoint> feed);

    class Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace edw
