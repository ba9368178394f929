// A fixed-size bitmap over the LBAs of one cache block (valid / dirty /
// being-written bits). Fixed size so entries never allocate after startup.
#pragma once

#include <array>
#include <cstdint>

namespace nvmefs::cache {

class LbaBitmap {
 public:
  static constexpr uint32_t kMaxBits = 2048;  // e.g. 1 MiB blocks of 512-byte LBAs

  bool test(uint32_t i) const { return (w_[i / 64] >> (i % 64)) & 1; }
  void set(uint32_t first, uint32_t count) {
    for (uint32_t i = first; i < first + count; ++i) w_[i / 64] |= 1ull << (i % 64);
  }
  void clear(uint32_t first, uint32_t count) {
    for (uint32_t i = first; i < first + count; ++i) w_[i / 64] &= ~(1ull << (i % 64));
  }
  void clear_all() { w_.fill(0); }
  bool any() const {
    for (uint64_t w : w_)
      if (w) return true;
    return false;
  }
  bool all(uint32_t first, uint32_t count) const {
    for (uint32_t i = first; i < first + count; ++i)
      if (!test(i)) return false;
    return true;
  }
  uint32_t count(uint32_t first, uint32_t count) const {
    uint32_t n = 0;
    for (uint32_t i = first; i < first + count; ++i) n += test(i);
    return n;
  }
  // First run of bits equal to `value` inside [from, end): false if none.
  bool find_run(bool value, uint32_t from, uint32_t end, uint32_t& start, uint32_t& len) const {
    uint32_t i = from;
    while (i < end && test(i) != value) ++i;
    if (i == end) return false;
    start = i;
    while (i < end && test(i) == value) ++i;
    len = i - start;
    return true;
  }

 private:
  std::array<uint64_t, kMaxBits / 64> w_{};
};

}  // namespace nvmefs::cache
