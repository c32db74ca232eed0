// RerunCampaign: a rerun's record, read back, and whether it still runs.
#include "edw/runtime/rerun_campaign.hpp"

#include <edw/runtime/step_workers.hpp>
#include <edw/util/error.hpp>
#include <edw/util/utc_time.hpp>

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

TEST_SUITE_BEGIN("rerun campaign");

namespace {

edw::RerunCampaign running_here(std::chrono::system_clock::time_point updated)
{
    edw::RerunCampaign campaign;
    campaign.id = edw::new_campaign_id("signal_processing", updated);
    campaign.criteria = {.step = "signal_processing", .version = "1.2"};
    campaign.reason = "why";
    campaign.updated = edw::iso8601(updated);
    edw::run_here(campaign);
    return campaign;
}

} // namespace

TEST_CASE("a campaign record reads back as it was written")
{
    auto campaign = running_here(std::chrono::system_clock::now());
    campaign.scanned = 7;
    campaign.sent_back = 3;
    campaign.position = "ma22a000_006";
    const auto back = edw::RerunCampaign::from_json(campaign.to_json());
    CHECK(back.to_json() == campaign.to_json());
    CHECK(campaign.id.starts_with("signal_processing-"));
    CHECK(edw::campaign_doc_id(campaign.id) == "_local/edw-rerun-" + campaign.id);
    CHECK_THROWS_AS(edw::RerunCampaign::from_json({{"state", "running"}}), edw::JsonError);
}

TEST_CASE("a running campaign whose process is gone or silent reads as interrupted")
{
    const auto now = std::chrono::system_clock::now();
    CHECK(running_here(now).state_at(now) == "running"); // this very process
    CHECK(running_here(now - std::chrono::minutes(5)).state_at(now) == "interrupted");

    auto dead = running_here(now);
    const pid_t child = fork();
    if (child == 0) {
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    dead.pid = child; // reaped: no process has that pid now
    CHECK(dead.state_at(now) == "interrupted");
    dead.host = "another-machine"; // its pid there cannot be checked from here
    CHECK(dead.state_at(now) == "running");

    auto done = running_here(now - std::chrono::hours(1));
    done.state = "done";
    CHECK(done.state_at(now) == "done");
}

TEST_SUITE_END();
