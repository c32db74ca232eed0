// StepRunner::Impl: the state and threads of one listener's pipeline, shared by the files that
// each hold one of its jobs:
//   step_runner.cpp           start-up, the threads, shutdown
//   step_runner_catch_up.cpp  the docs waiting at the step when the runner starts
//   step_runner_dispatch.cpp  the feed, which docs run now, dependencies, retry times
//   step_runner_claims.cpp    with --lease: claims in batches, takeover, give-back at a stop
//   step_runner_pause.cpp     edw pause: no new callback while the step is paused
//   step_runner_beat.cpp      the worker's record: joining the step's workers, heartbeats
//   step_runner_workers.cpp   the worker pool, callbacks past --step-timeout
//   step_runner_writer.cpp    batched writes, 409s, the checkpoint
// A runner follows its own feed (run), or is handed the rows of one that a SharedFeed follows
// for several steps (run_on_shared_feed); either way the feed's position is a FeedCheckpoint.
#pragma once

#include "claim_preference.hpp"
#include "claim_watch.hpp"
#include "feed_checkpoint.hpp"
#include "feed_choice.hpp"

#include <edw/feed/changes_follower.hpp>
#include <edw/runtime/checkpoint_tracker.hpp>
#include <edw/runtime/lease.hpp>
#include <edw/runtime/retry_schedule.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/runtime/step_workers.hpp>
#include <edw/util/backoff.hpp>
#include <edw/util/bounded_queue.hpp>
#include <edw/util/error.hpp>
#include <edw/util/log.hpp>
#include <edw/util/progress.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace edw {

class StepRunner::Impl : private FollowHandler {
public:
    /// `feed`: the position of a feed shared with other steps; null: a feed of its own.
    Impl(Database& database, Step step, RunnerOptions options,
         std::shared_ptr<FeedCheckpoint> feed = nullptr);
    /// Follows a feed of its own until stopped.
    void run(std::stop_token outside_stop);

    // On a SharedFeed (shared_feed.cpp) -------------------------------------------------------
    /// Runs the step's periodic tasks once, before the feed starts.
    void run_periodic_tasks_once();
    /// Starts the workers, catches up from the view when `view_catch_up` (else the shared feed,
    /// read from its start, is the catch-up), then takes rows from take_row until stopped.
    void run_on_shared_feed(std::stop_token outside_stop, bool view_catch_up);
    /// One row of the shared feed, whose ticket this step finishes once (or leaves open).
    /// `checked`: the feed has already found that the doc may wait here (may_select).
    void take_row(const Change& change, CheckpointTracker::Ticket ticket, bool checked = false);
    /// A row of the shared feed whose doc cannot wait at this step: counted and finished.
    void skip_row(CheckpointTracker::Ticket ticket);
    /// A doc another step of the process has just written: taken at once if it now waits at
    /// this step and the queue has room (the feed brings it anyway, and is then skipped).
    void offer(const nlohmann::json& doc);
    /// Called by the writer with each doc it wrote a result on (with its new rev).
    std::function<void(const nlohmann::json& doc)> on_written;
    [[nodiscard]] const Step& step() const noexcept { return m_step; }
    [[nodiscard]] const StepSelection& selection() const noexcept { return m_selection; }
    [[nodiscard]] const RunnerOptions& options() const noexcept { return m_options; }
    /// The server's `GET /`, asked again while it cannot be reached.
    nlohmann::json server_welcome();
    /// A doc (a design doc) read patiently, as the server's welcome.
    std::optional<nlohmann::json> server_design_doc(const std::string& id);
    /// Throws when the design doc the step's view and filter are in is missing on the server.
    void check_design_doc();
    /// Reads the step's live workers: throws ConfigError when this one may not run beside them
    /// (step_runner_beat.cpp); an unleased worker joining leased ones takes their lease.
    void learn_peers(const std::vector<WorkerRecord>& records);
    void take_given_back(const WorkerRecord& record, std::chrono::system_clock::time_point now);
    void check_join();
    /// Writes this worker's first record, once check_join has passed.
    void announce();

    RunnerCounts m_counts;

    [[nodiscard]] std::optional<Seq> handled_seq() const { return m_tracker.handled(); }
    [[nodiscard]] std::chrono::steady_clock::duration feed_lag() const
    {
        return m_tracker.oldest_unfinished_age();
    }

private:
    using Clock = std::chrono::steady_clock;

    // A document handed to a callback. Catch-up documents carry no ticket: they are not feed rows.
    struct Work {
        nlohmann::json doc;
        std::optional<CheckpointTracker::Ticket> ticket;
        /// Another worker held it, and the feed brings it back unclaimed: given back at a stop
        /// (or expired). Claimed before anything else, whichever worker it is preferred by.
        bool freed = false;
    };

    // A callback's outcome, on its way to the writer.
    struct Outcome {
        std::string id;
        std::optional<CheckpointTracker::Ticket> ticket;
        /// The doc with the new entry, or with the failure recorded.
        std::optional<nlohmann::json> updated;
        nlohmann::json result;          ///< The callback's result, to record again after a 409.
        std::optional<Failure> failure; ///< Set when the callback threw.
        std::string date;               ///< When it was recorded, the same when recorded again.
    };

    struct CatchUpPass {
        long seen = 0;           ///< Docs handed out.
        bool read_stale = false; ///< A page was read without bringing the index up to date.
    };

    // A callback in progress, watched for --step-timeout.
    struct Running {
        std::string id;
        Clock::time_point started;
        nlohmann::json doc; ///< As handed to the callback, to record a timeout on.
        std::optional<CheckpointTracker::Ticket> ticket;
        bool abandoned = false;
    };

    /// The doc's `_id`, or "?" for logs when it has none.
    static std::string doc_id(const nlohmann::json& doc);

    // Start-up and shutdown (step_runner.cpp) ---------------------------------------------------
    Seq choose_start();
    void start_threads();
    void finish_threads();
    /// Stops the threads, saves the checkpoint, logs the counts, rethrows a failure.
    void finish_run();
    void remember_failure(std::exception_ptr failure);

    // Catch-up (step_runner_catch_up.cpp) -------------------------------------------------------
    void catch_up();
    CatchUpPass catch_up_pass(ViewQuery query, bool stale_after_first, Progress& progress);
    std::uint64_t waiting_count(const ViewQuery& range);
    ViewResult query_view(const ViewQuery& query);
    std::optional<nlohmann::json> look_up_waiting(const std::string& id);

    // The feed and dispatch (step_runner_dispatch.cpp) ------------------------------------------
    void follow(const Seq& since);
    void on_change(Change&& change) override;
    void on_feed_end(const Seq& last_seq) override;
    bool dispatch(nlohmann::json doc, std::optional<CheckpointTracker::Ticket> ticket);
    void set_aside(const std::string& id, std::optional<CheckpointTracker::Ticket> ticket);
    bool dependencies_ready(const nlohmann::json& doc);
    void note_dependent(const std::string& id, const std::vector<std::string>& dependencies);
    void forget_dependent(const std::string& id, const std::vector<std::string>& dependencies);
    void recheck_dependents(const std::string& changed);
    void retry_now(const std::string& id);
    void remember_replaced(const std::string& id, std::string rev);
    /// Whether `doc` is a copy no newer than a revision a write of ours replaced (locked).
    [[nodiscard]] bool replaced_already(const std::string& id, const nlohmann::json& doc) const;
    void release(const std::string& id, std::optional<CheckpointTracker::Ticket> ticket,
                 bool handled);

    // Claims, with --lease (step_runner_claims.cpp) --------------------------------------------
    [[nodiscard]] std::size_t claims_ahead() const;
    void claim_work();
    /// Claims the docs of `batch` and queues those won for the workers; returns how many.
    /// A doc the claimer holds, not yet claimed, and since when.
    struct Waiting {
        Work work;
        std::chrono::steady_clock::time_point since;
    };
    bool pick_from_window(std::deque<Waiting>& window, std::vector<Work>& batch, std::size_t want,
                          std::mt19937_64& random);
    void forget_claimed_elsewhere(std::deque<Waiting>& window);
    std::size_t claim_batch(std::vector<Work> batch);
    std::vector<std::pair<std::string, std::optional<nlohmann::json>>>
    read_watched(const std::vector<std::string>& ids);
    /// The watched docs now free to take, marked in flight; those in flight already (queued
    /// here behind others) go to `queued`, as read now.
    std::vector<Work> take_over_watched(std::size_t most,
                                        std::map<std::string, nlohmann::json>& queued);
    void give_back_unstarted();

    // Pause (step_runner_pause.cpp) ------------------------------------------------------------
    /// Reads the step's pause doc and follows it; logs a change.
    void check_pause();
    /// Waits while the step is paused; false when a stop came first.
    bool wait_while_paused();

    // The worker's record (step_runner_beat.cpp) ----------------------------------------------
    /// The worker's record, in `state` ("running" or "paused" as it is, when empty).
    [[nodiscard]] WorkerRecord my_record(const std::string& state = {});
    /// Writes this worker's record; never throws (a missed beat is logged).
    void beat(const std::string& state = {});
    void refresh_peers();
    /// Reads the pause each pause_check and beats each worker_beat, until stopped.
    void watch_step(std::stop_token stop);

    // Workers (step_runner_workers.cpp) ---------------------------------------------------------
    void work();
    std::size_t start_running(const std::string& id, const Work& item);
    bool finish_running(std::size_t run);
    void watch_callbacks(std::stop_token stop);

    // Writer (step_runner_writer.cpp) -----------------------------------------------------------
    void write();
    void gather_while_busy(std::vector<Outcome>& batch);
    void write_batch(std::vector<Outcome>& batch);
    std::vector<BulkResult> save_each_if_too_large(const std::vector<nlohmann::json>& docs);
    std::vector<BulkResult> bulk_save_patiently(const std::vector<nlohmann::json>& docs);
    void after_failure_recorded(const std::string& id, const nlohmann::json& doc);
    void resolve_conflict(const Outcome& outcome);
    void save_checkpoint(bool now) { m_checkpoint->save(now); }

    // Runs `call` until it works: the server may be down for a while (a restart, a network
    // cut), which the listener waits out. Errors that waiting cannot mend are thrown, and so is
    // a passing one once a shutdown has been asked for and two tries failed.
    template <typename Call>
    auto patiently(const std::string& what, Call&& call) -> decltype(call())
    {
        Backoff backoff({std::chrono::milliseconds(500), std::chrono::milliseconds(30000)});
        for (;;) {
            std::string trouble;
            try {
                return call();
            } catch (const TransportError& error) {
                if (!error.is_retryable() || (m_stop.stop_requested() && backoff.attempt() >= 2)) {
                    throw;
                }
                trouble = error.what();
            } catch (const HttpError& error) {
                // A server restarting behind a proxy answers 502/503 for a while.
                const bool passing = error.status() >= 500 || error.status() == 429;
                if (!passing || (m_stop.stop_requested() && backoff.attempt() >= 2)) {
                    throw;
                }
                trouble = error.what();
            }
            const auto wait = backoff.next();
            log_warning(trouble + "; trying " + what + " again in " + std::to_string(wait.count()) +
                        " ms");
            std::this_thread::sleep_for(wait);
        }
    }

    Database& m_database;
    Step m_step;
    StepSelection m_selection; ///< Which docs wait at the step.
    StepRecorder m_record;     ///< How a result is written.
    RunnerOptions m_options;
    std::stop_source m_stop;
    BoundedQueue<Work> m_work;
    BoundedQueue<Outcome> m_outcomes;
    std::mutex m_workers_mutex; ///< The pool grows when a callback is given up.
    std::vector<std::jthread> m_workers;
    std::jthread m_writer;
    std::jthread m_watchdog;
    std::mutex m_running_mutex;
    std::map<std::size_t, Running> m_running;
    std::size_t m_next_run = 0;
    std::shared_ptr<FeedCheckpoint> m_checkpoint;
    CheckpointTracker& m_tracker; ///< m_checkpoint's
    std::mutex m_in_flight_mutex;
    std::set<std::string> m_in_flight;
    std::unordered_map<std::string, std::string> m_replaced;
    std::deque<std::string> m_replaced_order;
    bool m_resumed = false; ///< Started from a saved checkpoint.
    std::mutex m_dependents_mutex;
    /// Docs waiting on another doc, by that doc's id.
    std::map<std::string, std::set<std::string>> m_dependents;
    std::jthread m_periodic;
    bool m_catch_up_from_feed = false;   ///< The embedded store: the feed from 0 is the catch-up.
    FeedCatchUpProgress m_feed_catch_up; ///< When the feed from its start is the catch-up.
    std::mutex m_failure_mutex;
    std::exception_ptr m_failure;
    /// Closes m_work once a stop is asked for: the feed's thread may be waiting for room in it,
    /// which the claimer, stopping too, would never make.
    std::optional<std::stop_callback<std::function<void()>>> m_stop_closes_work;
    std::optional<LeaseKeeper> m_leases; ///< With RunnerOptions::lease.
    /// With a lease: docs claimed for this worker, waiting for a worker thread (m_work holds the
    /// docs not yet claimed).
    BoundedQueue<Work> m_claimed;
    std::mutex m_unstarted_mutex;
    std::vector<Work> m_unstarted;        ///< Claimed docs a worker took as the stop came.
    std::vector<std::string> m_gave_back; ///< At the stop, in the record for the others.
    /// Workers ("name started count") whose given-back docs this one has looked at.
    std::set<std::string> m_gave_back_seen;
    std::chrono::steady_clock::time_point m_peers_logged{}; ///< The last "N live workers" line.
    std::jthread m_claimer;
    std::mutex m_pause_mutex;
    std::condition_variable_any m_pause_changed;
    std::jthread m_step_watch;    ///< Pause checks and heartbeats.
    std::string m_started_at;     ///< When the worker announced itself; empty: it did not.
    ClaimWatch m_watch;           ///< Docs of the step other workers hold.
    ClaimPreference m_preference; ///< Which docs this worker claims first.
    std::optional<RetrySchedule> m_retries; ///< Last: its thread uses everything above.
};

} // namespace edw
