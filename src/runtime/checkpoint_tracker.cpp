// CheckpointTracker: the finished prefix of the feed.
#include "edw/runtime/checkpoint_tracker.hpp"

#include <algorithm>
#include <cassert>

namespace edw {

CheckpointTracker::Ticket CheckpointTracker::start(const Seq& seq, int holders)
{
    const std::lock_guard lock(m_mutex);
    m_entries.push_back(Entry{seq, std::max(1, holders), std::chrono::steady_clock::now()});
    return m_first_ticket + m_entries.size() - 1;
}

void CheckpointTracker::pass(const Seq& seq)
{
    const std::lock_guard lock(m_mutex);
    m_entries.push_back(Entry{seq, 0, std::chrono::steady_clock::now()});
    advance();
}

void CheckpointTracker::finish(Ticket ticket)
{
    const std::lock_guard lock(m_mutex);
    assert(ticket >= m_first_ticket && ticket < m_first_ticket + m_entries.size() &&
           "finish() takes a ticket from start(), once");
    auto& entry = m_entries[ticket - m_first_ticket];
    assert(entry.unfinished_holders > 0 && "each holder finishes a ticket once");
    --entry.unfinished_holders;
    advance();
}

void CheckpointTracker::advance()
{
    while (!m_entries.empty() && m_entries.front().unfinished_holders == 0) {
        m_handled = std::move(m_entries.front().seq);
        m_entries.pop_front();
        ++m_first_ticket;
        m_moved = true;
    }
}

std::optional<Seq> CheckpointTracker::take_new_checkpoint()
{
    const std::lock_guard lock(m_mutex);
    if (!m_moved) {
        return std::nullopt;
    }
    m_moved = false;
    return m_handled;
}

std::size_t CheckpointTracker::unfinished() const
{
    const std::lock_guard lock(m_mutex);
    std::size_t count = 0;
    for (const auto& entry : m_entries) {
        count += entry.unfinished_holders > 0 ? 1 : 0;
    }
    return count;
}

std::optional<Seq> CheckpointTracker::handled() const
{
    const std::lock_guard lock(m_mutex);
    return m_handled;
}

std::chrono::steady_clock::duration CheckpointTracker::oldest_unfinished_age() const
{
    const std::lock_guard lock(m_mutex);
    // advance() leaves an unfinished change at the front, when there is any.
    return m_entries.empty() ? std::chrono::steady_clock::duration::zero()
                             : std::chrono::steady_clock::now() - m_entries.front().read_at;
}

} // namespace edw
