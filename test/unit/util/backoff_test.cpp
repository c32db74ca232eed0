#include <edw/util/backoff.hpp>

#include <doctest/doctest.h>

TEST_SUITE_BEGIN("backoff");

TEST_CASE("waits grow to the cap, stay above zero, and start over after reset")
{
    edw::Backoff backoff({std::chrono::milliseconds(100), std::chrono::milliseconds(1000)}, 7);
    long previous_bound = 0;
    for (int i = 0; i < 12; ++i) {
        const long bound = std::min(1000L, 100L << i);
        const auto wait = backoff.next().count();
        CHECK(wait >= 1);
        CHECK(wait <= bound);
        CHECK(bound >= previous_bound);
        previous_bound = bound;
    }
    backoff.reset();
    CHECK(backoff.next().count() <= 100);
}

TEST_CASE("two clients with different seeds do not wait alike")
{
    edw::Backoff a({std::chrono::milliseconds(1000), std::chrono::milliseconds(60000)}, 1);
    edw::Backoff b({std::chrono::milliseconds(1000), std::chrono::milliseconds(60000)}, 2);
    int same = 0;
    for (int i = 0; i < 8; ++i) {
        same += a.next() == b.next() ? 1 : 0;
    }
    CHECK(same < 8);
}

TEST_SUITE_END();
