// The write-back queue: entries with dirty LBAs, oldest first. Each entry
// gets a sequence number when it joins, so a Flush can wait for exactly the
// data that was dirty when it arrived. Lock order: shard mutex -> mu_.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>

#include "entry.hpp"

namespace nvmefs::cache {

class DirtyList {
 public:
  void add(Entry* e, uint64_t now_ms);
  void remove(Entry* e);
  uint64_t last_seq();
  // Copies up to `max` block numbers of the oldest entries that joined with
  // seq <= max_seq and at or before dirtied_before_ms. Returns the count.
  size_t oldest(uint64_t max_seq, uint64_t dirtied_before_ms, uint64_t* out, size_t max);

 private:
  std::mutex mu_;
  Entry* head_ = nullptr;
  Entry* tail_ = nullptr;
  uint64_t seq_ = 0;
};

}  // namespace nvmefs::cache
