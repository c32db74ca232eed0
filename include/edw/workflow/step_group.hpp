// StepGroup: several steps run by one program, each by its own StepRunner on its own thread.
#pragma once

#include <edw/db/database.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/step/step.hpp>

#include <cstddef>
#include <memory>
#include <stop_token>
#include <vector>

namespace edw {

/// The steps of one daemon (the SKA processing controller's three, ALMA's product ingestor's
/// two), possibly on different databases. A runner that ends with an error stops the others, and
/// run() rethrows that error once all have stopped, so the program exits with it instead of
/// going on half-working.
class StepGroup {
public:
    /// `database` must outlive the group.
    void add(Database& database, Step step, RunnerOptions options);
    /// Runs every step until `stop` (or the first error), then returns after all have stopped.
    void run(std::stop_token stop);
    /// run() until SIGINT or SIGTERM.
    void run_until_signal();

    [[nodiscard]] std::size_t size() const noexcept { return m_runners.size(); }
    /// The runner of the `index`th step added, for its counters.
    [[nodiscard]] const StepRunner& runner(std::size_t index) const { return *m_runners.at(index); }

private:
    std::vector<std::unique_ptr<StepRunner>> m_runners;
};

} // namespace edw
