// Recycles Pieces. A read miss, a write or a zeroing takes one Piece per
// cache block it touches; the pool keeps the released ones on a free list,
// so the front path allocates only until the pool has grown to the peak
// number of pieces in flight. Idle pieces beyond kMaxIdle are freed.
#pragma once

#include <cstddef>
#include <mutex>

#include "piece.hpp"

namespace nvmefs::cache {

class PiecePool {
 public:
  static constexpr size_t kMaxIdle = 4096;  // ~1 MiB of idle pieces at most

  PiecePool() = default;
  ~PiecePool();
  PiecePool(const PiecePool&) = delete;
  PiecePool& operator=(const PiecePool&) = delete;

  Piece* acquire();  // a default-initialised Piece; throws std::bad_alloc like new
  void release(Piece* p);

 private:
  std::mutex mu_;  // held for a pointer swap only
  Piece* free_ = nullptr;  // linked by Piece::next
  size_t idle_ = 0;
};

}  // namespace nvmefs::cache
