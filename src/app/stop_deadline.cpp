// StopDeadline: the timer between a stop request and the end of the process.
#include "edw/app/stop_deadline.hpp"

#include <edw/util/log.hpp>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>

namespace edw {

StopDeadline::StopDeadline(std::stop_token stop, std::chrono::milliseconds limit, int status,
                           std::function<void()> on_stop)
    : m_thread([stop, limit, status, on_stop = std::move(on_stop)](std::stop_token done) {
        std::mutex mutex;
        std::condition_variable_any wake;
        // Woken by either token: the stop request, or the listener having stopped. The mutex,
        // taken before the notice, keeps it from falling between a check and the wait.
        const std::stop_callback on_request(stop, [&] {
            {
                const std::lock_guard taken(mutex);
            }
            wake.notify_all();
        });
        std::unique_lock lock(mutex);
        wake.wait(lock, done, [&] { return stop.stop_requested(); });
        if (done.stop_requested()) {
            return;
        }
        if (on_stop) {
            on_stop();
        }
        if (limit.count() <= 0) {
            return;
        }
        wake.wait_for(lock, done, limit, [] { return false; });
        if (done.stop_requested()) {
            return;
        }
        log_error("still stopping after " + std::to_string(limit.count() / 1000.0).substr(0, 5) +
                  " s (--stop-timeout): ending now; what was not finished is done again at the "
                  "next start, and claims not given back expire for the other workers");
        std::_Exit(status);
    })
{}

StopDeadline::~StopDeadline()
{
    m_thread.request_stop();
}

} // namespace edw
