// submit(): validates a request and cuts it into per-block pieces. Reads
// that hit the cache are served inline (no allocation, one shard lock per
// block); everything else becomes a Piece run by piece_run.cpp.
#include <algorithm>
#include <cstring>
#include <utility>

#include "cache_impl.hpp"

namespace nvmefs::cache {

void CacheImpl::release(IoRequest* r, int err, uint16_t nvme_status) {
  if (err) {
    int none = 0;
    if (r->first_error_.compare_exchange_strong(none, err)) r->first_status_ = nvme_status;
  }
  if (r->pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    r->result = r->first_error_.load();
    r->nvme_status = r->first_status_;
    r->done(r);
  }
}

void CacheImpl::finish(Piece* p, int err, uint16_t nvme_status) {
  IoRequest* parent = p->parent;
  pieces_.release(p);
  if (parent) release(parent, err, nvme_status);
  else internal_pieces_.fetch_sub(1, std::memory_order_release);
}

Piece* CacheImpl::new_piece(IoRequest* parent, IoOp op, uint64_t block, uint32_t off, uint32_t len, uint8_t* buf) {
  Piece* p = pieces_.acquire();
  p->cache = this;
  p->parent = parent;
  p->op = op;
  p->flags = parent ? parent->flags : 0;
  p->block = block;
  p->off = off;
  p->len = len;
  p->buf = buf;
  if (parent) parent->pending_.fetch_add(1, std::memory_order_relaxed);
  else internal_pieces_.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void CacheImpl::submit(IoRequest* r) {
  r->result = 0;
  r->nvme_status = 0;
  r->first_error_.store(0);
  r->first_status_ = 0;
  r->pending_.store(1);  // guard: released at the end of submit()
  bool modifies = r->op != IoOp::Read && r->op != IoOp::Flush;
  const uint64_t size = info_.size_bytes.load();  // once: resize() may change it meanwhile
  if (r->op != IoOp::Flush && (r->offset > size || r->length > size - r->offset)) {
    release(r, -EINVAL);
    return;
  }
  if (modifies && info_.read_only) {
    release(r, -EROFS);
    return;
  }
  switch (r->op) {
    case IoOp::Read: submit_read(r); break;
    case IoOp::Write: submit_write(r, r->offset, r->length, static_cast<uint8_t*>(r->buf), true); break;
    case IoOp::WriteZeroes:
    case IoOp::Deallocate: submit_zero(r); break;
    case IoOp::Flush:
      if (opts_.mode == Mode::WriteBack) {
        r->pending_.fetch_add(1);
        {
          std::lock_guard lk(fl_mu_);
          r->next_ = nullptr;
          if (flush_tail_) flush_tail_->next_ = r; else flush_head_ = r;
          flush_tail_ = r;
        }
        fl_cv_.notify_all();
      } else {
        Piece* p = new_piece(r, IoOp::Flush, 0, 0, 0, nullptr);
        p->lower.offset = 0;
        p->lower.length = 0;
        start_direct(p);
      }
      break;
  }
  release(r, 0);
}

void CacheImpl::submit_read(IoRequest* r) {
  auto* buf = static_cast<uint8_t*>(r->buf);
  if (!caching_ && r->offset % lbs_ == 0 && r->length % lbs_ == 0) {
    Piece* p = new_piece(r, IoOp::Read, 0, 0, 0, nullptr);
    p->lower.offset = r->offset;
    p->lower.length = r->length;
    p->lower.buf = buf;
    start_direct(p);
    return;
  }
  ReadaheadDetector::Range ra = readahead_.observe(r->offset, r->length);
  PieceList misses;  // consecutive missed blocks, filled together
  uint64_t miss_first = 0;
  uint32_t miss_count = 0;
  for (uint64_t pos = r->offset, end = r->offset + r->length; pos < end;) {
    uint64_t block = pos / cb_;
    uint32_t off = uint32_t(pos % cb_);
    uint32_t len = uint32_t(std::min<uint64_t>(end, (block + 1) * cb_) - pos);
    uint8_t* dst = buf + (pos - r->offset);
    pos += len;
    if (!caching_) {
      run(new_piece(r, IoOp::Read, block, off, len, dst));
      continue;
    }
    if (try_read_hit(block, off, len, dst)) {
      if (miss_count) fill_blocks(miss_first, std::exchange(miss_count, 0), misses.take());
      continue;
    }
    if (miss_count == 0) miss_first = block;
    ++miss_count;
    misses.push(new_piece(r, IoOp::Read, block, off, len, dst));
  }
  if (miss_count) fill_blocks(miss_first, miss_count, misses.take());
  if (ra.length) prefetch(ra.offset, ra.length);
}

bool CacheImpl::try_read_hit(uint64_t block, uint32_t off, uint32_t len, uint8_t* buf) {
  Shard& s = shard_of(block);
  std::lock_guard lk(s.mu);
  Entry* e = s.find(block);
  uint32_t first = off / lbs_;
  if (!e || !e->data || !e->valid.all(first, (off + len + lbs_ - 1) / lbs_ - first)) return false;
  std::memcpy(buf, e->data + off, len);
  s.touch(e);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void CacheImpl::prefetch(uint64_t offset, uint64_t length) {
  if (offset >= info_.size_bytes) return;
  uint64_t end = std::min<uint64_t>(info_.size_bytes, offset + length);
  uint64_t first = offset / cb_;
  fill_blocks(first, uint32_t((end + cb_ - 1) / cb_ - first), nullptr);
}

void CacheImpl::submit_write(IoRequest* r, uint64_t offset, uint64_t length, uint8_t* buf, bool advance) {
  for (uint64_t pos = offset, end = offset + length; pos < end;) {
    uint64_t block = pos / cb_;
    uint32_t off = uint32_t(pos % cb_);
    uint32_t len = uint32_t(std::min<uint64_t>(end, (block + 1) * cb_) - pos);
    run(new_piece(r, IoOp::Write, block, off, len, advance ? buf + (pos - offset) : buf));
    pos += len;
  }
}

// WriteZeroes / Deallocate: unaligned edges become writes of zeros (RMW of
// the partial LBAs); the aligned middle is zeroed per block.
void CacheImpl::submit_zero(IoRequest* r) {
  uint64_t end = r->offset + r->length;
  uint64_t head_end = std::min(end, (r->offset + lbs_ - 1) / lbs_ * lbs_);
  uint64_t tail_start = std::max(head_end, end / lbs_ * lbs_);
  if (head_end > r->offset) submit_write(r, r->offset, head_end - r->offset, zeros_.get(), false);
  if (end > tail_start) submit_write(r, tail_start, end - tail_start, zeros_.get(), false);
  for (uint64_t pos = head_end; pos < tail_start;) {
    uint64_t block = pos / cb_;
    uint32_t off = uint32_t(pos % cb_);
    uint32_t len = uint32_t(std::min<uint64_t>(tail_start, (block + 1) * cb_) - pos);
    run(new_piece(r, r->op, block, off, len, nullptr));
    pos += len;
  }
}

}  // namespace nvmefs::cache
