// 2Q replacement (Johnson & Shasha, VLDB 1994), one instance per shard.
//
// Why 2Q: a block seen once enters A1in (FIFO); re-references while it is in
// A1in are "correlated" (several small reads of one cache block, readahead
// followed by the real read) and do not promote it. Only a block referenced
// again after leaving A1in (remembered by a data-less ghost in A1out) enters
// Am, the LRU of the hot set. A one-pass scan therefore only cycles through
// A1in and A1out and never touches Am. A segmented LRU would promote every
// scanned block on its second small read; ARC adapts better but needs twice
// the bookkeeping and a global balance; CLOCK-Pro is harder to get right.
#pragma once

#include <cstddef>
#include <cstdint>

#include "entry.hpp"

namespace nvmefs::cache {

class EntryList {
 public:
  void push_front(Entry* e);
  void remove(Entry* e);
  Entry* back() const { return tail_; }
  size_t size() const { return size_; }

 private:
  Entry* head_ = nullptr;
  Entry* tail_ = nullptr;
  size_t size_ = 0;
};

class TwoQ {
 public:
  void init(uint32_t capacity);                 // Kin = 25%, Kout = 50% of capacity
  uint32_t ghost_capacity() const { return kout_; }

  void insert(Entry* e, bool was_ghost);        // new resident entry
  void on_hit(Entry* e);                        // Am: move to the MRU end
  // The resident entry to evict next (evictable() only), or nullptr.
  Entry* victim() const;
  // Takes a victim's buffer away: A1in victims become ghosts in A1out
  // (returns true), Am victims leave the policy (returns false).
  bool evict(Entry* e);
  Entry* pop_oldest_ghost();                    // nullptr when no ghost
  bool ghost_overflow() const { return a1out_.size() > kout_; }
  void remove(Entry* e);                        // from whatever list holds it

 private:
  EntryList& list_of(QueueId q);
  static Entry* oldest_evictable(const EntryList& l);

  EntryList a1in_, am_, a1out_;
  uint32_t kin_ = 1, kout_ = 1;
};

}  // namespace nvmefs::cache
