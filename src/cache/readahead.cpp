#include "readahead.hpp"

#include <algorithm>

namespace nvmefs::cache {

ReadaheadDetector::Range ReadaheadDetector::observe(uint64_t offset, uint64_t length) {
  if (max_ == 0) return {};
  uint64_t end = offset + length;
  for (Stream& s : streams_) {
    uint64_t next = s.next.load(std::memory_order_relaxed);
    // Continuation: starts at the stream's end, or reaches it from slightly
    // before (async readers are reordered a little).
    if (next == UINT64_MAX || offset > next || end < next) continue;
    if (!s.next.compare_exchange_strong(next, std::max(next, end), std::memory_order_relaxed)) continue;
    uint64_t w = s.window.load(std::memory_order_relaxed);
    w = w == 0 ? min_ : std::min(w * 2, max_);
    s.window.store(w, std::memory_order_relaxed);
    uint64_t from = std::max(s.ahead.load(std::memory_order_relaxed), end);
    uint64_t to = end + w;
    // Issue a new batch once half the window has been consumed.
    if (from >= to || (from > end && from - end > w / 2)) return {};
    s.ahead.store(to, std::memory_order_relaxed);
    return {from, to - from};
  }
  Stream& s = streams_[victim_.fetch_add(1, std::memory_order_relaxed) % streams_.size()];
  s.window.store(0, std::memory_order_relaxed);
  s.ahead.store(end, std::memory_order_relaxed);
  s.next.store(end, std::memory_order_relaxed);
  return {};
}

}  // namespace nvmefs::cache
