#include "io_pool.hpp"

#include <cstdlib>
#include <memory>
#include <new>

namespace nvmefs::fs {
namespace {

constexpr size_t kAlign = 4096;

size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

}  // namespace

FuseIo::~FuseIo() { std::free(data); }

IoPool::~IoPool() {
  while (free_) {
    FuseIo* next = free_->next_free;
    delete free_;
    free_ = next;
  }
}

FuseIo* IoPool::acquire(size_t bytes) {
  FuseIo* io = nullptr;
  {
    std::lock_guard lk(mu_);
    if (free_) {
      io = free_;
      free_ = io->next_free;
      idle_bytes_ -= io->capacity;
    }
  }
  if (!io) {
    io = new (std::nothrow) FuseIo;
    if (!io) return nullptr;
  } else {
    // A fresh IoRequest: the fields private to the executing layer start clean.
    std::destroy_at(&io->req);
    std::construct_at(&io->req);
    io->next_free = nullptr;
  }
  if (io->capacity < bytes) {
    std::free(io->data);
    io->capacity = round_up(bytes);
    io->data = static_cast<uint8_t*>(std::aligned_alloc(kAlign, io->capacity));
    if (!io->data) {
      io->capacity = 0;
      delete io;
      return nullptr;
    }
  }
  return io;
}

void IoPool::release(FuseIo* io) {
  io->fuse_req = nullptr;
  {
    std::lock_guard lk(mu_);
    if (idle_bytes_ + io->capacity <= kMaxIdleBytes) {
      idle_bytes_ += io->capacity;
      io->next_free = free_;
      free_ = io;
      return;
    }
  }
  delete io;
}

}  // namespace nvmefs::fs
