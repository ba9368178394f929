// A merged fill: one lower read for a run of consecutive absent cache blocks
// (readahead, or a demand read missing several blocks), read into a
// preallocated staging buffer and copied into each block's buffer on
// completion. The blocks are locked (READING) meanwhile; see fill_run.cpp.
#pragma once

#include <cstdint>
#include <memory>

#include "entry.hpp"
#include "piece.hpp"

namespace nvmefs::cache {

struct FillRun {
  CacheImpl* cache = nullptr;
  uint8_t* staging = nullptr;          // capacity blocks of cache_block bytes
  std::unique_ptr<Entry*[]> entries;   // the locked entries, in block order
  uint64_t first_block = 0;
  uint32_t count = 0;                  // entries used
  PieceList owners;                    // demand pieces re-run (or failed) on completion
  uint64_t size_gen = 0;               // the cache's size generation when the read started
  IoRequest lower;
  FillRun* next_free = nullptr;
};

}  // namespace nvmefs::cache
