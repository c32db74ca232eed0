// What `edw bench pipeline --python` runs as each listener, and the per-doc cost of a Python
// callback measured apart from any database.
#include "python_bindings.hpp"
#include "python_json.hpp"
#include "python_steps.hpp"

#include <edw/app/bench_listener.hpp>
#include <edw/app/open_database.hpp>
#include <edw/feed/feed_filter.hpp>
#include <edw/util/log.hpp>
#include <edw/util/settings.hpp>

#include <pybind11/stl.h>

#include <chrono>
#include <thread>
#include <vector>

namespace py = pybind11;

namespace edw::python {
namespace {

int bench_listener(const std::optional<std::string>& config, const py::handle& specs, int jobs,
                   std::size_t batch_size, const std::string& feed_filter,
                   const std::string& log_level)
{
    const Settings settings = load_settings(config.value_or(""), process_environment());
    std::vector<Step> steps;
    std::string names;
    for (const auto& spec : specs) {
        steps.push_back(python_step(spec));
        names += (names.empty() ? "" : ",") + steps.back().name;
    }
    LogSettings log_settings;
    log_settings.program = "bench-python-" + names;
    log_settings.level = parse_log_level(log_level);
    configure_log(log_settings);
    const auto database = open_database(settings);
    RunnerOptions options;
    options.listener = "bench-" + names;
    options.design = settings.design;
    options.view = settings.view;
    options.jobs = jobs;
    options.batch_size = batch_size;
    options.heartbeat = settings.heartbeat;
    options.feed_filter = parse_feed_filter(feed_filter);
    return run_bench_listener(*database, steps, options, [](const std::function<void()>& run) {
        const py::gil_scoped_release release;
        run();
    });
}

// Seconds for `count` calls of the step's run on `doc`, spread over `threads` C++ threads, as
// the runner's workers call it: the doc into Python, the call, the result back, the GIL.
double time_step(const Step& step, const nlohmann::json& doc, long count, int threads)
{
    const py::gil_scoped_release release;
    const auto started = std::chrono::steady_clock::now();
    {
        std::vector<std::jthread> workers;
        for (int t = 0; t < threads; ++t) {
            const long share = count / threads + (t < count % threads ? 1 : 0);
            workers.emplace_back([&step, &doc, share] {
                for (long i = 0; i < share; ++i) {
                    (void)step.run(doc);
                }
            });
        }
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

} // namespace

void bind_bench(py::module_& module)
{
    module.def("bench_listener", &bench_listener, py::arg("config"), py::arg("steps"),
               py::arg("jobs"), py::arg("batch_size"), py::arg("feed_filter"), py::arg("log_level"),
               "One listener of edw bench pipeline's synthetic pipeline: Python steps in a chain, "
               "one feed.");
    module.def(
        "time_python_step",
        [](const py::handle& spec, const py::handle& doc, long count, int threads) {
            return time_step(python_step(spec), to_json(doc, "the doc"), count, threads);
        },
        py::arg("step"), py::arg("doc"), py::arg("count"), py::arg("threads") = 1);
    module.def(
        "time_cpp_step",
        [](const py::handle& doc, long count, int threads) {
            Step step;
            step.name = "bench";
            step.run = [](const nlohmann::json&) { return nlohmann::json{{"bench", true}}; };
            return time_step(step, to_json(doc, "the doc"), count, threads);
        },
        py::arg("doc"), py::arg("count"), py::arg("threads") = 1);
}

} // namespace edw::python
