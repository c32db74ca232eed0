// StepRunner's dispatch: the feed it follows, and for each doc from it (or from the catch-up,
// or a retry time) whether it runs now, waits for its retry time, or waits on other docs.
#include "step_runner_impl.hpp"

#include <edw/db/revision.hpp>
#include <edw/util/utc_time.hpp>

namespace edw {

void StepRunner::Impl::follow(const Seq& since)
{
    // A server sends only the docs at this step. A store in this process has no network
    // to spare, and its filter would run in JavaScript on every row: the runner's own
    // check (may_be_waiting_at, then is_waiting_at) does the same work far faster.
    FeedChoice choice;
    if (!m_database.is_local() && m_selection.position()) {
        choice = choose_feed(m_options.feed_filter, server_welcome(), std::string());
    }
    FollowOptions options = base_follow_options(m_options, since, choice.kind);
    if (m_selection.position()) {
        set_feed_filter(options, choice.filter, {*m_selection.position()}, m_options);
    }
    ChangesFollower follower(m_database, options);
    follower.follow(m_stop.get_token(), *this);
}

nlohmann::json StepRunner::Impl::server_welcome()
{
    return patiently("reading what the server is", [&] { return m_database.server_welcome(); });
}

std::optional<nlohmann::json> StepRunner::Impl::server_design_doc(const std::string& id)
{
    return patiently("reading " + id, [&] { return m_database.get(id); });
}

void StepRunner::Impl::on_change(Change&& change)
{
    m_feed_catch_up.advance(change.seq, 1);
    take_row(change, m_tracker.start(change.seq));
}

void StepRunner::Impl::skip_row(CheckpointTracker::Ticket ticket)
{
    ++m_counts.feed_rows;
    m_tracker.finish(ticket);
}

void StepRunner::Impl::take_row(const Change& change, CheckpointTracker::Ticket ticket,
                                bool checked)
{
    ++m_counts.feed_rows;
    if (m_step.dependencies) {
        recheck_dependents(change.id);
    }
    if (m_stop.stop_requested()) {
        // Asked to stop: the rows still coming (a whole catch-up of the embedded store's feed
        // arrives in one read) are left for the next start. The ticket stays open, so the
        // checkpoint cannot pass them, a later last_seq included.
        return;
    }
    if (change.deleted) {
        m_tracker.finish(ticket);
        return;
    }
    std::optional<nlohmann::json> doc;
    try {
        if (change.doc) {
            // Most rows of an unfiltered feed are docs at other steps: skipped unparsed.
            if (!checked && !m_selection.may_select(change.doc->text())) {
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

void StepRunner::Impl::on_feed_end(const Seq& last_seq)
{
    // A filtered page may hold no row at all; its last_seq still moves the checkpoint, so a
    // restart does not read the same stretch of feed again.
    m_tracker.pass(last_seq);
    save_checkpoint(false);
    m_feed_catch_up.advance(last_seq, 0);
}

// Returns whether the doc was taken in hand (queued, or set aside for its retry time).
bool StepRunner::Impl::dispatch(nlohmann::json doc, std::optional<CheckpointTracker::Ticket> ticket)
{
    const std::string id = doc_id(doc);
    const bool waiting = m_selection.selects(doc) && m_options.shard.owns(id);
    bool busy = false;
    if (waiting) {
        const std::lock_guard lock(m_in_flight_mutex);
        // The feed may repeat a change, or report a doc again while we work on it. The write
        // in progress settles that doc either way, so the repeat is done already. A feed
        // read before our write may also bring back the revision we have just replaced, or
        // an older one (replaced_already).
        busy = replaced_already(id, doc) || !m_in_flight.insert(id).second;
    }
    if (!waiting) {
        m_retries->cancel(id); // a doc that left the step needs no second look
    }
    // Another worker's live claim, read once: it tells who shares the step, and sets the doc
    // aside below.
    const std::optional<Claim> held_elsewhere =
        waiting && m_leases && claimed_by_other(doc, m_step.name, m_options.worker)
            ? claim_of(doc, m_step.name)
            : std::nullopt;
    if (held_elsewhere) {
        if (m_preference.add_worker(held_elsewhere->worker)) {
            log_debug("step " + m_step.name + ": worker " + held_elsewhere->worker +
                      " claims docs too; " + std::to_string(m_preference.workers()) +
                      " workers share the step");
        }
        if (busy) {
            // The claimer may still hold the doc's older revision, unclaimed: it will not try it.
            m_watch.note_claimed_elsewhere(id, held_elsewhere->until, held_elsewhere->worker);
        }
    }
    if (!waiting || busy) {
        if (ticket) {
            m_tracker.finish(*ticket);
        }
        return false;
    }
    // A doc whose last attempt failed waits for its retry time, also across restarts: the
    // time is on the doc.
    const std::optional<std::string> at = retry_at(doc, m_step.name);
    if (!at && held_elsewhere) {
        // Another worker has it. Watched, it is read again if its worker stops or dies (or is
        // not known to live): done by then, it has left the step; still claimed, its worker
        // lives; otherwise it is taken over.
        m_watch.watch(id, held_elsewhere->until, held_elsewhere->worker);
        set_aside(id, ticket);
        return true;
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
    // Watched, it was another worker's: now unclaimed, it was given back (or its claim ran out).
    const bool freed = m_leases && m_watch.forget(id);
    if (!m_work.push(Work{std::move(doc), ticket, freed})) {
        release(id, ticket, false); // shutting down: leave it for the next start
        return false;
    }
    return true;
}

void StepRunner::Impl::offer(const nlohmann::json& doc)
{
    // Only a doc this step takes by its process position, and that runs now: a cheap check, no
    // reads. Anything else (a retry time, a claim, no room) is left to the feed's copy.
    if (!m_selection.position() || m_stop.stop_requested() ||
        !is_waiting_at(doc, *m_selection.position()) || retry_at(doc, m_step.name)) {
        return;
    }
    const std::string id = doc_id(doc);
    if (!m_options.shard.owns(id) ||
        (m_leases && claimed_by_other(doc, m_step.name, m_options.worker))) {
        return;
    }
    // Queued and marked in flight at once, under the lock a feed row's dispatch takes: a feed
    // row that finds the doc in flight skips it, so by then it must be in the queue. (Marked
    // first and queued after, a full queue would drop a doc the feed had already skipped.)
    const std::lock_guard lock(m_in_flight_mutex);
    if (replaced_already(id, doc) || m_in_flight.count(id) != 0) {
        return;
    }
    Work work{doc, std::nullopt};
    if (m_work.try_push(work)) {
        m_in_flight.insert(id);
    }
}

// A waiting doc that is not to run now: the feed may pass it, something else brings it back.
void StepRunner::Impl::set_aside(const std::string& id,
                                 std::optional<CheckpointTracker::Ticket> ticket)
{
    {
        const std::lock_guard lock(m_in_flight_mutex);
        m_in_flight.erase(id);
    }
    if (ticket) {
        m_tracker.finish(*ticket);
    }
}

// True when the docs `doc` depends on let it run. Otherwise the doc stays noted under each
// of them, and a change to any brings it back (recheck_dependents).
bool StepRunner::Impl::dependencies_ready(const nlohmann::json& doc)
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

void StepRunner::Impl::note_dependent(const std::string& id,
                                      const std::vector<std::string>& dependencies)
{
    const std::lock_guard lock(m_dependents_mutex);
    for (const auto& dependency : dependencies) {
        m_dependents[dependency].insert(id);
    }
}

void StepRunner::Impl::forget_dependent(const std::string& id,
                                        const std::vector<std::string>& dependencies)
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

void StepRunner::Impl::recheck_dependents(const std::string& changed)
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

// A retry time has come: read the doc as it is now and hand it out if it still waits.
void StepRunner::Impl::retry_now(const std::string& id)
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

// Revisions of a doc follow one another, their generation (the number before the dash) growing
// by one a write: a copy no newer than the revision a write of ours replaced is older than our
// write. Not only that revision: a claim of ours, or a give-back, came between, and a copy
// read before them (a catch-up page, a queue filled early) would otherwise run again.
bool StepRunner::Impl::replaced_already(const std::string& id, const nlohmann::json& doc) const
{
    const auto done = m_replaced.find(id);
    if (done == m_replaced.end()) {
        return false;
    }
    const std::string rev = doc.value("_rev", "");
    if (rev == done->second) {
        return true;
    }
    try {
        return parse_revision(rev).generation <= parse_revision(done->second).generation;
    } catch (const JsonError&) {
        return false; // not a revision id: only the same text is the same revision
    }
}

// Revisions this runner replaced with its own write, so that a late feed row showing the
// old revision is not run again. Bounded: the oldest are forgotten first.
void StepRunner::Impl::remember_replaced(const std::string& id, std::string rev)
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

void StepRunner::Impl::release(const std::string& id,
                               std::optional<CheckpointTracker::Ticket> ticket, bool handled)
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

} // namespace edw
