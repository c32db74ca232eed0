// CheckpointTracker: which feed position is safe to save while changes finish out of order.
#pragma once

#include <edw/db/seq.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

namespace edw {

/// Changes are handled in parallel and finish in any order, but a checkpoint may only name a seq
/// when every change before it in the feed has been handled: otherwise a crash would skip the
/// unfinished ones. The tracker keeps the feed's own order (seqs themselves have none) and
/// reports the last seq of the longest finished prefix. Thread-safe.
class CheckpointTracker {
public:
    using Ticket = std::uint64_t;

    /// Records that the change at `seq` was read from the feed; finish it with the ticket, once
    /// by each of its `holders` (the steps that share one feed each finish it).
    Ticket start(const Seq& seq, int holders = 1);
    /// Records a feed end (`last_seq`): nothing to handle, so it is finished at once.
    void pass(const Seq& seq);
    /// Marks the change of `ticket` as handled (written, or found to need nothing) by one of
    /// its holders; it is handled once all of them have finished it.
    void finish(Ticket ticket);

    /// The seq up to which everything is handled, if it moved since the last call.
    std::optional<Seq> take_new_checkpoint();
    /// How many changes were read and are not yet handled.
    [[nodiscard]] std::size_t unfinished() const;
    /// The seq up to which everything is handled, without taking it; nothing before the first.
    [[nodiscard]] std::optional<Seq> handled() const;
    /// How long the oldest change not yet handled has waited since it was read; zero when every
    /// change read is handled. What a metric of the step's lag behind its feed reports.
    [[nodiscard]] std::chrono::steady_clock::duration oldest_unfinished_age() const;

private:
    struct Entry {
        Seq seq;
        int unfinished_holders = 0;
        std::chrono::steady_clock::time_point read_at;
    };
    void advance();

    mutable std::mutex m_mutex;
    std::deque<Entry> m_entries; ///< From the oldest unfinished change on.
    Ticket m_first_ticket = 0;   ///< The ticket of m_entries.front().
    std::optional<Seq> m_handled;
    bool m_moved = false;
};

} // namespace edw
