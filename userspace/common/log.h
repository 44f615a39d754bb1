// Minimal logging: one line per event to stderr (the daemon's stderr is redirected to its log file).
// Format: "2026-11-29T20:30:00.123Z tandemd[r0] LEVEL message". Thread-safe: each line is one write(2).
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace tandem {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

// Process-wide settings, set once at start-up before any thread is started.
void log_set_prefix(std::string_view prefix);
void log_set_level(LogLevel level);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view text);

template <typename... Args>
void log_debug(fmt::format_string<Args...> f, Args&&... args) {
  if (log_enabled(LogLevel::Debug)) log_line(LogLevel::Debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) {
  if (log_enabled(LogLevel::Info)) log_line(LogLevel::Info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... args) {
  if (log_enabled(LogLevel::Warn)) log_line(LogLevel::Warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_error(fmt::format_string<Args...> f, Args&&... args) {
  log_line(LogLevel::Error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace tandem
