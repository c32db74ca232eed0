// Log: process-wide log sink with timestamps and credential masking.
#include "edw/util/log.hpp"

#include <edw/util/error.hpp>
#include <edw/util/url.hpp>
#include <edw/util/utc_time.hpp>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace edw {
namespace {

struct LogState {
    std::mutex mutex;
    std::atomic<LogLevel> level{LogLevel::info}; // settings.level, read without the mutex
    LogSettings settings;
    std::FILE* file = nullptr; // owned when settings.file is set
};

LogState& state()
{
    static LogState instance;
    return instance;
}

std::string_view level_name(LogLevel level)
{
    switch (level) {
    case LogLevel::debug:
        return "debug";
    case LogLevel::info:
        return "info";
    case LogLevel::warning:
        return "warning";
    case LogLevel::error:
        return "error";
    }
    return "info";
}

std::FILE* open_for_append(const std::filesystem::path& path)
{
    std::FILE* file = std::fopen(path.c_str(), "a");
    if (file == nullptr) {
        throw StoreError("cannot open log file " + path.string() + ": " + std::strerror(errno));
    }
    return file;
}

} // namespace

LogLevel parse_log_level(std::string_view text)
{
    for (const auto level : {LogLevel::debug, LogLevel::info, LogLevel::warning, LogLevel::error}) {
        if (text == level_name(level)) {
            return level;
        }
    }
    throw ConfigError("unknown log level '" + std::string(text) +
                      "' (expected debug, info, warning or error)");
}

void configure_log(const LogSettings& settings)
{
    std::FILE* file = settings.file.empty() ? nullptr : open_for_append(settings.file);
    auto& current = state();
    const std::lock_guard lock(current.mutex);
    if (current.file != nullptr) {
        std::fclose(current.file);
    }
    current.file = file;
    current.settings = settings;
    current.level = settings.level;
}

bool log_enabled(LogLevel level) noexcept
{
    return level >= state().level.load(std::memory_order_relaxed);
}

void reopen_log()
{
    auto& current = state();
    const std::lock_guard lock(current.mutex);
    if (current.file == nullptr) {
        return;
    }
    std::FILE* file = std::fopen(current.settings.file.c_str(), "a");
    if (file != nullptr) {
        std::fclose(current.file);
        current.file = file;
    }
}

void log(LogLevel level, std::string_view message)
{
    auto& current = state();
    const std::lock_guard lock(current.mutex);
    if (level < current.settings.level) {
        return;
    }
    const std::string line = utc_now_iso8601() + " " + current.settings.program + " " +
                             std::string(level_name(level)) + ": " + redact_credentials(message) +
                             "\n";
    std::FILE* out = current.file != nullptr ? current.file : stderr;
    std::fwrite(line.data(), 1, line.size(), out);
    std::fflush(out);
}

} // namespace edw
