// TraceFile: the small synthetic detector traces that stand for EDELWEISS raw data files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace edw::edelweiss {

/// The sampled traces of one raw file: `channels[c][i]` is sample i of channel c, in ADC counts.
/// Every channel has the same number of samples.
struct Traces {
    std::uint32_t sample_rate_hz = 0;
    std::vector<std::vector<std::int16_t>> channels;

    friend bool operator==(const Traces&, const Traces&) = default;
};

/// The file name extension of trace files, with its dot. Not ROOT: a format of edw's own.
inline constexpr std::string_view trace_extension = ".edwtrace";

/// The bytes of a trace file (format version 1), all integers little-endian:
///
///     offset  size  field
///          0     8  magic "EDWTRACE"
///          8     4  format version, 1
///         12     4  channel count C (1 to 64)
///         16     4  samples per channel N (1 to 1048576)
///         20     4  sample rate in Hz (informative)
///         24  2C*N  the samples, int16: all N of channel 0, then channel 1, ...
///
/// The file is exactly 24 + 2*C*N bytes long. Throws StoreError when `traces` breaks those
/// limits or its channels differ in length.
[[nodiscard]] std::string encode_traces(const Traces& traces);

/// Reads the bytes of a trace file. `what` names it in messages. Throws StoreError saying what is
/// wrong (not a trace file, a version this edw does not read, counts out of range, truncated,
/// bytes after the last sample).
[[nodiscard]] Traces decode_traces(std::string_view bytes, const std::string& what);

/// The synthetic traces of raw file `doc_id`: 4 channels of 512 samples at 1 kHz (a 4 KB file),
/// each a baseline with noise and 0 to 3 exponential pulses of 300 to 3300 counts, at least
/// 128 samples apart. Drawn from a generator seeded with the id, with integer arithmetic only,
/// so that the same id gives the same bytes on every machine.
[[nodiscard]] Traces synthetic_traces(std::string_view doc_id);

} // namespace edw::edelweiss
