// PeriodicTask: the timer loop, shared by step runners and programs with no step.
#include <edw/step/periodic_task.hpp>
#include <edw/util/log.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>

namespace edw {

void run_periodic_task(const PeriodicTask& task)
{
    try {
        task.run();
    } catch (const std::exception& error) {
        log_warning("periodic task " + task.name + " failed: " + error.what());
    }
}

void run_periodic_tasks(const std::vector<PeriodicTask>& tasks, std::stop_token stop)
{
    using std::chrono::steady_clock;
    if (tasks.empty()) {
        return;
    }
    std::vector<steady_clock::time_point> due;
    for (const auto& task : tasks) {
        due.push_back(steady_clock::now() + task.every);
    }
    std::mutex mutex;
    std::condition_variable_any wake;
    while (!stop.stop_requested()) {
        const auto next = *std::min_element(due.begin(), due.end());
        {
            // Woken only by the time or by `stop`: there is nothing else to wait for.
            std::unique_lock lock(mutex);
            wake.wait_until(lock, stop, next, [] { return false; });
        }
        for (std::size_t i = 0; i < due.size() && !stop.stop_requested(); ++i) {
            if (steady_clock::now() >= due[i]) {
                run_periodic_task(tasks[i]);
                due[i] = steady_clock::now() + tasks[i].every;
            }
        }
    }
}

} // namespace edw
