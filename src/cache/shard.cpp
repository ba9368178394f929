#include "shard.hpp"

#include <bit>

namespace nvmefs::cache {

void Shard::init(uint32_t buffers, uint8_t* arena, uint32_t block_bytes, bool caching) {
  caching_ = caching;
  buffers_ = buffers;
  policy_.init(buffers);
  uint32_t n_entries = buffers + (caching ? policy_.ghost_capacity() + 1 : 0);
  n_entries_ = n_entries;
  entries_ = std::make_unique<Entry[]>(n_entries);
  free_entries_.reserve(n_entries);
  for (uint32_t i = n_entries; i-- > 0;) free_entries_.push_back(&entries_[i]);
  free_buffers_.reserve(buffers);
  for (uint32_t i = buffers; i-- > 0;) free_buffers_.push_back(arena + uint64_t(i) * block_bytes);
  size_t n_buckets = std::bit_ceil<size_t>(n_entries * 2u);
  buckets_.assign(n_buckets, nullptr);
  shift_ = 64 - std::countr_zero(n_buckets);
}

Entry* Shard::find(uint64_t block) const {
  if (buckets_.size() == 1) return buckets_[0] && buckets_[0]->block == block ? buckets_[0] : nullptr;
  for (Entry* e = buckets_[bucket(block)]; e; e = e->hash_next)
    if (e->block == block) return e;
  return nullptr;
}

void Shard::hash_insert(Entry* e) {
  Entry*& head = buckets_[buckets_.size() == 1 ? 0 : bucket(e->block)];
  e->hash_next = head;
  head = e;
}

void Shard::hash_remove(Entry* e) {
  Entry** link = &buckets_[buckets_.size() == 1 ? 0 : bucket(e->block)];
  while (*link != e) link = &(*link)->hash_next;
  *link = e->hash_next;
  e->hash_next = nullptr;
}

void Shard::free_entry(Entry* e) {
  hash_remove(e);
  policy_.remove(e);
  free_entries_.push_back(e);
}

uint8_t* Shard::take_buffer(uint64_t& evictions) {
  if (!free_buffers_.empty()) {
    uint8_t* b = free_buffers_.back();
    free_buffers_.pop_back();
    return b;
  }
  if (!caching_) return nullptr;
  Entry* v = policy_.victim();
  if (!v) return nullptr;
  uint8_t* b = v->data;
  v->data = nullptr;
  ++evictions;
  if (!policy_.evict(v)) {
    hash_remove(v);
    free_entries_.push_back(v);
  } else if (policy_.ghost_overflow()) {
    Entry* g = policy_.pop_oldest_ghost();
    hash_remove(g);
    free_entries_.push_back(g);
  }
  return b;
}

Entry* Shard::take_entry() {
  if (!free_entries_.empty()) {
    Entry* e = free_entries_.back();
    free_entries_.pop_back();
    return e;
  }
  Entry* g = policy_.pop_oldest_ghost();
  if (g) hash_remove(g);
  return g;
}

Entry* Shard::acquire(uint64_t block, Entry* found, uint64_t& evictions) {
  uint8_t* buf = take_buffer(evictions);
  if (!buf) return nullptr;
  // take_buffer may have dropped `found` (the oldest ghost) to make room.
  Entry* ghost = found ? find(block) : nullptr;
  Entry* e = ghost;
  if (ghost) {
    policy_.remove(ghost);
  } else {
    e = take_entry();
    e->block = block;
    hash_insert(e);
  }
  e->data = buf;
  e->valid.clear_all();
  e->dirty.clear_all();
  e->writing.clear_all();
  e->locked = false;
  e->wb_jobs = 0;
  if (caching_) policy_.insert(e, ghost != nullptr);
  return e;
}

void Shard::release_if_idle(Entry* e) {
  if (caching_ || e->locked || e->waiters.head || e->wb_jobs) return;
  free_buffers_.push_back(e->data);
  e->data = nullptr;
  free_entry(e);
}

uint64_t Shard::drop_clean() {
  uint64_t dropped = 0;
  while (Entry* g = policy_.pop_oldest_ghost()) {
    hash_remove(g);
    free_entries_.push_back(g);
  }
  for (Entry* v; (v = policy_.victim());) {
    free_buffers_.push_back(v->data);
    v->data = nullptr;
    free_entry(v);
    ++dropped;
  }
  return dropped;
}

void Shard::discard(Entry* e) {
  if (e->data) free_buffers_.push_back(e->data);
  e->data = nullptr;
  free_entry(e);
}

}  // namespace nvmefs::cache
