// ClaimWatch: when docs other workers hold are looked at again, and the docs the feed has
// shown claimed elsewhere, which the claimer then skips.
#include "runtime/claim_watch.hpp"

#include <edw/util/utc_time.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

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

TEST_CASE("a doc whose live holder beat after its claim's end is dropped unread")
{
    edw::ClaimWatch watch(seconds(1));
    const auto now = Clock::now();
    const auto until = now + seconds(30);
    watch.set_holders({{"alive", {.live = true, .beat = now, .beat_every = seconds(5)}}});
    watch.watch("held", iso(until), "alive");
    // No 1 s recheck: the live holder renews, gives back or writes it.
    CHECK(watch.take_due(now + seconds(2), 10).empty());
    CHECK(watch.size() == 1);
    // Past the claim's end, and the holder has beaten since: dropped, never read.
    watch.set_holders(
        {{"alive", {.live = true, .beat = until + seconds(1), .beat_every = seconds(5)}}});
    CHECK(watch.take_due(until + seconds(2), 10).empty());
    CHECK(watch.size() == 0);
    CHECK(watch.dropped_unread() == 1);
}

TEST_CASE("a doc whose holder has not beaten since its claim's end is read a heartbeat later")
{
    edw::ClaimWatch watch(seconds(1));
    const auto now = Clock::now();
    const auto until = now + seconds(5);
    // Silent on another machine: alive by its record for up to three beats.
    watch.set_holders({{"silent", {.live = true, .beat = now, .beat_every = seconds(5)}}});
    watch.watch("held", iso(until), "silent");
    CHECK(watch.take_due(until, 10).empty()); // one heartbeat more tells
    CHECK(watch.size() == 1);
    CHECK(watch.take_due(until + seconds(5), 10).empty());
    const auto due = watch.take_due(until + seconds(6), 10);
    REQUIRE(due.size() == 1);
    CHECK(due.front() == "held");
    CHECK(watch.dropped_unread() == 0);
}

TEST_CASE("a doc whose holder stopped, died or is not known is read when its claim ends")
{
    edw::ClaimWatch watch(seconds(1));
    const auto now = Clock::now();
    watch.set_holders({{"alive", {.live = true, .beat = now, .beat_every = seconds(5)}},
                       {"dead", {.live = false, .beat = now, .beat_every = seconds(5)}}});
    watch.watch("of-dead", iso(now + seconds(3)), "dead");
    watch.watch("of-stranger", iso(now + seconds(30)), "stranger");
    watch.watch("of-alive", iso(now + seconds(3)), "alive");
    // Not known: rechecked within a second. Known dead: read once its claim has run out.
    CHECK(watch.take_due(now + seconds(2), 10) == std::vector<std::string>{"of-stranger"});
    // Its holder found dead after it was watched: read at its claim's end all the same.
    watch.set_holders({{"alive", {.live = false, .beat = now, .beat_every = seconds(5)}}});
    const auto due = watch.take_due(now + seconds(3), 10);
    CHECK(due == std::vector<std::string>{"of-alive", "of-dead"});
}

TEST_CASE("docs given back are read at once, whatever their holder")
{
    edw::ClaimWatch watch(seconds(1));
    const auto now = Clock::now();
    watch.set_holders({{"alive", {.live = true, .beat = now, .beat_every = seconds(5)}}});
    watch.watch("held", iso(now + seconds(30)), "alive");
    watch.look_now({"held", "never-seen"});
    CHECK(watch.take_due(Clock::now(), 10) == std::vector<std::string>{"held", "never-seen"});
}

TEST_CASE("a doc noted claimed elsewhere by a live worker is not read before that claim ends")
{
    edw::ClaimWatch watch(seconds(1));
    const auto now = Clock::now();
    watch.set_holders({{"alive", {.live = true, .beat = now, .beat_every = seconds(5)}}});
    watch.note_claimed_elsewhere("held", iso(now + seconds(30)), "alive");
    CHECK(watch.claimed_elsewhere("held", now));
    CHECK(watch.take_due(now + seconds(2), 10).empty());
    CHECK(watch.size() == 1);
}
