// PeriodicTask: timed work in the runtime (reload a definitions file, re-queue recent items).
#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <string>
#include <vector>

namespace edw {

/// Work done on a timer: beside a step (Step::periodic), or alone (a directory watcher that only
/// feeds a queue). Runs every `every`; an exception is logged and the task runs again at its
/// next time.
struct PeriodicTask {
    std::string name;
    std::chrono::milliseconds every{std::chrono::minutes(5)};
    std::function<void()> run;
};

/// Runs `task` once, logging (not throwing) what it throws.
void run_periodic_task(const PeriodicTask& task);

/// Runs the tasks on this thread until `stop`: each first after its `every` (a caller that wants
/// them at once runs them first), then every `every` after its last run ended.
void run_periodic_tasks(const std::vector<PeriodicTask>& tasks, std::stop_token stop);

} // namespace edw
