// End-to-end check of host::DiscoveryWatcher against a live discovery
// controller (the Linux kernel target in the VM, or nvmefs-target --control).
// Runs each step's shell command while the watcher runs, then waits (bounded)
// for the callback that reports the change. One line per check; exits 0 when
// all passed. Driven by discovery_watch*.sh.
//
//   discovery_watch_check --traddr A --trsvcid P [--within SEC] [--reconnect-delay SEC] [--kato SEC]
//       [--present NQN]... [--absent NQN]...          (the first log read must / must not list NQN)
//       [--step add|remove NQN SHELL-COMMAND]...      (in order)
//       [--idle SEC]                                  (before the steps: stay connected, no reconnect, for SEC
//                                                      seconds with a short KATO: Keep Alive works)
//       [--min-reconnects N]
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"
#include "nvmefs/host/discovery_watcher.hpp"

using namespace nvmefs;
using Clock = std::chrono::steady_clock;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  fmt::print("{} {}\n", ok ? "ok  " : "FAIL", what);
  std::fflush(stdout);
  if (!ok) ++failures;
}

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Step {
  bool add = true;
  std::string nqn, command;
};

struct Args {
  host::ConnectOptions opts;
  double within = 20, idle = 0;
  std::vector<std::string> present, absent;
  std::vector<Step> steps;
  uint64_t min_reconnects = 0;
};

[[noreturn]] void usage(const std::string& why) {
  fmt::print(stderr, "discovery_watch_check: {}\n", why);
  std::exit(2);
}

Args parse_args(int argc, char** argv) {
  Args a;
  a.opts.reconnect_delay = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(k + " needs a value");
      return argv[++i];
    };
    if (k == "--traddr") a.opts.target.traddr = val();
    else if (k == "--trsvcid") a.opts.target.trsvcid = val();
    else if (k == "--within") a.within = std::stod(val());
    else if (k == "--reconnect-delay") a.opts.reconnect_delay = uint32_t(std::stoul(val()));
    else if (k == "--kato") a.opts.keep_alive_tmo = uint32_t(std::stoul(val()));
    else if (k == "--present") a.present.push_back(val());
    else if (k == "--absent") a.absent.push_back(val());
    else if (k == "--idle") a.idle = std::stod(val());
    else if (k == "--min-reconnects") a.min_reconnects = std::stoull(val());
    else if (k == "--step") {  // three values: NQNs hold colons
      Step s;
      const std::string kind = val();
      if (kind != "add" && kind != "remove") usage("--step kind is add or remove");
      s.add = kind == "add";
      s.nqn = val();
      s.command = val();
      a.steps.push_back(std::move(s));
    } else usage("unknown option " + k);
  }
  if (a.opts.target.traddr.empty()) usage("--traddr is required");
  return a;
}

bool lists(const std::vector<wire::DiscoveryEntry>& v, const std::string& nqn) {
  for (const auto& e : v)
    if (e.subnqn == nqn) return true;
  return false;
}

// What the callback saw, in order.
struct Seen {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<Clock::time_point, host::DiscoveryDiff>> diffs;
};

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  Seen seen;
  auto on_change = [&](const host::DiscoveryDiff& d) {
    std::lock_guard lk(seen.mu);
    seen.diffs.emplace_back(Clock::now(), d);
    seen.cv.notify_all();
  };

  const auto t0 = Clock::now();
  std::unique_ptr<host::DiscoveryWatcher> w;
  try {
    w = std::make_unique<host::DiscoveryWatcher>(a.opts, on_change);
  } catch (const Error& e) {
    check(false, fmt::format("watcher connects: {}", e.what()));
    return 1;
  }
  const auto first = w->entries();
  check(!first.empty(), fmt::format("watcher connected and read the log in {:.2f} s: {} entries", secs(Clock::now() - t0),
                                    first.size()));
  for (const auto& n : a.present) check(lists(first, n), "first log lists " + n);
  for (const auto& n : a.absent) check(!lists(first, n), "first log does not list " + n);

  if (a.idle > 0) {
    // Nothing to poll for: the check is that nothing happens for this long.
    std::this_thread::sleep_for(std::chrono::duration<double>(a.idle));
    check(w->connected() && w->reconnects() == 0,
          fmt::format("idle {} s with KATO {} s: still connected, {} reconnects", a.idle, a.opts.keep_alive_tmo,
                      w->reconnects()));
  }

  for (const auto& s : a.steps) {
    const char* kind = s.add ? "added" : "removed";
    size_t before;
    {
      std::lock_guard lk(seen.mu);
      before = seen.diffs.size();
    }
    const auto started = Clock::now();
    const int rc = std::system(s.command.c_str());
    const auto ran = Clock::now();
    check(rc == 0, fmt::format("step command ran in {:.2f} s (exit {}): {}", secs(ran - started), rc, s.command));
    // Wait for a callback that names s.nqn in the expected list.
    bool got = false;
    Clock::time_point at;
    {
      std::unique_lock lk(seen.mu);
      const auto deadline = ran + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.within));
      seen.cv.wait_until(lk, deadline, [&] {
        for (size_t i = before; i < seen.diffs.size(); ++i)
          if (lists(s.add ? seen.diffs[i].second.added : seen.diffs[i].second.removed, s.nqn)) {
            at = seen.diffs[i].first;
            return got = true;
          }
        return false;
      });
    }
    if (got)
      // The change happens somewhere inside the command (the VM's `ctl` has
      // its own round trip), so the callback may come before it returns.
      check(true, fmt::format("callback: {} {} {:.3f} s after the command started (which took {:.3f} s)", s.nqn,
                              kind, secs(at - started), secs(ran - started)));
    else
      check(false, fmt::format("no callback with {} {} within {} s", s.nqn, kind, a.within));
    check(lists(w->entries(), s.nqn) == s.add,
          fmt::format("entries() {} {} afterwards", s.add ? "lists" : "no longer lists", s.nqn));
  }

  check(w->reconnects() >= a.min_reconnects,
        fmt::format("{} reconnects (at least {}), {} log re-reads", w->reconnects(), a.min_reconnects, w->rereads()));
  check(w->connected(), "still connected at the end");
  size_t calls;
  {
    std::lock_guard lk(seen.mu);
    calls = seen.diffs.size();
  }
  const auto d0 = Clock::now();
  w.reset();
  const double dtor_s = secs(Clock::now() - d0);
  {
    std::lock_guard lk(seen.mu);
    check(seen.diffs.size() == calls, "no callback during destruction");
  }
  check(dtor_s < 5, fmt::format("destructor returned in {:.3f} s", dtor_s));
  fmt::print("{} discovery watch ({} failures)\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
