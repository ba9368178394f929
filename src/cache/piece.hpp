// A Piece is the part of a request that falls into one cache block; it is
// what waits (on a locked block, for a free buffer, for dirty throttling) and
// what carries the lower-device request of a fill or write-through.
#pragma once

#include <cstdint>

#include "nvmefs/block_device.hpp"

namespace nvmefs::cache {

struct Entry;
class CacheImpl;

enum class LowerOp : uint8_t { None, Fill, Write, Direct };

struct Piece {
  CacheImpl* cache = nullptr;
  IoRequest* parent = nullptr;  // nullptr: readahead fill
  IoOp op = IoOp::Read;
  uint32_t flags = 0;
  uint64_t block = 0;
  uint32_t off = 0;             // bytes inside the block
  uint32_t len = 0;
  uint8_t* buf = nullptr;       // caller bytes (Read: destination, Write: source)
  bool touched = false;         // counted once by the eviction policy
  bool may_wait = true;         // readahead gives up instead of waiting for a buffer
  Piece* next = nullptr;        // waiter list link

  // The lower request in flight for this piece.
  LowerOp lower_op = LowerOp::None;
  Entry* entry = nullptr;
  uint32_t lba_first = 0, lba_count = 0;  // block-relative LBAs of lower_op
  uint64_t size_gen = 0;                  // the cache's size generation when lower_op started
  IoRequest lower;
};

// Singly linked FIFO of pieces.
struct PieceList {
  Piece* head = nullptr;
  Piece* tail = nullptr;
  void push(Piece* p) {
    p->next = nullptr;
    if (tail) tail->next = p; else head = p;
    tail = p;
  }
  Piece* take() {
    Piece* h = head;
    head = tail = nullptr;
    return h;
  }
};

}  // namespace nvmefs::cache
