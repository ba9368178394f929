// PiecePool (src/cache/piece_pool.hpp): released pieces are reused, and come
// back as clean as a new one.
#include <doctest/doctest.h>

#include "piece_pool.hpp"

namespace nvmefs::cache {

TEST_CASE("a released piece is reused and comes back clean") {
  PiecePool pool;
  Piece* p = pool.acquire();
  p->block = 7;
  p->len = 4096;
  p->lower.result = -5;
  p->lower.pending_.store(3);
  p->lower.cursor_ = 99;
  pool.release(p);

  Piece* q = pool.acquire();
  CHECK(q == p);  // from the free list, no allocation
  CHECK(q->block == 0);
  CHECK(q->len == 0);
  CHECK(q->next == nullptr);
  CHECK(q->lower.result == 0);
  CHECK(q->lower.pending_.load() == 0);
  CHECK(q->lower.cursor_ == 0);
  pool.release(q);
}

}  // namespace nvmefs::cache
