// StepRunner: the pipeline of one listener: feed -> callbacks -> batched writes -> checkpoint.
// This file starts and stops it; step_runner_impl.hpp lists where each of its jobs lives.
#include "step_runner_impl.hpp"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

namespace edw {

namespace {

std::string this_worker(const std::string& listener)
{
    return this_host_name() + ":" + std::to_string(::getpid()) + "/" + listener;
}

} // namespace

std::string StepRunner::Impl::doc_id(const nlohmann::json& doc)
{
    const auto id = doc.find("_id");
    return id != doc.end() && id->is_string() ? id->get<std::string>() : std::string("?");
}

StepRunner::Impl::Impl(Database& database, Step step, RunnerOptions options,
                       std::shared_ptr<FeedCheckpoint> feed)
    : m_database(database)
    , m_step(std::move(step))
    , m_selection(m_step.selection_or_position())
    , m_record(m_step.record ? m_step.record
                             : StepRecorder([name = m_step.name, version = m_step.version](
                                                nlohmann::json doc, const nlohmann::json& result,
                                                std::string_view date) {
                                   return append_step(doc, name, result, date, version);
                               }))
    , m_options(std::move(options))
    // With a lease, the claimer takes up to a batch from the queue in one write.
    , m_work(std::max(static_cast<std::size_t>(std::max(1, m_options.jobs)) * 4,
                      m_options.lease ? m_options.batch_size : 0))
    , m_outcomes(std::max<std::size_t>(m_options.batch_size * 2, 16))
    , m_checkpoint(feed ? std::move(feed)
                        : std::make_shared<FeedCheckpoint>(database, m_options.checkpoint_interval))
    , m_tracker(m_checkpoint->tracker)
    , m_claimed(m_options.batch_size + static_cast<std::size_t>(std::max(1, m_options.jobs)))
{
    if (m_checkpoint->listener().empty()) { // a feed of its own
        m_checkpoint->set_owner(m_options.listener, m_step.name);
    }
    if (m_options.worker.empty()) {
        m_options.worker = this_worker(m_options.listener);
    }
    m_retries.emplace([this](const std::string& id) { retry_now(id); });
    if (m_step.dependencies && m_selection.position()) {
        throw ConfigError("step " + m_step.name +
                          ": dependencies need a step chosen by a selector or a predicate, "
                          "whose runner sees every change");
    }
    if (m_options.lease) {
        m_leases.emplace(m_database, m_options.worker, m_step.name, *m_options.lease);
        m_preference.set_workers(m_options.worker, {});
    }
}

void StepRunner::Impl::run(std::stop_token outside_stop)
{
    const std::stop_callback forward(outside_stop, [this] { m_stop.request_stop(); });
    run_periodic_tasks_once();
    const Seq since = choose_start();
    check_design_doc();
    check_join();
    announce();
    if (m_options.on_started) {
        m_options.on_started();
    }
    start_threads();
    try {
        if (m_options.start == StartFrom::checkpoint && !m_catch_up_from_feed) {
            catch_up();
            if (!m_resumed) {
                // Every doc waiting at the step when `since` was taken is now handed out,
                // and a restart catches up again anyway: the feed up to `since` is done.
                m_tracker.pass(since);
            }
        }
        if (!m_stop.stop_requested()) {
            follow(since);
        }
    } catch (...) {
        remember_failure(std::current_exception());
    }
    finish_run();
}

void StepRunner::Impl::run_periodic_tasks_once()
{
    // Periodic tasks run once before anything else: a definitions file is loaded before the
    // first doc is judged by it.
    for (const auto& task : m_step.periodic) {
        run_periodic_task(task);
    }
}

void StepRunner::Impl::run_on_shared_feed(std::stop_token outside_stop, bool view_catch_up)
{
    const std::stop_callback forward(outside_stop, [this] { m_stop.request_stop(); });
    m_catch_up_from_feed = !view_catch_up;
    start_threads();
    try {
        if (view_catch_up) {
            catch_up();
        }
        // The shared feed's thread hands this step its rows (take_row) until the stop.
        std::mutex mutex;
        std::condition_variable_any stopped;
        std::unique_lock lock(mutex);
        stopped.wait(lock, m_stop.get_token(), [] { return false; });
    } catch (...) {
        remember_failure(std::current_exception());
    }
    finish_run();
}

// A step chosen by its process position reads the design doc's view and filter on a server:
// one missing is said before the listener counts as started, not at its first view query.
void StepRunner::Impl::check_design_doc()
{
    if (m_database.is_local() || !m_selection.position()) {
        return;
    }
    const std::string id = "_design/" + m_options.design;
    if (!server_design_doc(id)) {
        throw HttpError("the design doc " + id + " is not in " + m_database.describe() +
                            " (edw design push uploads it)",
                        404, "not_found", "missing");
    }
}

void StepRunner::Impl::finish_run()
{
    finish_threads();
    save_checkpoint(true);
    log_info("stopped step " + m_step.name + ": " + std::to_string(m_counts.recorded.load()) +
             " recorded, " + std::to_string(m_counts.failed.load()) + " failed, " +
             std::to_string(m_counts.dropped.load()) + " dropped as already recorded");
    if (m_failure) {
        std::rethrow_exception(m_failure);
    }
}

Seq StepRunner::Impl::choose_start()
{
    switch (m_options.start) {
    case StartFrom::seq:
        log_info("following from the given seq " + m_options.since.json());
        return m_options.since;
    case StartFrom::now: {
        // A concrete seq rather than `now`, so that the first checkpoint has a value.
        const Seq now = update_seq_of(m_database);
        log_info("following changes from now on (seq " + now.json() + "), no catch-up");
        return now;
    }
    case StartFrom::checkpoint:
        break;
    }
    const auto saved = m_checkpoint->read();
    // The whole feed, from its start, shows each doc's latest revision once, which is the
    // catch-up, and then goes on as the live feed; the saved checkpoint is not needed as a
    // start. It is the only way when no view lists the docs a selector or predicate
    // chooses. On the embedded store it also costs a SQLite read per row and no network,
    // far less than mapping every doc into the view.
    if (!m_selection.position() || m_database.is_local()) {
        m_catch_up_from_feed = true;
        log_info("catch-up: reading the whole feed from its start (" +
                 (m_selection.position() ? std::string("the embedded store")
                                         : "the step takes " + m_selection.description()) +
                 ")");
        m_feed_catch_up.start("catch-up " + m_step.name, update_seq_of(m_database));
        return Seq();
    }
    // Taken before the catch-up, so that a change made during it is seen by the feed.
    const Seq before_catch_up = update_seq_of(m_database);
    if (saved) {
        m_resumed = true;
        log_info("resuming from checkpoint seq " + saved->json());
        return *saved;
    }
    log_info("no checkpoint yet: following from seq " + before_catch_up.json() +
             " after the catch-up");
    return before_catch_up;
}

void StepRunner::Impl::start_threads()
{
    if (!m_step.periodic.empty()) {
        m_periodic = std::jthread(
            [this](std::stop_token stop) { run_periodic_tasks(m_step.periodic, stop); });
    }
    if (m_options.pause_check.count() > 0) {
        check_pause(); // a step paused before the start starts nothing
    }
    if (m_options.pause_check.count() > 0 || !m_started_at.empty()) {
        m_step_watch = std::jthread([this](std::stop_token stop) { watch_step(stop); });
    }
    for (int i = 0; i < std::max(1, m_options.jobs); ++i) {
        m_workers.emplace_back([this] { work(); });
    }
    if (m_leases) {
        m_stop_closes_work.emplace(
            m_stop.get_token(), std::function<void()>([this] {
                m_work.close(); // its docs, unclaimed, are left for the next start
            }));
        m_claimer = std::jthread([this] { claim_work(); });
    }
    m_writer = std::jthread([this] { write(); });
    if (m_options.step_timeout.count() > 0) {
        m_watchdog = std::jthread([this](std::stop_token stop) { watch_callbacks(stop); });
    }
}

void StepRunner::Impl::finish_threads()
{
    m_stop.request_stop();
    if (m_periodic.joinable()) {
        m_periodic.request_stop();
        m_periodic.join();
    }
    if (m_watchdog.joinable()) {
        m_watchdog.request_stop();
        m_watchdog.join();
    }
    if (m_step_watch.joinable()) {
        m_step_watch.request_stop();
        m_step_watch.join();
    }
    // Callbacks already started finish and are written: no half-done step is left. Claimed
    // docs not started yet go back to the step's other workers.
    m_work.close();
    if (m_claimer.joinable()) {
        give_back_unstarted(); // before the claimer is joined: its write may take a while
        if (!m_started_at.empty()) {
            // The others read it within a second and claim this worker's docs as their own,
            // while the callbacks running here finish.
            beat("stopping");
        }
        m_claimer.join();
    }
    {
        const std::lock_guard lock(m_running_mutex);
        long stuck = 0;
        for (const auto& [run, running] : m_running) {
            stuck += running.abandoned ? 1 : 0;
        }
        if (stuck > 0) {
            log_warning("waiting for " + std::to_string(stuck) +
                        " callbacks that ran past --step-timeout to return");
        }
    }
    const std::lock_guard lock(m_workers_mutex);
    for (auto& worker : m_workers) {
        worker.join();
    }
    if (m_leases) {
        give_back_unstarted(); // any a worker took just before the first give-back
    }
    m_outcomes.close();
    m_writer.join();
    m_retries.reset(); // docs waiting for a retry are found again at the next start
    m_leases.reset();
    if (!m_started_at.empty()) {
        beat("stopped"); // other workers and edw status see a stop, not a death
    }
}

void StepRunner::Impl::remember_failure(std::exception_ptr failure)
{
    {
        const std::lock_guard lock(m_failure_mutex);
        if (!m_failure) {
            m_failure = std::move(failure);
        }
    }
    m_stop.request_stop();
}

StepRunner::StepRunner(Database& database, Step step, RunnerOptions options)
    : m_impl(std::make_unique<Impl>(database, std::move(step), std::move(options)))
{}

StepRunner::StepRunner(Database& database, Step step, RunnerOptions options,
                       std::shared_ptr<FeedCheckpoint> feed)
    : m_impl(std::make_unique<Impl>(database, std::move(step), std::move(options), std::move(feed)))
{}

StepRunner::~StepRunner() = default;

void StepRunner::run(std::stop_token stop)
{
    m_impl->run(std::move(stop));
}

const RunnerCounts& StepRunner::counts() const noexcept
{
    return m_impl->m_counts;
}

std::optional<Seq> StepRunner::handled_seq() const
{
    return m_impl->handled_seq();
}

std::chrono::steady_clock::duration StepRunner::feed_lag() const
{
    return m_impl->feed_lag();
}

std::string StepRunner::checkpoint_id(const std::string& listener)
{
    return "_local/edw-checkpoint-" + listener;
}

} // namespace edw
