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
    const auto expires = parse_iso8601(until);
    const std::lock_guard lock(m_mutex);
    m_next_look[id] = next_look(now, expires.value_or(Clock::time_point::max()));
}

ClaimWatch::Clock::time_point ClaimWatch::next_look(Clock::time_point now,
                                                    Clock::time_point until) const
{
    return std::min(now + m_recheck, until);
}

void ClaimWatch::look_now(const std::vector<std::string>& ids)
{
    const auto now = Clock::now();
    const std::lock_guard lock(m_mutex);
    for (const auto& id : ids) {
        m_next_look[id] = now;
    }
}

bool ClaimWatch::forget(const std::string& id)
{
    const std::lock_guard lock(m_mutex);
    return m_next_look.erase(id) > 0;
}

void ClaimWatch::note_claimed_elsewhere(const std::string& id, const std::string& until)
{
    const auto expires = parse_iso8601(until);
    if (!expires) {
        return; // unreadable: claimed as usual, and a 409 tells
    }
    const auto now = Clock::now();
    const std::lock_guard lock(m_mutex);
    // Notes of docs the claimer never asked about (run by this worker after all, or left the
    // step) go once their claim has ended, so the map stays as small as the claims running.
    if (m_claimed_elsewhere.size() >= 1024) {
        std::erase_if(m_claimed_elsewhere, [now](const auto& note) { return note.second <= now; });
    }
    m_claimed_elsewhere[id] = *expires;
}

bool ClaimWatch::claimed_elsewhere(const std::string& id, Clock::time_point now)
{
    const std::lock_guard lock(m_mutex);
    const auto found = m_claimed_elsewhere.find(id);
    if (found == m_claimed_elsewhere.end()) {
        return false;
    }
    const auto until = found->second;
    m_claimed_elsewhere.erase(found);
    if (until <= now) {
        return false; // expired: to be taken over
    }
    m_next_look[id] = next_look(now, until);
    return true;
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
