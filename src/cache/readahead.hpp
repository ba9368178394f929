// Sequential-stream detection with an adaptive window, lock-free: a few
// stream slots remember where the next sequential read would start. A read
// continuing a stream doubles its window (up to max); a read that continues
// no stream takes over the oldest slot with an empty window (random reads
// never prefetch). Races between threads only make the heuristic less exact.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace nvmefs::cache {

class ReadaheadDetector {
 public:
  ReadaheadDetector(uint64_t min_window, uint64_t max_window) : min_(min_window), max_(max_window) {}

  struct Range {
    uint64_t offset = 0, length = 0;
  };
  // Observes a read; returns the range to prefetch now (length 0: none).
  Range observe(uint64_t offset, uint64_t length);

 private:
  struct Stream {
    std::atomic<uint64_t> next{UINT64_MAX};  // where the stream continues
    std::atomic<uint64_t> window{0};
    std::atomic<uint64_t> ahead{0};          // prefetched up to here
  };
  uint64_t min_, max_;
  std::array<Stream, 8> streams_;
  std::atomic<uint32_t> victim_{0};
};

}  // namespace nvmefs::cache
