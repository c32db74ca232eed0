// Replicator: CouchDB's replication protocol between any two Databases (embedded or server).
#pragma once

#include <edw/db/database.hpp>
#include <edw/db/seq.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace edw {

struct ReplicationOptions {
    /// Keep following the source after catching up, until a stop is requested.
    bool continuous = false;
    /// Only docs this Mango selector matches (`filter=_selector` where the source runs it).
    std::optional<nlohmann::json> selector;
    /// Only these docs (`filter=_doc_ids`).
    std::vector<std::string> doc_ids;
    /// Feed rows per batch: one `_revs_diff`, one `_bulk_get` and one `_bulk_docs` each.
    std::size_t batch_size = 500;
    /// The source feed's heartbeat in continuous mode.
    std::chrono::milliseconds heartbeat{10000};
    /// The longest time between two checkpoints while batches keep coming.
    std::chrono::milliseconds checkpoint_interval{1000};
};

/// What one run did, in CouchDB's words (a checkpoint's history entry).
struct ReplicationStats {
    std::uint64_t docs_read = 0;          ///< Feed rows read.
    std::uint64_t missing_checked = 0;    ///< Revisions asked of the target's `_revs_diff`.
    std::uint64_t missing_found = 0;      ///< Revisions the target lacked.
    std::uint64_t docs_written = 0;       ///< Revisions written to the target.
    std::uint64_t doc_write_failures = 0; ///< Revisions the target refused.
    Seq start_seq;                        ///< Where this run started (from a checkpoint).
    Seq last_seq;                         ///< The last checkpointed position.
    /// Up to 20 of the refused revisions: "id rev: error: reason".
    std::vector<std::string> failures;
};

/// Told about a run as it goes.
class ReplicationObserver {
public:
    virtual ~ReplicationObserver() = default;
    /// The run starts at `start` of a feed with about `expected` rows to read.
    virtual void on_start(const Seq& /*start*/, std::uint64_t /*expected*/) {}
    /// A batch of `rows` feed rows is written and checkpointed (or due to be).
    virtual void on_batch(std::uint64_t /*rows*/, const ReplicationStats& /*stats*/) {}
    /// The feed was read to its end once (continuous mode goes on waiting).
    virtual void on_caught_up(const ReplicationStats& /*stats*/) {}
};

/// Copies every revision the target lacks, with its history, as CouchDB's replicator does:
/// changes feed (`style=all_docs`) -> `_revs_diff` -> `_bulk_get?revs=true` -> `_bulk_docs`
/// with `new_edits=false`, then a checkpoint in `_local/<replication id>` on both sides. A run
/// resumes from the checkpoint both sides agree on; a killed run repeats at most the batches
/// after its last checkpoint, and since revisions are written as they are, repeating writes
/// nothing new. Reading the next batch overlaps writing the last.
class Replicator {
public:
    Replicator(Database& source, Database& target, ReplicationOptions options);

    /// The replication id: an MD5 of the source, the target and the filter, so that another
    /// filter or another pair keeps checkpoints of its own.
    [[nodiscard]] const std::string& id() const noexcept { return m_id; }

    /// Runs until the source is read to its end (or, continuous, until `stop`). Throws what the
    /// databases throw; what was checkpointed stays done.
    ReplicationStats run(ReplicationObserver& observer, std::stop_token stop = {});

    struct Batch; ///< Feed rows and the revisions read for them (replicator.cpp).

private:
    Seq agreed_start();
    void read_batches(Seq since, class BatchQueue& queue, ReplicationObserver& observer,
                      std::stop_token stop);
    void write_batch(Batch& batch, ReplicationStats& stats);
    void checkpoint(ReplicationStats& stats);
    void save_log(Database& database, std::optional<nlohmann::json>& log,
                  const nlohmann::json& entry, const Seq& seq, bool may_fail);

    Database& m_source;
    Database& m_target;
    ReplicationOptions m_options;
    std::string m_id;
    bool m_selector_on_source = false;
    std::string m_session;
    std::string m_started_at;
    std::optional<nlohmann::json> m_source_log;
    std::optional<nlohmann::json> m_target_log;
    Seq m_checkpointed;
};

} // namespace edw
