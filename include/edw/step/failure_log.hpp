// FailureLog: a step's failures recorded on the document, retries with backoff, and parking.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace edw {

/// How often and how soon a failing step is tried again.
struct RetryPolicy {
    int max_attempts = 5; ///< Attempts in all; after the last failure the doc is parked.
    std::chrono::milliseconds first_delay{std::chrono::seconds(10)}; ///< Doubles per attempt.
    std::chrono::milliseconds max_delay{std::chrono::minutes(10)};

    /// The wait after failed attempt `attempt` (1-based): first_delay * 2^(attempt-1), capped.
    [[nodiscard]] std::chrono::milliseconds delay_after(int attempt) const;
};

/// What one failed attempt left behind.
struct Failure {
    std::string step;
    std::string worker;  ///< "host:pid/listener"
    std::string message; ///< The exception's text, or how a command ended.
    std::string detail;  ///< A stderr tail or traceback; may be empty.
};

/// The field holding the failures: an array of {step, worker, attempt, time, message, detail,
/// retry_at | parked, retried}. Outside `process` and `status` handling, so the `lastproc` view
/// emits the same rows for a doc whatever its failures.
inline constexpr const char* failures_field = "edw_failures";

/// The status of a doc parked after its last attempt at `step`: "failed:<step>". Not "good", so
/// it leaves `lastproc` (the pipeline) and the `status` view counts it.
std::string parked_status(std::string_view step);

/// The failed attempts at `step` since the doc was last put back by a retry.
int failed_attempts(const nlohmann::json& doc, std::string_view step);

/// When the next attempt at `step` may start, as an ISO 8601 time; nothing when it may start now.
std::optional<std::string> retry_at(const nlohmann::json& doc, std::string_view step);

/// `doc` with `failure` recorded at `now` (ISO 8601). When attempts are left, the entry says
/// when to retry; after the last one the doc is parked (status "failed:<step>"; a status other
/// than "good", or none, is kept beside it for put_back to restore). At most the 20
/// latest entries are kept, so a doc that keeps failing does not grow without end.
nlohmann::json record_failure(nlohmann::json doc, const Failure& failure,
                              std::chrono::system_clock::time_point now, const RetryPolicy& policy);

/// True when `doc` is parked, at `step` when one is given.
bool is_parked(const nlohmann::json& doc, std::optional<std::string_view> step = std::nullopt);

/// `doc` put back into the pipeline: status "good" (or the status it had before parking, when
/// that was another or none), and its failures at the parked step marked
/// as retried at `now`, so that it gets all its attempts again. Nothing when it is not parked
/// (at `step`, when given).
std::optional<nlohmann::json> put_back(nlohmann::json doc, std::string_view now,
                                       std::optional<std::string_view> step = std::nullopt);

} // namespace edw
