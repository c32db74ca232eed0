// StepRunner: the pipeline of one listener: feed -> callbacks -> batched writes -> checkpoint.
#include "edw/runtime/step_runner.hpp"

#include <edw/feed/changes_follower.hpp>
#include <edw/runtime/checkpoint_tracker.hpp>
#include <edw/runtime/lease.hpp>
#include <edw/runtime/retry_schedule.hpp>
#include <edw/step/command_step.hpp>
#include <edw/util/backoff.hpp>
#include <edw/util/bounded_queue.hpp>
#include <edw/util/error.hpp>
#include <edw/util/log.hpp>
#include <edw/util/progress.hpp>
#include <edw/util/utc_time.hpp>

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

namespace edw {
namespace {

using Clock = std::chrono::steady_clock;

// A document handed to a callback. Catch-up documents carry no ticket: they are not feed rows.
struct Work {
    nlohmann::json doc;
    std::optional<CheckpointTracker::Ticket> ticket;
};

// A callback's outcome, on its way to the writer.
struct Outcome {
    std::string id;
    std::optional<CheckpointTracker::Ticket> ticket;
    /// The doc with the new entry, or with the failure recorded.
    std::optional<nlohmann::json> updated;
    nlohmann::json result;          ///< The callback's result, to record again after a 409.
    std::optional<Failure> failure; ///< Set when the callback threw.
    std::string date;               ///< When it was recorded, the same when recorded again.
};

std::string this_worker(const std::string& listener)
{
    char host[256] = "unknown-host";
    ::gethostname(host, sizeof host - 1);
    return std::string(host) + ":" + std::to_string(::getpid()) + "/" + listener;
}

std::string doc_id(const nlohmann::json& doc)
{
    const auto id = doc.find("_id");
    return id != doc.end() && id->is_string() ? id->get<std::string>() : std::string("?");
}

} // namespace

class StepRunner::Impl : private FollowHandler {
public:
    Impl(Database& database, Step step, RunnerOptions options)
        : m_database(database)
        , m_step(std::move(step))
        , m_selection(m_step.selection_or_position())
        , m_record(m_step.record ? m_step.record
                                 : StepRecorder([name = m_step.name](nlohmann::json doc,
                                                                     const nlohmann::json& result,
                                                                     std::string_view date) {
                                       return append_step(doc, name, result, date);
                                   }))
        , m_options(std::move(options))
        , m_work(static_cast<std::size_t>(std::max(1, m_options.jobs)) * 4)
        , m_outcomes(std::max<std::size_t>(m_options.batch_size * 2, 16))
    {
        if (m_options.worker.empty()) {
            m_options.worker = this_worker(m_options.listener);
        }
        m_retries.emplace([this](const std::string& id) { retry_now(id); });
        if (m_step.dependencies && m_selection.position()) {
            throw ConfigError("step " + m_step.name +
                              ": dependencies need a step chosen by a selector or a predicate, "
                              "whose runner sees every change");
        }
        if (m_options.lease) {
            m_leases.emplace(m_database, m_options.worker, m_step.name, *m_options.lease);
        }
    }

    void run(std::stop_token outside_stop)
    {
        const std::stop_callback forward(outside_stop, [this] { m_stop.request_stop(); });
        // Periodic tasks run once before anything else: a definitions file is loaded before the
        // first doc is judged by it.
        for (const auto& task : m_step.periodic) {
            run_periodic_task(task);
        }
        const Seq since = choose_start();
        start_threads();
        try {
            if (m_options.start == StartFrom::checkpoint && !m_catch_up_from_feed) {
                catch_up();
                if (!m_resumed) {
                    // Every doc waiting at the step when `since` was taken is now handed out,
                    // and a restart catches up again anyway: the feed up to `since` is done.
                    m_tracker.pass(since);
                }
            }
            if (!m_stop.stop_requested()) {
                follow(since);
            }
        } catch (...) {
            remember_failure(std::current_exception());
        }
        finish_threads();
        save_checkpoint(true);
        log_info("stopped: " + std::to_string(m_counts.recorded.load()) + " recorded, " +
                 std::to_string(m_counts.failed.load()) + " failed, " +
                 std::to_string(m_counts.dropped.load()) + " dropped as already recorded");
        if (m_failure) {
            std::rethrow_exception(m_failure);
        }
    }

    RunnerCounts m_counts;

    [[nodiscard]] std::optional<Seq> handled_seq() const { return m_tracker.handled(); }
    [[nodiscard]] std::chrono::steady_clock::duration feed_lag() const
    {
        return m_tracker.oldest_unfinished_age();
    }

private:
    // Start-up ---------------------------------------------------------------------------------

    Seq choose_start()
    {
        switch (m_options.start) {
        case StartFrom::seq:
            log_info("following from the given seq " + m_options.since.json());
            return m_options.since;
        case StartFrom::now: {
            // A concrete seq rather than `now`, so that the first checkpoint has a value.
            const Seq now = update_seq_of(m_database);
            log_info("following changes from now on (seq " + now.json() + "), no catch-up");
            return now;
        }
        case StartFrom::checkpoint:
            break;
        }
        const auto saved = m_database.get(checkpoint_id(m_options.listener));
        if (saved) {
            m_checkpoint_rev = saved->value("_rev", "");
        }
        // The whole feed, from its start, shows each doc's latest revision once, which is the
        // catch-up, and then goes on as the live feed; the saved checkpoint is not needed as a
        // start. It is the only way when no view lists the docs a selector or predicate
        // chooses. On the embedded store it also costs a SQLite read per row and no network,
        // far less than mapping every doc into the view.
        if (!m_selection.position() || m_database.is_local()) {
            m_catch_up_from_feed = true;
            log_info("catch-up: reading the whole feed from its start (" +
                     (m_selection.position() ? std::string("the embedded store")
                                             : "the step takes " + m_selection.description()) +
                     ")");
            const auto updates = approximate_update_count(update_seq_of(m_database));
            if (updates && *updates > 0) {
                m_feed_catch_up_end = *updates;
                m_feed_catch_up.emplace("catch-up " + m_step.name, *updates, "changes");
            }
            return Seq();
        }
        // Taken before the catch-up, so that a change made during it is seen by the feed.
        const Seq before_catch_up = update_seq_of(m_database);
        if (saved && saved->contains("seq")) {
            const Seq seq = Seq::from_json((*saved)["seq"]);
            m_resumed = true;
            log_info("resuming from checkpoint seq " + seq.json());
            return seq;
        }
        log_info("no checkpoint yet: following from seq " + before_catch_up.json() +
                 " after the catch-up");
        return before_catch_up;
    }

    void catch_up()
    {
        const auto prefix = m_selection.position()->key_prefix();
        ViewQuery query;
        query.startkey = nlohmann::json::array({prefix});
        query.endkey = nlohmann::json::array({prefix, nlohmann::json::object()});
        query.reduce = false;
        query.include_docs = true;
        query.limit = m_options.catch_up_page;
        query.stable = true;
        Progress progress("catch-up " + m_step.name, waiting_count(query), "docs");
        // The first page brings the index up to date (past the seq the feed will start from);
        // the later ones read it as it then was, from the same shard copies. Otherwise each page
        // waits while the server maps the docs this step has just written, in JavaScript:
        // 250-480 ms a page of 500 on CouchDB 3.4, against 100 ms. A doc that has moved on
        // since is still listed then, with its doc as it is now, and dispatch leaves it.
        const auto first = catch_up_pass(query, true, progress);
        long seen = first.seen;
        if (first.read_stale && !m_stop.stop_requested()) {
            // An index read without updating may have lost what it had not yet saved (a
            // server restarted meanwhile), so the range is read once more, brought up to date:
            // one update for the whole catch-up instead of one a page. Docs handed out and
            // written have left it; those still in flight are left by dispatch.
            seen += catch_up_pass(query, false, progress).seen;
        }
        progress.finish();
        m_counts.caught_up += seen;
        log_info("catch-up: " + std::to_string(seen) + " docs were waiting at step " + m_step.name);
    }

    struct CatchUpPass {
        long seen = 0;           ///< Docs handed out.
        bool read_stale = false; ///< A page was read without bringing the index up to date.
    };

    // Pages through the view range of `query` into the queue, the pages after the first without
    // updating the index when `stale_after_first`.
    CatchUpPass catch_up_pass(ViewQuery query, bool stale_after_first, Progress& progress)
    {
        CatchUpPass pass;
        std::optional<std::string> last_id;
        while (!m_stop.stop_requested()) {
            const auto page = query_view(query);
            pass.read_stale = pass.read_stale || !query.update;
            for (const auto& row : page.rows) {
                if (row.id == last_id) {
                    continue; // the row the page started from, handed out with the page before
                }
                // Counted when taken in hand: a stale page lists docs done since, and the second
                // pass those still being worked on.
                if (row.doc && row.doc->is_object() && dispatch(*row.doc, std::nullopt)) {
                    ++pass.seen;
                    progress.advance(1);
                }
            }
            if (page.rows.size() < *query.limit) {
                break;
            }
            // Page by key, never by skip: the docs handled so far leave the range while we read
            // it, so the last row may be gone when the next page is asked for, and skipping one
            // row would then skip a doc that still waits.
            query.startkey = page.rows.back().key;
            query.startkey_docid = page.rows.back().id;
            last_id = page.rows.back().id;
            query.update = !stale_after_first;
        }
        return pass;
    }

    // How many docs the catch-up's range holds, for its progress: the view's reduce (lastproc
    // counts); 0 (unknown) when the view has none or the query fails, which the paging reports.
    std::uint64_t waiting_count(const ViewQuery& range)
    {
        ViewQuery count;
        count.startkey = range.startkey;
        count.endkey = range.endkey;
        try {
            const auto result = m_database.query(m_options.design, m_options.view, count);
            if (!result.rows.empty() && result.rows[0].value.is_number_unsigned()) {
                return result.rows[0].value.get<std::uint64_t>();
            }
        } catch (const Error&) {
        }
        return 0;
    }

    // A catch-up from the feed: progress over the feed's rows until its end at start-up.
    void advance_feed_catch_up(const Seq& seq, std::uint64_t rows)
    {
        if (!m_feed_catch_up) {
            return;
        }
        m_feed_catch_up->advance(rows);
        const auto at = approximate_update_count(seq);
        if (at && *at >= m_feed_catch_up_end) {
            m_feed_catch_up->finish();
            m_feed_catch_up.reset();
        }
    }

    ViewResult query_view(const ViewQuery& query)
    {
        try {
            return patiently("the " + m_options.view + " query", [&] {
                return m_database.query(m_options.design, m_options.view, query);
            });
        } catch (const HttpError& error) {
            if (error.is_not_found()) {
                throw HttpError(std::string(error.what()) + " (is the design doc _design/" +
                                    m_options.design + " there? edw design push uploads it)",
                                error.status(), error.error(), error.reason());
            }
            throw;
        }
    }

    void follow(const Seq& since)
    {
        FollowOptions options;
        options.since = since;
        // A server sends only the docs at this step. A store in this process has no network
        // to spare, and its filter would run in JavaScript on every row: the runner's own
        // check (may_be_waiting_at, then is_waiting_at) does the same work far faster.
        const FeedChoice choice = choose_feed();
        switch (choice.filter) {
        case FeedFilter::design:
            options.filter = m_options.design + "/" + m_options.filter;
            options.filter_parameters = {{"last", m_selection.position()->filter_value()}};
            break;
        case FeedFilter::selector:
            options.selector = waiting_selector(*m_selection.position());
            break;
        case FeedFilter::automatic:
        case FeedFilter::all:
            break;
        }
        options.include_docs = true;
        options.feed = choice.kind;
        // A longpoll answer ends with a last_seq even when the filter let no row through, which
        // keeps the checkpoint up with the feed (a restart then does not re-read long stretches).
        // A continuous feed has none until it ends, so after a heartbeat's time without a row
        // the follower asks once with a normal request.
        options.refresh_after =
            std::max<std::chrono::milliseconds>(m_options.heartbeat, std::chrono::seconds(1));
        options.limit = std::max<std::uint64_t>(m_options.batch_size * 5, 1000);
        options.heartbeat = m_options.heartbeat;
        ChangesFollower follower(m_database, options);
        follower.follow(m_stop.get_token(), *this);
    }

    struct FeedChoice {
        FeedFilter filter;
        Feed kind;
    };

    // Which filter the feed goes through (`automatic`: from what the server says it is) and
    // which kind of feed: continuous on CouchDB 2+ unless the filter is JavaScript (a pipeline
    // moved about 10 % more docs so than with longpolls, while 1,000 EDELWEISS docs through the
    // design filter took 6.1-6.5 s against 4.7-5.1 s: BENCHMARKS.md); longpoll elsewhere.
    FeedChoice choose_feed()
    {
        if (m_database.is_local() || !m_selection.position()) {
            return {FeedFilter::all, Feed::longpoll};
        }
        const auto welcome =
            patiently("reading what the server is", [&] { return m_database.server_welcome(); });
        const FeedFilter for_server = choose_feed_filter(welcome);
        const FeedFilter chosen =
            m_options.feed_filter == FeedFilter::automatic ? for_server : m_options.feed_filter;
        const Feed kind = for_server == FeedFilter::selector && chosen != FeedFilter::design
                              ? Feed::continuous
                              : Feed::longpoll;
        log_info("feed filter: " + std::string(feed_filter_name(chosen)) +
                 (m_options.feed_filter == FeedFilter::automatic ? " (the server is "
                                                                 : " (as asked; the server is ") +
                 describe_server(welcome) + "), " +
                 (kind == Feed::continuous ? "continuous feed" : "longpoll feed"));
        return {chosen, kind};
    }

    // Feed handling ----------------------------------------------------------------------------

    void on_change(Change&& change) override
    {
        ++m_counts.feed_rows;
        if (m_step.dependencies) {
            recheck_dependents(change.id);
        }
        advance_feed_catch_up(change.seq, 1);
        const auto ticket = m_tracker.start(change.seq);
        if (change.deleted) {
            m_tracker.finish(ticket);
            return;
        }
        std::optional<nlohmann::json> doc;
        try {
            if (change.doc) {
                // Most rows of an unfiltered feed are docs at other steps: skipped unparsed.
                if (!m_selection.may_select(change.doc->text())) {
                    m_tracker.finish(ticket);
                    return;
                }
                doc = change.doc->parse();
            } else {
                doc = look_up_waiting(change.id);
            }
        } catch (const TransportError& error) {
            // The ticket stays open: the checkpoint cannot pass this change, so the next start
            // sees it again.
            log_error("cannot look up doc " + change.id + ": " + error.what());
            return;
        } catch (const JsonError& error) {
            // A doc edw cannot read (nested too deep, not JSON): that doc's error, and the
            // listener goes on with the others.
            log_error("cannot read doc " + change.id + ", left where it is: " + error.what());
            m_tracker.finish(ticket);
            return;
        }
        if (!doc) {
            m_tracker.finish(ticket);
            return;
        }
        dispatch(std::move(*doc), ticket);
    }

    void on_feed_end(const Seq& last_seq) override
    {
        // A filtered page may hold no row at all; its last_seq still moves the checkpoint, so a
        // restart does not read the same stretch of feed again.
        m_tracker.pass(last_seq);
        save_checkpoint(false);
        advance_feed_catch_up(last_seq, 0);
    }

    // A feed without docs: ask the view about just this doc, never the whole view.
    std::optional<nlohmann::json> look_up_waiting(const std::string& id)
    {
        if (!m_selection.position()) {
            return m_database.get(id);
        }
        ViewQuery query;
        query.keys = std::vector<nlohmann::json>{
            nlohmann::json::array({m_selection.position()->key_prefix(), id})};
        query.reduce = false;
        query.include_docs = true;
        const auto result = query_view(query);
        for (const auto& row : result.rows) {
            if (row.doc && row.doc->is_object()) {
                return row.doc;
            }
        }
        return std::nullopt;
    }

    // Returns whether the doc was taken in hand (queued, or set aside for its retry time).
    bool dispatch(nlohmann::json doc, std::optional<CheckpointTracker::Ticket> ticket)
    {
        const std::string id = doc_id(doc);
        const bool waiting = m_selection.selects(doc) && m_options.shard.owns(id);
        bool busy = false;
        if (waiting) {
            const std::lock_guard lock(m_in_flight_mutex);
            // The feed may repeat a change, or report a doc again while we work on it. The write
            // in progress settles that doc either way, so the repeat is done already. A feed
            // read before our write may also bring back the revision we have just replaced.
            const auto done = m_replaced.find(id);
            busy = (done != m_replaced.end() && done->second == doc.value("_rev", "")) ||
                   !m_in_flight.insert(id).second;
        }
        if (!waiting) {
            m_retries->cancel(id); // a doc that left the step needs no second look
        }
        if (!waiting || busy) {
            if (ticket) {
                m_tracker.finish(*ticket);
            }
            return false;
        }
        // A doc whose last attempt failed waits for its retry time, also across restarts: the
        // time is on the doc. A doc another worker has claimed is looked at again when the claim
        // expires: done by then, it has left the step; still claimed, it was renewed; otherwise
        // its worker died and this one takes it over.
        std::optional<std::string> at = retry_at(doc, m_step.name);
        if (!at && m_leases && claimed_by_other(doc, m_step.name, m_options.worker)) {
            at = claim_of(doc, m_step.name)->until;
        }
        if (at) {
            m_retries->schedule(id, parse_iso8601(*at).value_or(RetrySchedule::Clock::now()));
            set_aside(id, ticket);
            return true;
        }
        if (m_step.dependencies && !dependencies_ready(doc)) {
            set_aside(id, ticket); // a change to what it waits on brings it back
            return true;
        }
        if (!m_work.push(Work{std::move(doc), ticket})) {
            release(id, ticket, false); // shutting down: leave it for the next start
            return false;
        }
        return true;
    }

    // A waiting doc that is not to run now: the feed may pass it, something else brings it back.
    void set_aside(const std::string& id, std::optional<CheckpointTracker::Ticket> ticket)
    {
        {
            const std::lock_guard lock(m_in_flight_mutex);
            m_in_flight.erase(id);
        }
        if (ticket) {
            m_tracker.finish(*ticket);
        }
    }

    // Dependencies ----------------------------------------------------------------------------

    // True when the docs `doc` depends on let it run. Otherwise the doc stays noted under each
    // of them, and a change to any brings it back (recheck_dependents).
    bool dependencies_ready(const nlohmann::json& doc)
    {
        const std::string id = doc_id(doc);
        const auto ids = m_step.dependencies->ids(doc);
        // Noted before the reads, not after: the retry timer's thread may run this while the
        // feed's thread handles the change that finishes a dependency. Noted after, the doc
        // could miss that change (read before it, noted after its recheck) and wait forever.
        note_dependent(id, ids);
        std::vector<std::optional<nlohmann::json>> found;
        try {
            for (const auto& dependency : ids) {
                found.push_back(m_database.get(dependency));
            }
        } catch (const Error& error) {
            log_warning("cannot read the docs " + id + " depends on: " + error.what() +
                        "; looking again in 5 s");
            m_retries->schedule(id, RetrySchedule::Clock::now() + std::chrono::seconds(5));
            return false;
        }
        if (m_step.dependencies->ready(doc, found)) {
            forget_dependent(id, ids);
            return true;
        }
        return false;
    }

    void note_dependent(const std::string& id, const std::vector<std::string>& dependencies)
    {
        const std::lock_guard lock(m_dependents_mutex);
        for (const auto& dependency : dependencies) {
            m_dependents[dependency].insert(id);
        }
    }

    void forget_dependent(const std::string& id, const std::vector<std::string>& dependencies)
    {
        const std::lock_guard lock(m_dependents_mutex);
        for (const auto& dependency : dependencies) {
            const auto found = m_dependents.find(dependency);
            if (found != m_dependents.end()) {
                found->second.erase(id);
                if (found->second.empty()) {
                    m_dependents.erase(found);
                }
            }
        }
    }

    void recheck_dependents(const std::string& changed)
    {
        std::set<std::string> waiting;
        {
            const std::lock_guard lock(m_dependents_mutex);
            const auto found = m_dependents.find(changed);
            if (found == m_dependents.end()) {
                return;
            }
            waiting = std::move(found->second);
            m_dependents.erase(found);
        }
        // Through the retry timer, which reads each doc again and dispatches it: a doc still
        // not ready notes itself again.
        for (const auto& id : waiting) {
            m_retries->schedule(id, RetrySchedule::Clock::now());
        }
    }

    // Revisions this runner replaced with its own write, so that a late feed row showing the
    // old revision is not run again. Bounded: the oldest are forgotten first.
    void remember_replaced(const std::string& id, std::string rev)
    {
        const std::lock_guard lock(m_in_flight_mutex);
        m_replaced[id] = std::move(rev);
        m_replaced_order.push_back(id);
        // A stale row can only come from a feed read before our write, so the revisions in
        // flight bound what is needed; a bigger set would only make a long catch-up grow memory.
        while (m_replaced_order.size() > 10000) {
            m_replaced.erase(m_replaced_order.front());
            m_replaced_order.pop_front();
        }
    }

    void release(const std::string& id, std::optional<CheckpointTracker::Ticket> ticket,
                 bool handled)
    {
        {
            const std::lock_guard lock(m_in_flight_mutex);
            m_in_flight.erase(id);
        }
        // An unhandled change keeps its ticket open, so the checkpoint stays before it and a
        // restart sees the change again.
        if (ticket && handled) {
            m_tracker.finish(*ticket);
        }
    }

    // Workers ----------------------------------------------------------------------------------

    void start_threads()
    {
        if (!m_step.periodic.empty()) {
            m_periodic = std::jthread(
                [this](std::stop_token stop) { run_periodic_tasks(m_step.periodic, stop); });
        }
        for (int i = 0; i < std::max(1, m_options.jobs); ++i) {
            m_workers.emplace_back([this] { work(); });
        }
        m_writer = std::jthread([this] { write(); });
        if (m_options.step_timeout.count() > 0) {
            m_watchdog = std::jthread([this](std::stop_token stop) { watch_callbacks(stop); });
        }
    }

    void finish_threads()
    {
        m_stop.request_stop();
        if (m_periodic.joinable()) {
            m_periodic.request_stop();
            m_periodic.join();
        }
        if (m_watchdog.joinable()) {
            m_watchdog.request_stop();
            m_watchdog.join();
        }
        // Callbacks already handed out finish and are written: no half-done step is left.
        m_work.close();
        {
            const std::lock_guard lock(m_running_mutex);
            long stuck = 0;
            for (const auto& [run, running] : m_running) {
                stuck += running.abandoned ? 1 : 0;
            }
            if (stuck > 0) {
                log_warning("waiting for " + std::to_string(stuck) +
                            " callbacks that ran past --step-timeout to return");
            }
        }
        const std::lock_guard lock(m_workers_mutex);
        for (auto& worker : m_workers) {
            worker.join();
        }
        m_outcomes.close();
        m_writer.join();
        m_retries.reset(); // docs waiting for a retry are found again at the next start
        m_leases.reset();
    }

    void work()
    {
        while (auto item = m_work.pop()) {
            const std::string id = doc_id(item->doc);
            Outcome outcome{id, item->ticket, std::nullopt, nlohmann::json(), std::nullopt, ""};
            if (m_leases && !take_claim(*item)) {
                continue;
            }
            const auto run = start_running(id, *item);
            const auto started = Clock::now();
            ++m_counts.running;
            try {
                outcome.date = utc_now_iso8601();
                if (m_leases) {
                    outcome.result = m_step.run(without_claim(item->doc));
                    // The newest revision of the claimed doc, after any renewals; the claim
                    // goes with the result.
                    auto base = m_leases->release(id).value_or(item->doc);
                    outcome.updated =
                        m_record(without_claim(std::move(base)), outcome.result, outcome.date);
                } else {
                    outcome.result = m_step.run(item->doc);
                    outcome.updated = m_record(item->doc, outcome.result, outcome.date);
                }
                if (m_selection.selects(*outcome.updated)) {
                    // Written as it is, the doc would come back to this step at once, forever.
                    throw TransitionRefused("the result of step " + m_step.name + " on doc " + id +
                                            " leaves it at the step (" + m_selection.description() +
                                            "); not written");
                }
            } catch (const std::exception& error) {
                if (m_leases) {
                    item->doc = without_claim(m_leases->release(id).value_or(item->doc));
                }
                // Wrong input (a missing field, a bad type) lands here too: a failure of this
                // doc, recorded on it, never the end of the daemon.
                ++m_counts.failed;
                const auto* step_failure = dynamic_cast<const StepFailure*>(&error);
                outcome.failure =
                    Failure{.step = m_step.name,
                            .worker = m_options.worker,
                            .message = error.what(),
                            .detail = step_failure != nullptr ? step_failure->detail() : ""};
                outcome.updated = record_failure(std::move(item->doc), *outcome.failure,
                                                 std::chrono::system_clock::now(), m_options.retry);
            }
            --m_counts.running;
            m_counts.callback_seconds.observe(Clock::now() - started);
            if (!finish_running(run)) {
                log_warning("step " + m_step.name + " on doc " + id +
                            " returned after it was given up for running too long; its result "
                            "is dropped");
                continue;
            }
            m_outcomes.push(std::move(outcome));
        }
    }

    // Callbacks in progress, watched for --step-timeout. -------------------------------------

    struct Running {
        std::string id;
        Clock::time_point started;
        nlohmann::json doc; ///< As handed to the callback, to record a timeout on.
        std::optional<CheckpointTracker::Ticket> ticket;
        bool abandoned = false;
    };

    std::size_t start_running(const std::string& id, const Work& item)
    {
        if (m_options.step_timeout.count() <= 0) {
            return 0;
        }
        const std::lock_guard lock(m_running_mutex);
        const std::size_t run = ++m_next_run;
        m_running[run] = Running{id, Clock::now(), item.doc, item.ticket, false};
        return run;
    }

    // False when the watchdog gave the callback up: its outcome was already reported.
    bool finish_running(std::size_t run)
    {
        if (run == 0) {
            return true;
        }
        const std::lock_guard lock(m_running_mutex);
        const auto found = m_running.find(run);
        if (found == m_running.end()) {
            return true;
        }
        const bool abandoned = found->second.abandoned;
        m_running.erase(found);
        return !abandoned;
    }

    // A callback that runs past --step-timeout cannot be stopped (it is code in this process),
    // but it need not hold up the step: its doc gets a failure record (and so a retry, or
    // parking), a new worker thread takes its place in the pool, and whatever the callback
    // returns later is dropped.
    void watch_callbacks(std::stop_token stop)
    {
        const auto period = std::clamp(m_options.step_timeout / 4, std::chrono::milliseconds(10),
                                       std::chrono::milliseconds(1000));
        while (!stop.stop_requested()) {
            std::this_thread::sleep_for(period);
            std::vector<Running> overdue;
            {
                const std::lock_guard lock(m_running_mutex);
                for (auto& [run, running] : m_running) {
                    if (!running.abandoned &&
                        Clock::now() - running.started > m_options.step_timeout) {
                        running.abandoned = true;
                        overdue.push_back(running);
                    }
                }
            }
            for (auto& running : overdue) {
                ++m_counts.failed;
                Outcome outcome{running.id,
                                running.ticket,
                                std::nullopt,
                                nlohmann::json(),
                                Failure{.step = m_step.name,
                                        .worker = m_options.worker,
                                        .message = "ran longer than " +
                                                   std::to_string(m_options.step_timeout.count()) +
                                                   " ms (--step-timeout) and was given up",
                                        .detail = {}},
                                ""};
                auto base = m_leases ? m_leases->release(running.id).value_or(running.doc)
                                     : std::move(running.doc);
                outcome.updated = record_failure(without_claim(std::move(base)), *outcome.failure,
                                                 std::chrono::system_clock::now(), m_options.retry);
                m_outcomes.push(std::move(outcome));
                const std::lock_guard lock(m_workers_mutex);
                m_workers.emplace_back([this] { work(); });
            }
        }
    }

    // Claims the doc of `item` for this worker; false (and the doc released) when another
    // worker has it or the claim could not be written.
    bool take_claim(Work& item)
    {
        const std::string id = doc_id(item.doc);
        const bool taking_over = claim_of(item.doc, m_step.name).has_value() &&
                                 !claimed_by_other(item.doc, m_step.name, m_options.worker);
        std::optional<nlohmann::json> claimed;
        try {
            claimed = m_leases->claim(std::move(item.doc));
        } catch (const Error& error) {
            // The change stays unhandled, so a restart looks at it again.
            log_warning("cannot claim doc " + id + " for step " + m_step.name + ": " +
                        error.what());
            release(id, item.ticket, false);
            return false;
        }
        if (!claimed) {
            ++m_counts.claims_lost;
            log_debug("doc " + id + " was claimed by another worker first");
            release(id, item.ticket, true);
            return false;
        }
        if (taking_over) {
            ++m_counts.taken_over;
            log_info("took over doc " + id + ": the claim of another worker on it had expired");
        }
        item.doc = std::move(*claimed);
        return true;
    }

    // Writer -----------------------------------------------------------------------------------

    void write()
    {
        for (;;) {
            auto batch = m_outcomes.pop_some(m_options.batch_size);
            if (batch.empty()) {
                return;
            }
            try {
                write_batch(batch);
            } catch (...) {
                remember_failure(std::current_exception());
                for (auto& outcome : batch) {
                    release(outcome.id, outcome.ticket, false);
                }
            }
            save_checkpoint(false);
        }
    }

    // CouchDB refuses a whole _bulk_docs (413) when one doc is over its max_document_size, as a
    // step's result can make one. Then the docs go one by one, and the one too large is that
    // doc's failure alone: it stays at its step, and the listener goes on.
    std::vector<BulkResult> save_each_if_too_large(const std::vector<nlohmann::json>& docs)
    {
        try {
            return bulk_save_patiently(docs);
        } catch (const HttpError& error) {
            if (error.status() != 413) {
                throw;
            }
            if (docs.size() == 1) {
                return {BulkResult{.id = doc_id(docs[0]),
                                   .rev = {},
                                   .error = error.error().empty() ? "too_large" : error.error(),
                                   .reason = "the doc with this step's result is larger than "
                                             "the server takes (HTTP 413)"}};
            }
        }
        std::vector<BulkResult> results;
        for (const auto& doc : docs) {
            results.push_back(save_each_if_too_large({doc}).front());
        }
        return results;
    }

    // The server may be down for a while (a restart, a network cut): keep the batch and try
    // again, until a shutdown, when the batch is left unrecorded for the next start to redo.
    std::vector<BulkResult> bulk_save_patiently(const std::vector<nlohmann::json>& docs)
    {
        return patiently("the batch", [&] { return m_database.bulk_save(docs); });
    }

    // Runs `call` until it works: the server may be down for a while (a restart, a network
    // cut), which the listener waits out. Errors that waiting cannot mend are thrown, and so is
    // a passing one once a shutdown has been asked for and two tries failed.
    template <typename Call>
    auto patiently(const std::string& what, Call&& call) -> decltype(call())
    {
        Backoff backoff({std::chrono::milliseconds(500), std::chrono::milliseconds(30000)});
        for (;;) {
            std::string trouble;
            try {
                return call();
            } catch (const TransportError& error) {
                if (!error.is_retryable() || (m_stop.stop_requested() && backoff.attempt() >= 2)) {
                    throw;
                }
                trouble = error.what();
            } catch (const HttpError& error) {
                // A server restarting behind a proxy answers 502/503 for a while.
                const bool passing = error.status() >= 500 || error.status() == 429;
                if (!passing || (m_stop.stop_requested() && backoff.attempt() >= 2)) {
                    throw;
                }
                trouble = error.what();
            }
            const auto wait = backoff.next();
            log_warning(trouble + "; trying " + what + " again in " + std::to_string(wait.count()) +
                        " ms");
            std::this_thread::sleep_for(wait);
        }
    }

    void write_batch(std::vector<Outcome>& batch)
    {
        std::vector<nlohmann::json> docs;
        std::vector<Outcome*> writing;
        for (auto& outcome : batch) {
            if (outcome.updated) {
                docs.push_back(std::move(*outcome.updated));
                writing.push_back(&outcome);
            } else {
                release(outcome.id, outcome.ticket, true);
            }
        }
        if (docs.empty()) {
            return;
        }
        const long recorded_before = m_counts.recorded;
        const auto results = save_each_if_too_large(docs);
        for (std::size_t i = 0; i < results.size(); ++i) {
            Outcome& outcome = *writing[i];
            const auto& result = results[i];
            if (result.ok() && outcome.failure) {
                remember_replaced(outcome.id, docs[i].value("_rev", ""));
                after_failure_recorded(outcome.id, docs[i]);
            } else if (result.ok()) {
                ++m_counts.recorded;
                remember_replaced(outcome.id, docs[i].value("_rev", ""));
                log_debug("recorded " + m_step.name + " on doc " + outcome.id);
            } else if (result.is_conflict()) {
                ++m_counts.conflicts;
                try {
                    resolve_conflict(outcome);
                } catch (const TransportError& error) {
                    ++m_counts.failed;
                    log_error("cannot resolve the conflict on doc " + outcome.id + ": " +
                              error.what());
                    release(outcome.id, outcome.ticket, false);
                    continue;
                }
            } else {
                ++m_counts.failed;
                log_error("cannot record " + m_step.name + " on doc " + outcome.id + ": " +
                          result.error + ": " + result.reason);
            }
            release(outcome.id, outcome.ticket, true);
        }
        const long recorded = m_counts.recorded - recorded_before;
        if (recorded > 0) {
            log_info("recorded " + m_step.name + " on " + std::to_string(recorded) + " of " +
                     std::to_string(docs.size()) + (docs.size() == 1 ? " doc (" : " docs (") +
                     writing.front()->id + (docs.size() == 1 ? ")" : ", ...)"));
        }
    }

    // The failure is on the doc: say so, and come back to it when its retry time has come.
    void after_failure_recorded(const std::string& id, const nlohmann::json& doc)
    {
        const auto& entry = doc[failures_field].back();
        const std::string attempts = std::to_string(entry.value("attempt", 0)) + " of " +
                                     std::to_string(m_options.retry.max_attempts);
        if (entry.value("parked", false)) {
            ++m_counts.parked;
            log_error("step " + m_step.name + " failed on doc " + id + " (attempt " + attempts +
                      "): " + entry.value("message", "") + "; parked as status \"" +
                      parked_status(m_step.name) + "\" (edw retry puts it back)");
            return;
        }
        ++m_counts.retries;
        const std::string at = entry.value("retry_at", "");
        log_warning("step " + m_step.name + " failed on doc " + id + " (attempt " + attempts +
                    "): " + entry.value("message", "") + "; next attempt at " + at);
        m_retries->schedule(id, parse_iso8601(at).value_or(RetrySchedule::Clock::now()));
    }

    // A retry time has come: read the doc as it is now and hand it out if it still waits.
    void retry_now(const std::string& id)
    {
        if (m_stop.stop_requested()) {
            return;
        }
        try {
            if (auto doc = m_database.get(id)) {
                dispatch(std::move(*doc), std::nullopt);
            }
        } catch (const Error& error) {
            log_warning("cannot read doc " + id + " for its retry: " + error.what() +
                        "; trying again in 5 s");
            m_retries->schedule(id, RetrySchedule::Clock::now() + std::chrono::seconds(5));
        }
    }

    // Someone else wrote the doc since we read it. Read it again and decide from what it is now;
    // never write our old copy over theirs.
    void resolve_conflict(const Outcome& outcome)
    {
        for (int attempt = 0; attempt < 10; ++attempt) {
            const auto fresh = m_database.get(outcome.id);
            switch (decide_after_conflict(fresh, m_step.name, m_selection)) {
            case ConflictDecision::already_recorded:
                ++m_counts.dropped;
                log_info("step " + m_step.name + " on doc " + outcome.id +
                         " was already recorded by another writer; result dropped");
                return;
            case ConflictDecision::no_longer_waiting:
                ++m_counts.dropped;
                log_warning("doc " + outcome.id + " left step " + m_step.name +
                            " while it ran; result dropped");
                return;
            case ConflictDecision::reapply: {
                if (outcome.failure) {
                    // Record the failure on the doc as it is now, counting its attempts there.
                    auto updated =
                        record_failure(without_claim(*fresh), *outcome.failure,
                                       std::chrono::system_clock::now(), m_options.retry);
                    if (!m_database.save(updated).is_conflict()) {
                        remember_replaced(outcome.id, fresh->value("_rev", ""));
                        after_failure_recorded(outcome.id, updated);
                        return;
                    }
                    ++m_counts.conflicts;
                    break;
                }
                nlohmann::json updated = *fresh;
                if (const auto claim = claim_of(updated, m_step.name);
                    claim && claim->worker == m_options.worker) {
                    updated.erase(claim_field); // our own claim goes with the result
                }
                try {
                    updated = m_record(std::move(updated), outcome.result, outcome.date);
                } catch (const std::exception& error) {
                    ++m_counts.failed;
                    log_error("cannot record " + m_step.name + " on doc " + outcome.id +
                              " as it is now: " + error.what());
                    return;
                }
                if (!m_database.save(updated).is_conflict()) {
                    ++m_counts.recorded;
                    remember_replaced(outcome.id, fresh->value("_rev", ""));
                    return;
                }
                ++m_counts.conflicts;
                break;
            }
            }
        }
        ++m_counts.failed;
        log_error("cannot record " + m_step.name + " on doc " + outcome.id +
                  ": still conflicting after 10 tries");
    }

    // Checkpoint -------------------------------------------------------------------------------

    void save_checkpoint(bool now)
    {
        const std::lock_guard lock(m_checkpoint_mutex);
        if (!now && Clock::now() - m_last_checkpoint < m_options.checkpoint_interval) {
            return;
        }
        const auto seq = m_tracker.take_new_checkpoint();
        if (!seq) {
            return;
        }
        m_last_checkpoint = Clock::now();
        try {
            for (int attempt = 0; attempt < 3; ++attempt) {
                nlohmann::json doc = {{"_id", checkpoint_id(m_options.listener)},
                                      {"seq", seq->to_json()},
                                      {"step", m_step.name},
                                      {"updated", utc_now_iso8601()}};
                if (!m_checkpoint_rev.empty()) {
                    doc["_rev"] = m_checkpoint_rev;
                }
                const auto saved = m_database.save(doc);
                if (!saved.is_conflict()) {
                    m_checkpoint_rev = saved.rev;
                    return;
                }
                // Another process (an older run, or a tool) wrote it: take its rev and win.
                const auto current = m_database.get(checkpoint_id(m_options.listener));
                m_checkpoint_rev = current ? current->value("_rev", "") : "";
            }
            log_warning("cannot save checkpoint: it keeps changing under us");
        } catch (const Error& error) {
            // Not fatal: an older checkpoint only means some changes are looked at again.
            log_warning(std::string("cannot save checkpoint: ") + error.what());
        }
    }

    void remember_failure(std::exception_ptr failure)
    {
        {
            const std::lock_guard lock(m_failure_mutex);
            if (!m_failure) {
                m_failure = std::move(failure);
            }
        }
        m_stop.request_stop();
    }

    Database& m_database;
    Step m_step;
    StepSelection m_selection; ///< Which docs wait at the step.
    StepRecorder m_record;     ///< How a result is written.
    RunnerOptions m_options;
    std::stop_source m_stop;
    BoundedQueue<Work> m_work;
    BoundedQueue<Outcome> m_outcomes;
    std::mutex m_workers_mutex; ///< The pool grows when a callback is given up.
    std::vector<std::jthread> m_workers;
    std::jthread m_writer;
    std::jthread m_watchdog;
    std::mutex m_running_mutex;
    std::map<std::size_t, Running> m_running;
    std::size_t m_next_run = 0;
    CheckpointTracker m_tracker;
    std::mutex m_in_flight_mutex;
    std::set<std::string> m_in_flight;
    std::unordered_map<std::string, std::string> m_replaced;
    std::deque<std::string> m_replaced_order;
    std::mutex m_checkpoint_mutex;
    std::string m_checkpoint_rev;
    bool m_resumed = false; ///< Started from a saved checkpoint.
    std::mutex m_dependents_mutex;
    /// Docs waiting on another doc, by that doc's id.
    std::map<std::string, std::set<std::string>> m_dependents;
    std::jthread m_periodic;
    bool m_catch_up_from_feed = false; ///< The embedded store: the feed from 0 is the catch-up.
    std::optional<Progress> m_feed_catch_up; ///< Until the feed reaches m_feed_catch_up_end.
    std::uint64_t m_feed_catch_up_end = 0;
    Clock::time_point m_last_checkpoint{};
    std::mutex m_failure_mutex;
    std::exception_ptr m_failure;
    std::optional<LeaseKeeper> m_leases;    ///< With RunnerOptions::lease.
    std::optional<RetrySchedule> m_retries; ///< Last: its thread uses everything above.
};

StepRunner::StepRunner(Database& database, Step step, RunnerOptions options)
    : m_impl(std::make_unique<Impl>(database, std::move(step), std::move(options)))
{}

StepRunner::~StepRunner() = default;

void StepRunner::run(std::stop_token stop)
{
    m_impl->run(std::move(stop));
}

const RunnerCounts& StepRunner::counts() const noexcept
{
    return m_impl->m_counts;
}

std::optional<Seq> StepRunner::handled_seq() const
{
    return m_impl->handled_seq();
}

std::chrono::steady_clock::duration StepRunner::feed_lag() const
{
    return m_impl->feed_lag();
}

std::string StepRunner::checkpoint_id(const std::string& listener)
{
    return "_local/edw-checkpoint-" + listener;
}

} // namespace edw
