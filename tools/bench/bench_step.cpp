// edw bench step: one listener of the synthetic pipeline, reporting its count on standard output.
#include "bench.hpp"

#include <edw/app/open_database.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/util/log.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stop_token>
#include <thread>

namespace edw::tools {

int bench_step(const GlobalOptions& global, const BenchStepOptions& options)
{
    const Settings settings = load_tool_settings(global);
    LogSettings log_settings;
    log_settings.program = "bench-" + options.name;
    log_settings.level = parse_log_level(options.log_level);
    configure_log(log_settings);
    const auto database = open_database(settings);
    Step step;
    step.name = options.name;
    step.follows = options.follows.empty() ? StepPosition::new_document()
                                           : StepPosition::after(options.follows);
    // Trivial work, so that what is measured is edw and the database.
    step.run = [](const nlohmann::json&) { return nlohmann::json{{"bench", true}}; };
    RunnerOptions runner_options;
    runner_options.listener = "bench-" + options.name;
    runner_options.design = settings.design;
    runner_options.view = settings.view;
    runner_options.jobs = options.jobs;
    runner_options.batch_size = options.batch_size;
    runner_options.heartbeat = settings.heartbeat;
    runner_options.feed_filter = parse_feed_filter(options.feed_filter);
    StepRunner runner(*database, step, runner_options);

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
    runner.run(stop.get_token());
    reporter.request_stop();
    reporter.join();
    // Every row read, at this step or not: what following the whole feed costs the database.
    std::printf("recorded %ld\nfeed_rows %ld\n", runner.counts().recorded.load(),
                runner.counts().feed_rows.load());
    std::fflush(stdout);
    return 0;
}

} // namespace edw::tools
