// SharedFeed: one follower whose rows go to every step of a process, each step on its thread.
#include "step_runner_impl.hpp"

#include <edw/runtime/shared_feed.hpp>

#include <mutex>
#include <thread>

namespace edw {

struct SharedFeed::Start {
    Seq since;
    bool view_catch_up = false;   ///< Each step reads its `lastproc` range.
    bool from_feed_start = false; ///< The feed from its start is every step's catch-up.
};

// Hands each row to every step, under one ticket that each step finishes once.
class SharedFeed::Fanout final : public FollowHandler {
public:
    Fanout(std::vector<StepRunner::Impl*> runners, FeedCheckpoint& checkpoint, bool every_position)
        : m_runners(std::move(runners))
        , m_checkpoint(checkpoint)
        , m_every_position(every_position)
    {}

    void on_change(Change&& change) override
    {
        progress.advance(change.seq, 1);
        const auto ticket =
            m_checkpoint.tracker.start(change.seq, static_cast<int>(m_runners.size()));
        if (!m_every_position || !change.doc || change.deleted) {
            for (auto* runner : m_runners) {
                runner->take_row(change, ticket);
            }
            return;
        }
        // Where the doc is, read once for all the steps rather than once by each.
        const TextPosition at = text_position(change.doc->text());
        for (auto* runner : m_runners) {
            if (at.may_be(*runner->selection().position())) {
                runner->take_row(change, ticket, true);
            } else {
                runner->skip_row(ticket);
            }
        }
    }

    void on_feed_end(const Seq& last_seq) override
    {
        // A filtered page may hold no row at all; its last_seq still moves the checkpoint.
        m_checkpoint.tracker.pass(last_seq);
        m_checkpoint.save(false);
        progress.advance(last_seq, 0);
    }

    FeedCatchUpProgress progress;

private:
    std::vector<StepRunner::Impl*> m_runners;
    FeedCheckpoint& m_checkpoint;
    bool m_every_position; ///< Then a row goes only to the steps its doc may wait at.
};

bool SharedFeed::every_step_by_position() const
{
    for (const auto& runner : m_runners) {
        if (!runner->m_impl->selection().position()) {
            return false;
        }
    }
    return true;
}

std::string SharedFeed::step_names(const std::string& separator) const
{
    std::string names;
    for (const auto& runner : m_runners) {
        names += (names.empty() ? "" : separator) + runner->m_impl->step().name;
    }
    return names;
}

SharedFeed::SharedFeed(Database& database, std::string listener)
    : m_database(database)
    , m_listener(std::move(listener))
{}

SharedFeed::~SharedFeed() = default;

void SharedFeed::add(Step step, RunnerOptions options)
{
    if (!m_checkpoint) {
        m_checkpoint = std::make_shared<FeedCheckpoint>(m_database, options.checkpoint_interval);
        m_checkpoint->set_owner(m_listener, step.name);
    }
    m_runners.push_back(std::unique_ptr<StepRunner>(
        new StepRunner(m_database, std::move(step), std::move(options), m_checkpoint)));
}

void SharedFeed::run(std::stop_token stop)
{
    if (m_runners.empty()) {
        return;
    }
    if (m_runners.size() == 1) {
        const auto& impl = *m_runners.front()->m_impl;
        m_checkpoint->set_owner(impl.options().listener, impl.step().name);
        m_runners.front()->run(std::move(stop));
        return;
    }
    if (m_listener.empty()) {
        for (const auto& runner : m_runners) {
            m_listener += (m_listener.empty() ? "" : "+") + runner->m_impl->options().listener;
        }
    }
    m_checkpoint->set_owner(m_listener, step_names(","));
    std::stop_source all;
    const std::stop_callback forward(stop, [&all] { all.request_stop(); });
    for (auto& runner : m_runners) {
        runner->m_impl->run_periodic_tasks_once();
        // A doc one step has written goes to the step it now waits at at once, not a feed
        // round trip later: the latency of a pipeline in one process is its writes'.
        runner->m_impl->on_written = [this,
                                      self = runner->m_impl.get()](const nlohmann::json& doc) {
            for (auto& other : m_runners) {
                if (other->m_impl.get() != self) {
                    other->m_impl->offer(doc);
                }
            }
        };
    }
    const Start start = choose_start();
    m_runners.front()->m_impl->check_design_doc();
    // Every step may join its workers before any announces itself: a refusal leaves no record.
    for (auto& runner : m_runners) {
        runner->m_impl->check_join();
    }
    for (auto& runner : m_runners) {
        runner->m_impl->announce();
    }
    for (auto& runner : m_runners) {
        if (const auto& started = runner->m_impl->options().on_started) {
            started();
        }
    }
    std::mutex mutex;
    std::exception_ptr first_error;
    const auto remember = [&](std::exception_ptr error) {
        {
            const std::lock_guard lock(mutex);
            if (!first_error) {
                first_error = std::move(error);
            }
        }
        all.request_stop(); // the others stop too: no half-running daemon
    };
    {
        std::vector<std::jthread> threads;
        for (auto& runner : m_runners) {
            threads.emplace_back([&, impl = runner->m_impl.get()] {
                try {
                    impl->run_on_shared_feed(all.get_token(), start.view_catch_up);
                } catch (...) {
                    remember(std::current_exception());
                }
            });
        }
        try {
            follow(start, all.get_token());
        } catch (...) {
            remember(std::current_exception());
        }
        all.request_stop();
    } // the steps finish what they have in hand here
    m_checkpoint->save(true);
    if (first_error) {
        std::rethrow_exception(first_error);
    }
}

SharedFeed::Start SharedFeed::choose_start()
{
    const RunnerOptions& first = m_runners.front()->m_impl->options();
    Start start;
    switch (first.start) {
    case StartFrom::seq:
        log_info("following from the given seq " + first.since.json());
        start.since = first.since;
        return start;
    case StartFrom::now:
        start.since = update_seq_of(m_database);
        log_info("following changes from now on (seq " + start.since.json() + "), no catch-up");
        return start;
    case StartFrom::checkpoint:
        break;
    }
    const auto saved = m_checkpoint->read();
    const bool every_position = every_step_by_position();
    if (!every_position || m_database.is_local()) {
        // As for a lone step (StepRunner::Impl::choose_start): the feed from its start shows
        // each doc's latest revision once, which is every step's catch-up.
        start.from_feed_start = true;
        log_info("catch-up: reading the whole feed from its start (" +
                 std::string(every_position ? "the embedded store"
                                            : "a step takes docs by "
                                              "selector or predicate") +
                 ")");
        return start;
    }
    // Taken before the catch-ups, so that a change made during them is seen by the feed.
    const Seq before_catch_up = update_seq_of(m_database);
    start.view_catch_up = true;
    if (saved) {
        start.since = *saved;
        log_info("resuming from checkpoint seq " + saved->json() + " after each step's catch-up");
    } else {
        start.since = before_catch_up;
        log_info("no checkpoint yet: following from seq " + before_catch_up.json() +
                 " after each step's catch-up");
    }
    return start;
}

// The design doc's filter must be there before a feed asks for it: a server may answer a
// missing one with an error (CouchDB: 404), or, as pouchdb-server does on a live feed, by going
// down altogether. A design doc pushed by an older edw lacks at_any_step.
void SharedFeed::check_design_filter(const std::string& design)
{
    const std::string id = "_design/" + design;
    const auto doc = m_runners.front()->m_impl->server_design_doc(id);
    const std::string filter(any_step_filter);
    if (!doc) {
        throw HttpError("the design doc " + id + " is not in " + m_database.describe() +
                            " (edw design push uploads it)",
                        404, "not_found", "missing");
    }
    const auto filters = doc->find("filters");
    if (filters == doc->end() || !filters->is_object() || !filters->contains(filter)) {
        throw HttpError("the design doc " + id + " in " + m_database.describe() +
                            " has no filter " + filter +
                            ", which one feed for several steps needs (pushed by an older edw? "
                            "edw design push updates it)",
                        404, "not_found", "missing filter");
    }
}

void SharedFeed::follow(const Start& start, std::stop_token stop)
{
    StepRunner::Impl& first = *m_runners.front()->m_impl;
    std::vector<StepRunner::Impl*> runners;
    std::vector<StepPosition> positions;
    for (const auto& runner : m_runners) {
        runners.push_back(runner->m_impl.get());
        if (const auto& position = runner->m_impl->selection().position()) {
            positions.push_back(*position);
        }
    }
    const bool every_position = every_step_by_position();
    const std::string names = step_names(", ");
    FeedChoice choice;
    if (!m_database.is_local() && every_position) {
        choice = choose_feed(first.options().feed_filter, first.server_welcome(), "steps " + names);
    }
    FollowOptions options = base_follow_options(first.options(), start.since, choice.kind);
    if (every_position) {
        set_feed_filter(options, choice.filter, positions, first.options());
    }
    if (choice.filter == FeedFilter::design) {
        check_design_filter(first.options().design);
    }
    log_info("one feed for steps " + names + ", checkpoint " +
             StepRunner::checkpoint_id(m_listener));
    Fanout fanout(std::move(runners), *m_checkpoint, every_position);
    if (start.from_feed_start) {
        fanout.progress.start("catch-up " + names, update_seq_of(m_database));
    }
    ChangesFollower follower(m_database, options);
    try {
        follower.follow(std::move(stop), fanout);
    } catch (const HttpError& error) {
        if (!error.is_not_found() || !options.filter) {
            throw;
        }
        throw HttpError(std::string(error.what()) + " (does the design doc have the filter " +
                            *options.filter + "? edw design push uploads it)",
                        error.status(), error.error(), error.reason());
    }
}

} // namespace edw
