// DurationHistogram: how long callbacks take, in buckets, for Prometheus.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace edw {

/// Counts durations into fixed buckets (upper bounds in seconds, as Prometheus' `le`) and keeps
/// their sum; lock-free, so every worker thread records into one.
class DurationHistogram {
public:
    static constexpr std::array<double, 14> bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                      1,     2.5,  5,     10,   30,  60,   300};

    void observe(std::chrono::duration<double> duration) noexcept;

    /// Observations at or below bounds[i] (cumulative, as Prometheus wants them).
    [[nodiscard]] std::uint64_t count_at_most(std::size_t bound) const noexcept;
    [[nodiscard]] std::uint64_t count() const noexcept { return m_count.load(); }
    [[nodiscard]] double sum_seconds() const noexcept;

private:
    std::array<std::atomic<std::uint64_t>, bounds.size()> m_buckets{}; ///< Not cumulative.
    std::atomic<std::uint64_t> m_count{0};
    std::atomic<std::uint64_t> m_sum_microseconds{0};
};

} // namespace edw
