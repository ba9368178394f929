#include "rdma_mr_cache.hpp"

#include <cerrno>

namespace nvmefs::transport::rdma {

MrCache::MrCache(Registrar& registrar, size_t max_bytes, size_t page_size)
    : registrar_(registrar), max_bytes_(max_bytes), page_mask_(~uintptr_t(page_size - 1)) {}

MrCache::~MrCache() { clear(); }

void MrCache::clear() {
  std::lock_guard lk(mu_);
  for (auto& e : lru_) registrar_.dereg(e.handle);
  lru_.clear();
  index_.clear();
  bytes_ = 0;
}

MrCache::Entry* MrCache::acquire(const void* addr, size_t len) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  if (len == 0 || a + len < a) {
    errno = EINVAL;
    return nullptr;
  }
  const uintptr_t start = a & page_mask_;
  const uintptr_t end = (a + len + ~page_mask_) & page_mask_;
  std::lock_guard lk(mu_);
  // The entry with the greatest start <= start is the only candidate checked.
  if (auto it = index_.upper_bound(start); it != index_.begin()) {
    auto e = std::prev(it)->second;
    if (e->end >= end) {
      lru_.splice(lru_.begin(), lru_, e);
      ++e->refs;
      return &*e;
    }
  }
  Entry fresh;
  fresh.start = start;
  fresh.end = end;
  fresh.handle = registrar_.reg(reinterpret_cast<void*>(start), end - start, fresh.keys);
  if (!fresh.handle) return nullptr;
  fresh.refs = 1;
  if (auto same = index_.find(start); same != index_.end()) {  // a shorter one: superseded
    if (same->second->refs == 0) drop(same->second);
    else unindex(*same->second);
  }
  lru_.push_front(fresh);
  index_[start] = lru_.begin();
  bytes_ += end - start;
  evict_over_limit();
  return &lru_.front();
}

void MrCache::release(Entry* e) {
  std::lock_guard lk(mu_);
  if (--e->refs > 0) return;
  if (!e->indexed) {
    for (auto it = lru_.begin(); it != lru_.end(); ++it)
      if (&*it == e) return drop(it);
  }
  evict_over_limit();
}

void MrCache::invalidate(Entry* e) {
  std::lock_guard lk(mu_);
  unindex(*e);
}

void MrCache::unindex(Entry& e) {
  if (!e.indexed) return;
  e.indexed = false;
  if (auto it = index_.find(e.start); it != index_.end() && &*it->second == &e) index_.erase(it);
}

void MrCache::drop(std::list<Entry>::iterator it) {
  unindex(*it);
  registrar_.dereg(it->handle);
  bytes_ -= it->end - it->start;
  lru_.erase(it);
}

void MrCache::evict_over_limit() {
  for (auto it = lru_.end(); bytes_ > max_bytes_ && it != lru_.begin();) {
    --it;
    if (it->refs == 0) drop(it++);
  }
}

size_t MrCache::registered_bytes() const {
  std::lock_guard lk(mu_);
  return bytes_;
}

size_t MrCache::size() const {
  std::lock_guard lk(mu_);
  return lru_.size();
}

}  // namespace nvmefs::transport::rdma
