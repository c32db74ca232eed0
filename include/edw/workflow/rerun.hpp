// Rerun: sends the docs a campaign chooses back to wait at its step, in batches, resumably.
#pragma once

#include <edw/db/database.hpp>
#include <edw/runtime/rerun_campaign.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <stop_token>
#include <string>
#include <vector>

namespace edw {

struct RerunOptions {
    std::size_t batch = 1000; ///< Docs read, and at most written, per request.
    /// Count and sample the chosen docs; write nothing, the campaign's record neither.
    bool dry_run = false;
    std::size_t sample = 10; ///< Ids of chosen docs kept for the dry run's answer.
    /// Most docs looked at per second, to spare a busy server; 0: as fast as it answers.
    double max_rate = 0;
    /// How often the campaign's record is saved while it runs (and always at its end).
    std::chrono::milliseconds record_every{1000};
};

/// What a rerun did, beside its campaign's counts.
struct RerunOutcome {
    RerunCampaign campaign;
    std::vector<std::string> sample;   ///< The first chosen ids (all runs, not only dry ones).
    std::vector<std::string> refusals; ///< "<id>: <reason>" for the first docs refused.
};

/// A new campaign for `criteria`, not yet saved: state "running", `by` and dates set. Throws
/// JsonError or ConfigError for criteria that cannot choose anything (see RerunChooser).
RerunCampaign new_campaign(const RerunCriteria& criteria, std::string reason, std::string by,
                           std::chrono::system_clock::time_point now);

/// "user@host": who starts a rerun from a terminal.
std::string rerun_starter();

/// Runs `campaign` from its `position` on: pages through `_all_docs` (or the chosen ids),
/// sends each doc its criteria choose back to the step (send_back, a revision-checked
/// `_bulk_docs`; a 409 re-reads the doc and judges it again), and skips docs an earlier pass of
/// the same campaign sent back, so that a resumed campaign never sends a doc back twice. Saves
/// the campaign's record as it goes and at the end ("done", or "interrupted" with the reason
/// when `stop` is requested or the database fails), calling `progress` after each batch. A
/// database error ends it as "interrupted" and is rethrown after the record is saved (when the
/// database takes it).
RerunOutcome run_rerun(Database& database, RerunCampaign campaign, const RerunOptions& options,
                       const std::function<void(const RerunCampaign&)>& progress,
                       std::stop_token stop);

} // namespace edw
