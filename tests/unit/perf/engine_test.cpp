#include <doctest/doctest.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "engine.hpp"
#include "nvmefs/common/error.hpp"
#include "support/memory_device.hpp"

using namespace nvmefs;
using namespace nvmefs::perf;
using std::chrono::microseconds;
using testing::MemoryDevice;

namespace {

// Forwards every request to an inner device through a shadow request and
// tracks how many are in flight (submitted, done() not yet called).
class InFlightProbe : public BlockDevice {
 public:
  explicit InFlightProbe(BlockDevice& inner) : inner_(inner) {}
  const BlockDeviceInfo& info() const override { return inner_.info(); }

  void submit(IoRequest* req) override {
    Shadow* s;
    {
      std::lock_guard lk(mu_);
      shadows_.push_back(std::make_unique<Shadow>());
      s = shadows_.back().get();
    }
    s->probe = this;
    s->outer = req;
    s->req.op = req->op;
    s->req.offset = req->offset;
    s->req.length = req->length;
    s->req.buf = req->buf;
    s->req.user = s;
    s->req.done = [](IoRequest* r) {
      auto* s = static_cast<Shadow*>(r->user);
      s->outer->result = r->result;
      s->probe->in_flight.fetch_sub(1);
      s->outer->done(s->outer);
    };
    uint32_t now = in_flight.fetch_add(1) + 1;
    uint32_t seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
    inner_.submit(&s->req);
  }

  std::atomic<uint32_t> in_flight{0}, max_in_flight{0};

 private:
  struct Shadow {
    IoRequest req;
    InFlightProbe* probe;
    IoRequest* outer;
  };
  BlockDevice& inner_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Shadow>> shadows_;
};

PhaseSpec spec(Workload w, uint32_t bs, uint32_t qd, uint64_t region) {
  PhaseSpec s;
  s.workload = w;
  s.bs = bs;
  s.qd = qd;
  s.region_bytes = region;
  s.seed = 42;
  return s;
}

PhaseSpec pass(Workload w, uint32_t bs, uint32_t qd, uint64_t region) {
  PhaseSpec s = spec(w, bs, qd, region);
  s.single_pass = true;
  s.verify = true;
  return s;
}

}  // namespace

TEST_CASE("engine keeps exactly qd requests in flight on an asynchronous device") {
  MemoryDevice mem(1 << 20, 512, microseconds(20));
  InFlightProbe probe(mem);
  PhaseSpec s = spec(Workload::RandRead, 4096, 16, 1 << 20);
  s.max_ios = 2000;
  PhaseResult r = run_phase(probe, s);
  CHECK(r.ios == 2000);
  CHECK(r.errors == 0);
  CHECK(probe.max_in_flight.load() == 16);
  CHECK(probe.in_flight.load() == 0);
  CHECK(r.latency_ns->count() == 2000);
  CHECK(r.latency_ns->percentile(50) >= 20'000);  // at least the device delay
  CHECK(r.iops() > 0);
}

TEST_CASE("engine runs a synchronous device one request at a time, without recursing") {
  MemoryDevice mem(1 << 20, 512);
  InFlightProbe probe(mem);
  PhaseSpec s = spec(Workload::RandWrite, 512, 8, 1 << 20);
  s.max_ios = 300000;  // would overflow the stack if completions resubmitted recursively
  PhaseResult r = run_phase(probe, s);
  CHECK(r.ios == 300000);
  CHECK(r.writes == 300000);
  CHECK(mem.writes.load() == 300000);
  CHECK(probe.max_in_flight.load() == 1);
}

TEST_CASE("engine stops a timed phase on time") {
  MemoryDevice mem(1 << 20, 512, microseconds(10));
  PhaseSpec s = spec(Workload::RandRW, 4096, 4, 1 << 20);
  s.duration = std::chrono::milliseconds(200);
  PhaseResult r = run_phase(mem, s);
  CHECK(r.elapsed >= std::chrono::milliseconds(200));
  CHECK(r.elapsed < std::chrono::seconds(5));
  CHECK(r.reads > 0);
  CHECK(r.writes > 0);
  CHECK(r.ios == r.reads + r.writes);
  CHECK(r.bytes == r.ios * 4096);
}

TEST_CASE("sequential single pass covers the region exactly once") {
  MemoryDevice mem(1 << 20, 512, microseconds(5));
  PhaseSpec s = pass(Workload::Write, 4096, 8, 512 * 1024);
  s.region_offset = 64 * 1024;
  PhaseResult r = run_phase(mem, s);
  CHECK(r.ios == 128);
  CHECK(mem.bytes_written.load() == 512 * 1024);
  // Nothing outside the region was written.
  CHECK(std::all_of(mem.bytes().begin(), mem.bytes().begin() + 64 * 1024, [](uint8_t b) { return b == 0; }));
  CHECK(std::all_of(mem.bytes().begin() + 576 * 1024, mem.bytes().end(), [](uint8_t b) { return b == 0; }));
  CHECK_FALSE(check_pattern({mem.bytes().data() + 64 * 1024, 512 * 1024}, 64 * 1024, 42));
}

TEST_CASE("verify: fill, random mixed workload and check find no mismatch on a good device") {
  for (auto delay : {microseconds(0), microseconds(5)}) {
    CAPTURE(delay.count());
    MemoryDevice mem(1 << 20, 512, delay);
    PhaseResult fill = run_phase(mem, pass(Workload::Write, 8192, 32, 1 << 20));
    CHECK(fill.ios == 128);
    PhaseSpec mixed = spec(Workload::RandRW, 8192, 32, 1 << 20);
    mixed.verify = true;
    mixed.max_ios = 3000;
    PhaseResult work = run_phase(mem, mixed);
    CHECK(work.mismatched_blocks == 0);
    CHECK(work.verified_blocks == work.reads * 16);
    PhaseResult check = run_phase(mem, pass(Workload::Read, 8192, 32, 1 << 20));
    CHECK(check.errors == 0);
    CHECK(check.verified_blocks == (1 << 20) / 512);
    CHECK(check.mismatched_blocks == 0);
    CHECK(check.first_mismatches.empty());
  }
}

TEST_CASE("verify reports a corrupted block and a block holding another block's data") {
  MemoryDevice mem(1 << 20, 512, microseconds(2));
  run_phase(mem, pass(Workload::Write, 4096, 4, 1 << 20));
  mem.bytes()[3 * 512 + 100] ^= 0x80;                                             // bit flip in LBA 3
  std::copy_n(mem.bytes().begin() + 10 * 512, 512, mem.bytes().begin() + 700 * 512);  // LBA 10's data in LBA 700
  PhaseResult check = run_phase(mem, pass(Workload::Read, 4096, 4, 1 << 20));
  CHECK(check.mismatched_blocks == 2);
  CHECK(check.verified_blocks == 2048);
  REQUIRE(check.first_mismatches.size() == 2);
  std::vector<uint64_t> offsets;
  for (auto& m : check.first_mismatches) offsets.push_back(m.offset);
  std::sort(offsets.begin(), offsets.end());
  CHECK(offsets[0] == 3 * 512 + 96);
  CHECK(offsets[1] == 700 * 512);
}

TEST_CASE("an I/O error is counted and ends the phase") {
  MemoryDevice mem(1 << 20, 512, microseconds(5));
  mem.fail_next = -EIO;
  PhaseSpec s = spec(Workload::RandRead, 4096, 4, 1 << 20);
  s.duration = std::chrono::seconds(30);
  PhaseResult r = run_phase(mem, s);
  CHECK(r.errors == 1);
  CHECK(r.first_error == -EIO);
  CHECK(r.elapsed < std::chrono::seconds(5));
}

TEST_CASE("engine rejects specs the device cannot take") {
  MemoryDevice mem(1 << 20, 4096);
  PhaseSpec s = spec(Workload::RandRead, 512, 1, 1 << 20);
  s.max_ios = 1;
  CHECK_THROWS_AS(run_phase(mem, s), Error);  // bs below the block size
  s.bs = 4096;
  s.region_bytes = 2 << 20;
  CHECK_THROWS_AS(run_phase(mem, s), Error);  // region beyond the device
  s.region_bytes = 1 << 20;
  s.max_ios = 0;
  CHECK_THROWS_AS(run_phase(mem, s), Error);  // no stop condition
}
