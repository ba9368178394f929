// Verify workload for the reliability tests: keeps QD requests in flight over
// one namespace (random 4 KiB writes of a (block, generation) pattern and
// reads checked against the last acknowledged generation, one request per
// block at a time), while the script kills, restarts and cuts the target.
// Prints each outage (wall-clock ms, to match the script's restart times),
// then "ops= io_errors= mismatches= ...". Exit 0 when nothing failed.
//
//   --verify  (default) run --seconds, then read every block back and check it
//   --gone    run until the controller is dead (the target went away for good);
//             report when the blocked requests returned and that new I/O
//             fails at once with EIO
//   --path ADDR:PORT (repeatable) more paths to the same subsystem: the
//             namespace is a MultipathNamespace (host/multipath.hpp)
//             with --iopolicy round-robin|queue-depth
#include <getopt.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "nvmefs/block_device.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/host/controller.hpp"
#include "nvmefs/host/multipath.hpp"

using namespace nvmefs;
using namespace nvmefs::host;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint32_t kBlock = 4096;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void fill_pattern(uint8_t* p, uint64_t block, uint32_t gen) {
  for (uint32_t i = 0; i < kBlock; i += 8) {
    const uint64_t v = (block << 32 | gen) * 0x9E3779B97F4A7C15ull + i;
    std::memcpy(p + i, &v, 8);
  }
}

struct Outages : ControllerObserver {
  std::mutex mu;
  int64_t lost_at = 0;
  int count = 0;
  void on_state_change(ControllerState s) override {
    std::lock_guard lk(mu);
    if (s == ControllerState::Connecting && !lost_at) lost_at = wall_ms();
    if (s == ControllerState::Live && lost_at) {
      std::printf("outage %d: lost_at_ms=%lld live_at_ms=%lld\n", ++count, (long long)lost_at, (long long)wall_ms());
      std::fflush(stdout);
      lost_at = 0;
    }
    if (s == ControllerState::Dead) std::printf("dead_at_ms=%lld\n", (long long)wall_ms());
  }
};

struct Workload {
  BlockDevice& dev;
  uint64_t blocks;
  std::vector<uint32_t> gen;   // last acknowledged generation per block (0 = unknown content)
  std::vector<uint8_t> busy;
  std::mutex mu;
  std::condition_variable cv;
  uint64_t ops = 0, io_errors = 0, mismatches = 0, max_latency_ms = 0;
  int first_error = 0;
  int64_t last_done_wall = 0;

  struct Slot {
    Workload* w;
    IoRequest req;
    std::vector<uint8_t> buf = std::vector<uint8_t>(kBlock);
    uint64_t block = 0;
    uint32_t gen = 0;
    Clock::time_point start;
    bool busy = false;
  };
  std::vector<Slot> slots;

  Workload(BlockDevice& d, uint64_t nblocks, unsigned qd) : dev(d), blocks(nblocks), gen(nblocks), busy(nblocks), slots(qd) {}

  static void done(IoRequest* r) {
    auto* s = static_cast<Slot*>(r->user);
    s->w->complete(*s);
  }
  void complete(Slot& s) {
    std::lock_guard lk(mu);
    ++ops;
    const uint64_t ms = uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - s.start).count());
    max_latency_ms = std::max(max_latency_ms, ms);
    last_done_wall = wall_ms();
    if (s.req.result != 0) {
      if (!io_errors++) first_error = s.req.result;
      if (s.req.op == IoOp::Write) gen[s.block] = 0;  // unknown now
    } else if (s.req.op == IoOp::Write) {
      gen[s.block] = s.gen;
    } else if (gen[s.block] != 0) {
      std::vector<uint8_t> want(kBlock);
      fill_pattern(want.data(), s.block, gen[s.block]);
      if (std::memcmp(want.data(), s.buf.data(), kBlock) != 0 && !mismatches++)
        std::fprintf(stderr, "verify mismatch at block %llu (generation %u)\n", (unsigned long long)s.block,
                     gen[s.block]);
    }
    busy[s.block] = 0;
    s.busy = false;
    cv.notify_all();
  }
  // Submits one request on a free slot (waits for one); false at the deadline.
  bool submit_one(std::mt19937_64& rng, Clock::time_point until, bool write_only, uint64_t forced_block) {
    std::unique_lock lk(mu);
    Slot* s = nullptr;
    if (!cv.wait_until(lk, until, [&] {
          for (auto& x : slots)
            if (!x.busy) return (s = &x), true;
          return false;
        }))
      return false;
    uint64_t b = forced_block;
    if (b == UINT64_MAX)
      do b = rng() % blocks; while (busy[b]);
    else if (busy[b])
      return cv.wait_until(lk, until, [&] { return !busy[b]; }) && (lk.unlock(), submit_one(rng, until, write_only, b));
    busy[b] = 1;
    s->busy = true;
    s->w = this;
    s->block = b;
    const bool write = write_only || (rng() & 1);
    s->req.flags = 0;
    s->req.op = write ? IoOp::Write : IoOp::Read;
    s->req.offset = b * kBlock;
    s->req.length = kBlock;
    s->req.buf = s->buf.data();
    s->req.done = done;
    s->req.user = s;
    if (write) {
      s->gen = gen[b] + 1 + uint32_t(rng() % 1000);
      fill_pattern(s->buf.data(), b, s->gen);
    }
    s->start = Clock::now();
    lk.unlock();
    dev.submit(&s->req);
    return true;
  }
  bool drain(Clock::time_point until) {
    std::unique_lock lk(mu);
    return cv.wait_until(lk, until, [&] {
      for (auto& x : slots)
        if (x.busy) return false;
      return true;
    });
  }
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: reliability_check --traddr A --trsvcid P --nqn NQN [--verify|--gone] [--seconds N]\n"
               "       [--size BYTES (plain number)] [--qd N] [--ctrl-loss-tmo S] [--reconnect-delay S] [--fast-io-fail-tmo S]\n"
               "       [--path ADDR:PORT]... [--iopolicy round-robin|queue-depth]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  ConnectOptions o;
  o.nr_io_queues = 2;
  o.reconnect_delay = 1;
  o.ctrl_loss_tmo = 60;
  bool gone = false;
  unsigned seconds = 30, qd = 16;
  uint64_t size = 16u << 20;
  std::vector<TransportId> extra_paths;
  IoPolicy policy = IoPolicy::RoundRobin;
  static const option longopts[] = {
      {"traddr", 1, nullptr, 'a'}, {"trsvcid", 1, nullptr, 'p'}, {"nqn", 1, nullptr, 'n'},
      {"verify", 0, nullptr, 'v'}, {"gone", 0, nullptr, 'g'}, {"seconds", 1, nullptr, 's'},
      {"size", 1, nullptr, 'z'}, {"qd", 1, nullptr, 'q'}, {"ctrl-loss-tmo", 1, nullptr, 'l'},
      {"reconnect-delay", 1, nullptr, 'r'}, {"fast-io-fail-tmo", 1, nullptr, 'f'},
      {"path", 1, nullptr, 'P'}, {"iopolicy", 1, nullptr, 'i'}, {nullptr, 0, nullptr, 0}};
  for (int c; (c = getopt_long(argc, argv, "", longopts, nullptr)) != -1;) {
    switch (c) {
      case 'a': o.target.traddr = optarg; break;
      case 'p': o.target.trsvcid = optarg; break;
      case 'n': o.target.subnqn = optarg; break;
      case 'v': gone = false; break;
      case 'g': gone = true; break;
      case 's': seconds = unsigned(std::stoul(optarg)); break;
      case 'z': size = std::stoull(optarg); break;
      case 'q': qd = unsigned(std::stoul(optarg)); break;
      case 'l': o.ctrl_loss_tmo = std::stoi(optarg); break;
      case 'r': o.reconnect_delay = unsigned(std::stoul(optarg)); break;
      case 'f': o.fast_io_fail_tmo = std::stoi(optarg); break;
      case 'P': {
        const std::string v = optarg;
        const size_t colon = v.rfind(':');
        if (colon == std::string::npos) usage();
        extra_paths.push_back({"tcp", v.substr(0, colon), v.substr(colon + 1), ""});
        break;
      }
      case 'i':
        if (std::string(optarg) == "queue-depth") policy = IoPolicy::QueueDepth;
        else if (std::string(optarg) != "round-robin") usage();
        break;
      default: usage();
    }
  }
  if (o.target.traddr.empty() || o.target.subnqn.empty()) usage();
  std::unique_ptr<Controller> ctrl;
  try {
    if (extra_paths.empty()) {
      ctrl = Controller::connect(o);
    } else {
      std::vector<TransportId> paths{o.target};
      paths.insert(paths.end(), extra_paths.begin(), extra_paths.end());
      ctrl = connect_multipath(o, paths, policy);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  auto outages = std::make_shared<Outages>();
  ctrl->set_observer(outages);
  auto ns = ctrl->namespaces().at(0);
  size = std::min<uint64_t>(size, ns->info().size_bytes) / kBlock * kBlock;
  if (size == 0) usage();
  Workload w(*ns, size / kBlock, qd);
  std::mt19937_64 rng{uint64_t(wall_ms())};
  const auto end = Clock::now() + std::chrono::seconds(seconds);

  for (uint64_t b = 0; b < w.blocks; ++b) w.submit_one(rng, end, true, b);  // every block gets a known pattern
  std::printf("filled %llu blocks\n", (unsigned long long)w.blocks);
  std::fflush(stdout);
  while (Clock::now() < end) {
    if (gone && ctrl->state() == ControllerState::Dead) break;
    w.submit_one(rng, end, false, UINT64_MAX);
  }
  const bool drained = w.drain(Clock::now() + std::chrono::seconds(120));
  int status = 0;
  if (!drained) {
    std::printf("FAIL requests still blocked 120 s after the end\n");
    return 1;
  }
  if (gone) {
    std::vector<uint8_t> buf(kBlock);
    const auto t0 = Clock::now();
    const int r = submit_and_wait(*ns, IoOp::Read, 0, kBlock, buf.data());
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    std::printf("state=%s new_io=%d new_io_ms=%lld last_blocked_done_ms=%lld io_errors=%llu first_error=%d\n",
                controller_state_name(ctrl->state()), r, (long long)ms, (long long)w.last_done_wall,
                (unsigned long long)w.io_errors, w.first_error);
    status = ctrl->state() == ControllerState::Dead && r == -EIO && ms < 100 ? 0 : 1;
  } else {
    // Read every block back over the (recovered) connection.
    std::vector<uint8_t> buf(kBlock), want(kBlock);
    uint64_t bad = 0;
    for (uint64_t b = 0; b < w.blocks; ++b) {
      if (submit_and_wait(*ns, IoOp::Read, b * kBlock, kBlock, buf.data()) != 0) {
        ++w.io_errors;
        continue;
      }
      if (!w.gen[b]) continue;
      fill_pattern(want.data(), b, w.gen[b]);
      bad += std::memcmp(want.data(), buf.data(), kBlock) != 0;
    }
    w.mismatches += bad;
    const auto st = ctrl->stats();
    std::printf("ops=%llu io_errors=%llu mismatches=%llu max_latency_ms=%llu reconnects=%llu attempts=%llu state=%s\n",
                (unsigned long long)w.ops, (unsigned long long)w.io_errors, (unsigned long long)w.mismatches,
                (unsigned long long)w.max_latency_ms, (unsigned long long)st.reconnects,
                (unsigned long long)st.reconnect_attempts, controller_state_name(st.state));
    if (w.io_errors) std::printf("first error: %s\n", std::strerror(-w.first_error));
    status = w.io_errors == 0 && w.mismatches == 0 ? 0 : 1;
  }
  ctrl->set_observer(nullptr);
  return status;
}
