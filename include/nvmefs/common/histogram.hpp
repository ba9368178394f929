// Lock-free log-linear latency histogram (the HdrHistogram layout): values
// below 2^kSubBits are counted exactly, above that every power-of-two range is
// split into 2^kSubBits equal buckets, so any recorded value is known to
// within 1/2^kSubBits (1.6%). record() is wait-free (relaxed atomics) and may
// be called from any number of completion threads at once. Readers running
// while writers record see an approximate snapshot (each bucket is exact,
// the buckets are not read at one instant): fine for live statistics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace nvmefs {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 6;
  static constexpr uint64_t kSubBuckets = 1ull << kSubBits;
  static constexpr size_t kBuckets = (64 - kSubBits + 1) * kSubBuckets;

  void record(uint64_t value);

  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t max() const { return max_.load(std::memory_order_relaxed); }
  double mean() const;
  // Smallest recorded value v such that at least `pct` percent of the values
  // are <= v, to the bucket's precision (the bucket's midpoint, never above
  // max(); percentile(100) is max()). 0 when empty.
  uint64_t percentile(double pct) const;

  static size_t bucket_of(uint64_t value);
  static uint64_t bucket_low(size_t bucket);    // smallest value in the bucket
  static uint64_t bucket_width(size_t bucket);  // number of values in it

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0}, sum_{0}, max_{0};
};

}  // namespace nvmefs
