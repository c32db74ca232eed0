// Excerpt: cutting a quoted text without splitting a UTF-8 character.
#include "edw/util/excerpt.hpp"

namespace edw {

std::string excerpt(std::string_view text, std::size_t most)
{
    if (text.size() <= most) {
        return std::string(text);
    }
    std::size_t length = most;
    while (length > 0 && (static_cast<unsigned char>(text[length]) & 0xC0U) == 0x80U) {
        --length;
    }
    return std::string(text.substr(0, length));
}

} // namespace edw
