// The simulated workflow: it owns a PB state's status once the controller has started it.
#include "sdp.hpp"

#include <thread>

namespace sdp {
namespace {

edw::Step move_step(std::string name, nlohmann::json selector, std::string to,
                    std::chrono::milliseconds work)
{
    edw::Step step;
    step.name = std::move(name);
    step.selection = edw::StepSelection::matching(selector);
    step.run = [to = std::move(to), work](const nlohmann::json&) {
        std::this_thread::sleep_for(work); // the processing itself, simulated
        return nlohmann::json{{"to", to}};
    };
    step.record = edw::record_state_move(status_machine(), "workflow");
    return step;
}

} // namespace

edw::Step workflow_wait_step()
{
    return move_step("wait", {{"type", "pb_state"}, {"status", "STARTING"}}, "WAITING",
                     std::chrono::milliseconds(0));
}

edw::Step workflow_run_step()
{
    return move_step("run",
                     {{"type", "pb_state"}, {"status", "WAITING"}, {"resources_available", true}},
                     "RUNNING", std::chrono::milliseconds(0));
}

edw::Step workflow_finish_step(std::chrono::milliseconds run_time)
{
    return move_step("finish", {{"type", "pb_state"}, {"status", "RUNNING"}}, "FINISHED", run_time);
}

} // namespace sdp
