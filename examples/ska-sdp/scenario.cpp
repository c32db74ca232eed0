// The scenario: what the subarray would do (write PBs, later delete one), and the checks of
// everything the controller and the workflow did to them.
#include "sdp.hpp"

#include <iostream>
#include <thread>

namespace {

nlohmann::json pb(const std::string& id, const std::string& kind, const std::string& workflow,
                  std::vector<std::string> dependencies)
{
    return {{"_id", id},
            {"type", "pb"},
            {"kind", kind},
            {"workflow", {{"id", workflow}, {"version", "0.3.0"}}},
            {"dependencies", dependencies},
            {"process", nlohmann::json::array()}};
}

int failures = 0;

void check(bool ok, const std::string& what)
{
    std::cout << (ok ? "ok: " : "FAIL: ") << what << "\n";
    failures += ok ? 0 : 1;
}

std::string status_of(edw::Database& database, const std::string& pb)
{
    const auto state = database.get(sdp::state_id(pb));
    return state ? state->value("status", "") : "(no state)";
}

} // namespace

int scenario(edw::Database& database, double timeout_seconds)
{
    // A real-time PB, five batch PBs each depending on the one before (the first on the
    // real-time one), and a PB whose workflow the definitions do not list.
    std::vector<nlohmann::json> blocks = {pb("pb-rt", "realtime", "vis_receive", {})};
    for (int i = 1; i <= 5; ++i) {
        blocks.push_back(pb("pb-b" + std::to_string(i), "batch", "ical",
                            {i == 1 ? "pb-rt" : "pb-b" + std::to_string(i - 1)}));
    }
    blocks.push_back(pb("pb-unknown", "batch", "no_such_workflow", {}));
    // Written last first: the controller must not start a block before its dependencies.
    for (auto block = blocks.rbegin(); block != blocks.rend(); ++block) {
        database.save(*block);
    }
    std::cout << "scenario: wrote " << blocks.size() << " processing blocks\n";

    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000));
    const auto all_ended = [&] {
        for (const auto& block : blocks) {
            const auto status = status_of(database, block["_id"]);
            if (status != "FINISHED" && status != "FAILED") {
                return false;
            }
        }
        return true;
    };
    while (!all_ended() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (const auto& block : blocks) {
        const std::string id = block["_id"];
        const std::string want = id == "pb-unknown" ? "FAILED" : "FINISHED";
        check(status_of(database, id) == want, id + " is " + want);
    }

    const auto& machine = sdp::status_machine();
    std::string previous_finished;
    for (const auto& block : blocks) {
        const std::string id = block["_id"];
        const auto state = database.get(sdp::state_id(id));
        if (!state || id == "pb-unknown") {
            continue;
        }
        bool once = true;
        for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
                 {"STARTING", "WAITING"}, {"WAITING", "RUNNING"}, {"RUNNING", "FINISHED"}}) {
            once = once && machine.times_moved(*state, from, to) == 1;
        }
        check(once, id + ": each status move made once");
        const auto updates = state->value("updates", nlohmann::json::array());
        check(updates.size() == 1, id + ": resources made available once");
        // The start of each batch block came after the end of the block it depends on.
        std::string started;
        std::string finished;
        for (const auto& entry : (*state)["status_history"]) {
            started = entry["to"] == "RUNNING" ? entry["date"].get<std::string>() : started;
            finished = entry["to"] == "FINISHED" ? entry["date"].get<std::string>() : finished;
        }
        check(started >= previous_finished,
              id + " started after its dependency finished (" + started +
                  " >= " + (previous_finished.empty() ? "-" : previous_finished) + ")");
        previous_finished = finished;
        const auto pb_doc = database.get(id);
        check(pb_doc && (*pb_doc)["process"].size() == 1, id + ": deployed once");
    }
    const auto unknown = database.get(sdp::state_id("pb-unknown"));
    check(unknown && (*unknown)["status_history"][0].value("note", "").find("not defined") !=
                         std::string::npos,
          "pb-unknown failed for its undefined workflow");
    check(!database.get(sdp::deployment_id("pb-unknown")), "pb-unknown has no deployment");

    // The subarray deletes a PB: the controller removes its deployment, and only that one.
    const auto realtime = database.get("pb-rt");
    check(realtime.has_value() && database.get(sdp::deployment_id("pb-rt")).has_value(),
          "pb-rt has a deployment");
    if (realtime) {
        database.remove("pb-rt", realtime->value("_rev", ""));
    }
    while (database.get(sdp::deployment_id("pb-rt")) &&
           std::chrono::steady_clock::now() < deadline + std::chrono::seconds(10)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    check(!database.get(sdp::deployment_id("pb-rt")), "the deployment of deleted pb-rt is removed");
    check(database.get(sdp::deployment_id("pb-b1")).has_value(), "pb-b1 keeps its deployment");

    std::cout << (failures == 0 ? "scenario: all checks passed\n"
                                : "scenario: " + std::to_string(failures) + " checks failed\n");
    return failures == 0 ? 0 : 1;
}
