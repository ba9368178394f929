// resize(): the lower device changed size (a namespace resized on the
// target, NVMe Base 2.0 §5.2 Namespace Attribute Changed) and the cache
// adopts the new size in place.
//
// The block index is a hash of block numbers (no array sized by the device),
// so growing needs no new memory: only the size and block count change.
// Every cached block at or beyond the smaller of the old and new sizes is
// invalidated (the partial last block from its first LBA past the boundary:
// those LBAs are read again from the device); dirty data past a shrink has
// nowhere to go and is dropped, with one error line saying how much.
//
// Races, without a lock on the I/O path:
//  * a fill that started before the resize may have read against the old
//    size (or, for a merged fill, be copied with the new block length): every
//    fill records size_gen_ when it starts and its data becomes valid only if
//    size_gen_ is unchanged, checked under the shard lock. resize() bumps
//    size_gen_ before it walks the shards, so a fill that passed the check
//    under a shard lock is cleaned by the walk, which takes that lock later.
//  * shrinking publishes the new size first, so no new request reaches past
//    it; a write already past the check may still dirty LBAs past the end:
//    the flusher drops those (writeback.cpp), and the lower device refuses
//    fills and writes past its end.
//  * growing walks first and publishes the new size last, so nothing can be
//    written past the old end before its stale state is gone.
#include "cache_impl.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::cache {

uint64_t CacheImpl::drop_beyond(Entry* e, uint64_t end) {
  const uint64_t base = e->block * cb_;
  if (base + cb_ <= end || !e->data) return 0;
  const uint32_t from = base >= end ? 0 : uint32_t((end - base) / lbs_);
  const uint32_t count = cb_ / lbs_ - from;
  uint32_t lost = 0, counted = 0;
  for (uint32_t i = from; i < from + count; ++i)
    if (e->dirty.test(i)) {
      ++lost;
      counted += !e->writing.test(i);  // LBAs in `writing` are uncounted by writeback_done
    }
  e->dirty.clear(from, count);
  e->valid.clear(from, count);
  if (counted) dirty_bytes_.fetch_sub(int64_t(counted) * lbs_, std::memory_order_relaxed);
  if (!e->dirty.any() && e->on_dirty_list) dirty_list_.remove(e);
  return uint64_t(lost) * lbs_;
}

int CacheImpl::resize() {
  std::lock_guard rlk(resize_mu_);
  const BlockDeviceInfo& li = lower_->info();
  const uint64_t old_size = info_.size_bytes.load(), new_size = li.size_bytes.load();
  if (new_size == old_size) return 0;
  if (new_size == 0 || new_size % lbs_ || li.block_size != lbs_) {
    log::error("block cache: lower device size {} (LBA size {}) is not usable; keeping {}", new_size, li.block_size,
               old_size);
    return -EINVAL;
  }
  auto publish = [&] {
    nblocks_.store((new_size + cb_ - 1) / cb_, std::memory_order_relaxed);
    info_.size_bytes.store(new_size);
  };
  const bool shrink = new_size < old_size;
  const uint64_t boundary = shrink ? new_size : old_size;
  if (shrink) publish();
  size_gen_.fetch_add(1, std::memory_order_acq_rel);

  uint64_t lost = 0, dropped = 0;
  std::vector<Piece*> rerun;  // pieces waiting for a buffer that a dropped block freed
  for (uint64_t i = 0; i <= shard_mask_; ++i) {
    Shard& s = shards_[i];
    std::lock_guard lk(s.mu);
    bool freed = false;
    s.for_each_entry([&](Entry* e) {
      const uint64_t base = e->block * cb_;
      if (base + cb_ <= boundary) return;
      lost += drop_beyond(e, boundary);
      if (base >= boundary && !e->locked && !e->wb_jobs && !e->waiters.head && !e->dirty.any()) {
        freed |= e->data != nullptr;
        dropped += e->data != nullptr;
        s.discard(e);
      }
    });
    if (freed)
      for (Piece* p = s.take_starved(); p; p = p->next) rerun.push_back(p);
  }
  if (!shrink) publish();

  if (lost)
    log::error("block cache: device shrank from {} to {} bytes: {} bytes of dirty data past the new end were lost",
               old_size, new_size, lost);
  log::info("block cache: device size {} -> {} bytes ({} cached blocks dropped)", old_size, new_size, dropped);
  for (Piece* p : rerun) run(p);
  unthrottle();
  return 0;
}

}  // namespace nvmefs::cache
