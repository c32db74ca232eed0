// Lease: a worker's claim on a document while its step runs, kept alive until the result is in.
#pragma once

#include <edw/db/database.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace edw {

/// The field holding a claim: {worker, step, until, since}. Outside `process` and `status`, so
/// the `lastproc` view emits the same rows for a claimed doc as for any other.
inline constexpr const char* claim_field = "edw_claim";

/// A claim read from a doc.
struct Claim {
    std::string worker;
    std::string step;
    std::string until; ///< ISO 8601, comparable as text.
};

/// The claim on `doc` for `step`, when there is one.
std::optional<Claim> claim_of(const nlohmann::json& doc, std::string_view step);

/// True when another worker than `worker` holds a claim on `doc` for `step` that has not expired.
bool claimed_by_other(const nlohmann::json& doc, std::string_view step, std::string_view worker);

/// `doc` without its claim field.
nlohmann::json without_claim(nlohmann::json doc);

/// Claims documents for one worker with revision-checked writes, many in one `_bulk_docs`,
/// and renews the claims it holds, in batches from its own thread, before they expire.
class LeaseKeeper {
public:
    LeaseKeeper(Database& database, std::string worker, std::string step,
                std::chrono::milliseconds lease);
    ~LeaseKeeper();
    LeaseKeeper(const LeaseKeeper&) = delete;
    LeaseKeeper& operator=(const LeaseKeeper&) = delete;

    /// Claims `docs` (each as read, with its `_rev`) in one write. Each answer, in order, is the
    /// claimed doc with its new `_rev`, or nothing when another worker got there first: a 409,
    /// or, after a cluster stored the claim on too few nodes (202), a re-read that does not show
    /// it as the doc's only revision. Throws what the write throws (network trouble).
    std::vector<std::optional<nlohmann::json>> claim(std::vector<nlohmann::json> docs);
    /// One doc: claim({doc}).
    std::optional<nlohmann::json> claim(nlohmann::json doc);

    /// Stops renewing the claim on `id` and returns the doc as last written (its newest
    /// `_rev`), or nothing when a renewal lost the doc to another writer.
    std::optional<nlohmann::json> release(const std::string& id);

    /// Gives back the claims on `ids`, whose callbacks never started, in one write that removes
    /// them, so that other workers can take the docs at once. Returns how many were given back.
    /// Never throws: a claim that cannot be given back expires.
    std::size_t give_back(const std::vector<std::string>& ids);

    [[nodiscard]] std::chrono::milliseconds lease() const noexcept { return m_lease; }
    [[nodiscard]] long renewals() const noexcept;

private:
    void renew_loop(std::stop_token stop);
    void renew_due(std::unique_lock<std::mutex>& lock);
    bool confirm_accepted(const std::string& id, const std::string& rev);

    Database& m_database;
    std::string m_worker;
    std::string m_step;
    std::chrono::milliseconds m_lease;
    mutable std::mutex m_mutex;
    std::condition_variable_any m_wake;
    std::map<std::string, std::optional<nlohmann::json>> m_held; ///< Empty: lost in a renewal.
    long m_renewals = 0;
    std::jthread m_thread; ///< Last: started once everything above exists.
};

} // namespace edw
