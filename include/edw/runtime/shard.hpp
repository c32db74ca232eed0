// Shard: one worker's share of a step, by a stable hash of the document id.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edw {

/// Share K of N (1 <= K <= N) of a step's documents, for N workers that split a step with no
/// claim writes. A document belongs to share `fnv1a64(_id) % N + 1`: the same on every machine,
/// in every version of edw, whatever order the documents arrive in.
class Shard {
public:
    /// Every document: one worker on the step.
    Shard() = default;
    /// Throws ConfigError unless 1 <= index <= count.
    Shard(unsigned index, unsigned count);

    /// Parses "K/N", as `--shard` takes it. Throws ConfigError naming the text otherwise.
    static Shard parse(std::string_view text);

    [[nodiscard]] bool owns(std::string_view doc_id) const noexcept;
    [[nodiscard]] bool is_whole() const noexcept { return m_count == 1; }
    [[nodiscard]] unsigned index() const noexcept { return m_index; }
    [[nodiscard]] unsigned count() const noexcept { return m_count; }
    /// "3/4", for log lines.
    [[nodiscard]] std::string str() const;

private:
    unsigned m_index = 1;
    unsigned m_count = 1;
};

/// The 64-bit FNV-1a hash of `bytes`: simple, fast, and fixed by its definition, so shares never
/// move when edw or the compiler changes.
std::uint64_t fnv1a64(std::string_view bytes) noexcept;

} // namespace edw
