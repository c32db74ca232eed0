// Replicator: feed -> _revs_diff -> _bulk_get -> _bulk_docs(new_edits=false) -> checkpoint.
#include <edw/db/selector.hpp>
#include <edw/feed/feed_filter.hpp>
#include <edw/replication/replicator.hpp>
#include <edw/util/bounded_queue.hpp>
#include <edw/util/error.hpp>
#include <edw/util/log.hpp>
#include <edw/util/md5.hpp>
#include <edw/util/random_id.hpp>
#include <edw/util/utc_time.hpp>

#include <exception>
#include <future>
#include <map>
#include <thread>

namespace edw {
namespace {

using Clock = std::chrono::steady_clock;

// As CouchDB's replicator: a checkpoint keeps the histories of the last sessions, so that a
// source and a target that were checkpointed by different sessions still find one they share.
constexpr std::size_t history_kept = 50;
constexpr std::size_t failures_kept = 20;

struct FeedRows final : ChangesHandler {
    std::vector<Change> rows;
    std::stop_token stop;
    void on_change(Change&& change) override { rows.push_back(std::move(change)); }
    bool keep_going() override { return !stop.stop_requested(); }
};

// The seq at which two checkpoint documents agree, as CouchDB's replicator compares them: the
// same session, or the newest session both histories hold.
std::optional<nlohmann::json> agreed_seq(const nlohmann::json& source, const nlohmann::json& target)
{
    if (source.value("session_id", "") == target.value("session_id", "") &&
        source.contains("source_last_seq")) {
        return source["source_last_seq"];
    }
    const auto source_history = source.value("history", nlohmann::json::array());
    const auto target_history = target.value("history", nlohmann::json::array());
    for (const auto& entry : source_history) {
        for (const auto& other : target_history) {
            if (entry.is_object() && other.is_object() && entry.contains("recorded_seq") &&
                entry.value("session_id", "") == other.value("session_id", "x")) {
                return entry["recorded_seq"];
            }
        }
    }
    return std::nullopt;
}

// Reads the revisions, in two requests at once when there are many: a server answers a
// `_bulk_get` on one of its cores, and this leaves the other one idle otherwise.
std::vector<RevisionRead> read_revisions(Database& source, const std::vector<RevisionRequest>& all)
{
    constexpr std::size_t split_above = 100;
    if (source.is_local() || all.size() <= split_above) {
        return source.bulk_get(all);
    }
    const auto middle = all.begin() + static_cast<std::ptrdiff_t>(all.size() / 2);
    // Split between docs, never inside one doc's revisions, which a server may answer together.
    auto cut = middle;
    while (cut != all.end() && cut != all.begin() && cut->id == (cut - 1)->id) {
        ++cut;
    }
    const std::vector<RevisionRequest> first(all.begin(), cut);
    const std::vector<RevisionRequest> second(cut, all.end());
    auto later = std::async(std::launch::async, [&] { return source.bulk_get(second); });
    auto reads = source.bulk_get(first);
    auto rest = later.get();
    reads.insert(reads.end(), std::make_move_iterator(rest.begin()),
                 std::make_move_iterator(rest.end()));
    return reads;
}

} // namespace

struct Replicator::Batch {
    std::vector<nlohmann::json> docs; ///< Missing revisions, with their histories.
    std::uint64_t rows = 0;
    std::uint64_t missing_checked = 0;
    std::uint64_t missing_found = 0;
    std::vector<std::string> read_failures;
    Seq last_seq;
    bool caught_up = false; ///< The feed was read to its end with this batch.
};

class BatchQueue : public BoundedQueue<Replicator::Batch> {
public:
    using BoundedQueue::BoundedQueue;
};

Replicator::Replicator(Database& source, Database& target, ReplicationOptions options)
    : m_source(source)
    , m_target(target)
    , m_options(std::move(options))
    , m_session(random_hex_id())
{
    if (m_options.selector) {
        (void)Selector(*m_options.selector); // refuse a bad selector before anything is read
    }
    const nlohmann::json identity = {{"source", m_source.describe()},
                                     {"target", m_target.describe()},
                                     {"doc_ids", m_options.doc_ids},
                                     {"selector", m_options.selector.value_or(nullptr)},
                                     {"version", 1}};
    m_id = md5_hex(identity.dump());
}

Seq Replicator::agreed_start()
{
    const std::string log_id = "_local/" + m_id;
    m_source_log = m_source.get(log_id);
    m_target_log = m_target.get(log_id);
    if (m_source_log && m_target_log) {
        if (const auto seq = agreed_seq(*m_source_log, *m_target_log)) {
            return Seq::from_json(*seq);
        }
        log_warning("replication " + m_id +
                    ": the checkpoints of source and target share no session; starting over "
                    "(revisions the target has are not written again)");
    }
    return Seq();
}

ReplicationStats Replicator::run(ReplicationObserver& observer, std::stop_token stop)
{
    m_started_at = utc_now_iso8601();
    m_selector_on_source = m_options.selector &&
                           (m_source.is_local() ||
                            choose_feed_filter(m_source.server_welcome()) == FeedFilter::selector);
    ReplicationStats stats;
    stats.start_seq = agreed_start();
    stats.last_seq = stats.start_seq;
    m_checkpointed = stats.start_seq;
    {
        const auto info = m_source.info();
        std::uint64_t expected = info.value("doc_count", std::uint64_t{0}) +
                                 info.value("doc_del_count", std::uint64_t{0});
        const auto done = approximate_update_count(stats.start_seq);
        const auto all =
            approximate_update_count(Seq::from_json(info.value("update_seq", nlohmann::json(0))));
        if (done && all && *done > 0) {
            expected = std::min(expected, *all > *done ? *all - *done : 0);
        }
        observer.on_start(stats.start_seq, expected);
    }

    BatchQueue queue(2);
    std::exception_ptr reader_failure;
    std::jthread reader([&](std::stop_token) {
        try {
            read_batches(stats.start_seq, queue, observer, stop);
        } catch (...) {
            reader_failure = std::current_exception();
        }
        queue.close();
    });
    auto last_checkpoint = Clock::now();
    try {
        while (auto batch = queue.pop()) {
            write_batch(*batch, stats);
            stats.last_seq = batch->last_seq;
            const bool due = Clock::now() - last_checkpoint >= m_options.checkpoint_interval;
            if (due || batch->caught_up || queue.size() == 0) {
                checkpoint(stats);
                last_checkpoint = Clock::now();
            }
            observer.on_batch(batch->rows, stats);
            if (batch->caught_up) {
                observer.on_caught_up(stats);
            }
        }
    } catch (...) {
        queue.close();
        reader.join();
        throw;
    }
    reader.join();
    checkpoint(stats);
    if (reader_failure) {
        std::rethrow_exception(reader_failure);
    }
    return stats;
}

void Replicator::read_batches(Seq since, BatchQueue& queue, ReplicationObserver&,
                              std::stop_token stop)
{
    std::optional<Selector> local_selector;
    if (m_options.selector && !m_selector_on_source) {
        local_selector.emplace(*m_options.selector);
    }
    bool caught_up = false;
    while (!stop.stop_requested()) {
        ChangesQuery query;
        query.feed = caught_up ? Feed::longpoll : Feed::normal;
        query.since = since;
        query.limit = m_options.batch_size;
        query.style = ChangesStyle::all_docs;
        if (caught_up) {
            query.heartbeat = m_options.heartbeat;
        }
        if (!m_options.doc_ids.empty()) {
            query.filter = "_doc_ids";
            query.doc_ids = m_options.doc_ids;
        } else if (m_selector_on_source) {
            query.filter = "_selector";
            query.selector = m_options.selector;
        } else if (local_selector) {
            query.include_docs = true;
        }
        FeedRows feed;
        feed.stop = stop;
        const auto end = m_source.changes(query, feed);
        if (!end) {
            break; // stopped
        }
        Batch batch;
        batch.rows = feed.rows.size();
        batch.last_seq = end->last_seq;
        std::map<std::string, std::vector<std::string>> revs;
        for (auto& row : feed.rows) {
            if (local_selector && (!row.doc || !local_selector->matches(row.doc->parse()))) {
                continue;
            }
            auto& wanted = revs[row.id];
            wanted.insert(wanted.end(), row.revs.begin(), row.revs.end());
            batch.missing_checked += row.revs.size();
        }
        if (!revs.empty()) {
            std::vector<RevisionRequest> requests;
            for (auto& [id, diff] : m_target.revs_diff(revs)) {
                for (auto& rev : diff.missing) {
                    requests.push_back(RevisionRequest{id, std::move(rev)});
                }
            }
            batch.missing_found = requests.size();
            if (!requests.empty()) {
                for (auto& read : read_revisions(m_source, requests)) {
                    if (read.doc) {
                        batch.docs.push_back(std::move(*read.doc));
                    } else {
                        batch.read_failures.push_back(read.id + " " + read.rev + ": " + read.error +
                                                      ": " + read.reason);
                    }
                }
            }
        }
        const bool at_end = feed.rows.size() < m_options.batch_size;
        batch.caught_up = at_end && !caught_up;
        const bool moved = !(batch.last_seq == since);
        since = batch.last_seq;
        if ((moved || batch.caught_up) && !queue.push(std::move(batch))) {
            break; // the writer failed
        }
        if (at_end) {
            if (!m_options.continuous) {
                break;
            }
            caught_up = true;
        }
    }
}

void Replicator::write_batch(Batch& batch, ReplicationStats& stats)
{
    stats.docs_read += batch.rows;
    stats.missing_checked += batch.missing_checked;
    stats.missing_found += batch.missing_found;
    auto note_failure = [&](const std::string& text) {
        ++stats.doc_write_failures;
        log_warning("replication " + m_id + ": " + text);
        if (stats.failures.size() < failures_kept) {
            stats.failures.push_back(text);
        }
    };
    for (const auto& failure : batch.read_failures) {
        note_failure("cannot read " + failure);
    }
    if (batch.docs.empty()) {
        return;
    }
    const auto failures = m_target.bulk_save_replicated(batch.docs);
    stats.docs_written += batch.docs.size() - failures.size();
    for (const auto& failure : failures) {
        note_failure("the target refused " + failure.id + " " + failure.rev + ": " + failure.error +
                     ": " + failure.reason);
    }
}

void Replicator::save_log(Database& database, std::optional<nlohmann::json>& log,
                          const nlohmann::json& entry, const Seq& seq, bool may_fail)
{
    nlohmann::json history = nlohmann::json::array({entry});
    if (log) {
        for (const auto& old : log->value("history", nlohmann::json::array())) {
            if (history.size() < history_kept && old.is_object() &&
                old.value("session_id", "") != m_session) {
                history.push_back(old);
            }
        }
    }
    for (int attempt = 0; attempt < 2; ++attempt) {
        nlohmann::json doc = {{"_id", "_local/" + m_id},
                              {"session_id", m_session},
                              {"source_last_seq", seq.to_json()},
                              {"replication_id_version", 1},
                              {"history", history}};
        if (log && log->contains("_rev")) {
            doc["_rev"] = (*log)["_rev"];
        }
        try {
            const auto saved = database.save(doc);
            if (!saved.is_conflict()) {
                doc["_rev"] = saved.rev;
                log = std::move(doc);
                return;
            }
        } catch (const HttpError& error) {
            if (may_fail && (error.status() == 401 || error.status() == 403)) {
                // A read-only source (a replica the user may only read): checkpoints stay on the
                // target alone, and a restart reads the feed again from the start, writing
                // nothing the target has.
                log_warning("replication " + m_id + ": cannot checkpoint on the source " +
                            database.describe() + " (" + error.what() + ")");
                return;
            }
            throw;
        }
        log = database.get("_local/" + m_id); // someone else wrote it: take its rev, write again
    }
    throw HttpError("cannot save the replication checkpoint _local/" + m_id + " on " +
                        database.describe() +
                        ": it keeps changing (another replication of the "
                        "same pair running?)",
                    409, "conflict", "Document update conflict.");
}

void Replicator::checkpoint(ReplicationStats& stats)
{
    if (stats.last_seq == m_checkpointed) {
        return;
    }
    const nlohmann::json entry = {{"session_id", m_session},
                                  {"start_time", m_started_at},
                                  {"end_time", utc_now_iso8601()},
                                  {"start_last_seq", stats.start_seq.to_json()},
                                  {"end_last_seq", stats.last_seq.to_json()},
                                  {"recorded_seq", stats.last_seq.to_json()},
                                  {"missing_checked", stats.missing_checked},
                                  {"missing_found", stats.missing_found},
                                  {"docs_read", stats.docs_read},
                                  {"docs_written", stats.docs_written},
                                  {"doc_write_failures", stats.doc_write_failures}};
    // The target first: a kill between the two leaves the source's older checkpoint, which both
    // still share, and the run after it repeats a little work instead of skipping any.
    save_log(m_target, m_target_log, entry, stats.last_seq, false);
    save_log(m_source, m_source_log, entry, stats.last_seq, true);
    m_checkpointed = stats.last_seq;
}

} // namespace edw
