// ClaimPreference: which of a step's live workers claims a doc first, so that workers sharing a
// step with --lease seldom race for the same docs.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace edw {

/// Every worker of a step reads every doc from the feed. Claiming in the feed's order, or a
/// random pick of it, most claims would collide (a 409 costs the server a write all the same).
/// Instead each doc has one preferred worker among the live ones, by rendezvous hashing of
/// (worker name, doc id): every worker computes the same answer from the same list, and a
/// worker joining or leaving moves only its own share. Others take a doc only when its
/// preferred worker has left it unclaimed for a while (busy, or dead and not yet seen so).
/// Thread-safe: the heartbeat sets the list, the claimer asks.
class ClaimPreference {
public:
    /// This worker, `me`, and the other live workers of the step that claim.
    void set_workers(std::string me, std::vector<std::string> others);
    /// Adds a worker seen claiming a doc of the step, before its record is read: workers that
    /// start together learn of each other at once. Returns whether it was new.
    bool add_worker(const std::string& name);
    /// Whether this worker is the doc's preferred one (always, while it knows of no other).
    [[nodiscard]] bool mine(std::string_view doc_id) const;
    /// How many workers share the step, this one included (at least 1).
    [[nodiscard]] std::size_t workers() const;

private:
    mutable std::mutex m_mutex;
    std::string m_me;
    std::vector<std::string> m_workers; ///< Sorted, with m_me; empty: all docs are mine.
};

} // namespace edw
