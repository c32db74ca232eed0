// ClaimWatch: when to look again at docs other workers have claimed.
#include "claim_watch.hpp"

#include <edw/util/utc_time.hpp>

#include <algorithm>

namespace edw {

ClaimWatch::ClaimWatch(std::chrono::milliseconds recheck)
    : m_recheck(recheck)
{}

void ClaimWatch::watch(const std::string& id, const std::string& until)
{
    const auto now = Clock::now();
    auto look = now + m_recheck;
    if (const auto expires = parse_iso8601(until)) {
        look = std::min(look, *expires);
    }
    const std::lock_guard lock(m_mutex);
    m_next_look[id] = look;
}

void ClaimWatch::forget(const std::string& id)
{
    const std::lock_guard lock(m_mutex);
    m_next_look.erase(id);
}

std::vector<std::string> ClaimWatch::take_due(Clock::time_point now, std::size_t most)
{
    std::vector<std::string> due;
    const std::lock_guard lock(m_mutex);
    for (auto it = m_next_look.begin(); it != m_next_look.end() && due.size() < most;) {
        if (it->second <= now) {
            due.push_back(it->first);
            it = m_next_look.erase(it);
        } else {
            ++it;
        }
    }
    return due;
}

std::size_t ClaimWatch::size() const
{
    const std::lock_guard lock(m_mutex);
    return m_next_look.size();
}

} // namespace edw
