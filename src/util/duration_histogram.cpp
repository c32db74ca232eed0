// DurationHistogram: bucket counts and the sum, each an atomic.
#include "edw/util/duration_histogram.hpp"

#include <algorithm>

namespace edw {

void DurationHistogram::observe(std::chrono::duration<double> duration) noexcept
{
    const double seconds = std::max(0.0, duration.count());
    const auto bucket = std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin();
    if (static_cast<std::size_t>(bucket) < bounds.size()) {
        ++m_buckets[static_cast<std::size_t>(bucket)];
    }
    ++m_count;
    m_sum_microseconds += static_cast<std::uint64_t>(seconds * 1e6);
}

std::uint64_t DurationHistogram::count_at_most(std::size_t bound) const noexcept
{
    std::uint64_t total = 0;
    for (std::size_t i = 0; i <= bound && i < bounds.size(); ++i) {
        total += m_buckets[i].load();
    }
    return total;
}

double DurationHistogram::sum_seconds() const noexcept
{
    return static_cast<double>(m_sum_microseconds.load()) / 1e6;
}

} // namespace edw
