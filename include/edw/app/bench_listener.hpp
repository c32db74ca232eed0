// BenchListener: one listener of `edw bench pipeline`'s synthetic pipeline, in its protocol.
#pragma once

#include <edw/db/database.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/step/step.hpp>

#include <functional>
#include <vector>

namespace edw {

/// Runs `steps` (one, or several on one feed: a StepGroup) as the bench runs its listeners (the
/// C++ `edw bench step`, and the Python one of `--python`): prints "ready", then "recorded
/// <count>" of the last step on standard output whenever the count changes, and "feed_rows <count>"
/// when it stops, which it does at the end of its standard input, so that it never outlives the
/// bench. `around_run` wraps the run (Python releases its GIL there); unset: the run itself.
/// Returns the exit status. Each step's runner is named `<options.listener>.<step>` when there are
/// several.
int run_bench_listener(Database& database, const std::vector<Step>& steps,
                       const RunnerOptions& options,
                       const std::function<void(const std::function<void()>&)>& around_run = {});

} // namespace edw
