#include "piece_pool.hpp"

#include <memory>
#include <utility>

namespace nvmefs::cache {

PiecePool::~PiecePool() {
  while (free_) delete std::exchange(free_, free_->next);
}

Piece* PiecePool::acquire() {
  Piece* p;
  {
    std::lock_guard lk(mu_);
    p = free_;
    if (p) {
      free_ = p->next;
      --idle_;
    }
  }
  if (!p) return new Piece;
  // Every field, including the private state of the lower IoRequest, starts clean.
  std::destroy_at(p);
  return std::construct_at(p);
}

void PiecePool::release(Piece* p) {
  {
    std::lock_guard lk(mu_);
    if (idle_ < kMaxIdle) {
      p->next = free_;
      free_ = p;
      ++idle_;
      return;
    }
  }
  delete p;
}

}  // namespace nvmefs::cache
