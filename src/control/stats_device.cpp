#include "nvmefs/control/stats_device.hpp"

#include <chrono>

namespace nvmefs::control {

// One request in flight through this device: the lower device completes
// `inner`, which carries the caller's request in `user`.
struct StatsDevice::Tracker {
  IoRequest inner;
  IoRequest* outer = nullptr;
  StatsDevice* dev = nullptr;
  uint64_t start_ns = 0;
  Tracker* next_free = nullptr;
};

namespace {

uint64_t now_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

LatencySummary summarize(const LatencyHistogram& h) {
  LatencySummary s;
  s.count = h.count();
  if (s.count == 0) return s;
  s.mean = h.mean() / 1000.0;
  s.p50 = double(h.percentile(50)) / 1000.0;
  s.p99 = double(h.percentile(99)) / 1000.0;
  s.p999 = double(h.percentile(99.9)) / 1000.0;
  s.max = double(h.max()) / 1000.0;
  return s;
}

OpCounters snapshot(const std::atomic<uint64_t>& ops, const std::atomic<uint64_t>& bytes,
                    const std::atomic<uint64_t>& errors) {
  return {ops.load(std::memory_order_relaxed), bytes.load(std::memory_order_relaxed),
          errors.load(std::memory_order_relaxed)};
}

}  // namespace

StatsDevice::StatsDevice(std::shared_ptr<BlockDevice> lower) : lower_(std::move(lower)) {}

StatsDevice::~StatsDevice() = default;

StatsDevice::Tracker* StatsDevice::take_tracker() {
  std::lock_guard lock(free_mutex_);
  if (Tracker* t = free_) {
    free_ = t->next_free;
    return t;
  }
  all_.push_back(std::make_unique<Tracker>());  // only while the number in flight grows
  all_.back()->dev = this;
  return all_.back().get();
}

void StatsDevice::give_back(Tracker* t) {
  std::lock_guard lock(free_mutex_);
  t->next_free = free_;
  free_ = t;
}

StatsDevice::Counters& StatsDevice::counters_for(IoOp op) {
  switch (op) {
    case IoOp::Read: return reads_;
    case IoOp::Write: return writes_;
    case IoOp::Flush: return flushes_;
    default: return other_;
  }
}

LatencyHistogram* StatsDevice::histogram_for(IoOp op) {
  switch (op) {
    case IoOp::Read: return &read_ns_;
    case IoOp::Write: return &write_ns_;
    case IoOp::Flush: return &flush_ns_;
    default: return nullptr;
  }
}

void StatsDevice::submit(IoRequest* req) {
  Tracker* t = take_tracker();
  IoRequest& in = t->inner;
  in.op = req->op;
  in.flags = req->flags;
  in.offset = req->offset;
  in.length = req->length;
  in.buf = req->buf;
  in.done = &StatsDevice::on_done;
  in.user = t;
  in.result = 0;
  in.nvme_status = 0;
  t->outer = req;
  t->start_ns = now_ns();
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  lower_->submit(&in);
}

void StatsDevice::on_done(IoRequest* inner) {
  auto* t = static_cast<Tracker*>(inner->user);
  StatsDevice* self = t->dev;
  IoRequest* outer = t->outer;
  uint64_t elapsed = now_ns() - t->start_ns;
  Counters& c = self->counters_for(inner->op);
  c.ops.fetch_add(1, std::memory_order_relaxed);
  if (inner->result == 0) {
    if (inner->op == IoOp::Read || inner->op == IoOp::Write) c.bytes.fetch_add(inner->length, std::memory_order_relaxed);
    if (LatencyHistogram* h = self->histogram_for(inner->op)) h->record(elapsed);
  } else {
    c.errors.fetch_add(1, std::memory_order_relaxed);
  }
  outer->result = inner->result;
  outer->nvme_status = inner->nvme_status;
  self->in_flight_.fetch_sub(1, std::memory_order_relaxed);
  self->give_back(t);  // before done(): the caller may destroy this device once its last request completed
  outer->done(outer);
}

DeviceStats StatsDevice::stats() const {
  DeviceStats s;
  s.reads = snapshot(reads_.ops, reads_.bytes, reads_.errors);
  s.writes = snapshot(writes_.ops, writes_.bytes, writes_.errors);
  s.flushes = snapshot(flushes_.ops, flushes_.bytes, flushes_.errors);
  s.other = snapshot(other_.ops, other_.bytes, other_.errors);
  s.read_latency = summarize(read_ns_);
  s.write_latency = summarize(write_ns_);
  s.flush_latency = summarize(flush_ns_);
  s.in_flight = in_flight_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace nvmefs::control
