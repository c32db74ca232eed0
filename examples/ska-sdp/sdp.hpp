// The SKA SDP processing controller example: the shapes of its documents and its programs.
#pragma once

#include <edw/db/database.hpp>
#include <edw/step/state_machine.hpp>
#include <edw/step/step.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace sdp {

// Documents, all in one database:
//   pb-<id>        a processing block: {type: "pb", kind: "realtime"|"batch", workflow: {id,
//                  version}, dependencies: [pb ids]}; written once by the subarray (the scenario)
//   pb-<id>-state  its state: {type: "pb_state", pb, kind, dependencies (state ids), status,
//                  resources_available, status_history, updates}; created by the controller
//   deploy-<id>    the workflow deployment of a PB: {type: "deployment", pb, image}
std::string state_id(const std::string& pb);
std::string deployment_id(const std::string& pb);

/// The workflow status a PB state moves through.
const edw::StateMachine& status_machine();

/// The workflow definitions file: {"workflows": [{"id", "version", "image"}]}, read again by a
/// periodic task. Thread-safe.
class WorkflowDefinitions {
public:
    explicit WorkflowDefinitions(std::filesystem::path file);
    /// Reads the file; throws edw::ConfigError when it cannot be read or parsed (the task logs
    /// it and the definitions read before stay).
    void reload();
    /// The image of workflow `id` at `version`; empty when the definitions do not list it.
    [[nodiscard]] std::string image(const std::string& id, const std::string& version) const;

private:
    std::filesystem::path m_file;
    mutable std::mutex m_mutex;
    nlohmann::json m_workflows = nlohmann::json::array();
};

/// The processing controller's three steps: deploy new PBs (state and deployment), make
/// resources available when a PB's dependencies are finished, remove deployments whose PB is gone.
edw::Step deploy_step(edw::Database& database, std::shared_ptr<WorkflowDefinitions> definitions,
                      std::chrono::milliseconds reload_every);
edw::Step resources_step();
edw::Step cleanup_step();

/// The simulated workflow's steps: STARTING -> WAITING, WAITING (resources) -> RUNNING,
/// RUNNING -> FINISHED after `run_time`.
edw::Step workflow_wait_step();
edw::Step workflow_run_step();
edw::Step workflow_finish_step(std::chrono::milliseconds run_time);

} // namespace sdp
