// StopSignals: SIGINT and SIGTERM as a stop request, SIGHUP as "reopen the log file".
#pragma once

#include <csignal>
#include <stop_token>
#include <thread>

namespace edw {

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread, and so in every thread it starts
/// afterwards (create it before any other thread of yours), then waits for them on a thread of
/// its own: SIGINT and SIGTERM request `stop`, SIGHUP reopens the log file. With the signals
/// blocked everywhere else, none interrupts a thread in the middle of a write; one that reaches
/// a thread started before (by a library) is handed on to the watcher. One at a time. When
/// destroyed, stops watching and puts back the handlers and the calling thread's signal mask.
class StopSignals {
public:
    explicit StopSignals(std::stop_source stop);
    ~StopSignals();
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

private:
    static constexpr int signal_index(int signal) noexcept
    {
        return signal == SIGINT ? 0 : signal == SIGTERM ? 1 : 2;
    }

    sigset_t m_previous_mask{};
    struct sigaction m_previous_actions[3]{};
    std::jthread m_thread;
};

} // namespace edw
