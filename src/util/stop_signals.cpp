// StopSignals: sigtimedwait on a thread of its own, so that a destroyed watcher stops.
#include "edw/util/stop_signals.hpp"

#include <edw/util/log.hpp>

#include <pthread.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <string>

namespace edw {
namespace {

// The watching thread, for the handler below.
std::atomic<pthread_t> watcher{};
std::atomic<bool> watching{false};

// A signal that reaches a thread which did not block it (one started before the watcher: an
// embedding interpreter's, a maths library's pool) would otherwise take its default action and
// end the process mid-write. The handler passes it on to the watcher, which has it blocked and
// so takes it with sigtimedwait. pthread_kill is async-signal-safe.
void forward_to_watcher(int signal)
{
    if (watching.load()) {
        pthread_kill(watcher.load(), signal);
    }
}

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
    pthread_sigmask(SIG_BLOCK, &set, &m_previous_mask);
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
    watcher.store(m_thread.native_handle());
    watching.store(true);
    struct sigaction forward {};
    forward.sa_handler = forward_to_watcher;
    sigemptyset(&forward.sa_mask);
    forward.sa_flags = SA_RESTART;
    for (const int signal : {SIGINT, SIGTERM, SIGHUP}) {
        sigaction(signal, &forward, &m_previous_actions[signal_index(signal)]);
    }
}

StopSignals::~StopSignals()
{
    watching.store(false);
    m_thread.request_stop();
    m_thread.join();
    // An embedding program (Python) gets its own handling back once the steps have stopped.
    for (const int signal : {SIGINT, SIGTERM, SIGHUP}) {
        sigaction(signal, &m_previous_actions[signal_index(signal)], nullptr);
    }
    pthread_sigmask(SIG_SETMASK, &m_previous_mask, nullptr);
}

} // namespace edw
