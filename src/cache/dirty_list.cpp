#include "dirty_list.hpp"

namespace nvmefs::cache {

void DirtyList::add(Entry* e, uint64_t now_ms) {
  std::lock_guard lk(mu_);
  e->dirty_seq = ++seq_;
  e->dirty_since_ms = now_ms;
  e->dirty_next = nullptr;
  e->dirty_prev = tail_;
  if (tail_) tail_->dirty_next = e; else head_ = e;
  tail_ = e;
  e->on_dirty_list = true;
}

void DirtyList::remove(Entry* e) {
  std::lock_guard lk(mu_);
  if (e->dirty_prev) e->dirty_prev->dirty_next = e->dirty_next; else head_ = e->dirty_next;
  if (e->dirty_next) e->dirty_next->dirty_prev = e->dirty_prev; else tail_ = e->dirty_prev;
  e->dirty_prev = e->dirty_next = nullptr;
  e->on_dirty_list = false;
}

uint64_t DirtyList::last_seq() {
  std::lock_guard lk(mu_);
  return seq_;
}

size_t DirtyList::oldest(uint64_t max_seq, uint64_t dirtied_before_ms, uint64_t* out, size_t max) {
  std::lock_guard lk(mu_);
  size_t n = 0;
  for (Entry* e = head_; e && n < max; e = e->dirty_next) {
    if (e->dirty_seq > max_seq || e->dirty_since_ms > dirtied_before_ms) break;
    out[n++] = e->block;
  }
  return n;
}

}  // namespace nvmefs::cache
