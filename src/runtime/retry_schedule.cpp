// RetrySchedule: a map of due times and a thread that waits for the earliest.
#include "edw/runtime/retry_schedule.hpp"

#include <vector>

namespace edw {

RetrySchedule::RetrySchedule(std::function<void(const std::string& id)> due)
    : m_due(std::move(due))
    , m_thread([this](std::stop_token stop) { run(stop); })
{}

RetrySchedule::~RetrySchedule()
{
    m_thread.request_stop();
    m_changed.notify_all();
}

void RetrySchedule::schedule(const std::string& id, Clock::time_point at)
{
    {
        const std::lock_guard lock(m_mutex);
        forget(id);
        m_at_by_id[id] = at;
        m_by_time.emplace(at, id);
    }
    m_changed.notify_all();
}

void RetrySchedule::cancel(const std::string& id)
{
    const std::lock_guard lock(m_mutex);
    forget(id);
}

void RetrySchedule::forget(const std::string& id)
{
    const auto known = m_at_by_id.find(id);
    if (known == m_at_by_id.end()) {
        return;
    }
    const auto range = m_by_time.equal_range(known->second);
    for (auto it = range.first; it != range.second; ++it) {
        if (it->second == id) {
            m_by_time.erase(it);
            break;
        }
    }
    m_at_by_id.erase(known);
}

std::size_t RetrySchedule::size() const
{
    const std::lock_guard lock(m_mutex);
    return m_at_by_id.size();
}

void RetrySchedule::run(std::stop_token stop)
{
    std::unique_lock lock(m_mutex);
    while (!stop.stop_requested()) {
        if (m_by_time.empty()) {
            m_changed.wait(lock, stop, [&] { return !m_by_time.empty(); });
            continue;
        }
        const auto next = m_by_time.begin()->first;
        if (Clock::now() < next) {
            m_changed.wait_until(lock, stop, next, [&] {
                return !m_by_time.empty() && m_by_time.begin()->first < next;
            });
            continue;
        }
        std::vector<std::string> due;
        while (!m_by_time.empty() && m_by_time.begin()->first <= Clock::now()) {
            due.push_back(m_by_time.begin()->second);
            m_at_by_id.erase(m_by_time.begin()->second);
            m_by_time.erase(m_by_time.begin());
        }
        lock.unlock();
        for (const auto& id : due) {
            if (stop.stop_requested()) {
                break;
            }
            m_due(id);
        }
        lock.lock();
    }
}

} // namespace edw
