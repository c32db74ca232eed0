// SharedFeed: several steps on one database, run by one process that follows the feed once.
#pragma once

#include <edw/db/database.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/step/step.hpp>

#include <cstddef>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

namespace edw {

/// The steps a process runs on one database, fed by one changes feed: one request and one
/// filter that passes the docs waiting at any of them (a selector with one alternative per
/// array length naming every step on CouchDB 2+, the design doc's `at_any_step` elsewhere, the
/// runners' own rule on the embedded store), each row handed to every step, which keeps its
/// own queue, workers, writer, retries and claims. With K steps the server reads each change
/// once, not K times.
///
/// The feed's position is one checkpoint, `_local/edw-checkpoint-<listener>`, that moves past
/// a change once every step has handled it: a step far behind the others holds it back, and
/// after a restart the others only read again rows they then skip. Each step still catches up
/// on its own at start (its `lastproc` range on a server; the feed read from its start on the
/// embedded store, or when a step is chosen by a selector), so nothing waiting is skipped.
/// A step whose queue is full holds the feed for all (its workers are all busy): steps that
/// must never wait for each other run in processes of their own.
///
/// A lone step follows a feed of its own, exactly as a StepRunner, with its own checkpoint.
class SharedFeed {
public:
    /// `database` must outlive the feed. `listener` names the checkpoint of several steps;
    /// empty: their listener names joined by '+'.
    SharedFeed(Database& database, std::string listener);
    ~SharedFeed();
    SharedFeed(const SharedFeed&) = delete;
    SharedFeed& operator=(const SharedFeed&) = delete;

    /// Adds a step. The first step's options say how the feed is read (start, since, heartbeat,
    /// feed filter, batch size); each step's own say how its docs are run and written.
    void add(Step step, RunnerOptions options);
    /// Follows the feed until `stop` or the first error (thrown once every step has stopped).
    void run(std::stop_token stop);

    [[nodiscard]] Database& database() const noexcept { return m_database; }
    [[nodiscard]] std::size_t size() const noexcept { return m_runners.size(); }
    [[nodiscard]] const StepRunner& runner(std::size_t index) const { return *m_runners.at(index); }

private:
    class Fanout;
    struct Start;
    Start choose_start();
    void follow(const Start& start, std::stop_token stop);
    void check_design_filter(const std::string& design);
    /// Whether every step takes docs by their process position (then the feed is filtered).
    [[nodiscard]] bool every_step_by_position() const;
    [[nodiscard]] std::string step_names(const std::string& separator) const;

    Database& m_database;
    std::string m_listener;
    std::shared_ptr<FeedCheckpoint> m_checkpoint;
    std::vector<std::unique_ptr<StepRunner>> m_runners;
};

} // namespace edw
