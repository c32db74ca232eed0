// Excerpt: the head of a long text, to quote in a message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace edw {

/// At most `most` bytes of `text`, cut on a UTF-8 character boundary so that a message quoting
/// it stays valid UTF-8.
[[nodiscard]] std::string excerpt(std::string_view text, std::size_t most = 200);

} // namespace edw
