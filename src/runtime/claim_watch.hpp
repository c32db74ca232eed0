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
    /// Stops watching `id` (this worker has it in hand now).
    void forget(const std::string& id);
    /// The docs due for a look at `now`, which stop being watched. At most `most`.
    std::vector<std::string> take_due(Clock::time_point now, std::size_t most);
    [[nodiscard]] std::size_t size() const;

private:
    std::chrono::milliseconds m_recheck;
    mutable std::mutex m_mutex;
    std::map<std::string, Clock::time_point> m_next_look;
};

} // namespace edw
