// Helpers of the step runner's integration tests.
#include "runner_helpers.hpp"

#include "test_server.hpp"

#include <edw/workflow/edelweiss_steps.hpp>

#include <chrono>
#include <cstdio>
#include <thread>

edw::RunnerOptions fast_options(const std::string& listener)
{
    edw::RunnerOptions options;
    options.listener = listener;
    options.heartbeat = std::chrono::milliseconds(500);
    options.checkpoint_interval = std::chrono::milliseconds(0);
    options.jobs = 4;
    return options;
}

edw::Step CountingStep::step()
{
    edw::Step step = edw::edelweiss::move_to_sps({.hostname = "test"});
    auto inner = step.run;
    step.run = [this, inner](const nlohmann::json& doc) {
        {
            const std::lock_guard lock(mutex);
            const auto id = doc["_id"].get<std::string>();
            ++runs[id];
            order.push_back(id);
        }
        return inner(doc);
    };
    return step;
}

bool wait_for_step(edw::Database& db, const std::string& step, std::size_t count)
{
    for (int i = 0; i < 400; ++i) {
        edw::ViewQuery query;
        query.startkey = nlohmann::json::array({step});
        query.endkey = nlohmann::json::array({step, nlohmann::json::object()});
        query.reduce = false;
        if (db.query("process", "lastproc", query).rows.size() >= count) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

std::vector<nlohmann::json> docs(const std::string& run, int first, int count)
{
    std::vector<nlohmann::json> out;
    for (int i = first; i < first + count; ++i) {
        char id[32];
        std::snprintf(id, sizeof id, "%s_%03d", run.c_str(), i);
        out.push_back(new_metadata_doc(id));
    }
    return out;
}
