// ClaimWatch: when docs other workers hold are looked at again, and the docs the feed has
// shown claimed elsewhere, which the claimer then skips.
#include "runtime/claim_watch.hpp"

#include <edw/util/utc_time.hpp>

#include <doctest/doctest.h>

#include <chrono>

namespace {

using Clock = edw::ClaimWatch::Clock;
using std::chrono::seconds;

std::string iso(Clock::time_point at)
{
    return edw::iso8601(at);
}

} // namespace

TEST_CASE("a watched doc is due at its claim's end, or after the recheck if sooner")
{
    edw::ClaimWatch watch(seconds(1));
    const auto now = Clock::now();
    watch.watch("long", iso(now + seconds(30)));
    watch.watch("short", iso(now + seconds(3)));
    watch.watch("unreadable", "not a time");
    CHECK(watch.size() == 3);
    CHECK(watch.take_due(now, 10).empty());
    const auto due = watch.take_due(now + seconds(2), 10);
    CHECK(due.size() == 3); // all capped at the 1 s recheck
    CHECK(watch.size() == 0);
    watch.watch("x", iso(now + seconds(30)));
    CHECK(watch.forget("x")); // the feed brought it back unclaimed
    CHECK_FALSE(watch.forget("x"));
    CHECK(watch.take_due(now + seconds(60), 10).empty());
}

TEST_CASE("a doc noted claimed elsewhere is skipped while that claim runs, then watched")
{
    edw::ClaimWatch watch(seconds(1));
    const auto now = Clock::now();
    watch.note_claimed_elsewhere("held", iso(now + seconds(30)));
    watch.note_claimed_elsewhere("expired", iso(now - seconds(1)));
    watch.note_claimed_elsewhere("unreadable", "?");
    CHECK_FALSE(watch.claimed_elsewhere("never-noted", now));
    CHECK_FALSE(watch.claimed_elsewhere("expired", now)); // to be taken over, not skipped
    CHECK_FALSE(watch.claimed_elsewhere("unreadable", now));
    CHECK(watch.size() == 0);
    CHECK(watch.claimed_elsewhere("held", now));
    CHECK(watch.size() == 1);                          // watched from now on, as a lost claim is
    CHECK_FALSE(watch.claimed_elsewhere("held", now)); // a note is used once
    const auto due = watch.take_due(now + seconds(2), 10);
    REQUIRE(due.size() == 1);
    CHECK(due.front() == "held");
}
