// FeedChoice: the filter and the kind of feed, the follower's options, the catch-up progress.
#include "feed_choice.hpp"

#include <edw/util/log.hpp>

#include <algorithm>

namespace edw {

FeedChoice choose_feed(FeedFilter asked, const nlohmann::json& welcome, const std::string& what)
{
    const FeedFilter for_server = choose_feed_filter(welcome);
    const FeedFilter chosen = asked == FeedFilter::automatic ? for_server : asked;
    const Feed kind = for_server == FeedFilter::selector && chosen != FeedFilter::design
                          ? Feed::continuous
                          : Feed::longpoll;
    log_info("feed filter" + (what.empty() ? std::string() : " for " + what) + ": " +
             std::string(feed_filter_name(chosen)) +
             (asked == FeedFilter::automatic ? " (the server is " : " (as asked; the server is ") +
             describe_server(welcome) + "), " +
             (kind == Feed::continuous ? "continuous feed" : "longpoll feed"));
    return {chosen, kind};
}

FollowOptions base_follow_options(const RunnerOptions& options, const Seq& since, Feed kind)
{
    FollowOptions follow;
    follow.since = since;
    follow.include_docs = true;
    follow.feed = kind;
    // A longpoll answer ends with a last_seq even when the filter let no row through, which
    // keeps the checkpoint up with the feed (a restart then does not re-read long stretches).
    // A continuous feed has none until it ends, so after a heartbeat's time without a row
    // the follower asks once with a normal request.
    follow.refresh_after =
        std::max<std::chrono::milliseconds>(options.heartbeat, std::chrono::seconds(1));
    follow.limit = std::max<std::uint64_t>(options.batch_size * 5, 1000);
    follow.heartbeat = options.heartbeat;
    return follow;
}

void set_feed_filter(FollowOptions& follow, FeedFilter filter,
                     const std::vector<StepPosition>& positions, const RunnerOptions& options)
{
    switch (filter) {
    case FeedFilter::design:
        if (positions.size() == 1) {
            follow.filter = options.design + "/" + options.filter;
            follow.filter_parameters = {{"last", positions.front().filter_value()}};
        } else {
            follow.filter = options.design + "/" + std::string(any_step_filter);
            follow.filter_parameters = {{"steps", any_step_filter_parameter(positions)}};
        }
        break;
    case FeedFilter::selector:
        follow.selector = waiting_selector(positions);
        break;
    case FeedFilter::automatic:
    case FeedFilter::all:
        break;
    }
}

void FeedCatchUpProgress::start(const std::string& label, const Seq& update_seq)
{
    const auto updates = approximate_update_count(update_seq);
    if (updates && *updates > 0) {
        m_end = *updates;
        m_progress.emplace(label, *updates, "changes");
    }
}

void FeedCatchUpProgress::advance(const Seq& seq, std::uint64_t rows)
{
    if (!m_progress) {
        return;
    }
    m_progress->advance(rows);
    const auto at = approximate_update_count(seq);
    if (at && *at >= m_end) {
        m_progress->finish();
        m_progress.reset();
    }
}

} // namespace edw
