// RerunRunner: POST /api/rerun and /api/rerun/<id>/resume, validated like `edw rerun`'s options.
#include "rerun_api.hpp"

#include "pipeline_steps.hpp"

#include <edw/app/open_database.hpp>
#include <edw/util/error.hpp>
#include <edw/util/log.hpp>
#include <edw/util/url.hpp>
#include <edw/workflow/rerun.hpp>

#include <httplib.h>

namespace edw::tools {
namespace {

void answer(httplib::Response& response, int status, const nlohmann::json& body)
{
    response.status = status;
    response.set_header("Cache-Control", "no-store");
    response.set_content(body.dump(), "application/json");
}

void refuse(httplib::Response& response, int status, const std::string& error,
            const std::string& reason)
{
    answer(response, status, {{"error", error}, {"reason", redact_credentials(reason)}});
}

// A JSON content type cannot be sent cross-site without a CORS preflight, which this server
// never grants: another web page in the operator's browser cannot start a rerun.
bool json_request(const httplib::Request& request, httplib::Response& response)
{
    if (request.get_header_value("Content-Type").starts_with("application/json")) {
        return true;
    }
    refuse(response, 415, "bad_content_type", "send Content-Type: application/json");
    return false;
}

std::string text_field(const nlohmann::json& body, const char* name)
{
    if (!body.contains(name) || body[name].is_null()) {
        return "";
    }
    if (!body[name].is_string()) {
        throw ConfigError(std::string(name) + " must be a string");
    }
    return body[name].get<std::string>();
}

// The request's criteria, with the same rules as edw rerun's options: at least one criterion,
// or all: true. Throws ConfigError naming what is wrong.
RerunCriteria criteria_of(const nlohmann::json& body)
{
    RerunCriteria criteria;
    criteria.step = text_field(body, "step");
    if (criteria.step.empty()) {
        throw ConfigError("say which step to run again: {\"step\": \"<name>\", ...}");
    }
    if (body.contains("selector") && !body["selector"].is_null()) {
        const auto& selector = body["selector"];
        if (selector.is_string()) {
            if (!selector.get<std::string>().empty()) {
                try {
                    criteria.selector = nlohmann::json::parse(selector.get<std::string>());
                } catch (const nlohmann::json::parse_error& error) {
                    throw ConfigError("the selector is not JSON: " + std::string(error.what()));
                }
            }
        } else {
            criteria.selector = selector;
        }
    }
    if (body.contains("ids") && !body["ids"].is_null()) {
        if (!body["ids"].is_array()) {
            throw ConfigError("ids must be an array of doc ids");
        }
        criteria.ids.emplace();
        for (const auto& id : body["ids"]) {
            if (!id.is_string()) {
                throw ConfigError("ids must be an array of doc ids");
            }
            criteria.ids->insert(id.get<std::string>());
        }
    }
    if (auto before = text_field(body, "processed_before"); !before.empty()) {
        criteria.processed_before = std::move(before);
    }
    if (auto version = text_field(body, "version"); !version.empty()) {
        criteria.version = std::move(version);
    }
    const bool all = body.contains("all") && body["all"] == true;
    if (!criteria.selector && !criteria.ids && !criteria.processed_before && !criteria.version &&
        !all) {
        throw ConfigError("say which docs to run " + criteria.step +
                          " again on (selector, ids, processed_before, version), or all: true "
                          "for every doc that has passed it");
    }
    return criteria;
}

nlohmann::json body_of(const httplib::Request& request)
{
    nlohmann::json body;
    try {
        body = nlohmann::json::parse(request.body);
    } catch (const nlohmann::json::parse_error& error) {
        throw ConfigError("the request is not JSON: " + std::string(error.what()));
    }
    if (!body.is_object()) {
        throw ConfigError("the request must be a JSON object: {\"step\": ..., \"reason\": ...}");
    }
    return body;
}

} // namespace

RerunRunner::RerunRunner(const Settings& settings, Database& database,
                         std::function<void()> progressed)
    : m_settings(settings)
    , m_database(database)
    , m_progressed(std::move(progressed))
{}

RerunRunner::~RerunRunner()
{
    stop_all();
}

void RerunRunner::stop_all()
{
    std::map<std::string, Run> runs;
    {
        const std::lock_guard lock(m_mutex);
        m_stopped = true;
        runs.swap(m_runs);
    }
    m_stop.request_stop();
    for (auto& [id, run] : runs) {
        run.thread.request_stop();
    }
    for (auto& [id, run] : runs) {
        if (run.thread.joinable()) {
            run.thread.join();
        }
    }
}

bool RerunRunner::start(RerunCampaign campaign)
{
    const std::lock_guard lock(m_mutex);
    if (m_stopped) {
        throw Error("edw serve is stopping: start the rerun again once it runs");
    }
    std::erase_if(m_runs, [](const auto& item) { return item.second.over->load(); });
    const std::string id = campaign.id;
    if (m_runs.contains(id)) {
        return false;
    }
    Run run;
    // Its own connection: a long rerun does not hold the one that answers the page.
    auto database = std::shared_ptr<Database>(open_database(m_settings));
    run.thread = std::jthread([this, database, campaign = std::move(campaign),
                               over = run.over](std::stop_token stop) mutable {
        const std::string name = campaign.id;
        try {
            const auto outcome = run_rerun(
                *database, std::move(campaign), RerunOptions{},
                [this](const RerunCampaign&) { m_progressed(); }, stop);
            log_info("edw serve: rerun " + name + " " + outcome.campaign.state + ": " +
                     std::to_string(outcome.campaign.sent_back) + " docs sent back to " +
                     outcome.campaign.criteria.step);
        } catch (const std::exception& error) {
            log_error("edw serve: rerun " + name + " stopped: " + redact_credentials(error.what()));
        }
        m_progressed(); // its last record, written after the last batch
        *over = true;
    });
    m_runs.emplace(id, std::move(run));
    return true;
}

void RerunRunner::answer_start(const httplib::Request& request, httplib::Response& response)
{
    if (!json_request(request, response)) {
        return;
    }
    const auto body = body_of(request);
    const auto criteria = criteria_of(body);
    const bool dry_run = body.contains("dry_run") && body["dry_run"] == true;
    const std::string reason = text_field(body, "reason");
    if (reason.empty() && !dry_run) {
        throw ConfigError("say why the docs run " + criteria.step +
                          " again: {\"reason\": \"...\"}, kept on each doc and in the record");
    }
    check_rerun_step(m_database, m_settings.design, criteria.step);
    const std::string by = "edw serve (" + request.remote_addr + ")";
    std::optional<RerunCampaign> campaign;
    try {
        campaign = new_campaign(criteria, reason, by, std::chrono::system_clock::now());
    } catch (const JsonError& error) {
        throw ConfigError(error.what()); // a bad selector or date: the request's fault
    }
    if (dry_run) {
        RerunOptions options;
        options.dry_run = true;
        const auto outcome =
            run_rerun(m_database, std::move(*campaign), options, nullptr, m_stop.get_token());
        answer(response, 200,
               {{"dry_run", true},
                {"step", criteria.step},
                {"sent_back", outcome.campaign.sent_back},
                {"scanned", outcome.campaign.scanned},
                {"total", outcome.campaign.total},
                {"sample", outcome.sample}});
        return;
    }
    const std::string id = campaign->id;
    start(std::move(*campaign));
    log_info("edw serve: rerun " + id + " started by " + request.remote_addr);
    answer(response, 202, {{"campaign", id}, {"step", criteria.step}});
}

void RerunRunner::answer_resume(const httplib::Request& request, httplib::Response& response)
{
    if (!json_request(request, response)) {
        return;
    }
    const std::string id = request.matches[1];
    auto campaign = read_campaign(m_database, id);
    if (!campaign) {
        refuse(response, 404, "not_found", "no rerun " + id);
        return;
    }
    if (campaign->state == "done") {
        refuse(response, 409, "done", "rerun " + id + " is done already");
        return;
    }
    const auto state = campaign->state_at(std::chrono::system_clock::now());
    if (state == "running" || !start(std::move(*campaign))) {
        refuse(response, 409, "running",
               "rerun " + id + " is running; resume it once it has stopped");
        return;
    }
    log_info("edw serve: rerun " + id + " resumed by " + request.remote_addr);
    answer(response, 202, {{"campaign", id}});
}

} // namespace edw::tools
