// RerunCampaign: a rerun's record in a `_local` doc, and the list of them.
#include "edw/runtime/rerun_campaign.hpp"

#include <edw/runtime/step_workers.hpp>
#include <edw/util/error.hpp>
#include <edw/util/random_id.hpp>
#include <edw/util/utc_time.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace edw {
namespace {

constexpr const char* campaign_list_id = "_local/edw-reruns";
// The list keeps the newest campaigns; older records stay readable by id.
constexpr std::size_t campaigns_listed = 200;

// Saves `doc` over whatever revision is there now: each record has one writer, but a server that
// checks `_local` revisions still wants the current one.
void save_latest(Database& database, nlohmann::json doc)
{
    for (int attempt = 0; attempt < 5; ++attempt) {
        const auto current = database.get(doc["_id"].get<std::string>());
        if (current && current->contains("_rev")) {
            doc["_rev"] = (*current)["_rev"];
        } else {
            doc.erase("_rev");
        }
        if (!database.save(doc).is_conflict()) {
            return;
        }
    }
    throw StoreError("cannot save " + doc["_id"].get<std::string>() +
                     ": it keeps changing under us");
}

} // namespace

std::string RerunCampaign::state_at(std::chrono::system_clock::time_point now,
                                    std::chrono::seconds stale_after) const
{
    if (state != "running") {
        return state;
    }
    const bool gone = pid > 0 && host == this_host_name() &&
                      kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    const auto written = parse_iso8601(updated);
    return gone || (written && now - *written > stale_after) ? "interrupted" : state;
}

nlohmann::json RerunCampaign::to_json() const
{
    nlohmann::json record = {{"campaign", id},      {"criteria", criteria.to_json()},
                             {"reason", reason},    {"by", by},
                             {"started", started},  {"updated", updated},
                             {"state", state},      {"total", total},
                             {"scanned", scanned},  {"sent_back", sent_back},
                             {"already", already},  {"refused", refused},
                             {"position", position}};
    if (!finished.empty()) {
        record["finished"] = finished;
    }
    if (!error.empty()) {
        record["error"] = error;
    }
    return record;
}

RerunCampaign RerunCampaign::from_json(const nlohmann::json& record)
{
    if (!record.is_object() || !record.contains("campaign") || !record.contains("criteria")) {
        throw JsonError("not a rerun record: " + record.dump().substr(0, 200));
    }
    RerunCampaign campaign;
    try {
        campaign.id = record["campaign"].get<std::string>();
        campaign.criteria = RerunCriteria::from_json(record["criteria"]);
        campaign.reason = record.value("reason", "");
        campaign.by = record.value("by", "");
        campaign.host = record.value("host", "");
        campaign.pid = record.value("pid", 0L);
        campaign.started = record.value("started", "");
        campaign.updated = record.value("updated", "");
        campaign.finished = record.value("finished", "");
        campaign.state = record.value("state", "running");
        campaign.error = record.value("error", "");
        campaign.total = record.value("total", std::uint64_t{0});
        campaign.scanned = record.value("scanned", std::uint64_t{0});
        campaign.sent_back = record.value("sent_back", std::uint64_t{0});
        campaign.already = record.value("already", std::uint64_t{0});
        campaign.refused = record.value("refused", std::uint64_t{0});
        campaign.position = record.value("position", "");
    } catch (const nlohmann::json::exception& error) {
        throw JsonError("invalid rerun record: " + std::string(error.what()));
    }
    return campaign;
}

void run_here(RerunCampaign& campaign)
{
    campaign.host = this_host_name();
    campaign.pid = static_cast<long>(getpid());
}

std::string new_campaign_id(const std::string& step, std::chrono::system_clock::time_point now)
{
    // 2026-12-08T00:25:00.000Z -> 20261208T002500Z: sorts as time, and fits in a URL as is.
    std::string stamp;
    for (const char c : iso8601(now).substr(0, 19)) {
        if (c != '-' && c != ':') {
            stamp += c;
        }
    }
    return step + "-" + stamp + "Z-" + random_hex_id().substr(0, 4);
}

std::string campaign_doc_id(const std::string& id)
{
    return "_local/edw-rerun-" + id;
}

std::optional<RerunCampaign> read_campaign(Database& database, const std::string& id)
{
    const auto record = database.get(campaign_doc_id(id));
    if (!record) {
        return std::nullopt;
    }
    return RerunCampaign::from_json(*record);
}

void write_campaign(Database& database, const RerunCampaign& campaign)
{
    nlohmann::json record = campaign.to_json();
    record["_id"] = campaign_doc_id(campaign.id);
    const bool first = !database.get(record["_id"].get<std::string>()).has_value();
    save_latest(database, std::move(record));
    if (first) {
        const auto list = database.get(campaign_list_id);
        nlohmann::json ids =
            list ? list->value("campaigns", nlohmann::json::array()) : nlohmann::json::array();
        if (!ids.is_array()) {
            ids = nlohmann::json::array();
        }
        ids.push_back(campaign.id);
        if (ids.size() > campaigns_listed) {
            ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(campaigns_listed));
        }
        save_latest(database, {{"_id", campaign_list_id}, {"campaigns", std::move(ids)}});
    }
}

std::vector<RerunCampaign> list_campaigns(Database& database)
{
    std::vector<RerunCampaign> campaigns;
    const auto list = database.get(campaign_list_id);
    if (!list || !list->contains("campaigns") || !(*list)["campaigns"].is_array()) {
        return campaigns;
    }
    for (const auto& id : (*list)["campaigns"]) {
        if (!id.is_string()) {
            continue;
        }
        if (auto campaign = read_campaign(database, id.get<std::string>())) {
            campaigns.push_back(std::move(*campaign));
        }
    }
    return campaigns;
}

} // namespace edw
