// The pipeline driver of one executive: runs the pipeline on the requests sent to it, and asks
// the State System (through msgq, as it may run at another site) for each state change.
#include "draws.hpp"

#include <edw/util/utc_time.hpp>

#include <thread>

namespace draws {
namespace {

nlohmann::json set_state(const nlohmann::json& request, const std::string& to,
                         const nlohmann::json& after, const std::string& site)
{
    const std::string ous = request.value("ous", "");
    const int attempt = request.value("attempt", 0);
    return {{"_id", "set-state-" + ous_doc_id(ous) + "-" + std::to_string(attempt) + "-" + to},
            {"type", "message"},
            {"topic", "set-state"},
            {"ous", ous},
            {"to", to},
            {"attempt", attempt},
            {"after", after},
            {"from_site", site},
            {"sent", edw::utc_now_iso8601()},
            {"handled", nullptr}};
}

} // namespace

edw::Step pipeline_driver_step(edw::Database& msgq, const std::string& executive,
                               const std::string& site, std::chrono::milliseconds run_time,
                               double failure_rate)
{
    edw::Step step;
    step.name = "pipeline-driver-" + executive;
    step.selection = edw::StepSelection::matching({{"type", "message"},
                                                   {"topic", "pipeline.process"},
                                                   {"executive", executive},
                                                   {"handled", nullptr}});
    // Done again after a crash, a run sends the same requests (409: already sent) and ends the
    // same way (pipeline_fails is a stable hash), so nothing is asked twice.
    step.run = [&msgq, executive, site, run_time, failure_rate](const nlohmann::json& request) {
        const std::string ous = request.value("ous", "");
        const int attempt = request.value("attempt", 0);
        const auto processing = set_state(request, "Processing", nullptr, site);
        create_once(msgq, processing);
        const std::string started = edw::utc_now_iso8601();
        std::this_thread::sleep_for(run_time); // the pipeline, simulated
        const bool failed = pipeline_fails(ous, attempt, failure_rate);
        auto outcome = set_state(request, failed ? "ProcessingProblem" : "ReadyForReview",
                                 processing["_id"], site);
        outcome["report"] = {
            {"_id", "report-" + ous_doc_id(ous) + "-" + std::to_string(attempt)},
            {"ous", ous},
            {"attempt", attempt},
            {"executive", executive},
            {"site", site},
            {"recipe", request.value("recipe", "")},
            {"started", started},
            {"finished", edw::utc_now_iso8601()},
            {"outcome", failed ? "error" : "ok"},
            {"weblog", "weblog-" + ous_doc_id(ous) + "-" + std::to_string(attempt) + ".tgz"}};
        create_once(msgq, outcome);
        return nlohmann::json{{"handled", edw::utc_now_iso8601()},
                              {"outcome", failed ? "ProcessingProblem" : "ReadyForReview"}};
    };
    step.record =
        edw::record_field_update(step.name, "receipts", "driver-" + executive + "@" + site);
    return step;
}

} // namespace draws
