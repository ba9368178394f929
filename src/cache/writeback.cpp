// The write-back flusher (writeback mode only): one thread that stages dirty
// LBA runs into preallocated staging buffers (no allocation on this path),
// coalescing adjacent dirty blocks into writes up to the lower max_transfer,
// and serves Flush requests as barriers. It writes back when dirty bytes
// exceed half of dirty_max, when blocks are older than dirty_expire_ms, and
// under pressure (throttled writers, shards without a free buffer).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "cache_impl.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::cache {

namespace {
constexpr int kMaxPassesPerWakeup = 16;  // then look at queued Flush requests again
}

void CacheImpl::kick_flusher(bool pressure) {
  if (opts_.mode != Mode::WriteBack) return;
  {
    std::lock_guard lk(fl_mu_);
    fl_pressure_ = fl_pressure_ || pressure;
  }
  fl_cv_.notify_all();
}

void CacheImpl::flusher_main() {
  auto tick = std::chrono::milliseconds(std::clamp<uint32_t>(opts_.dirty_expire_ms / 4, 10, 1000));
  std::unique_lock lk(fl_mu_);
  for (;;) {
    fl_cv_.wait_for(lk, tick, [&] { return fl_stop_ || fl_pressure_ || flush_head_; });
    if (IoRequest* r = flush_head_) {
      flush_head_ = r->next_;
      if (!flush_head_) flush_tail_ = nullptr;
      lk.unlock();
      flush_barrier(r);
      lk.lock();
      continue;
    }
    if (fl_stop_) return;
    bool pressure = std::exchange(fl_pressure_, false);
    lk.unlock();
    for (int pass = 0; pass < kMaxPassesPerWakeup; ++pass) {
      bool over_background = uint64_t(std::max<int64_t>(0, dirty_bytes_)) > opts_.dirty_max / 2;
      uint64_t expired_before = now_ms() - opts_.dirty_expire_ms;
      bool staged = pressure || over_background ? writeback_pass(UINT64_MAX, UINT64_MAX)
                                                : writeback_pass(UINT64_MAX, expired_before);
      if (!staged) break;
    }
    lk.lock();
  }
}

// Stages one batch of the oldest dirty blocks matching the limits.
bool CacheImpl::writeback_pass(uint64_t max_seq, uint64_t dirtied_before_ms) {
  size_t n = dirty_list_.oldest(max_seq, dirtied_before_ms, candidates_.data(), candidates_.size());
  bool staged = false;
  for (size_t i = 0; i < n; ++i) staged |= stage(candidates_[i]);
  return staged;
}

// Flush: every block dirty when the Flush arrived is written back, every
// write-back in flight has completed, then Flush goes down. A write-back
// error since the last Flush is returned instead (fsync sees it once).
void CacheImpl::flush_barrier(IoRequest* r) {
  uint64_t target = dirty_list_.last_seq();
  for (;;) {
    size_t n = dirty_list_.oldest(target, UINT64_MAX, candidates_.data(), candidates_.size());
    if (n == 0) break;
    bool staged = false;
    for (size_t i = 0; i < n; ++i) staged |= stage(candidates_[i]);
    // Nothing stageable: the oldest blocks are locked by a write-through.
    if (!staged) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  {
    std::unique_lock lk(fl_mu_);
    fl_cv_.wait(lk, [&] { return inflight_ == 0; });
  }
  int err = wb_error_.exchange(0);
  if (err == 0 && !(r->flags & kFlushNoLower)) err = submit_and_wait(*lower_, IoOp::Flush, 0, 0, nullptr);
  release(r, err);
}

WritebackSlot* CacheImpl::acquire_slot() {
  std::unique_lock lk(fl_mu_);
  fl_cv_.wait(lk, [&] { return !free_slots_.empty(); });
  WritebackSlot* slot = free_slots_.back();
  free_slots_.pop_back();
  ++inflight_;
  return slot;
}

// Copies the first dirty run of `block`, continued into the following blocks
// while the run reaches a block end, into one staging buffer and writes it.
bool CacheImpl::stage(uint64_t block) {
  WritebackSlot* slot = acquire_slot();
  uint64_t start = 0;
  uint32_t len = 0;
  const uint64_t size = info_.size_bytes.load();
  for (uint64_t b = block; b < nblocks_.load(std::memory_order_relaxed) && len < staging_bytes_; ++b) {
    Shard& s = shard_of(b);
    std::lock_guard lk(s.mu);
    Entry* e = s.find(b);
    if (!e || !e->data || e->locked || !e->dirty.any()) break;
    // Dirtied past the end by a write that raced a shrinking resize(): lost.
    if ((b + 1) * cb_ > size) {
      if (uint64_t lost = drop_beyond(e, size))
        log::error("block cache: {} dirty bytes past the device end ({}) dropped", lost, size);
      if (b * cb_ >= size || !e->dirty.any()) break;
    }
    uint32_t lbas = block_bytes(b) / lbs_, first = 0, count = 0;
    e->dirty.find_run(true, 0, lbas, first, count);
    if (len > 0 && first != 0) break;  // not contiguous with the previous block
    count = std::min(count, (staging_bytes_ - len) / lbs_);
    if (count == 0) break;
    std::memcpy(slot->staging + len, e->data + uint64_t(first) * lbs_, uint64_t(count) * lbs_);
    e->dirty.clear(first, count);
    e->writing.set(first, count);
    ++e->wb_jobs;
    if (!e->dirty.any()) dirty_list_.remove(e);
    if (len == 0) start = b * cb_ + uint64_t(first) * lbs_;
    len += count * lbs_;
    if (first + count != lbas) break;
  }
  if (len == 0) {
    {
      std::lock_guard lk(fl_mu_);
      free_slots_.push_back(slot);
      --inflight_;
    }
    fl_cv_.notify_all();
    return false;
  }
  IoRequest& w = slot->req;
  w.op = IoOp::Write;
  w.flags = 0;
  w.offset = start;
  w.length = len;
  w.buf = slot->staging;
  w.done = on_writeback_done;
  w.user = slot;
  lower_->submit(&w);
  return true;
}

void CacheImpl::on_writeback_done(IoRequest* r) {
  auto* slot = static_cast<WritebackSlot*>(r->user);
  CallbackGuard guard(slot->cache);
  slot->cache->writeback_done(slot);
}

void CacheImpl::writeback_done(WritebackSlot* slot) {
  int res = slot->req.result;
  uint64_t start = slot->req.offset, end = start + slot->req.length;
  int64_t cleaned = 0;
  uint64_t lost = 0;
  const uint64_t size = info_.size_bytes.load();
  for (uint64_t b = start / cb_; b * cb_ < end; ++b) {
    Shard& s = shard_of(b);
    std::unique_lock lk(s.mu);
    Entry* e = s.find(b);  // pinned by wb_jobs
    uint64_t base = b * cb_;
    uint32_t first = uint32_t((std::max(start, base) - base) / lbs_);
    uint32_t last = uint32_t((std::min(end, base + block_bytes(b)) - base) / lbs_);
    e->writing.clear(first, last - first);
    --e->wb_jobs;
    if (res == 0) {
      for (uint32_t i = first; i < last; ++i) cleaned += !e->dirty.test(i);
    } else {
      // Keep it (retried later, reported on Flush), except past the end of a
      // device that shrank meanwhile (resize.cpp): nowhere to write it.
      uint32_t keep_end = last;
      if (base + uint64_t(last) * lbs_ > size) keep_end = uint32_t(std::clamp<uint64_t>((std::max(size, base) - base) / lbs_, first, last));
      for (uint32_t i = keep_end; i < last; ++i) {
        cleaned += 1;  // counted once in dirty_bytes_, whether or not re-dirtied
        lost += lbs_;
      }
      e->dirty.clear(keep_end, last - keep_end);
      e->dirty.set(first, keep_end - first);
      if (e->dirty.any() && !e->on_dirty_list) dirty_list_.add(e, now_ms());
      if (!e->dirty.any() && e->on_dirty_list) dirty_list_.remove(e);
    }
    Piece* waiters = nullptr;
    Piece* starved = nullptr;
    if (e->wb_jobs == 0) {
      waiters = e->waiters.take();
      starved = s.take_starved();
    }
    lk.unlock();
    run_all(waiters);
    run_all(starved);
  }
  dirty_bytes_.fetch_sub(cleaned * lbs_, std::memory_order_relaxed);
  if (lost) log::error("block cache: {} dirty bytes past the device end ({}) dropped", lost, size);
  if (res == 0) {
    writeback_bytes_.fetch_add(slot->req.length, std::memory_order_relaxed);
  } else {
    int none = 0;
    wb_error_.compare_exchange_strong(none, res);
    log::error("block cache: write-back of {} bytes at offset {} failed: error {} (kept dirty)", slot->req.length,
               start, res);
  }
  {
    std::lock_guard lk(fl_mu_);
    free_slots_.push_back(slot);
    --inflight_;
  }
  fl_cv_.notify_all();
  unthrottle();
}

}  // namespace nvmefs::cache
