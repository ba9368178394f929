// Runtime changes of nvmefs-target seen by the real initiator: drives
// `nvmefs-target --control SOCKET ctl ...` against a running target and
// checks that the connected controller reports each namespace change
// (Namespace Attribute Changed event -> rescan -> NamespaceChange), that an
// added namespace does I/O, and that host::discover sees subsystems come and go.
//
//   runtime_check TARGET_BIN SOCKET PORT NQN WORKDIR
// Prints "ok: ..." per step; exits 1 with "FAIL: ..." on the first failure.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "nvmefs/block_device.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/host/controller.hpp"

using namespace nvmefs;
using namespace nvmefs::host;
using Kind = NamespaceChange::Kind;

namespace {

constexpr auto kEventTimeout = std::chrono::seconds(10);
const char* const kKindNames[] = {"added", "removed", "resized"};

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "FAIL: %s\n", msg.c_str());
  std::exit(1);
}

struct Recorder : ControllerObserver {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<NamespaceChange> changes;

  void on_namespace_change(const NamespaceChange& c) override {
    {
      std::lock_guard lk(mu);
      changes.push_back(c);
    }
    cv.notify_all();
  }

  // The next change; fails unless it is `kind` of `nsid` within kEventTimeout.
  NamespaceChange expect(Kind kind, uint32_t nsid) {
    std::unique_lock lk(mu);
    if (!cv.wait_for(lk, kEventTimeout, [&] { return !changes.empty(); }))
      fail(fmt::format("no namespace change within 10 s (expected nsid {} {})", nsid, kKindNames[int(kind)]));
    NamespaceChange c = changes.front();
    changes.pop_front();
    if (c.kind != kind || c.nsid != nsid)
      fail(fmt::format("expected nsid {} {}, got nsid {} {}", nsid, kKindNames[int(kind)], c.nsid,
                       kKindNames[int(c.kind)]));
    return c;
  }
};

struct Ctl {
  std::string bin, socket;
  void run(const std::string& args) const {
    const std::string cmd = fmt::format("'{}' --control '{}' ctl {}", bin, socket, args);
    if (int rc = std::system(cmd.c_str()); rc != 0) fail(fmt::format("`ctl {}` exited with {}", args, rc));
  }
};

bool discovered(const ConnectOptions& opts, const std::string& nqn) {
  for (const auto& e : discover(opts))
    if (e.subnqn == nqn) return true;
  return false;
}

void check_io(Namespace& ns) {
  std::vector<uint8_t> out(4096), in(4096);
  for (size_t i = 0; i < out.size(); ++i) out[i] = uint8_t(i * 7 + ns.nsid());
  if (int r = submit_and_wait(ns, IoOp::Write, 4096, out.size(), out.data()); r != 0)
    fail(fmt::format("write to nsid {}: {}", ns.nsid(), std::strerror(-r)));
  if (int r = submit_and_wait(ns, IoOp::Read, 4096, in.size(), in.data()); r != 0)
    fail(fmt::format("read from nsid {}: {}", ns.nsid(), std::strerror(-r)));
  if (in != out) fail(fmt::format("nsid {}: read back differs from what was written", ns.nsid()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) fail("usage: runtime_check TARGET_BIN SOCKET PORT NQN WORKDIR");
  const Ctl ctl{argv[1], argv[2]};
  const std::string port = argv[3], nqn = argv[4], dir = argv[5];
  try {
    ConnectOptions opts;
    opts.target = {"tcp", "127.0.0.1", port, nqn};
    opts.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-0000000000c7";
    opts.connect_timeout_ms = 10000;
    opts.admin_timeout_ms = 10000;
    auto ctrl = Controller::connect(opts);
    auto recorder = std::make_shared<Recorder>();
    ctrl->set_observer(recorder);
    if (ctrl->namespaces().size() != 1) fail(fmt::format("{} namespaces at start, expected 1", ctrl->namespaces().size()));

    const auto t0 = std::chrono::steady_clock::now();
    auto ms = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    };

    ctl.run(fmt::format("ns-add 2 {}/ns2.img:4M", dir));
    auto c = recorder->expect(Kind::Added, 2);
    if (c.new_nsze != 4 * 1024 * 1024 / 512) fail(fmt::format("added nsid 2: nsze {}, expected 8192", c.new_nsze));
    auto ns2 = ctrl->ns(2);
    if (!ns2) fail("nsid 2 added but ns(2) is null");
    check_io(*ns2);
    std::printf("ok: ns-add 2 -> Added (nsze %llu), I/O works (%lld ms)\n", (unsigned long long)c.new_nsze,
                (long long)ms());

    ctl.run("ns-resize 2 6M");
    c = recorder->expect(Kind::Resized, 2);
    if (c.old_nsze != 8192 || c.new_nsze != 12288)
      fail(fmt::format("resized nsid 2: nsze {} -> {}, expected 8192 -> 12288", c.old_nsze, c.new_nsze));
    const uint64_t seen = ctrl->ns(2) ? uint64_t(ctrl->ns(2)->info().size_bytes) : 0;
    std::printf("ok: ns-resize 2 6M -> Resized 8192 -> 12288 (host size_bytes now %llu%s) (%lld ms)\n",
                (unsigned long long)seen, seen == 6u << 20 ? ", updated in place" : ", not updated in place",
                (long long)ms());

    ctl.run("ns-remove 2");
    recorder->expect(Kind::Removed, 2);
    if (ctrl->ns(2)) fail("nsid 2 removed but ns(2) still there");
    if (ctrl->namespaces().size() != 1) fail("after ns-remove 2: not back to one namespace");
    std::printf("ok: ns-remove 2 -> Removed (%lld ms)\n", (long long)ms());

    // A sparse NSID, memory backed: added, shrunk, removed.
    ctl.run("ns-add 7 ram:1M");
    c = recorder->expect(Kind::Added, 7);
    if (c.new_nsze != 2048) fail(fmt::format("added nsid 7: nsze {}, expected 2048", c.new_nsze));
    check_io(*ctrl->ns(7));
    std::printf("ok: ns-add 7 ram:1M -> Added, I/O works (%lld ms)\n", (long long)ms());
    ctl.run("ns-resize 7 512K");
    c = recorder->expect(Kind::Resized, 7);
    if (c.new_nsze != 1024) fail(fmt::format("resized nsid 7: nsze {}, expected 1024", c.new_nsze));
    ctl.run("ns-remove 7");
    recorder->expect(Kind::Removed, 7);
    std::printf("ok: ram namespace shrunk and removed (%lld ms)\n", (long long)ms());

    // Discovery: subsystems added and removed at runtime.
    const std::string nqn2 = nqn + "-added";
    if (discovered(opts, nqn2)) fail(nqn2 + " discovered before subsys-add");
    ctl.run(fmt::format("subsys-add {} --ns ram:2M", nqn2));
    if (!discovered(opts, nqn2)) fail(nqn2 + " not discovered after subsys-add");
    ConnectOptions o2 = opts;
    o2.target.subnqn = nqn2;
    {
      auto ctrl2 = Controller::connect(o2);
      if (ctrl2->namespaces().size() != 1) fail(nqn2 + ": expected one namespace");
      check_io(*ctrl2->namespaces()[0]);
    }
    ctl.run(fmt::format("subsys-remove {}", nqn2));
    if (discovered(opts, nqn2)) fail(nqn2 + " still discovered after subsys-remove");
    std::printf("ok: subsys-add/subsys-remove seen by discover, new subsystem does I/O (%lld ms)\n", (long long)ms());

    {
      std::lock_guard lk(recorder->mu);
      if (!recorder->changes.empty()) fail("unexpected namespace change at the end");
    }
    if (!ctrl->live()) fail("controller not live at the end");
    ctrl->disconnect();
  } catch (const Error& e) {
    fail(e.what());
  }
  std::printf("PASS\n");
  return 0;
}
