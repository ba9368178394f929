// Drives the initiator (src/host) against a target that may misbehave and
// reports how each step ended, one line each. Used by malicious_target.sh.
//
//   hostile_probe --traddr A --trsvcid P --nqn NQN [--digests] [--discovery]
//       [--io-timeout-ms MS] [--admin-timeout-ms MS] [--connect-timeout-ms MS]
//       [--reads N] [--write-bytes BYTES] [--ctrl-loss-tmo S] [--debug]
//
// Steps: [discovery], connect, write N x 4 KiB in-capsule and read them back,
// write BYTES (large writes go by R2T/H2CData) and read them back.
// Exit status: 0 = every step succeeded,
// 1 = a step failed with an error (printed as "error: <step>: <message>"),
// 2 = bad usage, 3 = data read back differs from what was written.
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/common/size_parse.hpp"
#include "nvmefs/host/controller.hpp"

using namespace nvmefs;

namespace {

struct Args {
  host::ConnectOptions opts;
  bool discovery = false;
  uint64_t reads = 8;
  uint64_t write_bytes = 0;
};

Args parse_args(int argc, char** argv) {
  Args a;
  a.opts.nr_io_queues = 2;
  a.opts.io_timeout_ms = 4000;
  a.opts.admin_timeout_ms = 4000;
  a.opts.connect_timeout_ms = 4000;
  a.opts.ctrl_loss_tmo = 5;
  a.opts.reconnect_delay = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) throw Error("missing value for " + k);
      return argv[++i];
    };
    auto num = [&]() -> uint64_t {
      const std::string v = val();
      auto n = parse_size(v);
      if (!n) throw Error(fmt::format("{}: '{}' is not a number", k, v));
      return *n;
    };
    if (k == "--traddr") a.opts.target.traddr = val();
    else if (k == "--trsvcid") a.opts.target.trsvcid = val();
    else if (k == "--nqn") a.opts.target.subnqn = val();
    else if (k == "--digests") a.opts.hdr_digest = a.opts.data_digest = true;
    else if (k == "--discovery") a.discovery = true;
    else if (k == "--io-timeout-ms") a.opts.io_timeout_ms = uint32_t(num());
    else if (k == "--admin-timeout-ms") a.opts.admin_timeout_ms = uint32_t(num());
    else if (k == "--connect-timeout-ms") a.opts.connect_timeout_ms = uint32_t(num());
    else if (k == "--reads") a.reads = num();
    else if (k == "--ctrl-loss-tmo") a.opts.ctrl_loss_tmo = int32_t(num());
    else if (k == "--write-bytes") a.write_bytes = num();
    else if (k == "--debug") log::set_level(log::Level::Trace), a.opts.trace = true;
    else throw Error("unknown argument " + k);
  }
  if (a.opts.target.traddr.empty() || a.opts.target.subnqn.empty()) throw Error("--traddr and --nqn are required");
  return a;
}

// A failed step. Thrown out of run() so that the controller is torn down
// (its threads joined, their log lines written) before main prints it.
struct StepFailed {
  std::string line;
};

[[noreturn]] void step_failed(const std::string& step, const std::string& why) {
  throw StepFailed{fmt::format("error: {}: {}", step, why)};
}

void check_io(const std::string& step, int r) {
  if (r != 0) step_failed(step, fmt::format("{} ({})", std::strerror(-r), r));
}

int run(const Args& a) {
  const auto t0 = std::chrono::steady_clock::now();
  if (a.discovery) {
    std::vector<wire::DiscoveryEntry> entries;
    try {
      entries = host::discover(a.opts);
    } catch (const Error& e) {
      step_failed("discovery", e.what());
    }
    fmt::print("ok discovery: {} entries\n", entries.size());
  }
  std::unique_ptr<host::Controller> ctrl;
  try {
    ctrl = host::Controller::connect(a.opts);
  } catch (const Error& e) {
    step_failed("connect", e.what());
  }
  const auto nss = ctrl->namespaces();
  if (nss.empty()) step_failed("connect", "no usable namespace");
  host::Namespace& ns = *nss[0];
  const auto& info = ns.info();
  fmt::print("ok connect: mdts {} namespace {}: {} bytes, {}-byte blocks\n", ctrl->info().mdts_bytes, ns.nsid(),
             info.size_bytes, info.block_size);

  // N in-capsule writes of a pattern, then N reads that must return it: I/O
  // commands 1..N are writes, N+1..2N reads (what --fault-malformed counts).
  const uint64_t block = std::max<uint64_t>(info.block_size, 4096);
  const uint64_t blocks = std::min(a.reads, info.size_bytes / block);
  std::vector<uint8_t> pattern(blocks * block), back(blocks * block);
  for (uint64_t i = 0; i < pattern.size(); ++i) pattern[i] = uint8_t(i * 13 + (i >> 12));
  for (uint64_t i = 0; i < blocks; ++i)
    check_io(fmt::format("write {}", i), submit_and_wait(ns, IoOp::Write, i * block, block, &pattern[i * block]));
  for (uint64_t i = 0; i < blocks; ++i)
    check_io(fmt::format("read {}", i), submit_and_wait(ns, IoOp::Read, i * block, block, &back[i * block]));
  if (back != pattern) {
    fmt::print("error: reads: data differs from what was written\n");
    return 3;  // not a StepFailed: wrong data is worse than an error
  }
  fmt::print("ok reads: {} blocks read back\n", blocks);

  if (a.write_bytes) {
    const uint64_t len = a.write_bytes / info.block_size * info.block_size;
    std::vector<uint8_t> out(len), big_back(len);
    for (uint64_t i = 0; i < len; ++i) out[i] = uint8_t(i * 31 + 7);
    check_io("write", submit_and_wait(ns, IoOp::Write, 0, len, out.data()));
    check_io("read back", submit_and_wait(ns, IoOp::Read, 0, len, big_back.data()));
    if (out != big_back) {
      fmt::print("error: read back: data differs from what was written\n");
      return 3;
    }
    fmt::print("ok write: {} bytes read back\n", len);
  }
  ctrl->disconnect();
  fmt::print("ok all steps in {:.2f} s\n",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  try {
    a = parse_args(argc, argv);
  } catch (const Error& e) {
    fmt::print(stderr, "hostile_probe: {}\n", e.what());
    return 2;
  }
  try {
    return run(a);
  } catch (const StepFailed& f) {
    fmt::print("{}\n", f.line);
    return 1;
  }
}
