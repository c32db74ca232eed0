// StopSignals: sigtimedwait on a thread of its own, so that a destroyed watcher stops.
#include "edw/util/stop_signals.hpp"

#include <edw/util/log.hpp>

#include <pthread.h>

#include <csignal>
#include <ctime>
#include <string>

namespace edw {
namespace {

sigset_t watched_signals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    return set;
}

} // namespace

StopSignals::StopSignals(std::stop_source stop)
{
    const sigset_t set = watched_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    m_thread = std::jthread([stop, set](std::stop_token own) mutable {
        const timespec tick{0, 200'000'000};
        while (!own.stop_requested()) {
            const int signal = ::sigtimedwait(&set, nullptr, &tick);
            if (signal == SIGHUP) {
                reopen_log();
            } else if (signal == SIGINT || signal == SIGTERM) {
                log_info(std::string("got ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") +
                         ": finishing the work in hand");
                stop.request_stop();
            }
        }
    });
}

} // namespace edw
