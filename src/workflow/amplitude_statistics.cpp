// AmplitudeStatistics: robust baseline and noise, then pulses counted with hysteresis.
#include "edw/workflow/amplitude_statistics.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace edw::edelweiss {
namespace {

// The median of `values`, which it reorders.
double median(std::vector<double>& values)
{
    const std::size_t middle = values.size() / 2;
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle),
                     values.end());
    const double upper = values[middle];
    if (values.size() % 2 == 1) {
        return upper;
    }
    const double lower =
        *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle));
    return (lower + upper) / 2;
}

double rounded(double value)
{
    return std::round(value * 1000) / 1000;
}

ChannelStatistics channel_statistics(const std::vector<std::int16_t>& samples)
{
    ChannelStatistics statistics;
    if (samples.empty()) {
        return statistics;
    }
    std::vector<double> values(samples.begin(), samples.end());
    statistics.baseline = median(values);
    for (auto& value : values) {
        value = std::abs(value - statistics.baseline);
    }
    // For Gaussian noise the median absolute deviation is 0.6745 sigma; unlike the standard
    // deviation it ignores the pulses.
    statistics.noise = 1.4826 * median(values);
    statistics.threshold = std::max(5 * statistics.noise, 1.0);

    double sum_of_squares = 0;
    bool is_armed = true;
    statistics.max_amplitude = samples.front() - statistics.baseline;
    for (const std::int16_t sample : samples) {
        const double amplitude = sample - statistics.baseline;
        statistics.max_amplitude = std::max(statistics.max_amplitude, amplitude);
        sum_of_squares += amplitude * amplitude;
        // Hysteresis: a pulse counts once, however its top wobbles around the threshold.
        if (is_armed && amplitude > statistics.threshold) {
            ++statistics.pulses;
            is_armed = false;
        } else if (!is_armed && amplitude < statistics.threshold / 2) {
            is_armed = true;
        }
    }
    statistics.rms = std::sqrt(sum_of_squares / static_cast<double>(samples.size()));
    return statistics;
}

} // namespace

std::vector<ChannelStatistics> amplitude_statistics(const Traces& traces)
{
    std::vector<ChannelStatistics> result;
    result.reserve(traces.channels.size());
    for (const auto& channel : traces.channels) {
        result.push_back(channel_statistics(channel));
    }
    return result;
}

nlohmann::json to_json(const ChannelStatistics& statistics, int channel)
{
    return {{"channel", channel},
            {"baseline", rounded(statistics.baseline)},
            {"noise", rounded(statistics.noise)},
            {"threshold", rounded(statistics.threshold)},
            {"max_amplitude", rounded(statistics.max_amplitude)},
            {"rms", rounded(statistics.rms)},
            {"pulses", statistics.pulses}};
}

} // namespace edw::edelweiss
