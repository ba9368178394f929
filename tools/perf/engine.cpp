#include "engine.hpp"

#include <array>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

#include <fmt/format.h>

#include "nvmefs/common/error.hpp"

namespace nvmefs::perf {

const char* workload_name(Workload w) {
  switch (w) {
    case Workload::Read: return "read";
    case Workload::Write: return "write";
    case Workload::RandRead: return "randread";
    case Workload::RandWrite: return "randwrite";
    case Workload::RandRW: return "randrw";
  }
  return "?";
}

std::optional<Workload> parse_workload(std::string_view name) {
  for (Workload w : {Workload::Read, Workload::Write, Workload::RandRead, Workload::RandWrite, Workload::RandRW})
    if (name == workload_name(w)) return w;
  return std::nullopt;
}

namespace {

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class Phase;

// One request kept in flight for the whole phase. The counters are only
// touched by whichever thread completes this slot (one at a time), so they
// need neither atomics nor locks; they are summed when the phase is over.
struct alignas(64) Slot {
  IoRequest req;
  Phase* phase = nullptr;
  BlockDevice* dev = nullptr;
  uint8_t* buf = nullptr;
  uint64_t submit_ns = 0;
  uint64_t rng = 0;
  Slot* next_queued = nullptr;
  uint64_t ios = 0, reads = 0, writes = 0, bytes = 0, errors = 0, verified = 0, mismatched = 0;
};

// Per-thread submission queue. Every submit goes through it: when a device
// completes a request inside submit() (synchronous devices, immediate
// errors), the completion's resubmission is queued and issued by the loop
// already running lower on this thread's stack instead of recursing.
struct Trampoline {
  bool running = false;
  Slot* head = nullptr;
  Slot* tail = nullptr;

  void push(Slot* s) {
    s->next_queued = nullptr;
    (tail ? tail->next_queued : head) = s;
    tail = s;
  }
  Slot* pop() {
    Slot* s = head;
    if (s) {
      head = s->next_queued;
      if (!head) tail = nullptr;
    }
    return s;
  }
  // Issues everything queued, including what gets queued meanwhile. Touches
  // no phase state after the last submit: the phase may end at any moment.
  void drain() {
    running = true;
    while (Slot* s = pop()) s->dev->submit(&s->req);
    running = false;
  }
};
thread_local Trampoline t_trampoline;

void submit(Slot* s) {
  t_trampoline.push(s);
  if (!t_trampoline.running) t_trampoline.drain();
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

class Phase {
 public:
  Phase(BlockDevice& dev, const PhaseSpec& spec) : spec_(spec), block_size_(dev.info().block_size) {
    validate(dev.info());
    chunks_ = spec_.region_bytes / spec_.bs;
    size_t total = static_cast<size_t>(spec_.qd) * spec_.bs;
    size_t rounded = (total + kBufferAlign - 1) / kBufferAlign * kBufferAlign;  // as aligned_alloc wants
    buffers_.reset(static_cast<uint8_t*>(std::aligned_alloc(kBufferAlign, rounded)));
    if (!buffers_) throw Error(fmt::format("cannot allocate {} bytes of I/O buffers", total), ENOMEM);
    slots_ = std::make_unique<Slot[]>(spec_.qd);
    uint64_t rng_seed = spec_.seed;
    for (uint32_t i = 0; i < spec_.qd; i++) {
      Slot& s = slots_[i];
      s.phase = this;
      s.dev = &dev;
      s.buf = buffers_.get() + static_cast<size_t>(i) * spec_.bs;
      s.rng = splitmix64(rng_seed);
      s.req.buf = s.buf;
      s.req.length = spec_.bs;
      s.req.user = &s;
      s.req.done = &Phase::on_done;
      // Without --verify writes carry whatever is in the buffer; make it non-zero.
      if (!spec_.verify) fill_pattern({s.buf, spec_.bs}, 0, spec_.seed);
    }
  }

  PhaseResult run() {
    active_.store(spec_.qd, std::memory_order_relaxed);
    uint64_t start = now_ns();
    deadline_ns_ = spec_.duration.count() > 0 ? start + static_cast<uint64_t>(spec_.duration.count()) : 0;
    // Queue every slot before issuing any, so a synchronous device serves them in turn.
    for (uint32_t i = 0; i < spec_.qd; i++) {
      if (prepare(slots_[i], start)) t_trampoline.push(&slots_[i]);
      else retire();
    }
    t_trampoline.drain();
    {
      std::unique_lock lk(done_mu_);
      done_cv_.wait(lk, [&] { return finished_; });
    }
    result_.elapsed = std::chrono::nanoseconds(now_ns() - start);
    collect();
    return std::move(result_);
  }

 private:
  static constexpr size_t kBufferAlign = 4096;

  void validate(const BlockDeviceInfo& info) const {
    if (spec_.qd == 0) throw Error("queue depth must be at least 1", EINVAL);
    if (spec_.bs == 0 || spec_.bs % block_size_ != 0)
      throw Error(fmt::format("block size {} is not a multiple of the device's {}-byte blocks", spec_.bs, block_size_),
                  EINVAL);
    if (spec_.region_offset % block_size_ != 0 || spec_.region_bytes < spec_.bs ||
        spec_.region_offset > info.size_bytes || spec_.region_bytes > info.size_bytes - spec_.region_offset)
      throw Error(fmt::format("region of {} bytes at {} does not fit a {}-byte device with {}-byte requests",
                              spec_.region_bytes, spec_.region_offset, info.size_bytes, spec_.bs), EINVAL);
    if (spec_.rwmixread > 100) throw Error("--rwmixread must be 0..100", EINVAL);
    bool sequential = spec_.workload == Workload::Read || spec_.workload == Workload::Write;
    if (spec_.duration.count() <= 0 && spec_.max_ios == 0 && !(spec_.single_pass && sequential))
      throw Error("phase has no stop condition (time, I/O count or single sequential pass)", EINVAL);
  }

  static void on_done(IoRequest* req) {
    Slot& s = *static_cast<Slot*>(req->user);
    Phase& p = *s.phase;
    uint64_t now = now_ns();
    p.result_.latency_ns->record(now - s.submit_ns);
    if (req->result < 0) {
      s.errors++;
      int none = 0;
      p.first_error_.compare_exchange_strong(none, req->result, std::memory_order_relaxed);
      p.stop_.store(true, std::memory_order_relaxed);  // a failing device would only fail faster
    } else {
      s.ios++;
      s.bytes += req->length;
      if (req->op == IoOp::Read) {
        s.reads++;
        if (p.spec_.verify) p.check_read(s);
      } else {
        s.writes++;
      }
    }
    if (p.prepare(s, now)) submit(&s);
    else p.retire();
  }

  // Sets up the slot's next request; false when the phase is over for it.
  bool prepare(Slot& s, uint64_t now) {
    if (stop_.load(std::memory_order_relaxed)) return false;
    if (deadline_ns_ && now >= deadline_ns_) return false;
    if (spec_.max_ios && issued_.fetch_add(1, std::memory_order_relaxed) >= spec_.max_ios) return false;
    uint64_t chunk = 0;
    bool read = true;
    switch (spec_.workload) {
      case Workload::Read:
      case Workload::Write: {
        uint64_t pos = cursor_.fetch_add(1, std::memory_order_relaxed);
        if (spec_.single_pass && pos >= chunks_) return false;
        chunk = pos % chunks_;
        read = spec_.workload == Workload::Read;
        break;
      }
      case Workload::RandRead:
      case Workload::RandWrite:
      case Workload::RandRW:
        chunk = splitmix64(s.rng) % chunks_;
        read = spec_.workload == Workload::RandRead ||
               (spec_.workload == Workload::RandRW && splitmix64(s.rng) % 100 < spec_.rwmixread);
        break;
    }
    s.req.op = read ? IoOp::Read : IoOp::Write;
    s.req.offset = spec_.region_offset + chunk * spec_.bs;
    s.req.result = 0;
    s.req.nvme_status = 0;
    if (!read && spec_.verify) fill_pattern({s.buf, spec_.bs}, s.req.offset, spec_.seed);
    s.submit_ns = now;
    return true;
  }

  void check_read(Slot& s) {
    for (uint32_t off = 0; off < spec_.bs; off += block_size_) {
      s.verified++;
      auto bad = check_pattern({s.buf + off, block_size_}, s.req.offset + off, spec_.seed);
      if (!bad) continue;
      s.mismatched++;
      size_t idx = mismatches_reported_.fetch_add(1, std::memory_order_relaxed);
      if (idx < kept_.size()) kept_[idx] = *bad;
    }
  }

  // A slot leaves the phase; the last one wakes run(). Nothing of the phase
  // may be touched after the notify: run() returns and destroys it.
  void retire() {
    if (active_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    std::lock_guard lk(done_mu_);
    finished_ = true;
    done_cv_.notify_one();
  }

  void collect() {
    for (uint32_t i = 0; i < spec_.qd; i++) {
      const Slot& s = slots_[i];
      result_.ios += s.ios;
      result_.reads += s.reads;
      result_.writes += s.writes;
      result_.bytes += s.bytes;
      result_.errors += s.errors;
      result_.verified_blocks += s.verified;
      result_.mismatched_blocks += s.mismatched;
    }
    result_.first_error = first_error_.load(std::memory_order_relaxed);
    size_t kept = std::min<size_t>(mismatches_reported_.load(std::memory_order_relaxed), kept_.size());
    result_.first_mismatches.assign(kept_.begin(), kept_.begin() + static_cast<ptrdiff_t>(kept));
  }

  const PhaseSpec spec_;
  const uint32_t block_size_;
  uint64_t chunks_ = 0;       // bs-sized pieces of the region
  uint64_t deadline_ns_ = 0;  // 0 = none
  std::unique_ptr<uint8_t[], FreeDeleter> buffers_;
  std::unique_ptr<Slot[]> slots_;

  std::atomic<uint64_t> cursor_{0};  // sequential workloads: next piece
  std::atomic<uint64_t> issued_{0};  // with max_ios
  std::atomic<bool> stop_{false};
  std::atomic<int> first_error_{0};
  std::atomic<size_t> mismatches_reported_{0};
  std::array<PatternMismatch, PhaseResult::kKeptMismatches> kept_{};

  std::atomic<uint32_t> active_{0};  // slots still in the phase
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  bool finished_ = false;

  PhaseResult result_;
};

}  // namespace

PhaseResult run_phase(BlockDevice& dev, const PhaseSpec& spec) { return Phase(dev, spec).run(); }

}  // namespace nvmefs::perf
