#include "two_q.hpp"

#include <algorithm>

namespace nvmefs::cache {

void EntryList::push_front(Entry* e) {
  e->prev = nullptr;
  e->next = head_;
  if (head_) head_->prev = e; else tail_ = e;
  head_ = e;
  ++size_;
}

void EntryList::remove(Entry* e) {
  if (e->prev) e->prev->next = e->next; else head_ = e->next;
  if (e->next) e->next->prev = e->prev; else tail_ = e->prev;
  e->prev = e->next = nullptr;
  --size_;
}

void TwoQ::init(uint32_t capacity) {
  kin_ = std::max<uint32_t>(1, capacity / 4);
  kout_ = std::max<uint32_t>(1, capacity / 2);
}

EntryList& TwoQ::list_of(QueueId q) {
  return q == QueueId::A1in ? a1in_ : q == QueueId::Am ? am_ : a1out_;
}

void TwoQ::insert(Entry* e, bool was_ghost) {
  e->queue = was_ghost ? QueueId::Am : QueueId::A1in;
  list_of(e->queue).push_front(e);
}

void TwoQ::on_hit(Entry* e) {
  if (e->queue != QueueId::Am) return;  // A1in: correlated reference, no promotion
  am_.remove(e);
  am_.push_front(e);
}

Entry* TwoQ::oldest_evictable(const EntryList& l) {
  for (Entry* e = l.back(); e; e = e->prev)
    if (e->evictable()) return e;
  return nullptr;
}

Entry* TwoQ::victim() const {
  Entry* v = nullptr;
  if (a1in_.size() > kin_ || am_.size() == 0) v = oldest_evictable(a1in_);
  if (!v) v = oldest_evictable(am_);
  if (!v) v = oldest_evictable(a1in_);
  return v;
}

bool TwoQ::evict(Entry* e) {
  bool to_ghost = e->queue == QueueId::A1in;
  list_of(e->queue).remove(e);
  e->queue = QueueId::Free;
  if (to_ghost) {
    e->queue = QueueId::A1out;
    a1out_.push_front(e);
  }
  return to_ghost;
}

Entry* TwoQ::pop_oldest_ghost() {
  Entry* g = a1out_.back();
  if (g) remove(g);
  return g;
}

void TwoQ::remove(Entry* e) {
  if (e->queue == QueueId::Free) return;
  list_of(e->queue).remove(e);
  e->queue = QueueId::Free;
}

}  // namespace nvmefs::cache
