// ChangesFollower: follows a database's changes feed for as long as asked, across failures.
#pragma once

#include <edw/db/change.hpp>
#include <edw/db/database.hpp>
#include <edw/util/backoff.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stop_token>
#include <string>

namespace edw {

struct FollowOptions {
    Seq since; ///< Where to start: `0`, `now` or a saved seq.
    /// `continuous` streams rows as they happen. `longpoll` asks again after each answer; every
    /// answer ends with a `last_seq`, so a filtered feed that lets nothing through still tells
    /// how far the server looked, which keeps checkpoints moving.
    Feed feed = Feed::continuous;
    std::optional<std::string> filter; ///< "ddoc/name".
    std::map<std::string, std::string> filter_parameters;
    /// A Mango selector instead of a filter function (`filter=_selector`).
    std::optional<nlohmann::json> selector;
    bool include_docs = true;
    /// Most rows per request. With `longpoll` it bounds the memory an answer can take after a
    /// long downtime; the next request follows at once from the answer's last_seq.
    std::optional<std::uint64_t> limit;
    /// With `continuous`: the heartbeat asked of the server. With `longpoll`: how long the server
    /// may wait for a change before it answers with no rows.
    std::chrono::milliseconds heartbeat{10000};
    /// A connection with no byte for this long is taken as dead (heartbeats included). Zero:
    /// 1.25 × heartbeat plus a second, as CouchDB clients commonly do.
    std::chrono::milliseconds silence_limit{0};
    /// With `continuous`: when no row has come for this long, end the request and ask once with
    /// a normal feed request, whose answer ends with a last_seq even when the filter let nothing
    /// through. A continuous feed has no last_seq until it ends, and CouchDB does not end one
    /// while the database is busy, so without this a checkpoint could stay behind for as long as
    /// the filter passes nothing. Zero: never.
    std::chrono::milliseconds refresh_after{0};
    Backoff::Options reconnect_backoff{std::chrono::milliseconds(200),
                                       std::chrono::milliseconds(30000)};
};

/// Receives what the follower reads.
class FollowHandler {
public:
    virtual ~FollowHandler() = default;
    virtual void on_change(Change&& change) = 0;
    /// The server ended a response at `last_seq` with nothing more before it: everything up to
    /// it has been delivered, even when a filter let no row through.
    virtual void on_feed_end(const Seq& last_seq) = 0;
};

/// Follows `_changes` (continuous with heartbeats, or longpoll with a timeout). A dropped or silent
/// connection, a 5xx, or a feed that ends (a `last_seq` line: limit, timeout, a node going into
/// maintenance) is followed by a new request from the last seq seen, after a backoff when something
/// failed. Only a stop request, a missing database (404) or refused credentials (401, 403) end it.
class ChangesFollower {
public:
    ChangesFollower(Database& database, FollowOptions options);

    /// Follows until `stop` is requested, then returns. Throws HttpError for 404, 401, 403 or
    /// 400 (a bad filter), which no reconnect can mend.
    void follow(std::stop_token stop, FollowHandler& handler);

    /// The last seq delivered: where a new request would start.
    [[nodiscard]] const Seq& position() const noexcept { return m_position; }
    /// How many times a connection was lost and made again.
    [[nodiscard]] int reconnects() const noexcept { return m_reconnects; }

private:
    /// A request from the current position, with the options' filter, docs and limit.
    [[nodiscard]] ChangesQuery query_from_position() const;
    /// One `feed=normal` request from the current position, delivering its rows and end.
    void catch_up_once(FollowHandler& handler);

    Database& m_database;
    FollowOptions m_options;
    Seq m_position;
    int m_reconnects = 0;
    /// Requests that failed in a row at m_position: after two, one row is asked for without its
    /// doc, to get past a doc the parser cannot read.
    int m_unreadable_pages = 0;
};

} // namespace edw
