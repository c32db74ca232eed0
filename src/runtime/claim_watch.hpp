// ClaimWatch: the docs of this step that other workers hold claims on, each to be looked at
// again soon, so that one whose worker died or gave it back is taken over promptly.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace edw {

/// A doc is looked at again when its claim would expire, or after `recheck` if that is sooner:
/// a worker stopped with SIGTERM gives its unstarted claims back long before they expire, and
/// the feed, far behind on a busy step, would bring the give-back only after its backlog.
class ClaimWatch {
public:
    using Clock = std::chrono::system_clock; ///< Claims hold wall-clock times.

    explicit ClaimWatch(std::chrono::milliseconds recheck = std::chrono::seconds(1));

    /// Watches `id`, whose claim lasts until `until` (ISO 8601; unreadable: a recheck away).
    void watch(const std::string& id, const std::string& until);
    /// Looks at these docs at the next chance: another worker gave them back as it stopped.
    void look_now(const std::vector<std::string>& ids);
    /// Stops watching `id` (the feed brought it back unclaimed); returns whether it was watched.
    bool forget(const std::string& id);
    /// The feed brought a newer revision of `id`, which this worker holds an older copy of, not
    /// yet claimed: another worker claimed it, until `until`. Claiming the older copy would be a
    /// sure 409 that costs the server a write; the claimer asks `claimed_elsewhere` first.
    void note_claimed_elsewhere(const std::string& id, const std::string& until);
    /// Whether `id` was noted so and that claim still runs at `now`; if so, it is watched from
    /// now on, as a claim lost to another worker is.
    bool claimed_elsewhere(const std::string& id, Clock::time_point now);
    /// The docs due for a look at `now`, which stop being watched. At most `most`.
    std::vector<std::string> take_due(Clock::time_point now, std::size_t most);
    [[nodiscard]] std::size_t size() const;

private:
    /// When a doc claimed until `until` is looked at: then, or after the recheck if sooner.
    [[nodiscard]] Clock::time_point next_look(Clock::time_point now, Clock::time_point until) const;

    std::chrono::milliseconds m_recheck;
    mutable std::mutex m_mutex;
    std::map<std::string, Clock::time_point> m_next_look;
    std::map<std::string, Clock::time_point> m_claimed_elsewhere; ///< Until when.
};

} // namespace edw
