// StepRunner's pause: `edw pause STEP` stores a pause in the database; every worker of the step
// reads it within --pause-check, finishes the callbacks running and starts no new one (nor
// claims one) until `edw resume STEP`. Docs in hand wait in their queues: nothing is dropped,
// and nothing is done twice.
#include "step_runner_impl.hpp"

#include <edw/runtime/step_pause.hpp>

namespace edw {

void StepRunner::Impl::check_pause()
{
    std::optional<StepPause> pause;
    try {
        pause = read_pause(m_database, m_step.name);
    } catch (const Error& error) {
        log_debug("cannot read the pause of step " + m_step.name + ": " + error.what());
        return; // as it was: the server may be away a moment
    }
    if (pause.has_value() == m_counts.paused.load()) {
        return;
    }
    {
        const std::lock_guard lock(m_pause_mutex);
        m_counts.paused = pause.has_value();
    }
    m_pause_changed.notify_all();
    if (pause) {
        log_info("step " + m_step.name + " paused" + (pause->by.empty() ? "" : " by " + pause->by) +
                 (pause->reason.empty() ? "" : " (" + pause->reason + ")") +
                 ": the callbacks running finish, no new one starts until edw resume");
    } else {
        log_info("step " + m_step.name + " resumed");
    }
}

bool StepRunner::Impl::wait_while_paused()
{
    std::unique_lock lock(m_pause_mutex);
    m_pause_changed.wait(lock, m_stop.get_token(), [this] { return !m_counts.paused.load(); });
    return !m_stop.stop_requested();
}

} // namespace edw
