// StatsDevice: a BlockDevice decorator that counts what passes through it
// (operations, bytes, errors) and records completion latencies in log-linear
// histograms. The daemon puts one above the block cache (what applications
// see) and one below it (what goes over the network).
//
// Hot path: counters are relaxed atomics, histograms wait-free. To see the
// completion, each request is carried by a small tracker taken from a
// per-device free list (grown on demand, never shrunk: no allocation in
// steady state; one short per-device lock per pop/push, no global lock).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "nvmefs/block_device.hpp"
#include "nvmefs/common/histogram.hpp"

namespace nvmefs::control {

struct OpCounters {
  uint64_t ops = 0, bytes = 0, errors = 0;
};

struct LatencySummary {  // microseconds
  uint64_t count = 0;
  double mean = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0;
};

struct DeviceStats {
  OpCounters reads, writes, flushes, other;  // other: WriteZeroes, Deallocate
  LatencySummary read_latency, write_latency, flush_latency;
  uint64_t in_flight = 0;
};

class StatsDevice : public BlockDevice {
 public:
  explicit StatsDevice(std::shared_ptr<BlockDevice> lower);
  ~StatsDevice() override;

  // The lower device's own info, so a size change below (resize in place) shows at once.
  const BlockDeviceInfo& info() const override { return lower_->info(); }
  void submit(IoRequest* req) override;

  DeviceStats stats() const;
  BlockDevice& lower() const { return *lower_; }

 private:
  struct Tracker;
  struct Counters {
    std::atomic<uint64_t> ops{0}, bytes{0}, errors{0};
  };

  Tracker* take_tracker();
  void give_back(Tracker* t);
  static void on_done(IoRequest* inner);
  Counters& counters_for(IoOp op);
  LatencyHistogram* histogram_for(IoOp op);

  std::shared_ptr<BlockDevice> lower_;
  Counters reads_, writes_, flushes_, other_;
  LatencyHistogram read_ns_, write_ns_, flush_ns_;
  std::atomic<uint64_t> in_flight_{0};

  std::mutex free_mutex_;
  Tracker* free_ = nullptr;
  std::vector<std::unique_ptr<Tracker>> all_;  // owns every tracker (guarded by free_mutex_)
};

}  // namespace nvmefs::control
