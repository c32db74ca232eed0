// StepRunner's claimer, with --lease: claims the docs the workers are about to run, many in one
// write, a few ahead of them; looks again at docs other workers hold, taking over first those
// whose claim expired or was given back; and gives back, at a stop, the claims not yet started.
#include "step_runner_impl.hpp"

#include <edw/util/utc_time.hpp>

#include <algorithm>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <random>

namespace edw {

// How many claimed docs may wait for a worker: as many as the workers start within a quarter
// of a second (a tenth of the lease if shorter), so that a worker that dies leaves little
// behind and the step's other workers find work too; at least one per worker, at most
// --batch-size. Trivial callbacks thus claim in batches of up to --batch-size.
std::size_t StepRunner::Impl::claims_ahead() const
{
    const auto jobs = static_cast<std::size_t>(std::max(1, m_options.jobs));
    const auto& callbacks = m_counts.callback_seconds;
    if (callbacks.count() == 0) {
        return jobs;
    }
    const double mean = callbacks.sum_seconds() / static_cast<double>(callbacks.count());
    const double soon = std::min(1.0, std::chrono::duration<double>(*m_options.lease).count() / 10);
    const double ahead = static_cast<double>(jobs) * soon / std::max(mean, 1e-5);
    return std::clamp(static_cast<std::size_t>(ahead), jobs, std::max(jobs, m_options.batch_size));
}

void StepRunner::Impl::claim_work()
{
    // Workers sharing a step read the docs in the same order. Each claims first the docs it is
    // the preferred worker of (ClaimPreference), and the others' only once they have waited
    // here a while unclaimed: their worker is busy, or gone. Among those it may claim, it takes
    // a random pick of the oldest, so that workers that do not yet know of each other (a
    // heartbeat apart) seldom collide either.
    std::deque<Waiting> window;
    std::map<std::string, nlohmann::json> urgent; // freed docs found queued, as read now
    // A worker whose whole batch was claimed already trails others that took big batches: it
    // tries twice as many docs each time until it wins some, instead of trailing forever.
    std::size_t scan = 0;
    bool window_ready = true;
    std::mt19937_64 random(std::hash<std::string>{}(m_options.worker) ^
                           static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()));
    const auto leave_all = [&](std::vector<Work>& batch) {
        for (auto& item : batch) {
            release(doc_id(item.doc), item.ticket, false); // left for the next start
        }
        for (auto& waiting : window) {
            release(doc_id(waiting.work.doc), waiting.work.ticket, false);
        }
    };
    while (!m_stop.stop_requested()) {
        if (m_counts.paused.load() && !wait_while_paused()) {
            break; // a paused step claims nothing
        }
        // Claimed again once half the docs ahead have started, not after each one: a write
        // claims many docs, and the workers never run dry while it is on its way.
        const std::size_t ahead = claims_ahead();
        const std::size_t queued =
            m_claimed.wait_below(ahead / 2 + 1, std::chrono::milliseconds(100));
        if (queued > ahead / 2) {
            continue; // the workers are busy; look again (and at the stop) shortly
        }
        const std::size_t want = std::max(ahead - queued, scan);
        // Docs whose claim expired or was given back come first: the feed may not bring them
        // again before its whole backlog.
        std::vector<Work> batch = take_over_watched(want, urgent);
        const auto wait =
            std::chrono::milliseconds(batch.empty() && (window.empty() || !window_ready) ? 100 : 0);
        // A freed doc already queued here, read before its claim: the whole queue is taken in,
        // and the doc, as read now, goes first. The window holds a batch for each worker of the
        // step: most of it is the others' docs, until the feed shows them claimed.
        const std::size_t capacity = m_options.batch_size * m_preference.workers();
        const std::size_t room = urgent.empty() ? capacity - std::min(window.size(), capacity)
                                                : std::numeric_limits<std::size_t>::max();
        // First the docs of a worker that died or gave them back: docs read with a claim that
        // has expired since (looked at once, as they come in), and freed docs read again now.
        const auto first_if_freed = [&urgent](Work& item) {
            const auto found = urgent.find(doc_id(item.doc));
            if (found == urgent.end()) {
                return false;
            }
            item.doc = std::move(found->second);
            urgent.erase(found);
            return true;
        };
        for (auto it = window.begin(); !urgent.empty() && it != window.end();) {
            if (first_if_freed(it->work)) {
                batch.push_back(std::move(it->work));
                it = window.erase(it);
            } else {
                ++it;
            }
        }
        const auto now = std::chrono::steady_clock::now();
        for (auto& item : m_work.pop_some_for(room, wait)) {
            if (first_if_freed(item) || item.freed || claim_of(item.doc, m_step.name)) {
                batch.push_back(std::move(item));
            } else {
                window.push_back(Waiting{std::move(item), now});
            }
        }
        urgent.clear(); // not queued here after all: in a worker's hands, or written
        forget_claimed_elsewhere(window);
        // Nothing here to claim now (others' docs, too young to take): wait for the feed.
        window_ready = pick_from_window(window, batch, want, random);
        if (batch.empty()) {
            if (m_work.closed()) {
                return;
            }
            continue;
        }
        if (m_stop.stop_requested()) {
            leave_all(batch);
            return;
        }
        const std::size_t tried = batch.size();
        const std::size_t won = claim_batch(std::move(batch));
        scan = won > 0 || tried < want ? 0 : std::min(want * 2, m_options.batch_size);
    }
    std::vector<Work> none;
    leave_all(none);
}

// Moves up to `want` docs from the window to the batch: a random pick among the oldest of its
// own (ClaimPreference); when those run short, others' docs that have waited here longer than
// twice the claiming horizon, newest first. Their own worker takes its docs oldest first, so
// a worker helping another with its backlog works from the other end, and the two seldom meet.
// Returns false when the window holds nothing this worker may claim now.
bool StepRunner::Impl::pick_from_window(std::deque<Waiting>& window, std::vector<Work>& batch,
                                        std::size_t want, std::mt19937_64& random)
{
    if (batch.size() >= want || window.empty()) {
        return !window.empty();
    }
    const std::size_t need = want - batch.size();
    std::vector<std::size_t> picked; // window positions
    for (std::size_t i = 0; i < window.size() && picked.size() < 2 * need; ++i) {
        if (m_preference.mine(doc_id(window[i].work.doc))) {
            picked.push_back(i);
        }
    }
    if (picked.size() > need) {
        std::shuffle(picked.begin(), picked.end(), random);
        picked.resize(need);
    }
    const auto steal_after = 2 * std::min<std::chrono::steady_clock::duration>(
                                     std::chrono::seconds(1), *m_options.lease / 10);
    const auto now = std::chrono::steady_clock::now();
    std::size_t others = 0;
    for (std::size_t i = window.size(); i-- > 0 && picked.size() < need;) {
        if (now - window[i].since >= steal_after &&
            !m_preference.mine(doc_id(window[i].work.doc))) {
            picked.push_back(i);
            ++others;
        }
    }
    if (others > 0) {
        log_debug("step " + m_step.name + ": taking " + std::to_string(others) +
                  " docs other workers left unclaimed");
    }
    std::sort(picked.rbegin(), picked.rend()); // erased from the back, positions hold
    for (const auto i : picked) {
        batch.push_back(std::move(window[i].work));
        window.erase(window.begin() + static_cast<std::ptrdiff_t>(i));
    }
    return !picked.empty();
}

// The feed has shown these docs claimed by another worker since they came in: handled here,
// and watched, as a lost claim is, without the write that would lose it (with several workers
// on a busy step, each sees every doc).
void StepRunner::Impl::forget_claimed_elsewhere(std::deque<Waiting>& window)
{
    const auto now = ClaimWatch::Clock::now();
    std::erase_if(window, [&](Waiting& waiting) {
        const std::string id = doc_id(waiting.work.doc);
        if (!m_watch.claimed_elsewhere(id, now)) {
            return false;
        }
        ++m_counts.claims_lost;
        release(id, waiting.work.ticket, true);
        return true;
    });
}

std::size_t StepRunner::Impl::claim_batch(std::vector<Work> batch)
{
    std::vector<nlohmann::json> docs;
    std::vector<bool> taking_over;
    docs.reserve(batch.size());
    for (auto& item : batch) {
        taking_over.push_back(claim_of(item.doc, m_step.name).has_value() &&
                              !claimed_by_other(item.doc, m_step.name, m_options.worker));
        docs.push_back(std::move(item.doc));
    }
    std::vector<std::optional<nlohmann::json>> claimed;
    try {
        claimed = patiently("claiming " + std::to_string(docs.size()) + " docs",
                            [&] { return m_leases->claim(docs); });
    } catch (const Error& error) {
        // Only when stopping (or refused for good): the changes stay unhandled, so a restart
        // looks at them again.
        log_warning("cannot claim " + std::to_string(docs.size()) + " docs for step " +
                    m_step.name + ": " + error.what());
        for (std::size_t i = 0; i < batch.size(); ++i) {
            release(doc_id(docs[i]), batch[i].ticket, false);
        }
        return 0;
    }
    std::vector<std::string> lost;
    std::vector<std::string> unwanted;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const std::string id = doc_id(docs[i]);
        if (!claimed[i]) {
            ++m_counts.claims_lost;
            lost.push_back(id);
            release(id, batch[i].ticket, true);
            continue;
        }
        if (taking_over[i]) {
            ++m_counts.taken_over;
            log_info("took over doc " + id + ": the claim of another worker on it had expired");
        }
        batch[i].doc = std::move(*claimed[i]);
        const auto ticket = batch[i].ticket;
        if (!m_claimed.push(std::move(batch[i]))) {
            unwanted.push_back(id); // stopping: the workers take nothing more
            release(id, ticket, false);
        }
    }
    log_debug("claimed " + std::to_string(batch.size() - lost.size()) + " of " +
              std::to_string(batch.size()) + " docs for step " + m_step.name);
    if (!unwanted.empty()) {
        m_leases->give_back(unwanted);
    }
    // Looked at again in a second: by then most are done, and a read now would hold up the
    // next claim.
    for (const auto& id : lost) {
        m_watch.watch(id, std::string());
    }
    return batch.size() - lost.size();
}

std::vector<std::pair<std::string, std::optional<nlohmann::json>>>
StepRunner::Impl::read_watched(const std::vector<std::string>& ids)
{
    std::vector<std::pair<std::string, std::optional<nlohmann::json>>> docs;
    ViewQuery query;
    query.keys = std::vector<nlohmann::json>(ids.begin(), ids.end());
    query.include_docs = true;
    try {
        for (auto& row : m_database.all_docs(query).rows) {
            std::optional<nlohmann::json> doc;
            if (row.doc && row.doc->is_object()) {
                doc = std::move(*row.doc);
            }
            if (!row.id.empty()) {
                docs.emplace_back(row.id, std::move(doc));
            } // a row with only a key: no such doc
        }
    } catch (const Error& error) {
        // Looked at again in a moment rather than forgotten: the doc may need taking over.
        log_warning("cannot read " + std::to_string(ids.size()) +
                    " docs other workers claimed: " + error.what());
        for (const auto& id : ids) {
            m_watch.watch(id, std::string());
        }
        docs.clear();
    }
    return docs;
}

// The watched docs due for a look, read in one request: those still at the step and no longer
// claimed by a live worker are returned, marked in flight, to be claimed before new work.
std::vector<StepRunner::Impl::Work>
StepRunner::Impl::take_over_watched(std::size_t most, std::map<std::string, nlohmann::json>& queued)
{
    std::vector<Work> taken;
    const auto due = m_watch.take_due(ClaimWatch::Clock::now(), most);
    if (due.empty()) {
        return taken;
    }
    for (auto& [id, doc] : read_watched(due)) {
        if (!doc || !m_selection.selects(*doc) || !m_options.shard.owns(id)) {
            continue; // done, or gone
        }
        if (claimed_by_other(*doc, m_step.name, m_options.worker)) {
            const auto claim = claim_of(*doc, m_step.name);
            m_watch.watch(id, claim->until, claim->worker); // renewed: alive
            continue;
        }
        if (const auto at = retry_at(*doc, m_step.name)) {
            m_retries->schedule(id, parse_iso8601(*at).value_or(RetrySchedule::Clock::now()));
            continue;
        }
        {
            const std::lock_guard lock(m_in_flight_mutex);
            if (!m_in_flight.insert(id).second) {
                // In hand already: maybe queued, behind the backlog, as read before its claim.
                queued[id] = std::move(*doc);
                continue;
            }
        }
        taken.push_back(Work{std::move(*doc), std::nullopt});
    }
    return taken;
}

// At a stop: the claimed docs no worker has started go back in one write, so that the step's
// other workers take them at once instead of when the claims expire.
void StepRunner::Impl::give_back_unstarted()
{
    auto unstarted = m_claimed.close_and_take();
    {
        const std::lock_guard lock(m_unstarted_mutex);
        std::move(m_unstarted.begin(), m_unstarted.end(), std::back_inserter(unstarted));
        m_unstarted.clear();
    }
    if (unstarted.empty()) {
        return;
    }
    std::vector<std::string> ids;
    for (const auto& item : unstarted) {
        ids.push_back(doc_id(item.doc));
    }
    const auto given = m_leases->give_back(ids);
    {
        const std::lock_guard lock(m_unstarted_mutex);
        m_gave_back.insert(m_gave_back.end(), ids.begin(), ids.end());
    }
    log_info("gave back " + std::to_string(given) + " of " + std::to_string(ids.size()) +
             " claimed docs not started, for other workers to take");
    for (const auto& item : unstarted) {
        release(doc_id(item.doc), item.ticket, false);
    }
}

} // namespace edw
