// Minimal leveled logging: stderr in the foreground, syslog in the background.
// fmt-style formatting; a disabled level costs one branch.
#pragma once

#include <fmt/core.h>

#include <string>

namespace nvmefs::log {

enum class Level : int { Error = 0, Warn = 1, Info = 2, Debug = 3, Trace = 4 };

void set_level(Level l);
Level level();
// Send messages to syslog (LOG_DAEMON) with `ident` instead of stderr.
void use_syslog(const char* ident);
void write(Level l, const std::string& msg);

inline bool enabled(Level l) { return static_cast<int>(l) <= static_cast<int>(level()); }

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... a) {
  if (enabled(Level::Error)) write(Level::Error, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... a) {
  if (enabled(Level::Warn)) write(Level::Warn, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... a) {
  if (enabled(Level::Info)) write(Level::Info, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) {
  if (enabled(Level::Debug)) write(Level::Debug, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void trace(fmt::format_string<Args...> f, Args&&... a) {
  if (enabled(Level::Trace)) write(Level::Trace, fmt::format(f, std::forward<Args>(a)...));
}

}  // namespace nvmefs::log
