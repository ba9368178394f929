#include "nvmefs/common/log.hpp"

#include <syslog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace nvmefs::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::atomic<bool> g_syslog{false};

const char* tag(Level l) {
  switch (l) {
    case Level::Error: return "error";
    case Level::Warn: return "warning";
    case Level::Info: return "info";
    case Level::Debug: return "debug";
    case Level::Trace: return "trace";
  }
  return "?";
}
int syslog_priority(Level l) {
  switch (l) {
    case Level::Error: return LOG_ERR;
    case Level::Warn: return LOG_WARNING;
    case Level::Info: return LOG_INFO;
    default: return LOG_DEBUG;
  }
}
}  // namespace

void set_level(Level l) { g_level.store(static_cast<int>(l), std::memory_order_relaxed); }
Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }

void use_syslog(const char* ident) {
  openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
  g_syslog = true;
}

void write(Level l, const std::string& msg) {
  if (g_syslog) {
    syslog(syslog_priority(l), "%s", msg.c_str());
    return;
  }
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::fprintf(stderr, "%02d:%02d:%02d.%03d %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms), tag(l), msg.c_str());
}

}  // namespace nvmefs::log
