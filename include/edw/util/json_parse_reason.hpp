// json_parse_reason: where a JSON text broke, in words for a message.
#pragma once

#include <exception>
#include <string>

namespace edw {

/// nlohmann::json's parse error message without its "[json.exception.parse_error.101] " tag,
/// which says nothing to a user: "parse error at line 1, column 24: syntax error while parsing
/// array - unexpected end of input; expected ']'".
[[nodiscard]] std::string json_parse_reason(const std::exception& error);

} // namespace edw
