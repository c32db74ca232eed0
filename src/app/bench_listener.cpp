// BenchListener: the runner, a thread that reports its count, and one that waits for EOF.
#include "edw/app/bench_listener.hpp"

#include <edw/workflow/step_group.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stop_token>
#include <thread>

namespace edw {

int run_bench_listener(Database& database, const std::vector<Step>& steps,
                       const RunnerOptions& options,
                       const std::function<void(const std::function<void()>&)>& around_run)
{
    StepGroup group(options.listener);
    for (const auto& step : steps) {
        RunnerOptions options_of_step = options;
        if (steps.size() > 1) {
            options_of_step.listener += "." + step.name;
        }
        group.add(database, step, options_of_step);
    }
    const StepRunner& runner = group.runner(steps.size() - 1);
    const StepRunner& first = group.runner(0);
    std::stop_source stop;
    // The end of standard input (the bench closed it, or ended) stops the listener. Detached:
    // it may still be blocked in read() when the runner fails on its own.
    std::thread([stop]() mutable {
        char byte = 0;
        while (::read(STDIN_FILENO, &byte, 1) > 0) {
        }
        stop.request_stop();
    }).detach();
    // Polled often, so that the bench sees a write within a millisecond of its return.
    std::jthread reporter([&runner](std::stop_token done) {
        long reported = -1;
        while (!done.stop_requested()) {
            const long recorded = runner.counts().recorded;
            if (recorded != reported) {
                std::printf("recorded %ld\n", recorded);
                std::fflush(stdout);
                reported = recorded;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
    });
    std::printf("ready\n");
    std::fflush(stdout);
    const std::function<void()> run = [&group, &stop] { group.run(stop.get_token()); };
    if (around_run) {
        around_run(run);
    } else {
        run();
    }
    reporter.request_stop();
    reporter.join();
    // Every row read, at its steps or not: what following the feed costs the database. Steps
    // on one feed each see every row of it.
    std::printf("recorded %ld\nfeed_rows %ld\n", runner.counts().recorded.load(),
                first.counts().feed_rows.load());
    std::fflush(stdout);
    return 0;
}

} // namespace edw
