// Running a piece against its block: read fills, read-modify-write of partial
// LBAs, write-back writes, write-through / FUA / zeroing under the block lock,
// and the dirty-bytes throttle. See the state essay in block_cache.cpp.
#include <cstring>

#include "cache_impl.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::cache {

namespace {
struct LbaSpan {
  uint32_t first, count;
};
LbaSpan lbas_of(const Piece* p, uint32_t lbs) {
  uint32_t first = p->off / lbs;
  return {first, (p->off + p->len + lbs - 1) / lbs - first};
}
}  // namespace

void CacheImpl::run_all(Piece* list) {
  while (list) {
    Piece* next = list->next;
    run(list);
    list = next;
  }
}

void CacheImpl::run(Piece* p) {
  bool buffered_write = p->op == IoOp::Write && opts_.mode == Mode::WriteBack && !(p->flags & kIoFua);
  if (buffered_write && throttle(p)) return;
  if (!caching_ && p->op == IoOp::Read && p->off % lbs_ == 0 && p->len % lbs_ == 0) {
    p->lower.offset = p->block * cb_ + p->off;
    p->lower.length = p->len;
    p->lower.buf = p->buf;
    start_direct(p);
    return;
  }
  Shard& s = shard_of(p->block);
  std::unique_lock lk(s.mu);
  Entry* e = s.find(p->block);
  if (!e || !e->data) {
    uint64_t evicted = 0;
    e = s.acquire(p->block, e, evicted);
    if (evicted) evictions_.fetch_add(evicted, std::memory_order_relaxed);
    if (!e) {
      if (!p->may_wait) {
        lk.unlock();
        finish(p, 0);
        return;
      }
      s.park_starved(p);
      lk.unlock();
      kick_flusher(true);
      return;
    }
  } else if (!p->touched) {
    s.touch(e);
  }
  p->touched = true;
  switch (p->op) {
    case IoOp::Read: run_read(p, s, e, lk); break;
    case IoOp::Write: buffered_write ? run_write_back(p, e, lk) : run_write_through(p, e, lk); break;
    default: run_zero(p, e, lk); break;
  }
}

void CacheImpl::run_read(Piece* p, Shard& s, Entry* e, std::unique_lock<std::mutex>& lk) {
  LbaSpan span = lbas_of(p, lbs_);
  if (e->valid.all(span.first, span.count)) {
    if (p->buf) std::memcpy(p->buf, e->data + p->off, p->len);
    Piece* starved = nullptr;
    if (!caching_) {
      s.release_if_idle(e);
      starved = s.take_starved();
    }
    lk.unlock();
    finish(p, 0);
    run_all(starved);
    return;
  }
  if (e->locked) {
    e->waiters.push(p);
    return;
  }
  // A clean block is filled whole; a partially dirty one only where this read
  // needs it (no read of the whole block for a small write: no RMW storms).
  uint32_t from = span.first, end = span.first + span.count;
  if (caching_ && !e->dirty.any() && !e->writing.any()) {
    from = 0;
    end = block_bytes(p->block) / lbs_;
  }
  uint32_t run_first = 0, run_count = 0;
  e->valid.find_run(false, from, end, run_first, run_count);
  (p->parent ? misses_ : readahead_blocks_).fetch_add(1, std::memory_order_relaxed);
  start_lower(p, e, LowerOp::Fill, IoOp::Read, run_first, run_count, e->data + run_first * lbs_, lk);
}

// Partial head/tail LBAs must be valid before bytes are merged into them.
// Returns false when it had to start a fill (the piece re-runs afterwards).
bool CacheImpl::fill_edges(Piece* p, Entry* e, std::unique_lock<std::mutex>& lk) {
  uint32_t end = p->off + p->len;
  struct Edge {
    uint32_t lba;
    bool partial;
  };
  for (Edge edge : {Edge{p->off / lbs_, p->off % lbs_ != 0}, Edge{(end - 1) / lbs_, end % lbs_ != 0}}) {
    uint32_t lba = edge.lba;
    if (edge.partial && !e->valid.test(lba)) {
      start_lower(p, e, LowerOp::Fill, IoOp::Read, lba, 1, e->data + lba * lbs_, lk);
      return false;
    }
  }
  return true;
}

void CacheImpl::run_write_back(Piece* p, Entry* e, std::unique_lock<std::mutex>& lk) {
  if (e->locked) {
    e->waiters.push(p);
    return;
  }
  if (!fill_edges(p, e, lk)) return;
  LbaSpan span = lbas_of(p, lbs_);
  std::memcpy(e->data + p->off, p->buf, p->len);
  e->valid.set(span.first, span.count);
  mark_dirty(e, span.first, span.count);
  lk.unlock();
  finish(p, 0);
}

// Writes that complete only when the lower device has them: writethrough,
// FUA in writeback, and every write in cache=none (aligned pieces go straight
// from the caller's buffer, unaligned ones bounce through the entry buffer).
void CacheImpl::run_write_through(Piece* p, Entry* e, std::unique_lock<std::mutex>& lk) {
  if (e->locked || e->wb_jobs) {
    e->waiters.push(p);
    return;
  }
  bool aligned = p->off % lbs_ == 0 && p->len % lbs_ == 0;
  if (!aligned && !fill_edges(p, e, lk)) return;
  LbaSpan span = lbas_of(p, lbs_);
  void* src = p->buf;
  if (caching_ || !aligned) {
    std::memcpy(e->data + p->off, p->buf, p->len);
    src = e->data + span.first * lbs_;
    if (caching_) e->valid.set(span.first, span.count);
  }
  start_lower(p, e, LowerOp::Write, IoOp::Write, span.first, span.count, src, lk);
}

// Aligned middle of WriteZeroes/Deallocate inside one block: update the
// cached bytes, then pass down what the lower device supports.
void CacheImpl::run_zero(Piece* p, Entry* e, std::unique_lock<std::mutex>& lk) {
  if (e->locked || e->wb_jobs) {
    e->waiters.push(p);
    return;
  }
  LbaSpan span = lbas_of(p, lbs_);
  const BlockDeviceInfo& li = lower_->info();
  IoOp op = p->op;
  if (op == IoOp::Deallocate && !li.can_deallocate) op = IoOp::WriteZeroes;
  if (op == IoOp::WriteZeroes && !li.can_write_zeroes) op = IoOp::Write;  // write a zero buffer
  if (op != IoOp::Deallocate) std::memset(e->data + p->off, 0, p->len);
  if (caching_) {
    if (op == IoOp::Deallocate) e->valid.clear(span.first, span.count);
    else e->valid.set(span.first, span.count);
    clear_dirty(e, span.first, span.count);
  }
  start_lower(p, e, LowerOp::Write, op, span.first, span.count, e->data + p->off, lk);
}

void CacheImpl::start_direct(Piece* p) {
  p->lower_op = LowerOp::Direct;
  p->lower.op = p->op;
  p->lower.flags = p->flags;
  p->lower.done = on_lower_done;
  p->lower.user = p;
  lower_->submit(&p->lower);
}

void CacheImpl::start_lower(Piece* p, Entry* e, LowerOp kind, IoOp op, uint32_t lba_first, uint32_t lba_count,
                            void* buf, std::unique_lock<std::mutex>& lk) {
  e->locked = true;
  p->entry = e;
  p->lower_op = kind;
  p->lba_first = lba_first;
  p->lba_count = lba_count;
  p->size_gen = size_gen_.load(std::memory_order_acquire);
  IoRequest& l = p->lower;
  l.op = op;
  l.flags = op == IoOp::Write ? (p->flags & kIoFua) : 0;
  l.offset = p->block * cb_ + uint64_t(lba_first) * lbs_;
  l.length = uint64_t(lba_count) * lbs_;
  l.buf = buf;
  l.done = on_lower_done;
  l.user = p;
  lk.unlock();
  lower_->submit(&l);
}

void CacheImpl::on_lower_done(IoRequest* r) {
  auto* p = static_cast<Piece*>(r->user);
  CacheImpl* cache = p->cache;
  CallbackGuard guard(cache);
  cache->lower_done(p);
}

void CacheImpl::lower_done(Piece* p) {
  int res = p->lower.result;
  uint16_t status = p->lower.nvme_status;
  if (p->lower_op == LowerOp::Direct) {
    finish(p, res, status);
    return;
  }
  bool fill = p->lower_op == LowerOp::Fill;
  Shard& s = shard_of(p->block);
  std::unique_lock lk(s.mu);
  Entry* e = p->entry;
  e->locked = false;
  p->entry = nullptr;
  if (fill) {
    // Read before a resize(): possibly against the old size, re-run instead.
    if (res == 0 && fill_is_current(p->size_gen)) e->valid.set(p->lba_first, p->lba_count);
  } else if (res != 0) {
    log::warn("block cache: lower {} at {} (+{}) failed: error {}", io_op_name(p->lower.op), p->lower.offset,
              p->lower.length, res);
    if (opts_.mode == Mode::WriteBack && p->op == IoOp::Write) mark_dirty(e, p->lba_first, p->lba_count);  // keep the data
    else e->valid.clear(p->lba_first, p->lba_count);
  } else if (caching_) {
    clear_dirty(e, p->lba_first, p->lba_count);  // a FUA write carried these LBAs to the device
  }
  if (!caching_ && !fill) e->valid.clear_all();
  Piece* waiters = e->waiters.take();
  if (!caching_ && !fill) s.release_if_idle(e);
  Piece* starved = s.take_starved();
  lk.unlock();
  if (!fill) unthrottle();
  if (fill && res == 0) run(p);
  else finish(p, res, status);
  run_all(waiters);
  run_all(starved);
}

bool CacheImpl::over_dirty_limit() const {
  int64_t dirty = dirty_bytes_.load(std::memory_order_relaxed);
  return dirty > 0 && uint64_t(dirty) >= opts_.dirty_max;
}

// Writers above dirty_max wait (parked, no thread blocks) until write-back
// brings dirty bytes down; they are never failed.
bool CacheImpl::throttle(Piece* p) {
  if (!over_dirty_limit()) return false;
  {
    std::lock_guard lk(throttle_mu_);
    if (!over_dirty_limit()) return false;
    throttled_.push(p);
  }
  throttled_writes_.fetch_add(1, std::memory_order_relaxed);
  kick_flusher(true);
  return true;
}

void CacheImpl::unthrottle() {
  if (opts_.mode != Mode::WriteBack || over_dirty_limit()) return;
  Piece* list;
  {
    std::lock_guard lk(throttle_mu_);
    if (over_dirty_limit()) return;
    list = throttled_.take();
  }
  run_all(list);
}

void CacheImpl::mark_dirty(Entry* e, uint32_t first, uint32_t count) {
  uint32_t added = 0;
  for (uint32_t i = first; i < first + count; ++i) added += !e->dirty.test(i) && !e->writing.test(i);
  e->dirty.set(first, count);
  dirty_bytes_.fetch_add(int64_t(added) * lbs_, std::memory_order_relaxed);
  if (!e->on_dirty_list) dirty_list_.add(e, now_ms());
}

// Only called with wb_jobs == 0 (no LBA of the block is in `writing`).
void CacheImpl::clear_dirty(Entry* e, uint32_t first, uint32_t count) {
  uint32_t was = e->dirty.count(first, count);
  if (!was) return;
  e->dirty.clear(first, count);
  dirty_bytes_.fetch_sub(int64_t(was) * lbs_, std::memory_order_relaxed);
  if (!e->dirty.any() && e->on_dirty_list) dirty_list_.remove(e);
}

}  // namespace nvmefs::cache
