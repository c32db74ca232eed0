// FeedCheckpoint: how far one changes feed is handled, and its `_local` doc.
#pragma once

#include <edw/db/database.hpp>
#include <edw/runtime/checkpoint_tracker.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

namespace edw {

/// The position of one feed, shared by every step that reads it: a lone StepRunner's own, or
/// the one a SharedFeed hands its steps' rows from. Saved in `_local/edw-checkpoint-<listener>`
/// at most once an interval, and whenever asked to save now. Thread-safe.
class FeedCheckpoint {
public:
    FeedCheckpoint(Database& database, std::chrono::milliseconds interval);

    /// Names the `_local` doc (from the listener) and what it records under "step".
    void set_owner(std::string listener, std::string steps);
    [[nodiscard]] const std::string& listener() const noexcept { return m_listener; }

    /// The saved seq, if any; remembers the doc's rev for the next save.
    std::optional<Seq> read();
    /// Saves the handled seq if it moved, unless the last save is younger than the interval
    /// (`now` saves anyway). A failed save is logged: an older checkpoint only means some
    /// changes are looked at again.
    void save(bool now);

    CheckpointTracker tracker;

private:
    Database& m_database;
    std::chrono::milliseconds m_interval;
    std::mutex m_mutex;
    std::string m_listener;
    std::string m_steps;
    std::string m_rev;
    std::chrono::steady_clock::time_point m_last_save{};
};

} // namespace edw
