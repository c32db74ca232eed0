// ClaimWatch: the docs of this step that other workers hold claims on, each to be looked at
// again when its worker may have died or given it back, so that it is taken over promptly,
// and never read again for nothing while its worker lives.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace edw {

/// A doc is read again when its claim would expire, or after `recheck` if that is sooner
/// and the records do not know its holder; never if they know it to be alive: a live worker
/// renews the claims it holds (the feed brings each renewal, which watches the doc anew), gives
/// back at a stop what it did not start (its record lists those), and writes the rest. So a
/// doc whose live holder has beaten since its claim would have run out is dropped unread. One
/// that has not is given one more heartbeat, then read: its holder may have died elsewhere.
class ClaimWatch {
public:
    using Clock = std::chrono::system_clock; ///< Claims and records hold wall-clock times.

    /// What the step's records say of a worker that holds claims.
    struct Holder {
        bool live = false;      ///< Running (not stopping, stopped or silent too long).
        Clock::time_point beat; ///< Its last heartbeat.
        std::chrono::milliseconds beat_every{0};
    };

    explicit ClaimWatch(std::chrono::milliseconds recheck = std::chrono::seconds(1));

    /// The step's workers, from their records: replaces what was known.
    void set_holders(std::map<std::string, Holder> holders);
    /// Watches `id`, whose claim by `holder` lasts until `until` (ISO 8601; unreadable: a
    /// recheck away). An empty `holder`: unknown (a claim lost to a 409 says not whose).
    void watch(const std::string& id, const std::string& until, const std::string& holder = {});
    /// Reads these docs at the next chance: another worker gave them back as it stopped.
    void look_now(const std::vector<std::string>& ids);
    /// Stops watching `id` (the feed brought it back unclaimed); returns whether it was watched.
    bool forget(const std::string& id);
    /// The feed brought a newer revision of `id`, which this worker holds an older copy of, not
    /// yet claimed: `holder` claimed it, until `until`. Claiming the older copy would be a sure
    /// 409 that costs the server a write; the claimer asks `claimed_elsewhere` first.
    void note_claimed_elsewhere(const std::string& id, const std::string& until,
                                const std::string& holder = {});
    /// Whether `id` was noted so and that claim still runs at `now`; if so, it is watched from
    /// now on, as a claim lost to another worker is.
    bool claimed_elsewhere(const std::string& id, Clock::time_point now);
    /// The docs to read at `now`, which stop being watched: at most `most`. Docs whose live
    /// holder has beaten since their claim would have run out are dropped unread.
    std::vector<std::string> take_due(Clock::time_point now, std::size_t most);
    [[nodiscard]] std::size_t size() const;
    /// Docs dropped unread so far, their holder alive.
    [[nodiscard]] std::size_t dropped_unread() const;

private:
    struct Entry {
        Clock::time_point next_look;
        Clock::time_point until = Clock::time_point::max(); ///< max: unknown.
        std::string holder;
        bool read = false; ///< Read when due, whatever its holder (given back, or past a beat).
    };
    struct Note {
        Clock::time_point until;
        std::string holder;
    };

    /// A new entry for a doc claimed until `until` by `holder`, as known at `now`.
    [[nodiscard]] Entry entry(Clock::time_point now, Clock::time_point until,
                              const std::string& holder) const;
    enum class Due { read, drop, wait };
    /// What a due entry comes to: read now, dropped unread, or a wait (its next look moved).
    [[nodiscard]] Due when_due(Entry& entry, Clock::time_point now);

    std::chrono::milliseconds m_recheck;
    mutable std::mutex m_mutex;
    std::map<std::string, Holder> m_holders;
    std::map<std::string, Entry> m_entries;
    std::map<std::string, Note> m_claimed_elsewhere;
    std::size_t m_dropped_unread = 0;
};

} // namespace edw
