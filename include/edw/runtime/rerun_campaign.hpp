// RerunCampaign: the record of one `edw rerun`, kept in the database so that it can be resumed,
// listed, and watched on the status page while it goes.
#pragma once

#include <edw/db/database.hpp>
#include <edw/step/process_rerun.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace edw {

/// One rerun: what it chooses, why, and how far it got. Stored as `_local/edw-rerun-<id>`, and
/// listed in `_local/edw-reruns`, newest last.
struct RerunCampaign {
    std::string id; ///< "<step>-<YYYYMMDDTHHMMSSZ>-<4 hex>"
    RerunCriteria criteria;
    std::string reason;
    std::string by;   ///< Who started it: "user@host", or "edw serve (...)".
    std::string host; ///< Where the process running it is (this_host_name()).
    long pid = 0;     ///< That process.
    std::string started;
    std::string updated; ///< Written at least every few seconds while it runs.
    std::string finished;
    /// "running", "done", "interrupted" (stopped before the end: resumable), or "failed".
    std::string state = "running";
    std::string error;           ///< Why it failed or was interrupted.
    std::uint64_t total = 0;     ///< Docs in the database when it started, for a progress bar.
    std::uint64_t scanned = 0;   ///< Docs looked at.
    std::uint64_t sent_back = 0; ///< Docs it sent back to the step.
    std::uint64_t already = 0;   ///< Docs an earlier pass of this campaign had sent back.
    std::uint64_t refused = 0;   ///< Docs it could not send back (see the log).
    std::string position;        ///< The last doc id scanned: a resumed run goes on after it.

    /// `state`, except that a campaign said to be running is "interrupted" when its process died
    /// without a word: its record has not been written for `stale_after`, or its pid runs no
    /// more on this host.
    [[nodiscard]] std::string
    state_at(std::chrono::system_clock::time_point now,
             std::chrono::seconds stale_after = std::chrono::seconds(30)) const;

    [[nodiscard]] nlohmann::json to_json() const;
    /// Throws JsonError for a record that is not one.
    static RerunCampaign from_json(const nlohmann::json& record);
};

/// Marks `campaign` as run by this process, on this host.
void run_here(RerunCampaign& campaign);

/// A new campaign id for `step`, started at `now`.
std::string new_campaign_id(const std::string& step, std::chrono::system_clock::time_point now);

/// `_local/edw-rerun-<id>`.
std::string campaign_doc_id(const std::string& id);

/// The campaign's record, or nothing when there is none by that id.
std::optional<RerunCampaign> read_campaign(Database& database, const std::string& id);

/// Saves the campaign's record (one writer per campaign: the rerun that runs it), adding its id
/// to the list the first time. Throws what the database throws.
void write_campaign(Database& database, const RerunCampaign& campaign);

/// Every campaign listed, oldest first; ids whose record is gone are skipped.
std::vector<RerunCampaign> list_campaigns(Database& database);

} // namespace edw
