#include "nvmefs/common/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace nvmefs {

// Bucket index = group * kSubBuckets + sub. Group 0 holds 0..kSubBuckets-1
// exactly; group g >= 1 holds [2^(g+kSubBits-1), 2^(g+kSubBits)) in
// kSubBuckets steps of 2^(g-1).
size_t LatencyHistogram::bucket_of(uint64_t value) {
  if (value < kSubBuckets) return value;
  unsigned msb = 63 - std::countl_zero(value);
  unsigned shift = msb - kSubBits;
  return (shift + 1) * kSubBuckets + ((value >> shift) - kSubBuckets);
}

uint64_t LatencyHistogram::bucket_low(size_t bucket) {
  uint64_t group = bucket / kSubBuckets, sub = bucket % kSubBuckets;
  return group == 0 ? sub : (kSubBuckets + sub) << (group - 1);
}

uint64_t LatencyHistogram::bucket_width(size_t bucket) {
  uint64_t group = bucket / kSubBuckets;
  return group == 0 ? 1 : 1ull << (group - 1);
}

void LatencyHistogram::record(uint64_t value) {
  buckets_[bucket_of(value)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  uint64_t seen = max_.load(std::memory_order_relaxed);
  while (value > seen && !max_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

double LatencyHistogram::mean() const {
  uint64_t n = count();
  return n ? static_cast<double>(sum_.load(std::memory_order_relaxed)) / static_cast<double>(n) : 0.0;
}

uint64_t LatencyHistogram::percentile(double pct) const {
  uint64_t n = count();
  if (n == 0) return 0;
  // The rank of the value asked for, 1-based; the epsilon keeps 99.9% of
  // 1000 values at rank 999 despite 99.9 having no exact binary form.
  double exact = std::clamp(pct, 0.0, 100.0) / 100.0 * static_cast<double>(n);
  auto rank = std::max<uint64_t>(static_cast<uint64_t>(std::ceil(exact - 1e-6)), 1);
  if (rank >= n) return max();
  uint64_t seen = 0;
  for (size_t b = 0; b < kBuckets; b++) {
    seen += buckets_[b].load(std::memory_order_relaxed);
    if (seen >= rank) return std::min(bucket_low(b) + bucket_width(b) / 2, max());
  }
  return max();
}

}  // namespace nvmefs
