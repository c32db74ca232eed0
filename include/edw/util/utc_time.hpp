// UtcTime: timestamps as edw writes them in documents and logs.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace edw {

/// The current UTC time as ISO 8601 with milliseconds: "2026-11-29T22:30:00.123Z".
std::string utc_now_iso8601();

/// `time` in the same form. These strings sort as the times they name, so they can be compared
/// as text.
std::string iso8601(std::chrono::system_clock::time_point time);

/// Reads a time written by iso8601(); nothing for any other text.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

/// The current time in seconds since the epoch, with a fraction (EDELWEISS `datecreated`).
double epoch_seconds_now();

} // namespace edw
