// StepGroup: several steps run by one program, one changes feed for the steps on each database.
#pragma once

#include <edw/db/database.hpp>
#include <edw/runtime/shared_feed.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/step/step.hpp>

#include <cstddef>
#include <memory>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

namespace edw {

/// The steps of one daemon (the EDELWEISS pipeline in one process, the SKA processing
/// controller's three, ALMA's product ingestor's two), possibly on different databases. The
/// steps on one database share one feed (a SharedFeed, whose checkpoint `name` names; empty:
/// the steps' listener names joined by '+'); a lone step on its database follows its own. A
/// runner that ends with an error stops the others, and run() rethrows that error once all have
/// stopped, so the program exits with it instead of going on half-working.
class StepGroup {
public:
    explicit StepGroup(std::string name = {})
        : m_name(std::move(name))
    {}

    /// `database` must outlive the group.
    void add(Database& database, Step step, RunnerOptions options);
    /// Runs every step until `stop` (or the first error), then returns after all have stopped.
    void run(std::stop_token stop);
    /// run() until SIGINT or SIGTERM.
    void run_until_signal();

    [[nodiscard]] std::size_t size() const noexcept { return m_steps.size(); }
    /// The runner of the `index`th step added, for its counters.
    [[nodiscard]] const StepRunner& runner(std::size_t index) const
    {
        const auto& [feed, at] = m_steps.at(index);
        return feed->runner(at);
    }

private:
    std::string m_name;
    std::vector<std::unique_ptr<SharedFeed>> m_feeds;         ///< One per database.
    std::vector<std::pair<SharedFeed*, std::size_t>> m_steps; ///< Where each step added is.
};

} // namespace edw
