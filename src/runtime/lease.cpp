// Lease: claim writes, their renewal, and reading claims back.
#include "edw/runtime/lease.hpp"

#include <edw/util/error.hpp>
#include <edw/util/log.hpp>
#include <edw/util/utc_time.hpp>

#include <algorithm>

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

std::vector<std::optional<nlohmann::json>> LeaseKeeper::claim(std::vector<nlohmann::json> docs)
{
    std::vector<std::optional<nlohmann::json>> claimed(docs.size());
    if (docs.empty()) {
        return claimed;
    }
    const auto entry = claim_entry(m_worker, m_step, m_lease);
    for (auto& doc : docs) {
        doc[claim_field] = entry;
    }
    // Each doc carries the _rev it was read with: a doc another worker claimed (or changed)
    // since is a 409 of its own, and the batch's others are claimed all the same.
    const auto results = m_database.bulk_save(docs);
    for (std::size_t i = 0; i < docs.size(); ++i) {
        const auto& result = results.at(i);
        const std::string id = docs[i].value("_id", "");
        if (!result.ok()) {
            if (!result.is_conflict()) {
                log_warning("cannot claim doc " + id + " for step " + m_step + ": " + result.error +
                            " (" + result.reason + ")");
            }
            continue;
        }
        if (result.accepted && !confirm_accepted(id, result.rev)) {
            continue;
        }
        docs[i]["_rev"] = result.rev;
        claimed[i] = std::move(docs[i]);
    }
    const std::lock_guard lock(m_mutex);
    for (const auto& doc : claimed) {
        if (doc) {
            m_held[doc->value("_id", "")] = *doc;
        }
    }
    m_wake.notify_all();
    return claimed;
}

std::optional<nlohmann::json> LeaseKeeper::claim(nlohmann::json doc)
{
    std::vector<nlohmann::json> one;
    one.push_back(std::move(doc));
    return std::move(claim(std::move(one)).front());
}

// A cluster stored our claim on fewer nodes than its quorum: another node may have accepted a
// rival claim on the same revision, and the two become leaves of one doc once the nodes sync.
// Every node picks the same winning leaf, and both workers read it: the winner's claim stands,
// and a losing worker deletes its own leaf, which leaves no `_conflicts` behind. Only losers
// delete, and only their own leaves: the winning leaf is never deleted, so the doc cannot end
// up with every leaf deleted, as it would if both workers withdrew.
bool LeaseKeeper::confirm_accepted(const std::string& id, const std::string& rev)
{
    try {
        const auto fresh = m_database.get_with_history(id); // ?conflicts=true
        if (!fresh) {
            return false;
        }
        if (fresh->value("_rev", "") == rev) {
            return true; // the winning leaf, alone or not: the losers withdraw theirs
        }
        std::vector<std::string> others;
        if (const auto found = fresh->find("_conflicts"); found != fresh->end()) {
            others = found->get<std::vector<std::string>>();
        }
        if (std::find(others.begin(), others.end(), rev) != others.end()) {
            log_info("claim on doc " + id + " for step " + m_step +
                     " collided with another worker's on the cluster, and lost: withdrawing ours");
            m_database.remove(id, rev);
        }
    } catch (const Error& error) {
        log_warning("cannot check the claim on doc " + id + " a cluster accepted on too few " +
                    "nodes: " + error.what() + "; leaving the doc to others");
    }
    return false;
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

std::size_t LeaseKeeper::give_back(const std::vector<std::string>& ids)
{
    std::vector<nlohmann::json> docs;
    {
        const std::lock_guard lock(m_mutex);
        for (const auto& id : ids) {
            const auto found = m_held.find(id);
            if (found == m_held.end()) {
                continue;
            }
            if (found->second) {
                docs.push_back(without_claim(std::move(*found->second)));
            }
            m_held.erase(found);
        }
    }
    if (docs.empty()) {
        return 0;
    }
    std::size_t given = 0;
    try {
        for (const auto& result : m_database.bulk_save(docs)) {
            given += result.ok() ? 1 : 0;
        }
    } catch (const Error& error) {
        log_warning("cannot give back " + std::to_string(docs.size()) + " claims for step " +
                    m_step + ": " + error.what() + "; other workers take them when they expire");
    }
    return given;
}

long LeaseKeeper::renewals() const noexcept
{
    const std::lock_guard lock(m_mutex);
    return m_renewals;
}

void LeaseKeeper::renew_loop(std::stop_token stop)
{
    std::unique_lock lock(m_mutex);
    while (!stop.stop_requested()) {
        m_wake.wait_for(lock, stop, std::max(m_lease / 4, std::chrono::milliseconds(10)),
                        [] { return false; });
        if (!stop.stop_requested()) {
            renew_due(lock);
        }
    }
}

// Renews, in one write, every claim past half its lease, so that a slow write still lands
// before it expires. Written under the lock: release() waits for it, so the worker's result is
// always written on the newest revision.
void LeaseKeeper::renew_due(std::unique_lock<std::mutex>& /*lock*/)
{
    const std::string soon = iso8601(SystemClock::now() + m_lease / 2);
    const std::string until = iso8601(SystemClock::now() + m_lease);
    std::vector<nlohmann::json> renewed;
    for (auto& [id, held] : m_held) {
        if (held && (*held)[claim_field].value("until", "") <= soon) {
            renewed.push_back(*held);
            renewed.back()[claim_field]["until"] = until;
        }
    }
    if (renewed.empty()) {
        return;
    }
    std::vector<BulkResult> results;
    try {
        results = m_database.bulk_save(renewed);
    } catch (const Error& error) {
        log_warning("cannot renew " + std::to_string(renewed.size()) + " claims for step " +
                    m_step + ": " + error.what() + "; trying again shortly");
        return;
    }
    for (std::size_t i = 0; i < renewed.size(); ++i) {
        const std::string id = renewed[i].value("_id", "");
        auto& held = m_held[id];
        if (results.at(i).is_conflict()) {
            log_warning("lost the claim on doc " + id + " for step " + m_step +
                        ": it changed under us");
            held.reset();
        } else if (results[i].ok()) {
            renewed[i]["_rev"] = results[i].rev;
            held = std::move(renewed[i]);
            ++m_renewals;
        } else {
            log_warning("cannot renew the claim on doc " + id + ": " + results[i].error + " (" +
                        results[i].reason + "); trying again shortly");
        }
    }
}

} // namespace edw
