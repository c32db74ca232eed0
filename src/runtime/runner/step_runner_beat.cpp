// StepRunner's worker record: at start a worker reads the step's live workers and refuses to
// run beside them unless they share the step the same way (claims or shares), then announces
// itself; it beats every --worker-beat while it runs and says "stopped" at the end. Other
// workers and `edw status` read the records; a worker silent for three beats is dead.
#include "step_runner_impl.hpp"

#include <edw/util/utc_time.hpp>

#include <unistd.h>

namespace edw {

WorkerRecord StepRunner::Impl::my_record(bool stopping)
{
    WorkerRecord record;
    record.name = m_options.worker;
    record.host = this_host_name();
    record.pid = ::getpid();
    record.listener = m_options.listener;
    record.started = m_started_at.empty() ? utc_now_iso8601() : m_started_at;
    record.beat = utc_now_iso8601();
    record.beat_every_s = std::chrono::duration<double>(m_options.worker_beat).count();
    record.state = stopping ? "stopped" : m_counts.paused.load() ? "paused" : "running";
    record.done = m_counts.recorded.load() + m_counts.failed.load();
    {
        const std::lock_guard lock(m_in_flight_mutex);
        record.in_hand = static_cast<long>(m_in_flight.size());
    }
    if (m_options.lease) {
        record.lease_s = std::chrono::duration<double>(*m_options.lease).count();
    }
    if (!m_options.shard.is_whole()) {
        record.shard = m_options.shard.str();
    }
    return record;
}

void StepRunner::Impl::check_join()
{
    if (m_options.worker_beat.count() <= 0) {
        return;
    }
    const auto records = patiently("reading the workers of step " + m_step.name,
                                   [&] { return read_workers(m_database, m_step.name); });
    const auto now = std::chrono::system_clock::now();
    const std::string host = this_host_name();
    std::vector<WorkerRecord> others;
    for (const auto& record : records) {
        if (record.name != m_options.worker &&
            liveness(record, now, host) == WorkerLiveness::live) {
            others.push_back(record);
        }
    }
    const auto decision = decide_join(my_record(false), others);
    if (decision.refused) {
        throw ConfigError("step " + m_step.name + ": " + decision.why);
    }
    if (decision.lease_s) {
        m_options.lease = std::chrono::milliseconds(static_cast<long>(*decision.lease_s * 1000));
        m_leases.emplace(m_database, m_options.worker, m_step.name, *m_options.lease);
        m_work.raise_capacity(m_options.batch_size); // the claimer takes a batch at once
    }
    if (!decision.why.empty()) {
        log_info("step " + m_step.name + ": " + decision.why);
    } else if (!others.empty()) {
        log_info("step " + m_step.name + ": shares the step with " + std::to_string(others.size()) +
                 " live " + (others.size() == 1 ? "worker" : "workers"));
    }
}

void StepRunner::Impl::announce()
{
    if (m_options.worker_beat.count() <= 0) {
        return;
    }
    m_started_at = utc_now_iso8601();
    beat();
}

void StepRunner::Impl::beat(bool stopping)
{
    try {
        const auto records = write_worker(m_database, m_step.name, my_record(stopping));
        const auto now = std::chrono::system_clock::now();
        const std::string host = this_host_name();
        long live = 0;
        long dead = 0;
        for (const auto& record : records) {
            const auto state = liveness(record, now, host);
            live += state == WorkerLiveness::live ? 1 : 0;
            dead += state == WorkerLiveness::dead ? 1 : 0;
        }
        m_counts.workers_live = live;
        m_counts.workers_dead = dead;
    } catch (const Error& error) {
        // The server may be away a moment: the next beat tries again. Three missed beats and
        // the others take this worker for dead, which claims (leases) make safe.
        log_debug("cannot write the record of worker " + m_options.worker + " of step " +
                  m_step.name + ": " + error.what());
    }
}

void StepRunner::Impl::watch_step(std::stop_token stop)
{
    using std::chrono::milliseconds;
    const bool pause = m_options.pause_check.count() > 0;
    const bool beats = !m_started_at.empty();
    const milliseconds tick = pause && beats
                                  ? std::min(m_options.pause_check, m_options.worker_beat)
                                  : (pause ? m_options.pause_check : m_options.worker_beat);
    auto last_beat = Clock::now();
    bool was_paused = m_counts.paused.load();
    std::mutex mutex;
    std::condition_variable_any wait;
    std::unique_lock lock(mutex);
    while (!wait.wait_for(lock, stop, tick, [] { return false; }) && !stop.stop_requested()) {
        if (pause) {
            check_pause();
        }
        // A pause or resume is written at once, so that status shows it within a check.
        const bool paused = m_counts.paused.load();
        if (beats && (Clock::now() - last_beat >= m_options.worker_beat || paused != was_paused)) {
            beat();
            last_beat = Clock::now();
            was_paused = paused;
        }
    }
}

} // namespace edw
