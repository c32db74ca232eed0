// ChangesFollower: the reconnect loop around single `_changes` requests.
#include "edw/feed/changes_follower.hpp"

#include <edw/util/error.hpp>
#include <edw/util/log.hpp>

#include <condition_variable>
#include <mutex>

namespace edw {
namespace {

using Clock = std::chrono::steady_clock;

// Hands rows to the follower's handler and watches the connection for silence and shutdown.
class FeedWatch final : public ChangesHandler {
public:
    FeedWatch(FollowHandler& handler, Seq& position, std::stop_token stop,
              std::chrono::milliseconds silence_limit, std::chrono::milliseconds refresh_after)
        : m_handler(handler)
        , m_position(position)
        , m_stop(std::move(stop))
        , m_silence_limit(silence_limit)
        , m_refresh_after(refresh_after)
    {}

    void on_change(Change&& change) override
    {
        // Deliver first, then move on: a change is only behind us once the handler has it.
        const Seq seq = change.seq;
        m_handler.on_change(std::move(change));
        m_position = seq;
        ++m_rows;
        m_last_row = Clock::now();
    }

    void on_activity() override { m_last_byte = Clock::now(); }

    bool keep_going() override
    {
        if (m_stop.stop_requested()) {
            return false;
        }
        const auto now = Clock::now();
        if (now - m_last_byte > m_silence_limit) {
            m_silent = true;
            return false;
        }
        if (m_refresh_after.count() > 0 && now - m_last_row > m_refresh_after) {
            m_refresh = true;
            return false;
        }
        return true;
    }

    [[nodiscard]] bool went_silent() const noexcept { return m_silent; }
    /// No row for refresh_after: ended by us so that a longpoll can tell where the feed stands.
    [[nodiscard]] bool wants_refresh() const noexcept { return m_refresh; }
    [[nodiscard]] long rows() const noexcept { return m_rows; }

private:
    FollowHandler& m_handler;
    Seq& m_position;
    std::stop_token m_stop;
    std::chrono::milliseconds m_silence_limit;
    std::chrono::milliseconds m_refresh_after;
    Clock::time_point m_last_byte = Clock::now();
    Clock::time_point m_last_row = Clock::now();
    bool m_silent = false;
    bool m_refresh = false;
    long m_rows = 0;
};

// Hands rows on and keeps the position, for requests that need no watching.
class Forward final : public ChangesHandler {
public:
    Forward(FollowHandler& handler, Seq& position)
        : m_handler(handler)
        , m_position(position)
    {}
    void on_change(Change&& change) override
    {
        const Seq seq = change.seq;
        m_handler.on_change(std::move(change));
        m_position = seq;
    }

private:
    FollowHandler& m_handler;
    Seq& m_position;
};

// Sleeps for `wait`, or less when a stop is requested meanwhile.
void wait_unless_stopped(const std::stop_token& stop, std::chrono::milliseconds wait)
{
    std::mutex mutex;
    std::condition_variable_any woken;
    std::unique_lock lock(mutex);
    woken.wait_for(lock, stop, wait, [] { return false; });
}

bool is_final(const HttpError& error)
{
    return error.is_not_found() || error.is_unauthorized() || error.is_forbidden() ||
           error.is_bad_request();
}

} // namespace

ChangesQuery ChangesFollower::query_from_position() const
{
    ChangesQuery query;
    query.since = m_position;
    query.filter = m_options.filter;
    query.filter_parameters = m_options.filter_parameters;
    query.selector = m_options.selector;
    query.include_docs = m_options.include_docs;
    query.limit = m_options.limit;
    return query;
}

void ChangesFollower::catch_up_once(FollowHandler& handler)
{
    ChangesQuery query = query_from_position();
    query.feed = Feed::normal;
    Forward forward(handler, m_position);
    if (const auto end = m_database.changes(query, forward)) {
        m_position = end->last_seq;
        handler.on_feed_end(end->last_seq);
    }
}

ChangesFollower::ChangesFollower(Database& database, FollowOptions options)
    : m_database(database)
    , m_options(std::move(options))
    , m_position(m_options.since)
{
    if (m_options.silence_limit.count() == 0) {
        m_options.silence_limit = m_options.heartbeat * 5 / 4 + std::chrono::seconds(1);
    }
}

void ChangesFollower::follow(std::stop_token stop, FollowHandler& handler)
{
    Backoff backoff(m_options.reconnect_backoff);
    Seq failed_at;
    while (!stop.stop_requested()) {
        ChangesQuery query = query_from_position();
        query.feed = m_options.feed;
        if (m_unreadable_pages >= 2) {
            // The same stretch keeps failing: perhaps one doc in it that the parser cannot read
            // (nested deeper than it allows, say). One row without its doc gets past it; the
            // handler then reads that doc on its own and can report it as that doc's error.
            query.include_docs = false;
            query.limit = 1;
        }
        if (query.feed == Feed::continuous) {
            query.heartbeat = m_options.heartbeat;
        } else {
            query.timeout = m_options.heartbeat;
        }
        FeedWatch watch(handler, m_position, stop, m_options.silence_limit,
                        query.feed == Feed::continuous ? m_options.refresh_after
                                                       : std::chrono::milliseconds(0));
        std::string trouble;
        try {
            const auto end = m_database.changes(query, watch);
            m_unreadable_pages = 0;
            if (end) {
                // Not the end of the database: a limit, a timeout or a node in maintenance.
                // Everything up to last_seq was sent, so resume from there at once.
                m_position = end->last_seq;
                handler.on_feed_end(end->last_seq);
                backoff.reset();
                continue;
            }
            if (watch.wants_refresh()) {
                // A normal request answers at once with a last_seq (a longpoll would not:
                // CouchDB keeps one open while writes come that its filter does not pass).
                catch_up_once(handler);
                backoff.reset();
                continue;
            }
            if (!watch.went_silent()) {
                return; // stop requested
            }
            // Writes waiting on a kept-alive connection along the same dead route would wait
            // for their own silence limit: make them start on new connections.
            m_database.drop_idle_connections();
            if (query.feed == Feed::longpoll) {
                // Some servers keep a filtered longpoll open past its timeout while no row
                // passes the filter. Ask where the feed stands instead, which also moves us on.
                catch_up_once(handler);
                backoff.reset();
                continue;
            }
            trouble = "the changes feed of " + m_database.describe() + " sent nothing for " +
                      std::to_string(m_options.silence_limit.count()) + " ms";
        } catch (const HttpError& error) {
            if (is_final(error)) {
                throw;
            }
            trouble = error.what();
        } catch (const TransportError& error) {
            trouble = error.what();
        } catch (const JsonError& error) {
            // A page that does not parse (a body cut or corrupted on its way) is untrusted
            // input, not a reason to stop: ask again from the last seq handled.
            log_error("cannot read the changes feed of " + m_database.describe() + ": " +
                      error.what());
            trouble = "a changes page that does not parse";
        }
        if (stop.stop_requested()) {
            return;
        }
        // Failing again and again at one position may be the network, or one doc the parser
        // cannot read; a page cut short looks the same from here.
        m_unreadable_pages = m_position == failed_at ? m_unreadable_pages + 1 : 1;
        failed_at = m_position;
        if (watch.rows() > 0) {
            backoff.reset(); // it worked for a while: this is a new failure, not a repeated one
        }
        ++m_reconnects;
        const auto wait = backoff.next();
        log_warning(trouble + "; reconnecting from seq " + m_position.json() + " in " +
                    std::to_string(wait.count()) + " ms");
        wait_unless_stopped(stop, wait);
    }
}

} // namespace edw
