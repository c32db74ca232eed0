// UtcTime: timestamps as edw writes them in documents and logs.
#pragma once

#include <string>

namespace edw {

/// The current UTC time as ISO 8601 with milliseconds: "2026-11-29T22:30:00.123Z".
std::string utc_now_iso8601();

/// The current time in seconds since the epoch, with a fraction (EDELWEISS `datecreated`).
double epoch_seconds_now();

} // namespace edw
