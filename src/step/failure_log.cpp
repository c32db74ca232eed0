// FailureLog: the bookkeeping of failed attempts on a document.
#include "edw/step/failure_log.hpp"

#include <edw/util/utc_time.hpp>

#include <algorithm>

namespace edw {
namespace {

constexpr std::size_t kept_entries = 20;
constexpr std::string_view parked_prefix = "failed:";
// Where parking keeps a doc's own status when it had one other than "good" (a state document
// whose workflow uses `status`), so that putting it back restores it: null when it had none.
constexpr const char* status_before_parking = "edw_status_before_parking";

// Entries of `step` that count: not yet settled by a retry.
template <typename Each>
void for_open_failures(const nlohmann::json& doc, std::string_view step, Each&& each)
{
    const auto found = doc.find(failures_field);
    if (found == doc.end() || !found->is_array()) {
        return;
    }
    for (const auto& entry : *found) {
        if (entry.is_object() && entry.value("step", "") == step && !entry.contains("retried")) {
            each(entry);
        }
    }
}

} // namespace

std::chrono::milliseconds RetryPolicy::delay_after(int attempt) const
{
    auto delay = first_delay;
    for (int i = 1; i < attempt && delay < max_delay; ++i) {
        delay *= 2;
    }
    return std::min(delay, max_delay);
}

std::string parked_status(std::string_view step)
{
    return std::string(parked_prefix) + std::string(step);
}

int failed_attempts(const nlohmann::json& doc, std::string_view step)
{
    // The highest attempt number rather than a count: older entries may have been dropped.
    int attempts = 0;
    for_open_failures(doc, step, [&](const nlohmann::json& entry) {
        const auto attempt = entry.find("attempt");
        attempts = std::max(attempts, attempt != entry.end() && attempt->is_number_integer()
                                          ? attempt->get<int>()
                                          : attempts + 1);
    });
    return attempts;
}

std::optional<std::string> retry_at(const nlohmann::json& doc, std::string_view step)
{
    std::optional<std::string> latest;
    for_open_failures(doc, step, [&](const nlohmann::json& entry) {
        if (entry.contains("retry_at") && entry["retry_at"].is_string()) {
            latest = entry["retry_at"].get<std::string>();
        }
    });
    // ISO 8601 times in one fixed form sort as text.
    if (latest && *latest > utc_now_iso8601()) {
        return latest;
    }
    return std::nullopt;
}

nlohmann::json record_failure(nlohmann::json doc, const Failure& failure,
                              std::chrono::system_clock::time_point now, const RetryPolicy& policy)
{
    const int attempt = failed_attempts(doc, failure.step) + 1;
    nlohmann::json entry = {{"step", failure.step},
                            {"worker", failure.worker},
                            {"attempt", attempt},
                            {"time", iso8601(now)},
                            {"message", failure.message}};
    if (!failure.detail.empty()) {
        entry["detail"] = failure.detail;
    }
    if (attempt >= policy.max_attempts) {
        entry["parked"] = true;
        const auto status = doc.find("status");
        if (status == doc.end()) {
            doc[status_before_parking] = nullptr;
        } else if (*status != "good") {
            doc[status_before_parking] = *status;
        }
        doc["status"] = parked_status(failure.step);
    } else {
        entry["retry_at"] = iso8601(now + policy.delay_after(attempt));
    }
    auto& entries = doc[failures_field];
    if (!entries.is_array()) {
        entries = nlohmann::json::array();
    }
    entries.push_back(std::move(entry));
    if (entries.size() > kept_entries) {
        entries.erase(entries.begin(),
                      entries.begin() + static_cast<long>(entries.size() - kept_entries));
    }
    return doc;
}

bool is_parked(const nlohmann::json& doc, std::optional<std::string_view> step)
{
    const auto status = doc.find("status");
    if (status == doc.end() || !status->is_string()) {
        return false;
    }
    const auto& text = status->get_ref<const std::string&>();
    if (!text.starts_with(parked_prefix)) {
        return false;
    }
    return !step || std::string_view(text).substr(parked_prefix.size()) == *step;
}

std::optional<nlohmann::json> put_back(nlohmann::json doc, std::string_view now,
                                       std::optional<std::string_view> step)
{
    if (!is_parked(doc, step)) {
        return std::nullopt;
    }
    const std::string parked_step = doc["status"].get<std::string>().substr(parked_prefix.size());
    const auto before = doc.find(status_before_parking);
    if (before == doc.end()) {
        doc["status"] = "good";
    } else {
        if (before->is_null()) {
            doc.erase("status");
        } else {
            doc["status"] = *before;
        }
        doc.erase(status_before_parking);
    }
    if (doc.contains(failures_field) && doc[failures_field].is_array()) {
        for (auto& entry : doc[failures_field]) {
            if (entry.is_object() && entry.value("step", "") == parked_step &&
                !entry.contains("retried")) {
                entry["retried"] = now;
            }
        }
    }
    return doc;
}

} // namespace edw
