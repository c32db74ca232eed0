// ClaimPreference: rendezvous hashing of (worker, doc) over the step's live workers.
#include "claim_preference.hpp"

#include <edw/runtime/shard.hpp>

#include <algorithm>
#include <cstdint>

namespace edw {

namespace {

// FNV-1a alone mixes its last bytes poorly into the high bits; the scores are compared whole.
std::uint64_t mixed(std::uint64_t x) noexcept
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::uint64_t score(std::string_view worker, std::string_view doc_id)
{
    return mixed(fnv1a64(worker) * 0x100000001b3ULL ^ mixed(fnv1a64(doc_id)));
}

} // namespace

void ClaimPreference::set_workers(std::string me, std::vector<std::string> others)
{
    others.push_back(me);
    std::sort(others.begin(), others.end());
    others.erase(std::unique(others.begin(), others.end()), others.end());
    const std::lock_guard lock(m_mutex);
    m_me = std::move(me);
    m_workers = std::move(others);
}

bool ClaimPreference::add_worker(const std::string& name)
{
    const std::lock_guard lock(m_mutex);
    if (m_me.empty()) {
        return false; // not sharing by preference (no lease, or no records)
    }
    const auto at = std::lower_bound(m_workers.begin(), m_workers.end(), name);
    if (at != m_workers.end() && *at == name) {
        return false;
    }
    m_workers.insert(at, name);
    return true;
}

bool ClaimPreference::mine(std::string_view doc_id) const
{
    const std::lock_guard lock(m_mutex);
    if (m_workers.size() <= 1) {
        return true;
    }
    const std::string* best = nullptr;
    std::uint64_t best_score = 0;
    for (const auto& worker : m_workers) {
        const auto value = score(worker, doc_id);
        // Ties (never seen in practice) go to the smaller name, the same on every worker.
        if (best == nullptr || value > best_score) {
            best = &worker;
            best_score = value;
        }
    }
    return *best == m_me;
}

std::size_t ClaimPreference::workers() const
{
    const std::lock_guard lock(m_mutex);
    return std::max<std::size_t>(m_workers.size(), 1);
}

} // namespace edw
