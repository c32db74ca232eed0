// ClaimWatch: when to look again at docs other workers have claimed.
#include "claim_watch.hpp"

#include <edw/util/utc_time.hpp>

#include <algorithm>

namespace edw {

ClaimWatch::ClaimWatch(std::chrono::milliseconds recheck)
    : m_recheck(recheck)
{}

void ClaimWatch::set_holders(std::map<std::string, Holder> holders)
{
    const std::lock_guard lock(m_mutex);
    m_holders = std::move(holders);
}

ClaimWatch::Entry ClaimWatch::entry(Clock::time_point now, Clock::time_point until,
                                    const std::string& holder) const
{
    Entry made{.next_look = std::min(now + m_recheck, until), .until = until, .holder = holder};
    // A worker the records know of is read about, not the doc: a live one renews its claim,
    // gives the doc back or writes it; a dead one's claim is taken over once it has run out.
    // The recheck is for claims of workers without a record (an older edw, a lost claim).
    if (m_holders.contains(holder) && until != Clock::time_point::max()) {
        made.next_look = until;
    }
    return made;
}

void ClaimWatch::watch(const std::string& id, const std::string& until, const std::string& holder)
{
    const auto now = Clock::now();
    const auto expires = parse_iso8601(until);
    const std::lock_guard lock(m_mutex);
    m_entries[id] = entry(now, expires.value_or(Clock::time_point::max()), holder);
}

void ClaimWatch::look_now(const std::vector<std::string>& ids)
{
    const auto now = Clock::now();
    const std::lock_guard lock(m_mutex);
    for (const auto& id : ids) {
        auto& looked = m_entries[id];
        looked.next_look = now;
        looked.read = true;
    }
}

bool ClaimWatch::forget(const std::string& id)
{
    const std::lock_guard lock(m_mutex);
    return m_entries.erase(id) > 0;
}

void ClaimWatch::note_claimed_elsewhere(const std::string& id, const std::string& until,
                                        const std::string& holder)
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
        std::erase_if(m_claimed_elsewhere,
                      [now](const auto& note) { return note.second.until <= now; });
    }
    m_claimed_elsewhere[id] = Note{*expires, holder};
}

bool ClaimWatch::claimed_elsewhere(const std::string& id, Clock::time_point now)
{
    const std::lock_guard lock(m_mutex);
    const auto found = m_claimed_elsewhere.find(id);
    if (found == m_claimed_elsewhere.end()) {
        return false;
    }
    const Note note = found->second;
    m_claimed_elsewhere.erase(found);
    if (note.until <= now) {
        return false; // expired: to be taken over
    }
    m_entries[id] = entry(now, note.until, note.holder);
    return true;
}

ClaimWatch::Due ClaimWatch::when_due(Entry& due, Clock::time_point now)
{
    const auto known = m_holders.find(due.holder);
    if (due.read || due.until == Clock::time_point::max() || known == m_holders.end() ||
        !known->second.live) {
        return Due::read; // given back, not known, or its holder stopped or died
    }
    if (known->second.beat >= due.until) {
        ++m_dropped_unread; // alive after the claim would have run out: renewed, or done
        return Due::drop;
    }
    // Not beaten since: alive a moment ago, or dead on another machine, its record not yet
    // silent long enough to tell. One heartbeat more (and a second for the beat's write) tells.
    const auto told = due.until + known->second.beat_every + std::chrono::seconds(1);
    if (now < told) {
        due.next_look = told;
        return Due::wait;
    }
    return Due::read;
}

std::vector<std::string> ClaimWatch::take_due(Clock::time_point now, std::size_t most)
{
    std::vector<std::string> due;
    const std::lock_guard lock(m_mutex);
    for (auto it = m_entries.begin(); it != m_entries.end() && due.size() < most;) {
        if (it->second.next_look > now) {
            ++it;
            continue;
        }
        switch (when_due(it->second, now)) {
        case Due::read:
            due.push_back(it->first);
            it = m_entries.erase(it);
            break;
        case Due::drop:
            it = m_entries.erase(it);
            break;
        case Due::wait:
            ++it; // for its holder's next beat
            break;
        }
    }
    return due;
}

std::size_t ClaimWatch::size() const
{
    const std::lock_guard lock(m_mutex);
    return m_entries.size();
}

std::size_t ClaimWatch::dropped_unread() const
{
    const std::lock_guard lock(m_mutex);
    return m_dropped_unread;
}

} // namespace edw
