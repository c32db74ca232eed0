// json_parse_reason: where a JSON text broke, in words for a message.
#include "edw/util/json_parse_reason.hpp"

#include <string_view>

namespace edw {

std::string json_parse_reason(const std::exception& error)
{
    const std::string_view what = error.what();
    const auto tag_end = what.find("] ");
    return std::string(tag_end == std::string_view::npos ? what : what.substr(tag_end + 2));
}

} // namespace edw
