#include "edw/workflow/amplitude_statistics.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <string>

namespace {

// 200 samples around 100 counts with noise of +-2, the pattern repeating every 4 samples.
std::vector<std::int16_t> quiet_channel()
{
    std::vector<std::int16_t> samples;
    const std::int16_t pattern[] = {100, 102, 100, 98};
    for (int i = 0; i < 200; ++i) {
        samples.push_back(pattern[i % 4]);
    }
    return samples;
}

} // namespace

TEST_SUITE_BEGIN("amplitude statistics");

TEST_CASE("baseline and noise come from the median, so pulses do not move them")
{
    auto samples = quiet_channel();
    samples[49] = 1100; // was 102
    samples[151] = 400; // was 98
    const auto statistics =
        edw::edelweiss::amplitude_statistics({.sample_rate_hz = 1, .channels = {samples}});
    REQUIRE(statistics.size() == 1);
    const auto& channel = statistics.front();
    CHECK(channel.baseline == 100);
    // 100 deviations of 0, then 98 of 2 and the two pulses: the median absolute deviation is 1.
    CHECK(channel.noise == doctest::Approx(1.4826));
    CHECK(channel.threshold == doctest::Approx(5 * 1.4826));
    CHECK(channel.max_amplitude == 1000);
    CHECK(channel.pulses == 2);
    double squares = 0;
    for (const auto sample : samples) {
        squares += (sample - 100.0) * (sample - 100.0);
    }
    CHECK(channel.rms == doctest::Approx(std::sqrt(squares / 200)));
}

TEST_CASE("a pulse whose top wobbles around the threshold counts once")
{
    auto samples = quiet_channel();
    // Over the threshold, under it but over half of it, over again, ... then back to the baseline.
    const std::int16_t wobble[] = {120, 110, 121, 109, 122, 100};
    for (int i = 0; i < 6; ++i) {
        samples[60 + i] = wobble[i];
    }
    const auto statistics =
        edw::edelweiss::amplitude_statistics({.sample_rate_hz = 1, .channels = {samples}});
    // 98 deviations of 0, 97 of 2: a median absolute deviation of 2.
    REQUIRE(statistics.front().threshold == doctest::Approx(5 * 2 * 1.4826));
    CHECK(statistics.front().pulses == 1);
}

TEST_CASE("a flat channel has no noise, no pulse and a threshold of one count")
{
    const std::vector<std::int16_t> flat(64, -300);
    const auto statistics =
        edw::edelweiss::amplitude_statistics({.sample_rate_hz = 1, .channels = {flat, flat}});
    REQUIRE(statistics.size() == 2);
    CHECK(statistics[1].baseline == -300);
    CHECK(statistics[1].noise == 0);
    CHECK(statistics[1].threshold == 1);
    CHECK(statistics[1].rms == 0);
    CHECK(statistics[1].max_amplitude == 0);
    CHECK(statistics[1].pulses == 0);
}

TEST_CASE("the synthetic traces give their baselines and 0 to 3 clear pulses per channel")
{
    int pulses = 0;
    for (int file = 0; file < 40; ++file) {
        const std::string id = "ma22a000_" + std::to_string(file);
        const auto statistics =
            edw::edelweiss::amplitude_statistics(edw::edelweiss::synthetic_traces(id));
        REQUIRE(statistics.size() == 4);
        for (std::size_t c = 0; c < 4; ++c) {
            const auto& channel = statistics[c];
            CAPTURE(id);
            CAPTURE(c);
            CHECK(channel.baseline >= 1000 + 500.0 * static_cast<double>(c) - 24);
            CHECK(channel.baseline <= 1200 + 500.0 * static_cast<double>(c) + 24);
            // Four uniform draws of +-6: 7.5 counts wide, estimated up to 12 where pulse tails
            // take a fifth of the samples.
            CHECK(channel.noise > 4);
            CHECK(channel.noise < 14);
            CHECK(channel.pulses <= 3);
            // A pulse is 300 counts at least, noise 24 at most: nothing in between.
            CHECK((channel.pulses > 0) == (channel.max_amplitude > 250));
            pulses += channel.pulses;
        }
    }
    // 160 channels of 0 to 3 pulses each, 1.5 on average.
    CHECK(pulses > 160);
    CHECK(pulses < 320);
}

TEST_CASE("statistics become JSON rounded to a thousandth")
{
    const edw::edelweiss::ChannelStatistics statistics{.baseline = 1.23456,
                                                       .noise = 2.0004,
                                                       .threshold = 10.0,
                                                       .max_amplitude = 3.5,
                                                       .rms = 0.1 + 0.2,
                                                       .pulses = 2};
    CHECK(
        edw::edelweiss::to_json(statistics, 3).dump() ==
        R"({"baseline":1.235,"channel":3,"max_amplitude":3.5,"noise":2.0,"pulses":2,"rms":0.3,"threshold":10.0})");
}

TEST_SUITE_END();
