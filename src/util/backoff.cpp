// Backoff: exponential growth with full jitter.
#include "edw/util/backoff.hpp"

#include <algorithm>
#include <random>

namespace edw {

Backoff::Backoff()
    : Backoff(Options{})
{}

Backoff::Backoff(Options options, std::uint64_t seed)
    : m_options(options)
    , m_state(seed != 0 ? seed : std::random_device{}())
{}

std::chrono::milliseconds Backoff::next()
{
    // The bound stops doubling well before it could overflow.
    const int exponent = std::min(m_attempt, 30);
    ++m_attempt;
    const auto bound =
        std::min<long long>(m_options.cap.count(), m_options.base.count() * (1LL << exponent));
    // splitmix64: a small, good generator that needs no shared state between threads.
    m_state += 0x9e3779b97f4a7c15ULL;
    std::uint64_t mixed = m_state;
    mixed = (mixed ^ (mixed >> 30)) * 0xbf58476d1ce4e5b9ULL;
    mixed = (mixed ^ (mixed >> 27)) * 0x94d049bb133111ebULL;
    mixed ^= mixed >> 31;
    // Never zero: a retry storm of immediate reconnects is exactly what backoff is for.
    const auto low = std::max<long long>(1, bound / 10);
    return std::chrono::milliseconds(
        low + static_cast<long long>(mixed % static_cast<std::uint64_t>(bound - low + 1)));
}

} // namespace edw
