// StopSignals: SIGINT and SIGTERM as a stop request, SIGHUP as "reopen the log file".
#pragma once

#include <stop_token>
#include <thread>

namespace edw {

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread, and so in every thread it starts
/// afterwards (create it before any other thread), then waits for them on a thread of its own:
/// SIGINT and SIGTERM request `stop`, SIGHUP reopens the log file. With the signals blocked
/// everywhere else, none interrupts a thread in the middle of a write. Stops watching when
/// destroyed.
class StopSignals {
public:
    explicit StopSignals(std::stop_source stop);

private:
    std::jthread m_thread;
};

} // namespace edw
