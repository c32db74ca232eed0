// StopDeadline: a listener asked to stop ends within --stop-timeout, whatever holds it up.
#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <thread>

namespace edw {

/// Watches `stop`. When a stop is asked for, calls `on_stop` (telling systemd STOPPING=1), then
/// gives the listener `limit` to finish the work in hand; past that (a server that cannot be
/// reached, a callback that never returns) it logs why and ends the process with `status`.
/// Nothing is lost by that: the checkpoint holds only changes fully handled, and unstarted
/// claims expire for the step's other workers. Destroyed once the listener has stopped.
class StopDeadline {
public:
    StopDeadline(std::stop_token stop, std::chrono::milliseconds limit, int status,
                 std::function<void()> on_stop);
    ~StopDeadline();
    StopDeadline(const StopDeadline&) = delete;
    StopDeadline& operator=(const StopDeadline&) = delete;

private:
    std::jthread m_thread;
};

} // namespace edw
