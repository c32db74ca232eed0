// AmplitudeStatistics: what signal_processing computes from each channel of a trace file.
#pragma once

#include <edw/workflow/trace_file.hpp>

#include <nlohmann/json_fwd.hpp>

#include <vector>

namespace edw::edelweiss {

/// One channel's amplitudes, in ADC counts.
struct ChannelStatistics {
    /// The median sample: pulses are too rare to move it.
    double baseline = 0;
    /// Noise width: 1.4826 times the median absolute deviation (sigma, for Gaussian noise; a
    /// little more where pulse tails take many samples).
    double noise = 0;
    /// How far above the baseline a pulse starts: 5 noise widths, 1 count at least.
    double threshold = 0;
    /// The highest sample above the baseline.
    double max_amplitude = 0;
    /// Root mean square of the samples around the baseline.
    double rms = 0;
    /// Rises over the threshold, each counted after falling back under half of it.
    int pulses = 0;
};

/// The statistics of each channel of `traces`, in channel order.
[[nodiscard]] std::vector<ChannelStatistics> amplitude_statistics(const Traces& traces);

/// `{channel, baseline, noise, threshold, max_amplitude, rms, pulses}`, values rounded to 0.001.
[[nodiscard]] nlohmann::json to_json(const ChannelStatistics& statistics, int channel);

} // namespace edw::edelweiss
