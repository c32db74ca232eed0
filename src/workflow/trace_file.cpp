// TraceFile: the trace file format, and the synthetic traces metadata make writes.
#include "edw/workflow/trace_file.hpp"

#include <edw/util/error.hpp>

#include <algorithm>
#include <random>

namespace edw::edelweiss {
namespace {

constexpr std::string_view magic = "EDWTRACE";
constexpr std::uint32_t format_version = 1;
constexpr std::size_t header_size = 24;
constexpr std::uint32_t max_channels = 64;
constexpr std::uint32_t max_samples = 1U << 20U;

void append_u32(std::string& out, std::uint32_t value)
{
    for (int shift = 0; shift < 32; shift += 8) {
        out += static_cast<char>((value >> shift) & 0xffU);
    }
}

std::uint32_t read_u32(std::string_view bytes, std::size_t offset)
{
    std::uint32_t value = 0;
    for (int i = 3; i >= 0; --i) {
        value =
            (value << 8U) | static_cast<unsigned char>(bytes[offset + static_cast<std::size_t>(i)]);
    }
    return value;
}

// FNV-1a, 64 bits: a seed that depends on every byte of the id and on nothing else.
std::uint64_t seed_of(std::string_view id)
{
    std::uint64_t hash = 14695981039346656037ULL;
    for (const char c : id) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ULL;
    }
    return hash;
}

// A draw in [0, bound), from the generator's raw output: std::uniform_int_distribution is left
// out because each standard library computes it its own way. The bias is below 1e-15 here.
std::int64_t below(std::mt19937_64& rng, std::uint64_t bound)
{
    return static_cast<std::int64_t>(rng() % bound);
}

std::int16_t clamped(std::int64_t value)
{
    return static_cast<std::int16_t>(std::clamp<std::int64_t>(value, -32768, 32767));
}

} // namespace

std::string encode_traces(const Traces& traces)
{
    const std::size_t channels = traces.channels.size();
    const std::size_t samples = channels == 0 ? 0 : traces.channels.front().size();
    if (channels < 1 || channels > max_channels || samples < 1 || samples > max_samples) {
        throw StoreError("cannot write a trace file of " + std::to_string(channels) +
                         " channels of " + std::to_string(samples) +
                         " samples: 1 to 64 channels of 1 to 1048576 samples");
    }
    std::string out;
    out.reserve(header_size + 2 * channels * samples);
    out += magic;
    append_u32(out, format_version);
    append_u32(out, static_cast<std::uint32_t>(channels));
    append_u32(out, static_cast<std::uint32_t>(samples));
    append_u32(out, traces.sample_rate_hz);
    for (const auto& channel : traces.channels) {
        if (channel.size() != samples) {
            throw StoreError("cannot write a trace file whose channels differ in length");
        }
        for (const std::int16_t sample : channel) {
            const auto bits = static_cast<std::uint16_t>(sample);
            out += static_cast<char>(bits & 0xffU);
            out += static_cast<char>(bits >> 8U);
        }
    }
    return out;
}

Traces decode_traces(std::string_view bytes, const std::string& what)
{
    const auto fail = [&what](const std::string& why) -> StoreError {
        return StoreError(what + " is not a readable edw trace file: " + why);
    };
    if (bytes.size() < header_size || bytes.substr(0, magic.size()) != magic) {
        throw fail("it does not start with \"EDWTRACE\" (" + std::to_string(bytes.size()) +
                   " bytes)");
    }
    const std::uint32_t version = read_u32(bytes, 8);
    if (version != format_version) {
        throw fail("format version " + std::to_string(version) + ", this edw reads version 1");
    }
    const std::uint32_t channels = read_u32(bytes, 12);
    const std::uint32_t samples = read_u32(bytes, 16);
    if (channels < 1 || channels > max_channels || samples < 1 || samples > max_samples) {
        throw fail(std::to_string(channels) + " channels of " + std::to_string(samples) +
                   " samples (1 to 64 channels of 1 to 1048576 samples)");
    }
    const std::size_t expected = header_size + std::size_t{2} * channels * samples;
    if (bytes.size() != expected) {
        throw fail(std::to_string(bytes.size()) + " bytes where " + std::to_string(channels) +
                   " channels of " + std::to_string(samples) + " samples make " +
                   std::to_string(expected) + (bytes.size() < expected ? " (truncated)" : ""));
    }
    Traces traces;
    traces.sample_rate_hz = read_u32(bytes, 20);
    traces.channels.resize(channels);
    std::size_t offset = header_size;
    for (auto& channel : traces.channels) {
        channel.resize(samples);
        for (auto& sample : channel) {
            const auto low = static_cast<unsigned char>(bytes[offset]);
            const auto high = static_cast<unsigned char>(bytes[offset + 1]);
            sample = static_cast<std::int16_t>(static_cast<std::uint16_t>(low | (high << 8U)));
            offset += 2;
        }
    }
    return traces;
}

Traces synthetic_traces(std::string_view doc_id)
{
    constexpr std::size_t channel_count = 4;
    constexpr std::int64_t samples = 512;
    constexpr std::int64_t pulse_spacing = 128;
    constexpr std::int64_t rise_samples = 3;

    std::mt19937_64 rng(seed_of(doc_id));
    Traces traces;
    traces.sample_rate_hz = 1000;
    traces.channels.resize(channel_count);
    for (std::size_t c = 0; c < channel_count; ++c) {
        // One draw per quantity, always in this order, so that the id fixes every sample.
        const std::int64_t baseline = 1000 + 500 * static_cast<std::int64_t>(c) + below(rng, 200);
        std::vector<std::int64_t> signal(samples, baseline);
        for (auto& value : signal) {
            // A sum of four uniform draws: roughly Gaussian noise, 7.5 counts wide.
            for (int term = 0; term < 4; ++term) {
                value += below(rng, 13) - 6;
            }
        }
        const std::int64_t pulses = below(rng, 4);
        for (std::int64_t pulse = 0; pulse < pulses; ++pulse) {
            // Each in a slot of its own, so that pulses never pile up.
            const std::int64_t start = 32 + pulse * pulse_spacing + below(rng, 64);
            std::int64_t height = 300 + below(rng, 3001);
            for (std::int64_t i = 1; i <= rise_samples && start + i < samples; ++i) {
                signal[static_cast<std::size_t>(start + i)] += height * i / rise_samples;
            }
            // An exponential decay, 7/8 per sample.
            for (std::int64_t i = start + rise_samples + 1; i < samples && height > 0; ++i) {
                height = height * 7 / 8;
                signal[static_cast<std::size_t>(i)] += height;
            }
        }
        auto& channel = traces.channels[c];
        channel.reserve(signal.size());
        for (const std::int64_t value : signal) {
            channel.push_back(clamped(value));
        }
    }
    return traces;
}

} // namespace edw::edelweiss
