// StepRunner's worker record: at start a worker reads the step's live workers and refuses to
// run beside them unless they share the step the same way (claims or shares), then announces
// itself; it beats every --worker-beat while it runs and says "stopped" at the end. Other
// workers and `edw status` read the records; a worker silent for three beats is dead.
#include "step_runner_impl.hpp"

#include <edw/util/utc_time.hpp>

#include <unistd.h>

namespace edw {

WorkerRecord StepRunner::Impl::my_record(const std::string& state)
{
    WorkerRecord record;
    record.name = m_options.worker;
    record.host = this_host_name();
    record.pid = ::getpid();
    record.listener = m_options.listener;
    record.started = m_started_at.empty() ? utc_now_iso8601() : m_started_at;
    record.beat = utc_now_iso8601();
    record.beat_every_s = std::chrono::duration<double>(m_options.worker_beat).count();
    record.state = !state.empty() ? state : m_counts.paused.load() ? "paused" : "running";
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
    if (record.state == "stopping" || record.state == "stopped") {
        const std::lock_guard lock(m_unstarted_mutex);
        record.gave_back = m_gave_back;
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
    const auto decision = decide_join(my_record(), others);
    if (decision.refused) {
        throw ConfigError("step " + m_step.name + ": " + decision.why);
    }
    if (decision.lease_s) {
        m_options.lease = std::chrono::milliseconds(static_cast<long>(*decision.lease_s * 1000));
        m_leases.emplace(m_database, m_options.worker, m_step.name, *m_options.lease);
        m_work.raise_capacity(m_options.batch_size); // the claimer takes a batch at once
    }
    learn_peers(records);
    if (!decision.why.empty()) {
        log_info("step " + m_step.name + ": " + decision.why);
    } else if (!others.empty()) {
        log_info("step " + m_step.name + ": shares the step with " + std::to_string(others.size()) +
                 " live " + (others.size() == 1 ? "worker" : "workers"));
    }
}

// A worker that stopped lately names the docs it gave back: they are looked at, and claimed
// if still free, before anything else, once. The feed brings them back too, but a busy worker
// reads its feed (or its catch-up) far behind.
void StepRunner::Impl::take_given_back(const WorkerRecord& record,
                                       std::chrono::system_clock::time_point now)
{
    if (record.gave_back.empty() || record.name == m_options.worker) {
        return; // only a stopping or stopped record names docs given back
    }
    const auto beat = parse_iso8601(record.beat);
    if (!beat || now - *beat > std::chrono::minutes(1) ||
        !m_gave_back_seen
             .insert(record.name + " " + record.started + " " +
                     std::to_string(record.gave_back.size())) // a later give-back adds ids
             .second) {
        return; // long done by now, or looked at already
    }
    log_info("step " + m_step.name + ": worker " + record.name + " stopped and gave back " +
             std::to_string(record.gave_back.size()) + " docs; taking them first");
    m_watch.look_now(record.gave_back);
}

// The live workers that claim this step's docs (the same share of it), for ClaimPreference.
void StepRunner::Impl::learn_peers(const std::vector<WorkerRecord>& records)
{
    if (!m_options.lease) {
        return;
    }
    const auto now = std::chrono::system_clock::now();
    const std::string host = this_host_name();
    const std::string shard = m_options.shard.is_whole() ? std::string() : m_options.shard.str();
    std::vector<std::string> peers;
    std::map<std::string, ClaimWatch::Holder> holders;
    for (const auto& record : records) {
        take_given_back(record, now);
        const bool live =
            record.state != "stopping" && liveness(record, now, host) == WorkerLiveness::live;
        holders[record.name] = ClaimWatch::Holder{
            .live = live,
            .beat = parse_iso8601(record.beat).value_or(ClaimWatch::Clock::time_point{}),
            .beat_every = std::chrono::milliseconds(static_cast<long>(record.beat_every_s * 1000))};
        // A worker "stopping" has given back what it had not started: its docs are others' now.
        if (record.name != m_options.worker && record.lease_s && record.shard == shard && live) {
            peers.push_back(record.name);
        }
    }
    m_watch.set_holders(std::move(holders));
    const std::size_t before = m_preference.workers();
    m_preference.set_workers(m_options.worker, std::move(peers));
    if (const std::size_t now_sharing = m_preference.workers(); now_sharing != before) {
        // At most a line a minute at info: workers that come and go (or a worker seen claiming
        // without a record, from an older edw) would otherwise fill the log twice a second.
        const auto now_steady = std::chrono::steady_clock::now();
        const bool quiet = now_steady - m_peers_logged < std::chrono::minutes(1);
        (quiet ? log_debug
               : log_info)("step " + m_step.name + ": " + std::to_string(now_sharing) +
                           " live workers claim its docs; this one claims first about 1/" +
                           std::to_string(now_sharing) + " of them, by their ids");
        m_peers_logged = quiet ? m_peers_logged : now_steady;
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

void StepRunner::Impl::beat(const std::string& state)
{
    try {
        const auto records = write_worker(m_database, m_step.name, my_record(state));
        const auto now = std::chrono::system_clock::now();
        const std::string host = this_host_name();
        long live = 0;
        long dead = 0;
        for (const auto& record : records) {
            const auto seen = liveness(record, now, host);
            live += seen == WorkerLiveness::live ? 1 : 0;
            dead += seen == WorkerLiveness::dead ? 1 : 0;
        }
        m_counts.workers_live = live;
        m_counts.workers_dead = dead;
        learn_peers(records);
    } catch (const Error& error) {
        // The server may be away a moment: the next beat tries again. Three missed beats and
        // the others take this worker for dead, which claims (leases) make safe.
        log_debug("cannot write the record of worker " + m_options.worker + " of step " +
                  m_step.name + ": " + error.what());
    }
}

// With a lease, the step's workers are read between beats too: a worker that stops or joins
// changes which docs this one claims first within half a second.
void StepRunner::Impl::refresh_peers()
{
    try {
        learn_peers(read_workers(m_database, m_step.name));
    } catch (const Error& error) {
        log_debug("cannot read the workers of step " + m_step.name + ": " + error.what());
    }
}

void StepRunner::Impl::watch_step(std::stop_token stop)
{
    using std::chrono::milliseconds;
    const bool pause = m_options.pause_check.count() > 0;
    const bool beats = !m_started_at.empty();
    // With a lease, the step's workers are read twice a second: a worker that stops names the
    // docs it gave back, and the others take them within that.
    const bool peers = beats && m_options.lease;
    milliseconds tick = pause && beats ? std::min(m_options.pause_check, m_options.worker_beat)
                                       : (pause ? m_options.pause_check : m_options.worker_beat);
    if (peers) {
        tick = std::min(tick, milliseconds(500));
    }
    auto last_beat = Clock::now();
    auto last_pause_check = Clock::now();
    bool was_paused = m_counts.paused.load();
    std::mutex mutex;
    std::condition_variable_any wait;
    std::unique_lock lock(mutex);
    while (!wait.wait_for(lock, stop, tick, [] { return false; }) && !stop.stop_requested()) {
        // Half a tick early counts as due: the ticks drift by the time each round takes.
        if (pause && Clock::now() - last_pause_check + tick / 2 >= m_options.pause_check) {
            check_pause();
            last_pause_check = Clock::now();
        }
        // A pause or resume is written at once, so that status shows it within a check.
        const bool paused = m_counts.paused.load();
        if (beats && (Clock::now() - last_beat >= m_options.worker_beat || paused != was_paused)) {
            beat();
            last_beat = Clock::now();
            was_paused = paused;
        } else if (peers) {
            refresh_peers();
        }
    }
}

} // namespace edw
