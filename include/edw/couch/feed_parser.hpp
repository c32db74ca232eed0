// Feed parsers: turn `_changes` response bodies into Change rows and a FeedEnd.
#pragma once

#include <edw/db/change.hpp>

#include <memory>
#include <string_view>
#include <vector>

namespace edw {

/// Incremental parser of a `feed=continuous` response body: one JSON object per line, and an
/// empty line for each heartbeat.
///
/// Lines may end in "\n" or "\r\n" and carry trailing whitespace. A line holding `last_seq` is the
/// end of the feed, never a change. A `seq` of null (sent with `seq_interval`) is replaced by the
/// seq of the last row that had one, or by Seq() (as in `since=0`) when no row since construction
/// or reset() had one, so that a checkpoint taken from it can only replay changes, never skip
/// them. One parser serves one connection at a time and is not re-entrant.
class ContinuousFeedParser {
public:
    /// Receives what the parser finds, in feed order.
    struct Handler {
        virtual ~Handler() = default;
        virtual void on_change(Change&& change) = 0;
        /// The `{"last_seq":..}` line that closes a feed cut by `limit` or `timeout`.
        virtual void on_end(FeedEnd&& end) = 0;
        virtual void on_heartbeat() {}
    };

    ContinuousFeedParser();
    ~ContinuousFeedParser();
    ContinuousFeedParser(ContinuousFeedParser&&) noexcept;
    ContinuousFeedParser& operator=(ContinuousFeedParser&&) noexcept;

    /// Takes the next bytes as received, cut anywhere (mid-line, mid-UTF-8, between "\r" and
    /// "\n"), and calls `handler` for each line they complete.
    ///
    /// Throws JsonError for a line that is not a JSON object ("malformed changes feed line: " and
    /// its first 200 characters), for a change without `seq` or `id`, and for a CouchDB error
    /// object (`{"error":..,"reason":..}`), quoting its error and reason. The bad line is consumed
    /// before the throw, and so is a line whose handler call throws: lines after it that were
    /// already received stay buffered and are parsed by the next feed(), even of no bytes.
    void feed(std::string_view bytes, Handler& handler);

    /// True while bytes of an unfinished line are buffered, so that a feed cut here was truncated.
    /// Whitespace alone does not count.
    [[nodiscard]] bool has_partial_line() const noexcept;

    /// Drops any buffered bytes and forgets the last seq, before the parser reads a new connection.
    void reset() noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

/// The rows and end of one `feed=normal` or `feed=longpoll` response.
struct ChangesPage {
    std::vector<Change> results;
    FeedEnd end;
};

/// Parses a complete `{"results":[..],"last_seq":..,"pending":..}` body. Leading whitespace
/// (heartbeats sent before the body) is allowed, and null seqs are replaced as in
/// ContinuousFeedParser.
///
/// Throws JsonError for a truncated or malformed body (such as `{"results":[` from a longpoll cut
/// short), for a body without `results` or `last_seq`, for a row without `seq` or `id`, and for a
/// CouchDB error object, quoting its error and reason.
[[nodiscard]] ChangesPage parse_changes_page(std::string_view body);

} // namespace edw
