// One cache block's bookkeeping. The states and their invariants are
// described at the top of block_cache.cpp; every field is protected by the
// mutex of the shard that owns the entry (dirty-list links: DirtyList::mu_).
#pragma once

#include <cstdint>

#include "lba_bitmap.hpp"
#include "piece.hpp"

namespace nvmefs::cache {

enum class QueueId : uint8_t { Free, A1in, Am, A1out };  // 2Q lists (two_q.hpp)

struct Entry {
  uint64_t block = 0;         // cache block number (byte offset / cache_block)
  uint8_t* data = nullptr;    // pool buffer; nullptr for 2Q ghosts and free entries
  LbaBitmap valid;            // LBAs whose bytes in `data` are current
  LbaBitmap dirty;            // LBAs newer than the lower device, not yet staged
  LbaBitmap writing;          // LBAs staged into an in-flight write-back
  bool locked = false;        // an exclusive lower op (fill, write-through, zero) owns the block
  uint32_t wb_jobs = 0;       // in-flight write-backs that staged LBAs of this block
  PieceList waiters;          // pieces parked until the block is unlocked

  Entry* hash_next = nullptr;                  // shard hash chain
  Entry* prev = nullptr;                       // 2Q list links
  Entry* next = nullptr;
  QueueId queue = QueueId::Free;

  Entry* dirty_prev = nullptr;                 // DirtyList links (oldest first)
  Entry* dirty_next = nullptr;
  bool on_dirty_list = false;
  uint64_t dirty_seq = 0;
  uint64_t dirty_since_ms = 0;

  bool evictable() const { return data && !locked && wb_jobs == 0 && !waiters.head && !dirty.any(); }
};

}  // namespace nvmefs::cache
