// A shard of the block index: a hash of block number -> Entry, the entries
// and buffers it may use (preallocated), its 2Q policy and the pieces waiting
// for a free buffer. Callers hold `mu` for every call.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "entry.hpp"
#include "piece.hpp"
#include "two_q.hpp"

namespace nvmefs::cache {

class Shard {
 public:
  // `buffers` of block_bytes each; caching=false (cache=none): entries only
  // live while a piece uses them, no policy.
  void init(uint32_t buffers, uint8_t* arena, uint32_t block_bytes, bool caching);

  std::mutex mu;

  Entry* find(uint64_t block) const;                 // resident or ghost entry
  // A resident entry for `block` (`found` = its ghost, if any), evicting if
  // needed; nullptr when every buffer is busy or dirty.
  Entry* acquire(uint64_t block, Entry* found, uint64_t& evictions);
  void touch(Entry* e) { policy_.on_hit(e); }
  void release_if_idle(Entry* e);                    // cache=none: free unused entries
  uint64_t drop_clean();                             // evicts every evictable entry, forgets ghosts
  // Calls f(Entry*) for every entry in the index (resident or ghost).
  template <typename F>
  void for_each_entry(F&& f) {
    for (uint32_t i = 0; i < n_entries_; ++i)
      if (Entry& e = entries_[i]; e.data || e.queue != QueueId::Free) f(&e);
  }
  // Takes an idle entry (not locked, no waiters, no write-back, nothing
  // dirty) out of the index and frees its buffer (resize.cpp: a block past the end).
  void discard(Entry* e);

  uint32_t resident() const { return buffers_ - uint32_t(free_buffers_.size()); }

  void park_starved(Piece* p) { starved_.push(p); }
  Piece* take_starved() { return starved_.take(); }

 private:
  uint8_t* take_buffer(uint64_t& evictions);
  Entry* take_entry();
  void hash_insert(Entry* e);
  void hash_remove(Entry* e);
  void free_entry(Entry* e);
  size_t bucket(uint64_t block) const { return (block * 0x9E3779B97F4A7C15ull) >> shift_; }

  bool caching_ = true;
  uint32_t buffers_ = 0;
  uint32_t n_entries_ = 0;
  std::unique_ptr<Entry[]> entries_;
  std::vector<Entry*> free_entries_;
  std::vector<uint8_t*> free_buffers_;
  std::vector<Entry*> buckets_;
  unsigned shift_ = 63;
  TwoQ policy_;
  PieceList starved_;
};

}  // namespace nvmefs::cache
