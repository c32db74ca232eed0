// Shard: parsing "K/N" and deciding which share a document id falls in.
#include "edw/runtime/shard.hpp"

#include <edw/util/error.hpp>

#include <charconv>

namespace edw {

std::uint64_t fnv1a64(std::string_view bytes) noexcept
{
    std::uint64_t hash = 14695981039346656037ULL;
    for (const char byte : bytes) {
        hash ^= static_cast<unsigned char>(byte);
        hash *= 1099511628211ULL;
    }
    return hash;
}

Shard::Shard(unsigned index, unsigned count)
    : m_index(index)
    , m_count(count)
{
    if (count == 0 || index == 0 || index > count) {
        throw ConfigError("shard " + std::to_string(index) + "/" + std::to_string(count) +
                          ": K/N needs 1 <= K <= N");
    }
}

Shard Shard::parse(std::string_view text)
{
    const auto slash = text.find('/');
    const auto number = [&](std::string_view part, unsigned& value) {
        const auto* end = part.data() + part.size();
        const auto [at, error] = std::from_chars(part.data(), end, value);
        return !part.empty() && error == std::errc() && at == end;
    };
    unsigned index = 0;
    unsigned count = 0;
    if (slash == std::string_view::npos || !number(text.substr(0, slash), index) ||
        !number(text.substr(slash + 1), count)) {
        throw ConfigError("shard '" + std::string(text) +
                          "': expected K/N, such as 1/4 for the first of four workers");
    }
    return Shard(index, count);
}

bool Shard::owns(std::string_view doc_id) const noexcept
{
    return m_count == 1 || fnv1a64(doc_id) % m_count + 1 == m_index;
}

std::string Shard::str() const
{
    return std::to_string(m_index) + "/" + std::to_string(m_count);
}

} // namespace edw
