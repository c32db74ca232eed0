// StepRunner's writer: outcomes written in batches with _bulk_docs, 409s resolved from the doc
// as it is now, failures given their retry time, and the checkpoint saved.
#include "step_runner_impl.hpp"

#include <edw/util/utc_time.hpp>

namespace edw {

void StepRunner::Impl::write()
{
    for (;;) {
        auto batch = m_outcomes.pop_some(m_options.batch_size);
        if (batch.empty()) {
            return;
        }
        gather_while_busy(batch);
        try {
            write_batch(batch);
        } catch (...) {
            remember_failure(std::current_exception());
            for (auto& outcome : batch) {
                release(outcome.id, outcome.ticket, false);
            }
        }
        save_checkpoint(false);
    }
}

// With a lease, a busy worker's results share writes: each write costs the server an fsync
// and wakes every feed that follows the database, whatever it holds. Up to busy_write_wait,
// while claimed docs wait for a worker (results keep coming); never while idle or stopping.
void StepRunner::Impl::gather_while_busy(std::vector<Outcome>& batch)
{
    if (!m_options.lease || m_options.busy_write_wait.count() <= 0) {
        return;
    }
    const auto until = std::chrono::steady_clock::now() + m_options.busy_write_wait;
    while (batch.size() < m_options.batch_size && m_claimed.size() > 0 &&
           !m_stop.stop_requested()) {
        const auto left = until - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) {
            return;
        }
        // Short waits: a stop, or the claimed docs running out, ends the wait soon.
        const auto wait =
            std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(20));
        for (auto& outcome : m_outcomes.pop_some_for(m_options.batch_size - batch.size(), wait)) {
            batch.push_back(std::move(outcome));
        }
    }
}

// CouchDB refuses a whole _bulk_docs (413) when one doc is over its max_document_size, as a
// step's result can make one. Then the docs go one by one, and the one too large is that
// doc's failure alone: it stays at its step, and the listener goes on.
std::vector<BulkResult>
StepRunner::Impl::save_each_if_too_large(const std::vector<nlohmann::json>& docs)
{
    try {
        return bulk_save_patiently(docs);
    } catch (const HttpError& error) {
        if (error.status() != 413) {
            throw;
        }
        if (docs.size() == 1) {
            return {BulkResult{.id = doc_id(docs[0]),
                               .rev = {},
                               .error = error.error().empty() ? "too_large" : error.error(),
                               .reason = "the doc with this step's result is larger than "
                                         "the server takes (HTTP 413)"}};
        }
    }
    std::vector<BulkResult> results;
    for (const auto& doc : docs) {
        results.push_back(save_each_if_too_large({doc}).front());
    }
    return results;
}

// The server may be down for a while (a restart, a network cut): keep the batch and try
// again, until a shutdown, when the batch is left unrecorded for the next start to redo.
std::vector<BulkResult>
StepRunner::Impl::bulk_save_patiently(const std::vector<nlohmann::json>& docs)
{
    return patiently("the batch", [&] { return m_database.bulk_save(docs); });
}

void StepRunner::Impl::write_batch(std::vector<Outcome>& batch)
{
    std::vector<nlohmann::json> docs;
    std::vector<Outcome*> writing;
    for (auto& outcome : batch) {
        if (outcome.updated) {
            docs.push_back(std::move(*outcome.updated));
            writing.push_back(&outcome);
        } else {
            release(outcome.id, outcome.ticket, true);
        }
    }
    if (docs.empty()) {
        return;
    }
    const long recorded_before = m_counts.recorded;
    const auto results = save_each_if_too_large(docs);
    for (std::size_t i = 0; i < results.size(); ++i) {
        Outcome& outcome = *writing[i];
        const auto& result = results[i];
        if (result.ok() && outcome.failure) {
            remember_replaced(outcome.id, docs[i].value("_rev", ""));
            after_failure_recorded(outcome.id, docs[i]);
        } else if (result.ok()) {
            ++m_counts.recorded;
            remember_replaced(outcome.id, docs[i].value("_rev", ""));
            log_debug("recorded " + m_step.name + " on doc " + outcome.id);
            if (on_written) {
                // The next step of this process need not wait for the feed to bring it.
                docs[i]["_rev"] = result.rev;
                on_written(docs[i]);
            }
        } else if (result.is_conflict()) {
            ++m_counts.conflicts;
            try {
                resolve_conflict(outcome);
            } catch (const TransportError& error) {
                ++m_counts.failed;
                log_error("cannot resolve the conflict on doc " + outcome.id + ": " + error.what());
                release(outcome.id, outcome.ticket, false);
                continue;
            }
        } else {
            ++m_counts.failed;
            log_error("cannot record " + m_step.name + " on doc " + outcome.id + ": " +
                      result.error + ": " + result.reason);
        }
        release(outcome.id, outcome.ticket, true);
    }
    const long recorded = m_counts.recorded - recorded_before;
    if (recorded > 0) {
        log_info("recorded " + m_step.name + " on " + std::to_string(recorded) + " of " +
                 std::to_string(docs.size()) + (docs.size() == 1 ? " doc (" : " docs (") +
                 writing.front()->id + (docs.size() == 1 ? ")" : ", ...)"));
    }
}

// The failure is on the doc: say so, and come back to it when its retry time has come.
void StepRunner::Impl::after_failure_recorded(const std::string& id, const nlohmann::json& doc)
{
    const auto& entry = doc[failures_field].back();
    const std::string attempts = std::to_string(entry.value("attempt", 0)) + " of " +
                                 std::to_string(m_options.retry.max_attempts);
    if (entry.value("parked", false)) {
        ++m_counts.parked;
        log_error("step " + m_step.name + " failed on doc " + id + " (attempt " + attempts +
                  "): " + entry.value("message", "") + "; parked as status \"" +
                  parked_status(m_step.name) + "\" (edw retry puts it back)");
        return;
    }
    ++m_counts.retries;
    const std::string at = entry.value("retry_at", "");
    log_warning("step " + m_step.name + " failed on doc " + id + " (attempt " + attempts +
                "): " + entry.value("message", "") + "; next attempt at " + at);
    m_retries->schedule(id, parse_iso8601(at).value_or(RetrySchedule::Clock::now()));
}

// Someone else wrote the doc since we read it. Read it again and decide from what it is now;
// never write our old copy over theirs.
void StepRunner::Impl::resolve_conflict(const Outcome& outcome)
{
    for (int attempt = 0; attempt < 10; ++attempt) {
        const auto fresh = m_database.get(outcome.id);
        switch (decide_after_conflict(fresh, m_step.name, m_selection)) {
        case ConflictDecision::already_recorded:
            ++m_counts.dropped;
            log_info("step " + m_step.name + " on doc " + outcome.id +
                     " was already recorded by another writer; result dropped");
            return;
        case ConflictDecision::no_longer_waiting:
            ++m_counts.dropped;
            log_warning("doc " + outcome.id + " left step " + m_step.name +
                        " while it ran; result dropped");
            return;
        case ConflictDecision::reapply: {
            if (outcome.failure) {
                // Record the failure on the doc as it is now, counting its attempts there.
                auto updated = record_failure(without_claim(*fresh), *outcome.failure,
                                              std::chrono::system_clock::now(), m_options.retry);
                if (!m_database.save(updated).is_conflict()) {
                    remember_replaced(outcome.id, fresh->value("_rev", ""));
                    after_failure_recorded(outcome.id, updated);
                    return;
                }
                ++m_counts.conflicts;
                break;
            }
            nlohmann::json updated = *fresh;
            if (const auto claim = claim_of(updated, m_step.name);
                claim && claim->worker == m_options.worker) {
                updated.erase(claim_field); // our own claim goes with the result
            }
            try {
                updated = m_record(std::move(updated), outcome.result, outcome.date);
            } catch (const std::exception& error) {
                ++m_counts.failed;
                log_error("cannot record " + m_step.name + " on doc " + outcome.id +
                          " as it is now: " + error.what());
                return;
            }
            if (!m_database.save(updated).is_conflict()) {
                ++m_counts.recorded;
                remember_replaced(outcome.id, fresh->value("_rev", ""));
                return;
            }
            ++m_counts.conflicts;
            break;
        }
        }
    }
    ++m_counts.failed;
    log_error("cannot record " + m_step.name + " on doc " + outcome.id +
              ": still conflicting after 10 tries");
}

} // namespace edw
