// StepGroup: threads for the runners, and the first error brought back to the caller.
#include <edw/util/log.hpp>
#include <edw/util/stop_signals.hpp>
#include <edw/workflow/step_group.hpp>

#include <exception>
#include <mutex>
#include <thread>

namespace edw {

void StepGroup::add(Database& database, Step step, RunnerOptions options)
{
    m_runners.push_back(
        std::make_unique<StepRunner>(database, std::move(step), std::move(options)));
}

void StepGroup::run(std::stop_token stop)
{
    std::stop_source all;
    const std::stop_callback forward(stop, [&all] { all.request_stop(); });
    std::mutex mutex;
    std::exception_ptr first_error;
    {
        std::vector<std::jthread> threads;
        for (auto& runner : m_runners) {
            threads.emplace_back([&, runner = runner.get()] {
                try {
                    runner->run(all.get_token());
                } catch (...) {
                    {
                        const std::lock_guard lock(mutex);
                        if (!first_error) {
                            first_error = std::current_exception();
                        }
                    }
                    all.request_stop(); // the others stop too: no half-running daemon
                }
            });
        }
    } // joined here
    if (first_error) {
        std::rethrow_exception(first_error);
    }
}

void StepGroup::run_until_signal()
{
    std::stop_source stop;
    const StopSignals signals(stop);
    run(stop.get_token());
}

} // namespace edw
