// Backoff: how long to wait before the next try of something that failed for a passing reason.
#pragma once

#include <chrono>
#include <cstdint>

namespace edw {

/// Exponential backoff with full jitter: try n waits a random time in [0, min(cap, base * 2^n)],
/// so that many clients that failed together do not come back together.
class Backoff {
public:
    struct Options {
        std::chrono::milliseconds base{100};
        std::chrono::milliseconds cap{30000};
    };

    Backoff();
    explicit Backoff(Options options, std::uint64_t seed = 0);

    /// The wait before the next try; each call doubles the upper bound up to the cap.
    std::chrono::milliseconds next();
    /// Back to the first, shortest wait (after a success).
    void reset() noexcept { m_attempt = 0; }
    [[nodiscard]] int attempt() const noexcept { return m_attempt; }

private:
    Options m_options;
    int m_attempt = 0;
    std::uint64_t m_state;
};

} // namespace edw
