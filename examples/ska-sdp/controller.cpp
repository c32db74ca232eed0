// The processing controller's steps, on edw's runtime: each is a selection, a callback and a
// recorder; waiting on dependencies and reloading definitions are the runtime's.
#include "sdp.hpp"

#include <edw/util/error.hpp>
#include <edw/util/log.hpp>
#include <edw/util/utc_time.hpp>

#include <fstream>
#include <sstream>

namespace sdp {

std::string state_id(const std::string& pb)
{
    return pb + "-state";
}

std::string deployment_id(const std::string& pb)
{
    return "deploy-" + pb.substr(pb.find('-') + 1);
}

const edw::StateMachine& status_machine()
{
    static const auto machine = edw::StateMachine::parse(nlohmann::json::parse(R"({
        "field": "status", "history": "status_history",
        "initial": ["STARTING", "FAILED"],
        "states": {"STARTING": ["WAITING", "FAILED"], "WAITING": ["RUNNING", "FAILED"],
                   "RUNNING": ["FINISHED", "FAILED"], "FINISHED": [], "FAILED": []}})"));
    return machine;
}

WorkflowDefinitions::WorkflowDefinitions(std::filesystem::path file)
    : m_file(std::move(file))
{}

void WorkflowDefinitions::reload()
{
    std::ifstream in(m_file);
    if (!in) {
        throw edw::ConfigError("cannot read the workflow definitions " + m_file.string());
    }
    std::stringstream text;
    text << in.rdbuf();
    const auto parsed = nlohmann::json::parse(text.str(), nullptr, false);
    if (!parsed.is_object() || !parsed.contains("workflows") || !parsed["workflows"].is_array()) {
        throw edw::ConfigError(m_file.string() + " does not hold {\"workflows\": [...]}");
    }
    const std::lock_guard lock(m_mutex);
    m_workflows = parsed["workflows"];
}

std::string WorkflowDefinitions::image(const std::string& id, const std::string& version) const
{
    const std::lock_guard lock(m_mutex);
    for (const auto& workflow : m_workflows) {
        if (workflow.value("id", "") == id && workflow.value("version", "") == version) {
            return workflow.value("image", "");
        }
    }
    return "";
}

namespace {

// Creates `doc` unless it exists: the callback may run twice (a crash before its result was
// recorded), so what it creates elsewhere must not fail or change the second time.
void create_once(edw::Database& database, const nlohmann::json& doc)
{
    // A 409 is the doc from the first run; any other failure throws, and the step is retried.
    static_cast<void>(database.save(doc));
}

} // namespace

edw::Step deploy_step(edw::Database& database, std::shared_ptr<WorkflowDefinitions> definitions,
                      std::chrono::milliseconds reload_every)
{
    edw::Step step;
    step.name = "deploy";
    // A PB the controller has not deployed: no "deploy" entry in its process array yet.
    step.selection = edw::StepSelection::matching(
        {{"type", "pb"}, {"process", {{"$not", {{"$elemMatch", {{"name", "deploy"}}}}}}}});
    step.periodic.push_back({.name = "reload workflow definitions",
                             .every = reload_every,
                             .run = [definitions] { definitions->reload(); }});
    step.run = [&database, definitions](const nlohmann::json& pb) {
        const std::string id = pb["_id"].get<std::string>();
        const auto& workflow = pb.value("workflow", nlohmann::json::object());
        const std::string image =
            definitions->image(workflow.value("id", ""), workflow.value("version", ""));
        std::vector<std::string> dependencies;
        for (const auto& dependency : pb.value("dependencies", nlohmann::json::array())) {
            dependencies.push_back(state_id(dependency.get<std::string>()));
        }
        nlohmann::json state = {{"_id", state_id(id)},
                                {"type", "pb_state"},
                                {"pb", id},
                                {"kind", pb.value("kind", "batch")},
                                {"dependencies", dependencies},
                                {"resources_available", false}};
        const auto created = status_machine().apply(
            state, image.empty() ? "FAILED" : "STARTING", nullptr, "processing-controller",
            edw::utc_now_iso8601(), std::nullopt,
            image.empty() ? nlohmann::json("workflow " + workflow.value("id", "") + " " +
                                           workflow.value("version", "") + " is not defined")
                          : nlohmann::json());
        create_once(database, created);
        if (!image.empty()) {
            create_once(
                database,
                {{"_id", deployment_id(id)}, {"type", "deployment"}, {"pb", id}, {"image", image}});
        }
        return nlohmann::json{{"state", created["status"]}, {"image", image}};
    };
    return step; // recorded as a process entry on the PB: it leaves the selection
}

edw::Step resources_step()
{
    edw::Step step;
    step.name = "resources";
    step.selection = edw::StepSelection::matching({{"type", "pb_state"},
                                                   {"resources_available", false},
                                                   {"status", {{"$in", {"STARTING", "WAITING"}}}}});
    // Real-time PBs have no dependencies, so they are ready at once.
    step.dependencies = edw::Dependencies{
        .ids =
            [](const nlohmann::json& state) {
                return state.value("dependencies", std::vector<std::string>());
            },
        .ready =
            [](const nlohmann::json&, const std::vector<std::optional<nlohmann::json>>& states) {
                for (const auto& state : states) {
                    if (!state || state->value("status", "") != "FINISHED") {
                        return false;
                    }
                }
                return true;
            }};
    step.run = [](const nlohmann::json&) { return nlohmann::json{{"resources_available", true}}; };
    step.record = edw::record_field_update("resources", "updates", "processing-controller");
    return step;
}

edw::Step cleanup_step()
{
    edw::Step step;
    step.name = "cleanup";
    step.selection = edw::StepSelection::matching({{"type", "deployment"}});
    // A deployment waits on its PB: when the PB is deleted, it goes too.
    step.dependencies = edw::Dependencies{
        .ids =
            [](const nlohmann::json& deployment) {
                return std::vector<std::string>{deployment.value("pb", "")};
            },
        .ready = [](const nlohmann::json&,
                    const std::vector<std::optional<nlohmann::json>>& pb) { return !pb[0]; }};
    step.run = [](const nlohmann::json& deployment) {
        edw::log_info("removing deployment " + deployment.value("_id", "") + ": its PB " +
                      deployment.value("pb", "") + " is gone");
        return nlohmann::json{{"_deleted", true}};
    };
    step.record = edw::record_field_update("cleanup", "updates", "processing-controller");
    return step;
}

} // namespace sdp
