// RetrySchedule: documents to look at again at a given time, on one timer thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace edw {

/// Calls `due(id)` on its own thread once the time given for `id` has come. One entry per id: a
/// later schedule() of the same id replaces its time. Its size is bounded by the documents
/// waiting for a retry, each one map entry, whatever the backlog.
class RetrySchedule {
public:
    using Clock = std::chrono::system_clock;

    explicit RetrySchedule(std::function<void(const std::string& id)> due);
    ~RetrySchedule(); ///< Stops the thread; entries not yet due are dropped.
    RetrySchedule(const RetrySchedule&) = delete;
    RetrySchedule& operator=(const RetrySchedule&) = delete;

    void schedule(const std::string& id, Clock::time_point at);
    /// Forgets `id`, if it was scheduled.
    void cancel(const std::string& id);
    [[nodiscard]] std::size_t size() const;

private:
    void run(std::stop_token stop);
    void forget(const std::string& id); ///< Under the lock.

    std::function<void(const std::string&)> m_due;
    mutable std::mutex m_mutex;
    std::condition_variable_any m_changed;
    std::map<std::string, Clock::time_point> m_at_by_id;
    std::multimap<Clock::time_point, std::string> m_by_time;
    std::jthread m_thread; ///< Last: started once everything above exists.
};

} // namespace edw
