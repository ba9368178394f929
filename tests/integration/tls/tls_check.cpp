// End-to-end check of NVMe/TCP over TLS against nvmefs-target --tls (driven by
// tls_bundled.sh). Prints one line per check; exits 0 when all passed.
//
//   tls_check --traddr A --trsvcid P --nqn NQN --hostnqn H [--tls-key KEY | --plain]
//             [--expect-fail TEXT]   connect must fail within 5 s with TEXT in the message
//             [--discovery]          check the discovery log entries ask for TLS 1.3
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"
#include "nvmefs/host/controller.hpp"

using namespace nvmefs;
using Clock = std::chrono::steady_clock;

namespace {

int passes = 0, failures = 0;

void check(bool ok, const std::string& what) {
  fmt::print("{} {}\n", ok ? "ok  " : "FAIL", what);
  ++(ok ? passes : failures);
}

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t((i * 2654435761u + seed) >> 13);
  return v;
}

// Writes and reads back buffers of sizes around the TLS record size, in-capsule
// and R2T, one at a time and then 32 at once (reader and writer busy together).
void write_read_verify(host::Namespace& ns) {
  uint64_t offset = 0;
  for (size_t n : {size_t(512), size_t(4096), size_t(16384), size_t(20480), size_t(131072), size_t(1) << 20}) {
    auto out = pattern(n, uint32_t(n));
    std::vector<uint8_t> in(n);
    const int w = submit_and_wait(ns, IoOp::Write, offset, n, out.data());
    const int r = submit_and_wait(ns, IoOp::Read, offset, n, in.data());
    check(w == 0 && r == 0 && in == out, fmt::format("write/read/verify {} bytes over TLS", n));
    offset += std::max<size_t>(n, 4096);
  }
  constexpr int kBatch = 32;
  constexpr size_t kLen = 65536;
  std::vector<std::vector<uint8_t>> out, in(kBatch, std::vector<uint8_t>(kLen));
  for (int i = 0; i < kBatch; ++i) out.push_back(pattern(kLen, uint32_t(i) * 7 + 1));
  auto run_batch = [&](IoOp op, std::vector<std::vector<uint8_t>>& bufs) {
    std::atomic<int> left{kBatch}, errors{0};
    std::vector<IoRequest> reqs(kBatch);
    for (int i = 0; i < kBatch; ++i) {
      IoRequest& q = reqs[size_t(i)];
      q.op = op;
      q.offset = (8u << 20) + uint64_t(i) * kLen;
      q.length = kLen;
      q.buf = bufs[size_t(i)].data();
      q.user = &left;
      q.done = [](IoRequest* r) { static_cast<std::atomic<int>*>(r->user)->fetch_sub(1); };
      ns.submit(&q);
    }
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (left.load() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (auto& q : reqs) errors += q.result != 0;
    return left.load() == 0 && errors.load() == 0;
  };
  const bool w = run_batch(IoOp::Write, out);
  const bool r = run_batch(IoOp::Read, in);
  check(w && r && in == out, fmt::format("{} concurrent 64 KiB writes then reads, verified", kBatch));
}

}  // namespace

int main(int argc, char** argv) {
  host::ConnectOptions opts;
  std::string expect_fail;
  bool discovery = false, plain = false;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "tls_check: {} needs a value\n", k);
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--traddr") opts.target.traddr = value();
    else if (k == "--trsvcid") opts.target.trsvcid = value();
    else if (k == "--nqn") opts.target.subnqn = value();
    else if (k == "--hostnqn") opts.hostnqn = value();
    else if (k == "--tls-key") opts.tls_key = value();
    else if (k == "--plain") plain = true;
    else if (k == "--expect-fail") expect_fail = value();
    else if (k == "--discovery") discovery = true;
    else {
      fmt::print(stderr, "tls_check: unknown argument {}\n", k);
      return 2;
    }
  }
  opts.tls = !plain;
  opts.nr_io_queues = 2;
  opts.connect_timeout_ms = 10000;

  const auto t0 = Clock::now();
  try {
    if (discovery) {
      const auto entries = host::discover(opts);
      check(!entries.empty(), fmt::format("discovery over TLS: {} entries", entries.size()));
      for (const auto& e : entries)
        check(e.tcp_sectype == 2 && (e.treq & 0x3) == 1,
              fmt::format("discovery entry {}: TSAS sectype {} (TLS 1.3 = 2), TREQ secure channel {} (required = 1)",
                          e.subnqn, e.tcp_sectype, e.treq & 0x3));
    } else {
      auto ctrl = host::Controller::connect(opts);
      check(expect_fail.empty(), "connect succeeded");
      if (expect_fail.empty()) {
        auto ns = ctrl->ns(1);
        check(ns != nullptr, "namespace 1 present");
        if (ns) write_read_verify(*ns);
        ctrl->disconnect();
      }
    }
  } catch (const Error& e) {
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    fmt::print("connect error ({:.2f} s): {}\n", s, e.what());
    check(!expect_fail.empty() && std::string(e.what()).find(expect_fail) != std::string::npos,
          fmt::format("fails with '{}'", expect_fail.empty() ? "(no failure expected)" : expect_fail));
    check(s < 5.0, fmt::format("failure came fast ({:.2f} s < 5 s)", s));
  }
  fmt::print("{} passed, {} failed\n", passes, failures);
  return failures ? 1 : 0;
}
