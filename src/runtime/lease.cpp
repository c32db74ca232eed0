// Lease: claim writes, their renewal, and reading claims back.
#include "edw/runtime/lease.hpp"

#include <edw/util/error.hpp>
#include <edw/util/log.hpp>
#include <edw/util/utc_time.hpp>

namespace edw {
namespace {

using SystemClock = std::chrono::system_clock;

nlohmann::json claim_entry(const std::string& worker, const std::string& step,
                           std::chrono::milliseconds lease)
{
    const auto now = SystemClock::now();
    return {{"worker", worker},
            {"step", step},
            {"until", iso8601(now + lease)},
            {"since", iso8601(now)}};
}

} // namespace

std::optional<Claim> claim_of(const nlohmann::json& doc, std::string_view step)
{
    const auto found = doc.find(claim_field);
    if (found == doc.end() || !found->is_object() || found->value("step", "") != step) {
        return std::nullopt;
    }
    return Claim{.worker = found->value("worker", ""),
                 .step = std::string(step),
                 .until = found->value("until", "")};
}

bool claimed_by_other(const nlohmann::json& doc, std::string_view step, std::string_view worker)
{
    const auto claim = claim_of(doc, step);
    return claim && claim->worker != worker && claim->until > utc_now_iso8601();
}

nlohmann::json without_claim(nlohmann::json doc)
{
    doc.erase(claim_field);
    return doc;
}

LeaseKeeper::LeaseKeeper(Database& database, std::string worker, std::string step,
                         std::chrono::milliseconds lease)
    : m_database(database)
    , m_worker(std::move(worker))
    , m_step(std::move(step))
    , m_lease(lease)
    , m_thread([this](std::stop_token stop) { renew_loop(stop); })
{}

LeaseKeeper::~LeaseKeeper()
{
    m_thread.request_stop();
    m_wake.notify_all();
}

std::optional<nlohmann::json> LeaseKeeper::claim(nlohmann::json doc)
{
    const std::string id = doc.value("_id", "");
    doc[claim_field] = claim_entry(m_worker, m_step, m_lease);
    const auto saved = m_database.save(doc);
    if (saved.is_conflict()) {
        return std::nullopt;
    }
    doc["_rev"] = saved.rev;
    if (!saved.quorum_met) {
        // A cluster stored the claim on fewer nodes than its quorum: a rival claim may have been
        // accepted on other nodes. Only the revision that wins on a read counts.
        const auto fresh = m_database.get(id);
        if (!fresh || fresh->value("_rev", "") != saved.rev) {
            return std::nullopt;
        }
    }
    const std::lock_guard lock(m_mutex);
    m_held[id] = doc;
    m_wake.notify_all();
    return doc;
}

std::optional<nlohmann::json> LeaseKeeper::release(const std::string& id)
{
    const std::lock_guard lock(m_mutex);
    const auto found = m_held.find(id);
    if (found == m_held.end()) {
        return std::nullopt;
    }
    auto doc = std::move(found->second);
    m_held.erase(found);
    return doc;
}

long LeaseKeeper::renewals() const noexcept
{
    const std::lock_guard lock(m_mutex);
    return m_renewals;
}

void LeaseKeeper::renew_loop(std::stop_token stop)
{
    // A claim is renewed once half its lease has passed, so that a slow write still lands
    // before it expires.
    const auto half = m_lease / 2;
    std::unique_lock lock(m_mutex);
    while (!stop.stop_requested()) {
        m_wake.wait_for(lock, stop, std::max(half / 2, std::chrono::milliseconds(10)),
                        [] { return false; });
        const std::string soon = iso8601(SystemClock::now() + half);
        for (auto& [id, held] : m_held) {
            if (!held || (*held)[claim_field].value("until", "") > soon) {
                continue;
            }
            nlohmann::json renewed = *held;
            renewed[claim_field]["until"] = iso8601(SystemClock::now() + m_lease);
            // Written under the lock: release() waits for it, so the worker's result is always
            // written on the newest revision.
            try {
                const auto saved = m_database.save(renewed);
                if (saved.is_conflict()) {
                    log_warning("lost the claim on doc " + id + " for step " + m_step +
                                ": it changed under us");
                    held.reset();
                    continue;
                }
                renewed["_rev"] = saved.rev;
                held = std::move(renewed);
                ++m_renewals;
            } catch (const Error& error) {
                log_warning("cannot renew the claim on doc " + id + ": " + error.what() +
                            "; trying again shortly");
            }
        }
    }
}

} // namespace edw
