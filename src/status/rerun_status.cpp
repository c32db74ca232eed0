// The reruns the status shows: their records, and their docs counted from the steps view.
#include "edw/status/pipeline_status.hpp"

#include <edw/util/utc_time.hpp>

#include <algorithm>
#include <map>

namespace edw {

std::vector<RerunSeen> read_reruns(Database& database, const std::string& design,
                                   std::chrono::system_clock::time_point now)
{
    auto campaigns = list_campaigns(database);
    std::vector<RerunSeen> shown;
    // Newest first while choosing, so that the newest finished ones are the ones kept.
    std::size_t finished_kept = 0;
    const auto oldest_shown = iso8601(now - std::chrono::days(reruns_shown_days));
    for (auto campaign = campaigns.rbegin(); campaign != campaigns.rend(); ++campaign) {
        auto state = campaign->state_at(now);
        if (state != "running") {
            if (finished_kept == reruns_shown || campaign->started < oldest_shown) {
                continue;
            }
            ++finished_kept;
        }
        shown.push_back({.campaign = std::move(*campaign), .state = std::move(state)});
    }
    std::reverse(shown.begin(), shown.end());
    if (shown.empty()) {
        return shown;
    }
    std::map<std::string, RerunSeen*> by_id;
    for (auto& rerun : shown) {
        by_id[rerun.campaign.id] = &rerun;
    }
    // One grouped query for every campaign: ["rerun", campaign, passed again].
    ViewQuery query;
    query.update = false; // the status's first query brought the index up to date
    query.stable = true;
    query.startkey = nlohmann::json::array({"rerun"});
    query.endkey = nlohmann::json::array({"rerun", nlohmann::json::object()});
    query.group_level = 3;
    for (const auto& row : database.query(design, steps_view, query).rows) {
        if (row.key.size() < 3 || !row.key[1].is_string() || !row.value.is_number_integer()) {
            continue;
        }
        const auto found = by_id.find(row.key[1].get<std::string>());
        if (found == by_id.end()) {
            continue;
        }
        const auto docs = std::max<std::int64_t>(0, row.value.get<std::int64_t>());
        found->second->marked += static_cast<std::uint64_t>(docs);
        if (row.key[2] == true) {
            found->second->run_again += static_cast<std::uint64_t>(docs);
        }
    }
    return shown;
}

nlohmann::json to_json(const RerunSeen& rerun)
{
    auto record = rerun.campaign.to_json();
    record["recorded_state"] = rerun.campaign.state;
    record["state"] = rerun.state;
    record["step"] = rerun.campaign.criteria.step;
    record["marked"] = rerun.marked;
    record["run_again"] = rerun.run_again;
    return record;
}

} // namespace edw
