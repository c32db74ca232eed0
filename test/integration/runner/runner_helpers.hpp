// Helpers of the step runner's integration tests: quick options, a step that counts its runs,
// new docs, and waiting for docs to reach a step.
#pragma once

#include <edw/db/database.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/step/step.hpp>

#include <map>
#include <mutex>
#include <string>
#include <vector>

/// Options that make a runner quick to react: short heartbeat, checkpoint at once, 4 jobs.
edw::RunnerOptions fast_options(const std::string& listener);

/// EDELWEISS's move_to_sps, counting how often it ran on each doc (and in what order).
struct CountingStep {
    std::mutex mutex;
    std::map<std::string, int> runs;
    std::vector<std::string> order; ///< Doc ids in the order their callbacks started.

    edw::Step step();
};

/// Waits until `count` docs have `step` as their last process entry.
bool wait_for_step(edw::Database& db, const std::string& step, std::size_t count);

/// `count` new metadata docs of `run`, numbered from `first`.
std::vector<nlohmann::json> docs(const std::string& run, int first, int count);
