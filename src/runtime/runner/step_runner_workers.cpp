// StepRunner's workers: the pool of threads that run the step's callback (on docs the claimer
// has claimed, with --lease), and the watchdog that gives up a callback past --step-timeout.
#include "step_runner_impl.hpp"

#include <edw/step/command_step.hpp>
#include <edw/util/utc_time.hpp>

#include <algorithm>

namespace edw {

void StepRunner::Impl::work()
{
    // With a lease, the claimer has claimed the docs in m_claimed; without, m_work's are free.
    auto& queue = m_leases ? m_claimed : m_work;
    while (auto item = queue.pop()) {
        const std::string id = doc_id(item->doc);
        Outcome outcome{id, item->ticket, std::nullopt, nlohmann::json(), std::nullopt, ""};
        if (m_counts.paused.load() && !wait_while_paused()) {
            // Stopped while paused: not started, left for the next start (or given back).
            if (m_leases) {
                const std::lock_guard lock(m_unstarted_mutex);
                m_unstarted.push_back(std::move(*item));
            } else {
                release(id, item->ticket, false);
            }
            continue;
        }
        if (m_leases && m_stop.stop_requested()) {
            // Taken just as the stop came: not started, so given back with the others.
            const std::lock_guard lock(m_unstarted_mutex);
            m_unstarted.push_back(std::move(*item));
            continue;
        }
        const auto run = start_running(id, *item);
        const auto started = Clock::now();
        ++m_counts.running;
        try {
            outcome.date = utc_now_iso8601();
            if (m_leases) {
                outcome.result = m_step.run(without_claim(item->doc));
                // The newest revision of the claimed doc, after any renewals; the claim
                // goes with the result.
                auto base = m_leases->release(id).value_or(item->doc);
                outcome.updated =
                    m_record(without_claim(std::move(base)), outcome.result, outcome.date);
            } else {
                outcome.result = m_step.run(item->doc);
                outcome.updated = m_record(item->doc, outcome.result, outcome.date);
            }
            if (m_selection.selects(*outcome.updated)) {
                // Written as it is, the doc would come back to this step at once, forever.
                throw TransitionRefused("the result of step " + m_step.name + " on doc " + id +
                                        " leaves it at the step (" + m_selection.description() +
                                        "); not written");
            }
        } catch (const std::exception& error) {
            if (m_leases) {
                item->doc = without_claim(m_leases->release(id).value_or(item->doc));
            }
            // Wrong input (a missing field, a bad type) lands here too: a failure of this
            // doc, recorded on it, never the end of the daemon.
            ++m_counts.failed;
            const auto* step_failure = dynamic_cast<const StepFailure*>(&error);
            outcome.failure =
                Failure{.step = m_step.name,
                        .worker = m_options.worker,
                        .message = error.what(),
                        .detail = step_failure != nullptr ? step_failure->detail() : ""};
            outcome.updated = record_failure(std::move(item->doc), *outcome.failure,
                                             std::chrono::system_clock::now(), m_options.retry);
        }
        --m_counts.running;
        m_counts.callback_seconds.observe(Clock::now() - started);
        if (!finish_running(run)) {
            log_warning("step " + m_step.name + " on doc " + id +
                        " returned after it was given up for running too long; its result "
                        "is dropped");
            continue;
        }
        m_outcomes.push(std::move(outcome));
    }
}

std::size_t StepRunner::Impl::start_running(const std::string& id, const Work& item)
{
    if (m_options.step_timeout.count() <= 0) {
        return 0;
    }
    const std::lock_guard lock(m_running_mutex);
    const std::size_t run = ++m_next_run;
    m_running[run] = Running{id, Clock::now(), item.doc, item.ticket, false};
    return run;
}

// False when the watchdog gave the callback up: its outcome was already reported.
bool StepRunner::Impl::finish_running(std::size_t run)
{
    if (run == 0) {
        return true;
    }
    const std::lock_guard lock(m_running_mutex);
    const auto found = m_running.find(run);
    if (found == m_running.end()) {
        return true;
    }
    const bool abandoned = found->second.abandoned;
    m_running.erase(found);
    return !abandoned;
}

// A callback that runs past --step-timeout cannot be stopped (it is code in this process),
// but it need not hold up the step: its doc gets a failure record (and so a retry, or
// parking), a new worker thread takes its place in the pool, and whatever the callback
// returns later is dropped.
void StepRunner::Impl::watch_callbacks(std::stop_token stop)
{
    const auto period = std::clamp(m_options.step_timeout / 4, std::chrono::milliseconds(10),
                                   std::chrono::milliseconds(1000));
    while (!stop.stop_requested()) {
        std::this_thread::sleep_for(period);
        std::vector<Running> overdue;
        {
            const std::lock_guard lock(m_running_mutex);
            for (auto& [run, running] : m_running) {
                if (!running.abandoned && Clock::now() - running.started > m_options.step_timeout) {
                    running.abandoned = true;
                    overdue.push_back(running);
                }
            }
        }
        for (auto& running : overdue) {
            ++m_counts.failed;
            Outcome outcome{running.id,
                            running.ticket,
                            std::nullopt,
                            nlohmann::json(),
                            Failure{.step = m_step.name,
                                    .worker = m_options.worker,
                                    .message = "ran longer than " +
                                               std::to_string(m_options.step_timeout.count()) +
                                               " ms (--step-timeout) and was given up",
                                    .detail = {}},
                            ""};
            auto base = m_leases ? m_leases->release(running.id).value_or(running.doc)
                                 : std::move(running.doc);
            outcome.updated = record_failure(without_claim(std::move(base)), *outcome.failure,
                                             std::chrono::system_clock::now(), m_options.retry);
            m_outcomes.push(std::move(outcome));
            const std::lock_guard lock(m_workers_mutex);
            m_workers.emplace_back([this] { work(); });
        }
    }
}

} // namespace edw
