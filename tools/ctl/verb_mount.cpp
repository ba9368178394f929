// Verbs that talk to running daemons through their control sockets.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <thread>

#include "mounts.hpp"
#include "nvmefs/control/protocol.hpp"
#include "stats_format.hpp"
#include "verb.hpp"

namespace nvmefs::ctl {
namespace {

using json::Value;
using namespace std::chrono_literals;

constexpr auto kFlushTimeout = std::chrono::minutes(10);

const std::string& mountpoint_argument(const Args& a, const char* verb) {
  if (a.positional.size() != 1)
    throw UsageError(fmt::format("{}: expected one MOUNTPOINT (see nvmefs-ctl {} --help)", verb, verb));
  return a.positional[0];
}

Value command(const char* cmd) {
  Value v = Value::object();
  v.set("cmd", cmd);
  return v;
}

void print_json(const Value& v) {
  std::printf("%s\n", v.dump().c_str());
  std::fflush(stdout);
}

uint64_t total_dirty(const Value& stats) {
  uint64_t n = 0;
  for (const auto& ns : stats.get("namespaces").items()) n += ns.get("cache").get("dirty_bytes").as_u64();
  return n;
}

// While a flush runs on one connection, a second one polls the dirty bytes.
void show_progress(const std::string& mountpoint, const std::atomic<bool>& done) {
  try {
    auto client = connect_to_mount(mountpoint);
    uint64_t start = 0;
    while (!done.load()) {
      uint64_t dirty = total_dirty(client->call(command(control::kCmdStats)));
      start = std::max(start, dirty);
      double frac = start ? 1.0 - double(dirty) / double(start) : 1.0;
      int bar = int(frac * 30);
      std::fprintf(stderr, "\rflushing [%-30s] %3.0f%%  %s dirty   ", std::string(size_t(bar), '#').c_str(), frac * 100,
                   human_bytes(double(dirty)).c_str());
      for (int i = 0; i < 4 && !done.load(); ++i) std::this_thread::sleep_for(50ms);
    }
    std::fprintf(stderr, "\r%70s\r", "");
  } catch (const std::exception&) {
    // Progress is a courtesy: the flush itself reports success or failure.
  }
}

// "  controller 1  NQN  tcp://ADDR:PORT  live  (4 I/O queues x 128)  reconnects 1"
// plus, while it is down, for how long and why.
std::string controller_line(const Value& c) {
  std::string line = fmt::format("  controller {}  {}  {}://{}:{}  {}  ({} I/O queues x {})  reconnects {}",
                                 c.get("cntlid").as_u64(), c.get("subnqn").as_string(), c.get("trtype").as_string(),
                                 c.get("traddr").as_string(), c.get("trsvcid").as_string(), c.get("state").as_string(),
                                 c.get("nr_io_queues").as_u64(), c.get("queue_size").as_u64(), c.get("reconnects").as_u64());
  if (c.get("state").as_string() != "live")
    line += fmt::format("  down {:.1f} s: {}", c.get("down_ms").as_double() / 1000, c.get("last_error").as_string());
  return line;
}

}  // namespace

int run_list(const Args& a) {
  if (!a.positional.empty()) throw UsageError(fmt::format("list: unexpected argument '{}'", a.positional[0]));
  Value mounts = Value::array();
  for (const auto& m : nvmefs_mounts()) {
    Value info = Value::object();
    try {
      info = connect_to_mount(m.mountpoint)->call(command(control::kCmdInfo));
    } catch (const std::exception& e) {
      info.set("mountpoint", m.mountpoint);
      info.set("source", m.source);
      info.set("error", e.what());
    }
    mounts.push(std::move(info));
  }
  if (a.json()) {
    Value out = Value::object();
    out.set("mounts", std::move(mounts));
    print_json(out);
    return 0;
  }
  if (mounts.items().empty()) std::printf("no nvmefs mounts\n");
  for (const auto& m : mounts.items()) {
    std::printf("%s  %s", m.get("mountpoint").as_string().c_str(), m.get("source").as_string().c_str());
    if (m.has("error")) {
      std::printf("  (%s)\n", m.get("error").as_string().c_str());
      continue;
    }
    std::printf("  cache=%s  pid %llu\n", m.get("cache_mode").as_string().c_str(),
                static_cast<unsigned long long>(m.get("pid").as_u64()));
    for (const auto& c : m.get("controllers").items()) std::printf("%s\n", controller_line(c).c_str());
    for (const auto& n : m.get("namespaces").items())
      std::printf("  %-12s nsid %-4llu %12s  %llu-byte LBAs%s\n", n.get("path").as_string().c_str(),
                  static_cast<unsigned long long>(n.get("nsid").as_u64()),
                  human_bytes(double(n.get("size_bytes").as_u64())).c_str(),
                  static_cast<unsigned long long>(n.get("lba_size").as_u64()), n.get("read_only").as_bool() ? "  read-only" : "");
  }
  return 0;
}

int run_stats(const Args& a) {
  const std::string& mp = mountpoint_argument(a, "stats");
  double watch = 0;
  if (a.has("watch")) {
    char* end = nullptr;
    std::string s = a.get("watch");
    watch = std::strtod(s.c_str(), &end);
    if (s.empty() || *end || !(watch >= 0.1 && watch <= 86400))
      throw UsageError(fmt::format("stats: invalid --watch '{}' (seconds, 0.1 to 86400)", s));
  }
  auto client = connect_to_mount(mp);
  Value before;
  for (bool first = true;; first = false) {
    Value now = client->call(command(control::kCmdStats));
    add_iops(now, first ? nullptr : &before);
    if (a.has("prometheus")) std::fputs(stats_prometheus(now).c_str(), stdout);
    else if (a.json()) print_json(now);
    else std::fputs(((first ? "" : "\n") + stats_table(now)).c_str(), stdout);
    std::fflush(stdout);
    if (watch == 0) return 0;
    before = std::move(now);
    std::this_thread::sleep_for(std::chrono::duration<double>(watch));
  }
}

int run_flush(const Args& a) {
  const std::string& mp = mountpoint_argument(a, "flush");
  auto client = connect_to_mount(mp);
  std::atomic<bool> done{false};
  std::thread progress;
  if (!a.json() && ::isatty(STDERR_FILENO)) progress = std::thread([&] { show_progress(mp, done); });
  Value reply;
  try {
    reply = client->call(command(control::kCmdFlush), kFlushTimeout);
  } catch (...) {
    done = true;
    if (progress.joinable()) progress.join();
    throw;
  }
  done = true;
  if (progress.joinable()) progress.join();
  if (a.json()) print_json(reply);
  else
    std::printf("flushed %llu namespace(s) of %s (%s written back)\n",
                static_cast<unsigned long long>(reply.get("namespaces").as_u64()), reply.get("mountpoint").as_string().c_str(),
                human_bytes(double(reply.get("written_back_bytes").as_u64())).c_str());
  return 0;
}

int run_drop_cache(const Args& a) {
  Value reply = connect_to_mount(mountpoint_argument(a, "drop-cache"))->call(command(control::kCmdDropCache), kFlushTimeout);
  if (a.json()) print_json(reply);
  else
    std::printf("dropped %s of cached data from %s\n", human_bytes(double(reply.get("dropped_bytes").as_u64())).c_str(),
                reply.get("mountpoint").as_string().c_str());
  return 0;
}

// Exit status 0 when every controller is live afterwards, kExitFailed
// otherwise (the daemon keeps reconnecting in the background until
// ctrl_loss_tmo).
int run_reconnect(const Args& a) {
  Value reply = connect_to_mount(mountpoint_argument(a, "reconnect"))->call(command(control::kCmdReconnect));
  bool all_live = true;
  for (const auto& c : reply.get("controllers").items()) all_live = all_live && c.get("state").as_string() == "live";
  if (a.json()) {
    print_json(reply);
  } else {
    std::printf("%s: %s\n", reply.get("mountpoint").as_string().c_str(),
                all_live ? "all controllers live" : "not every controller is live yet");
    for (const auto& c : reply.get("controllers").items()) std::printf("%s\n", controller_line(c).c_str());
  }
  return all_live ? 0 : kExitFailed;
}

}  // namespace nvmefs::ctl
