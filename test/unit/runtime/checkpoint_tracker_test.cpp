#include <edw/runtime/checkpoint_tracker.hpp>

#include <doctest/doctest.h>

TEST_SUITE_BEGIN("checkpoint tracker");

TEST_CASE("the checkpoint stays before the oldest unfinished change")
{
    edw::CheckpointTracker tracker;
    const auto first = tracker.start(edw::Seq(R"("1-a")"));
    const auto second = tracker.start(edw::Seq(R"("2-b")"));
    const auto third = tracker.start(edw::Seq(R"("3-c")"));
    tracker.finish(third);
    tracker.finish(second);
    CHECK_FALSE(tracker.take_new_checkpoint()); // the first is still running
    CHECK(tracker.unfinished() == 1);
    tracker.finish(first);
    CHECK(tracker.take_new_checkpoint() == edw::Seq(R"("3-c")"));
    CHECK_FALSE(tracker.take_new_checkpoint()); // reported once
}

TEST_CASE("a feed end moves the checkpoint when nothing before it is open")
{
    edw::CheckpointTracker tracker;
    tracker.pass(edw::Seq(R"("9-z")"));
    CHECK(tracker.take_new_checkpoint() == edw::Seq(R"("9-z")"));
    const auto open = tracker.start(edw::Seq(R"("10-a")"));
    tracker.pass(edw::Seq(R"("11-b")"));
    CHECK_FALSE(tracker.take_new_checkpoint());
    tracker.finish(open);
    CHECK(tracker.take_new_checkpoint() == edw::Seq(R"("11-b")"));
}

TEST_CASE("a change shared by several steps is handled once every step has finished it")
{
    edw::CheckpointTracker tracker;
    const auto shared = tracker.start(edw::Seq(R"("1-a")"), 3);
    const auto next = tracker.start(edw::Seq(R"("2-b")"), 3);
    for (int step = 0; step < 3; ++step) {
        tracker.finish(next);
    }
    tracker.finish(shared);
    tracker.finish(shared);
    CHECK_FALSE(tracker.take_new_checkpoint()); // one step still works on the first change
    CHECK(tracker.unfinished() == 1);
    tracker.finish(shared);
    CHECK(tracker.take_new_checkpoint() == edw::Seq(R"("2-b")"));
    CHECK(tracker.unfinished() == 0);
}

TEST_CASE("order comes from the feed, not from the seq text")
{
    // Cluster seqs have no order a client may rely on: "9-..." may follow "10-...".
    edw::CheckpointTracker tracker;
    const auto a = tracker.start(edw::Seq(R"("10-x")"));
    const auto b = tracker.start(edw::Seq(R"("9-y")"));
    tracker.finish(a);
    tracker.finish(b);
    CHECK(tracker.take_new_checkpoint() == edw::Seq(R"("9-y")"));
}

TEST_SUITE_END();
