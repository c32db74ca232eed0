// FeedChoice: which filter and kind of feed a listener asks a server for, and the feed's
// catch-up progress; shared by a lone StepRunner and a SharedFeed.
#pragma once

#include <edw/db/database.hpp>
#include <edw/feed/changes_follower.hpp>
#include <edw/feed/feed_filter.hpp>
#include <edw/runtime/step_runner.hpp>
#include <edw/util/progress.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace edw {

struct FeedChoice {
    FeedFilter filter = FeedFilter::all;
    Feed kind = Feed::longpoll;
};

/// On a server whose `GET /` answered `welcome`: the filter `asked` (`automatic`: the one the
/// server suits) and the kind of feed: continuous on CouchDB 2+ unless the filter is
/// JavaScript (a pipeline moved about 10 % more docs so than with longpolls, while 1,000
/// EDELWEISS docs through the design filter took 6.1-6.5 s against 4.7-5.1 s: BENCHMARKS.md);
/// longpoll elsewhere. Logs the choice, for the steps `what` names.
FeedChoice choose_feed(FeedFilter asked, const nlohmann::json& welcome, const std::string& what);

/// What a runner asks of its follower whatever the filter: docs, limits, heartbeat, refresh.
FollowOptions base_follow_options(const RunnerOptions& options, const Seq& since, Feed kind);

/// Sets `follow`'s filter to pass the docs waiting at any of `positions` (`filter`: selector,
/// design, or all for none), with the design doc named in `options`.
void set_feed_filter(FollowOptions& follow, FeedFilter filter,
                     const std::vector<StepPosition>& positions, const RunnerOptions& options);

/// A catch-up by reading the whole feed from its start: a progress bar over the feed's rows
/// until it reaches the database's update count at start.
class FeedCatchUpProgress {
public:
    /// Starts drawing when the update seq tells how many changes there are.
    void start(const std::string& label, const Seq& update_seq);
    /// `rows` more rows read, the last at `seq`; finishes at the count taken at start.
    void advance(const Seq& seq, std::uint64_t rows);

private:
    std::optional<Progress> m_progress;
    std::uint64_t m_end = 0;
};

} // namespace edw
