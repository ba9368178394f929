// End-to-end check of the initiator against a live NVMe/TCP target (the Linux
// kernel target in the VM, or nvmefs-target). Exits 0 when every check passed;
// prints one line per check. Driven by kernel_target.sh / bundled_target.sh.
//
//   initiator_check --traddr A --trsvcid P --nqn NQN [--transport tcp|rdma] [--discovery-port P]
//       [--model M] [--serial S] [--ns-size BYTES] [--digests] [--total BYTES]
//       [--pattern-out FILE] [--negative]
//       [--hostnqn NQN] [--dhchap-secret S] [--dhchap-ctrl-secret S]
//       [--expect-auth-failure TEXT]   (connect must fail: "authentication failed: ...TEXT...")
//   initiator_check --gen-dhchap-key TRANSFORM --hostnqn NQN   (prints a new DHHC-1 secret)
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/common/size_parse.hpp"
#include "nvmefs/host/controller.hpp"
#include "nvmefs/host/dhchap.hpp"

using namespace nvmefs;
using Clock = std::chrono::steady_clock;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  fmt::print("{} {}\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Args {
  host::ConnectOptions opts;
  std::string discovery_port, model, serial, pattern_out, expect_auth_failure;
  uint64_t ns_size = 0, total = 64ull << 20;
  int gen_dhchap_key = -1;
  bool negative = false;
};

Args parse_args(int argc, char** argv) {
  Args a;
  a.opts.target.trsvcid = "4420";
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) throw Error("missing value for " + k);
      return argv[++i];
    };
    if (k == "--traddr") a.opts.target.traddr = val();
    else if (k == "--trsvcid") a.opts.target.trsvcid = val();
    else if (k == "--transport") a.opts.target.trtype = val();  // tcp (default) or rdma
    else if (k == "--nqn") a.opts.target.subnqn = val();
    else if (k == "--discovery-port") a.discovery_port = val();
    else if (k == "--model") a.model = val();
    else if (k == "--serial") a.serial = val();
    else if (k == "--ns-size") a.ns_size = parse_size(val()).value_or(0);
    else if (k == "--total") a.total = parse_size(val()).value_or(0);
    else if (k == "--pattern-out") a.pattern_out = val();
    else if (k == "--digests") a.opts.hdr_digest = a.opts.data_digest = true;
    else if (k == "--negative") a.negative = true;
    else if (k == "--hostnqn") a.opts.hostnqn = val();
    else if (k == "--dhchap-secret") a.opts.dhchap_secret = val();
    else if (k == "--dhchap-ctrl-secret") a.opts.dhchap_ctrl_secret = val();
    else if (k == "--expect-auth-failure") a.expect_auth_failure = val();
    else if (k == "--gen-dhchap-key") a.gen_dhchap_key = std::stoi(val());
    else if (k == "--debug") log::set_level(log::Level::Trace), a.opts.trace = true;
    else throw Error("unknown argument " + k);
  }
  if (a.gen_dhchap_key >= 0) return a;
  if (a.opts.target.traddr.empty() || a.opts.target.subnqn.empty()) throw Error("--traddr and --nqn are required");
  if (a.discovery_port.empty()) a.discovery_port = a.opts.target.trsvcid;
  a.opts.queue_size = 256;
  return a;
}

// Keeps up to `qd` requests in flight over a list of (offset, length) extents.
class Pump {
 public:
  Pump(BlockDevice& dev, unsigned qd) : dev_(dev), slots_(qd) {}

  // Returns the first error (0 if none).
  int run(IoOp op, const std::vector<std::pair<uint64_t, uint64_t>>& extents, uint8_t* base) {
    size_t next = 0;
    int err = 0;
    std::unique_lock lk(mu_);
    for (;;) {
      while (inflight_ < slots_.size() && next < extents.size()) {
        IoRequest* r = free_slot();
        r->op = op;
        r->offset = extents[next].first;
        r->length = extents[next].second;
        r->buf = base + r->offset;
        r->user = this;
        r->done = [](IoRequest* req) {
          auto* p = static_cast<Pump*>(req->user);
          std::lock_guard g(p->mu_);
          if (req->result && !p->err_) p->err_ = req->result;
          req->user = nullptr;  // free
          --p->inflight_;
          p->cv_.notify_one();
        };
        ++inflight_;
        ++next;
        lk.unlock();
        dev_.submit(r);
        lk.lock();
      }
      if (next == extents.size() && inflight_ == 0) break;
      cv_.wait(lk);
    }
    err = err_;
    err_ = 0;
    return err;
  }

 private:
  IoRequest* free_slot() {
    for (auto& s : slots_)
      if (!s.user) return &s;
    return nullptr;
  }
  BlockDevice& dev_;
  std::vector<IoRequest> slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t inflight_ = 0;
  int err_ = 0;
};

// Carves [0, total) into extents of 1 LBA .. 1 MiB (log-uniform), shuffled.
std::vector<std::pair<uint64_t, uint64_t>> carve(uint64_t total, uint32_t lba, std::mt19937_64& rng) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  std::uniform_int_distribution<int> shift(0, 20 - __builtin_ctz(lba));
  for (uint64_t off = 0; off < total;) {
    uint64_t max = std::uniform_int_distribution<uint64_t>(1, 2)(rng) * (uint64_t(lba) << shift(rng)) / 2;
    uint64_t len = std::min<uint64_t>(std::max<uint64_t>(max, lba), total - off);
    out.emplace_back(off, len);
    off += len;
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

void random_io(host::Namespace& ns, uint64_t total, uint64_t base_off) {
  const uint32_t lba = ns.info().block_size;
  total = std::min(total, ns.info().size_bytes - base_off) / lba * lba;
  std::vector<uint8_t> shadow(total), readback(total);
  std::mt19937_64 rng(42);
  for (unsigned qd : {1u, 32u, 128u}) {
    for (auto& b : shadow) b = uint8_t(rng());
    auto wr = carve(total, lba, rng);
    for (auto& e : wr) e.first += base_off;
    Pump pump(ns, qd);
    auto t0 = Clock::now();
    int err = pump.run(IoOp::Write, wr, shadow.data() - base_off);
    double wt = seconds_since(t0);
    auto rd = carve(total, lba, rng);
    for (auto& e : rd) e.first += base_off;
    std::fill(readback.begin(), readback.end(), 0xEE);
    t0 = Clock::now();
    int rerr = pump.run(IoOp::Read, rd, readback.data() - base_off);
    double rt = seconds_since(t0);
    check(err == 0 && rerr == 0 && shadow == readback,
          fmt::format("QD {:3}: {} MiB written in {} commands ({:.1f} MB/s, {:.0f} IOPS), read back in {} ({:.1f} MB/s, "
                      "{:.0f} IOPS){}",
                      qd, total >> 20, wr.size(), total / wt / 1e6, wr.size() / wt, rd.size(), total / rt / 1e6,
                      rd.size() / rt,
                      err || rerr ? fmt::format(" errors {} {}", err, rerr)
                                  : shadow == readback ? "" : " DATA MISMATCH"));
  }
}

void zeroes_and_flush(host::Namespace& ns, uint64_t off) {
  const auto& info = ns.info();
  const uint64_t len = 1 << 20;
  std::vector<uint8_t> buf(len, 0xA5), zero(len, 0);
  if (info.can_write_zeroes) {
    submit_and_wait(ns, IoOp::Write, off, len, buf.data());
    int r = submit_and_wait(ns, IoOp::WriteZeroes, off, len, nullptr);
    submit_and_wait(ns, IoOp::Read, off, len, buf.data());
    check(r == 0 && buf == zero, fmt::format("write zeroes of 1 MiB reads back zeros (result {})", r));
  } else {
    fmt::print("skip write zeroes: not supported by the controller\n");
  }
  if (info.can_deallocate) {
    std::fill(buf.begin(), buf.end(), 0x5A);
    submit_and_wait(ns, IoOp::Write, off, len, buf.data());
    int r = submit_and_wait(ns, IoOp::Deallocate, off, len, nullptr);
    submit_and_wait(ns, IoOp::Read, off, len, buf.data());
    if (info.deallocate_reads_zeroes)
      check(r == 0 && buf == zero, fmt::format("deallocate of 1 MiB reads back zeros (result {})", r));
    else
      check(r == 0, fmt::format("deallocate of 1 MiB succeeds (result {}; reads of deallocated blocks unspecified)", r));
  }
  int r = submit_and_wait(ns, IoOp::Flush, 0, 0, nullptr);
  check(r == 0, fmt::format("flush (result {})", r));
}

// The last MiB of the namespace gets a known pattern; the script compares it with the target's backing file.
void write_pattern(host::Namespace& ns, const std::string& out) {
  const uint64_t len = 1 << 20, off = ns.info().size_bytes - len;
  std::vector<uint8_t> buf(len);
  for (uint64_t i = 0; i < len; ++i) buf[i] = uint8_t((i * 7 + 13) ^ (i >> 9));
  int r = submit_and_wait(ns, IoOp::Write, off, len, buf.data(), kIoFua);
  int f = submit_and_wait(ns, IoOp::Flush, 0, 0, nullptr);
  std::ofstream(out, std::ios::binary).write(reinterpret_cast<const char*>(buf.data()), std::streamsize(len));
  check(r == 0 && f == 0, fmt::format("pattern written at offset {} (FUA, then flush)", off));
  fmt::print("pattern-offset {}\n", off);
}

// Expects Controller::connect to fail with a message containing `needle` within `limit_s`.
void expect_connect_error(const host::ConnectOptions& o, const std::string& needle, double limit_s,
                          const std::string& what) {
  auto t0 = Clock::now();
  std::string msg = "connected";
  try {
    auto c = host::Controller::connect(o);
  } catch (const Error& e) {
    msg = e.what();
  }
  double t = seconds_since(t0);
  check(msg.find(needle) != std::string::npos && t < limit_s,
        fmt::format("{}: \"{}\" after {:.2f} s", what, msg, t));
}

// Connect must fail with one line "authentication failed: ..." that mentions `why`.
int expect_auth_failure(const host::ConnectOptions& o, const std::string& why) {
  auto t0 = Clock::now();
  std::string msg = "connected";
  try {
    auto c = host::Controller::connect(o);
  } catch (const Error& e) {
    msg = e.what();
  }
  const bool ok = msg.rfind("authentication failed: ", 0) == 0 && msg.find(why) != std::string::npos &&
                  msg.find('\n') == std::string::npos;
  check(ok, fmt::format("connect refused after {:.2f} s: \"{}\"", seconds_since(t0), msg));
  return ok ? 0 : 1;
}

void negative_cases(const Args& a) {
  host::ConnectOptions o = a.opts;
  o.target.subnqn = a.opts.target.subnqn + ".does-not-exist";
  expect_connect_error(o, "not found", 10, "wrong subsystem NQN");

  // A port nobody listens on: bind an ephemeral port, then close it.
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof sa;
  ::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&sa), &sl);
  ::close(s);
  o = a.opts;
  o.target.traddr = "127.0.0.1";
  o.target.trsvcid = std::to_string(ntohs(sa.sin_port));
  expect_connect_error(o, "Connection refused", 2, "closed port");

  // A listener that never accepts and whose backlog is full: SYNs are dropped,
  // exactly like an unreachable address, but local.
  int l = ::socket(AF_INET, SOCK_STREAM, 0);
  sa.sin_port = 0;
  ::bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::listen(l, 0);
  ::getsockname(l, reinterpret_cast<sockaddr*>(&sa), &sl);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(f, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    fillers.push_back(f);
  }
  o.target.trsvcid = std::to_string(ntohs(sa.sin_port));
  o.connect_timeout_ms = 2000;
  expect_connect_error(o, "timed out", 4, "unresponsive listener (connect_timeout_ms 2000)");
  for (int f : fillers) ::close(f);
  ::close(l);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args a = parse_args(argc, argv);
    if (a.gen_dhchap_key >= 0) {
      fmt::print("{}\n", host::generate_dhchap_secret(uint8_t(a.gen_dhchap_key), 0, a.opts.hostnqn));
      return 0;
    }
    fmt::print("target {}:{} {} digests {}\n", a.opts.target.traddr, a.opts.target.trsvcid, a.opts.target.subnqn,
               a.opts.hdr_digest ? "on" : "off");
    if (!a.expect_auth_failure.empty()) return expect_auth_failure(a.opts, a.expect_auth_failure);
    auto t0 = Clock::now();
    auto ctrl = host::Controller::connect(a.opts);
    const auto& ci = ctrl->info();
    fmt::print("connected in {:.2f} s: cntlid {} model '{}' serial '{}' fw '{}' subnqn '{}' mdts {} ioccsz {} "
               "maxh2cdata {} queues {}x{} kato {} ms digests {}/{}\n",
               seconds_since(t0), ci.cntlid, ci.model, ci.serial, ci.firmware, ci.subnqn, ci.mdts_bytes,
               ci.ioccsz_bytes, ci.maxh2cdata, ci.nr_io_queues, ci.queue_size, ci.kato_ms, ci.header_digest,
               ci.data_digest);
    check(ci.subnqn == a.opts.target.subnqn, "subsystem NQN matches");
    check(ci.header_digest == a.opts.hdr_digest && ci.data_digest == a.opts.data_digest, "digests as requested");
    if (!a.model.empty()) check(ci.model == a.model, fmt::format("model is '{}'", a.model));
    if (!a.serial.empty()) check(ci.serial == a.serial, fmt::format("serial is '{}'", a.serial));
    auto nss = ctrl->namespaces();
    check(!nss.empty(), fmt::format("{} namespace(s)", nss.size()));
    for (auto& n : nss)
      fmt::print("namespace {}: {} bytes, {}-byte LBAs, max transfer {}, vwc {} wz {} dealloc {} (zeroes {})\n",
                 n->nsid(), n->info().size_bytes, n->info().block_size, n->info().max_transfer,
                 n->info().volatile_write_cache, n->info().can_write_zeroes, n->info().can_deallocate,
                 n->info().deallocate_reads_zeroes);
    if (a.ns_size && !nss.empty()) check(nss[0]->info().size_bytes == a.ns_size, fmt::format("namespace size {}", a.ns_size));

    host::ConnectOptions d = a.opts;
    d.target.trsvcid = a.discovery_port;
    auto entries = host::discover(d);
    bool found = false;
    for (auto& e : entries) {
      fmt::print("discovery: {} {} {}:{} {}\n", wire::trtype_name(e.trtype), wire::subtype_name(e.subtype), e.traddr,
                 e.trsvcid, e.subnqn);
      found |= e.subnqn == a.opts.target.subnqn;
    }
    check(found, fmt::format("discovery log ({} entries) lists the subsystem", entries.size()));

    if (!nss.empty()) {
      auto& ns = *nss[0];
      random_io(ns, a.total, 0);
      zeroes_and_flush(ns, ns.info().size_bytes / 2);
      if (!a.pattern_out.empty()) write_pattern(ns, a.pattern_out);
      std::vector<uint8_t> odd(1000);
      check(submit_and_wait(ns, IoOp::Read, 0, 1000, odd.data()) == -EINVAL, "unaligned length gives -EINVAL");
    }
    t0 = Clock::now();
    ctrl->disconnect();
    check(!ctrl->live(), fmt::format("orderly disconnect in {:.2f} s", seconds_since(t0)));
    if (a.negative) negative_cases(a);
  } catch (const Error& e) {
    fmt::print("FAIL {}\n", e.what());
    return 1;
  }
  fmt::print("{}\n", failures ? fmt::format("{} check(s) FAILED", failures) : std::string("PASS"));
  return failures ? 1 : 0;
}
