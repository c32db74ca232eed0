// Log: one-line, timestamped, credential-free log messages for daemons and tools.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace edw {

enum class LogLevel { debug, info, warning, error };

/// Parses "debug", "info", "warning" or "error". Throws ConfigError for anything else.
LogLevel parse_log_level(std::string_view text);

/// Where log lines go and which are kept. Process-wide: a daemon has one log.
struct LogSettings {
    std::string program = "edw"; ///< Shown in every line, e.g. the listener name.
    LogLevel level = LogLevel::info;
    std::filesystem::path file; ///< Empty: standard error.
};

/// Applies new settings. Throws StoreError when the log file cannot be opened for appending.
void configure_log(const LogSettings& settings);

/// Writes one line: `2026-11-29T22:30:00.123Z <program> <level>: <message>`. Any credentials in
/// URLs inside the message are masked, so a careless caller cannot leak a password. Thread-safe.
void log(LogLevel level, std::string_view message);

/// Whether lines of `level` are kept: lets a caller skip building a costly debug line.
[[nodiscard]] bool log_enabled(LogLevel level) noexcept;

inline void log_debug(std::string_view message)
{
    log(LogLevel::debug, message);
}
inline void log_info(std::string_view message)
{
    log(LogLevel::info, message);
}
inline void log_warning(std::string_view message)
{
    log(LogLevel::warning, message);
}
inline void log_error(std::string_view message)
{
    log(LogLevel::error, message);
}

/// Reopens the log file (after logrotate moved it); a no-op when logging to standard error.
void reopen_log();

} // namespace edw
