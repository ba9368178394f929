// Merged fills: a run of consecutive cache blocks that are not resident is
// filled by ONE lower read (up to the lower max_transfer) instead of one per
// block. The read lands in a staging buffer of a preallocated FillRun (no
// allocation on this path) and is copied into each block's buffer when it
// completes. Each block of the run is an entry with nothing cached, locked
// like any fill (READING): other pieces park on its waiters and re-run
// afterwards (see the state essay in block_cache.cpp). On
// error no block becomes valid, every owner piece of the run fails with the
// error and waiters re-run (they retry with their own fill, as before).
// When no FillRun is free, blocks fall back to one fill per block.
#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "cache_impl.hpp"

namespace nvmefs::cache {

namespace {
constexpr uint32_t kFillRuns = 8;                 // merged fills in flight at most
constexpr uint32_t kFillRunMaxBytes = 1u << 20;   // staging per FillRun (capped by the lower max_transfer)
}  // namespace

void CacheImpl::init_fill_runs() {
  // At most a quarter of the cache per run: runs must never need every buffer.
  uint64_t bytes = std::min<uint64_t>({lower_->info().max_transfer, kFillRunMaxBytes, opts_.cache_size / 4});
  fill_run_blocks_ = caching_ ? uint32_t(bytes / cb_) : 0;
  if (fill_run_blocks_ < 2) {  // nothing to merge
    fill_run_blocks_ = 0;
    return;
  }
  uint64_t stride = uint64_t(fill_run_blocks_) * cb_;
  fill_staging_.reset(new uint8_t[stride * kFillRuns]);
  fill_runs_ = std::make_unique<FillRun[]>(kFillRuns);
  for (uint32_t i = 0; i < kFillRuns; ++i) {
    FillRun& fr = fill_runs_[i];
    fr.cache = this;
    fr.staging = fill_staging_.get() + stride * i;
    fr.entries = std::make_unique<Entry*[]>(fill_run_blocks_);
    fr.next_free = free_fill_runs_;
    free_fill_runs_ = &fr;
  }
}

FillRun* CacheImpl::take_fill_run() {
  std::lock_guard lk(fill_mu_);
  FillRun* fr = free_fill_runs_;
  if (fr) free_fill_runs_ = fr->next_free;
  return fr;
}

void CacheImpl::put_fill_run(FillRun* fr) {
  std::lock_guard lk(fill_mu_);
  fr->next_free = free_fill_runs_;
  free_fill_runs_ = fr;
}

bool CacheImpl::resident(uint64_t block) {
  Shard& s = shard_of(block);
  std::lock_guard lk(s.mu);
  Entry* e = s.find(block);
  return e && e->data;
}

// A locked entry with nothing cached for `block` (new, or left empty by a
// failed fill), or nullptr when the block holds data, is busy, or no buffer
// is free.
Entry* CacheImpl::claim_absent(uint64_t block, bool demand) {
  Shard& s = shard_of(block);
  std::lock_guard lk(s.mu);
  Entry* e = s.find(block);
  if (e && e->data) {
    if (e->locked || e->wb_jobs || e->valid.any() || e->dirty.any() || e->writing.any()) return nullptr;
    if (demand) s.touch(e);
  } else {
    uint64_t evicted = 0;
    e = s.acquire(block, e, evicted);
    if (evicted) evictions_.fetch_add(evicted, std::memory_order_relaxed);
    if (!e) return nullptr;
  }
  e->locked = true;
  (demand ? misses_ : readahead_blocks_).fetch_add(1, std::memory_order_relaxed);
  return e;
}

void CacheImpl::fill_blocks(uint64_t first, uint32_t count, Piece* owners) {
  FillRun* fr = nullptr;
  for (uint64_t block = first; block < first + count; ++block) {
    Piece* owner = owners;
    if (owner) owners = owner->next;
    if (!fr && fill_run_blocks_) fr = take_fill_run();
    if (!fr) {  // no merged fill available: one fill per block
      if (!owner) {
        if (resident(block)) continue;
        owner = new_piece(nullptr, IoOp::Read, block, 0, block_bytes(block), nullptr);
        owner->may_wait = false;
      }
      run(owner);
      continue;
    }
    Entry* e = claim_absent(block, owner != nullptr);
    if (!e) {  // resident, in flight or no buffer: this block goes its own way
      if (fr->count) start_fill_run(std::exchange(fr, nullptr));
      if (owner) run(owner);  // a hit, a waiter, or parked for a buffer
      continue;
    }
    if (fr->count == 0) fr->first_block = block;
    fr->entries[fr->count++] = e;
    if (owner) {
      owner->touched = true;
      fr->owners.push(owner);
    }
    if (fr->count == fill_run_blocks_) start_fill_run(std::exchange(fr, nullptr));
  }
  if (fr && fr->count) start_fill_run(fr);
  else if (fr) put_fill_run(fr);
}

void CacheImpl::start_fill_run(FillRun* fr) {
  internal_pieces_.fetch_add(1, std::memory_order_relaxed);
  uint64_t last = fr->first_block + fr->count - 1;
  IoRequest& l = fr->lower;
  std::destroy_at(&l);  // the lower layer's private state starts clean
  std::construct_at(&l);
  l.op = IoOp::Read;
  l.offset = fr->first_block * cb_;
  l.length = uint64_t(fr->count - 1) * cb_ + block_bytes(last);
  l.buf = fr->staging;
  l.done = on_fill_run_done;
  l.user = fr;
  fr->size_gen = size_gen_.load(std::memory_order_acquire);
  lower_->submit(&l);
}

void CacheImpl::on_fill_run_done(IoRequest* r) {
  auto* fr = static_cast<FillRun*>(r->user);
  CacheImpl* cache = fr->cache;
  CallbackGuard guard(cache);
  cache->fill_run_done(fr);
}

void CacheImpl::fill_run_done(FillRun* fr) {
  int res = fr->lower.result;
  uint16_t status = fr->lower.nvme_status;
  PieceList rerun;  // waiters, then pieces that were starved of a buffer
  for (uint32_t i = 0; i < fr->count; ++i) {
    uint64_t block = fr->first_block + i;
    Entry* e = fr->entries[i];
    uint32_t bytes = block_bytes(block);
    // The entry is locked: nobody else touches its buffer until we unlock it.
    if (res == 0) std::memcpy(e->data, fr->staging + uint64_t(i) * cb_, bytes);
    Shard& s = shard_of(block);
    std::lock_guard lk(s.mu);
    // Not after a resize() since the read started (the owners re-run and fill again).
    if (res == 0 && fill_is_current(fr->size_gen)) e->valid.set(0, bytes / lbs_);
    e->locked = false;
    for (Piece* w = e->waiters.take(); w;) rerun.push(std::exchange(w, w->next));
    for (Piece* w = s.take_starved(); w;) rerun.push(std::exchange(w, w->next));
  }
  Piece* owners = fr->owners.take();
  fr->count = 0;
  put_fill_run(fr);
  if (res == 0) {
    run_all(owners);
  } else {
    while (owners) finish(std::exchange(owners, owners->next), res, status);
  }
  run_all(rerun.take());
  internal_pieces_.fetch_sub(1, std::memory_order_release);
}

}  // namespace nvmefs::cache
