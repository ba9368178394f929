// Pooled per-request state for FUSE I/O that completes asynchronously: the
// IoRequest handed to the BlockDevice, the fuse_req_t to answer from the
// completion callback, and a data buffer (read destination / private copy of
// the write payload). Objects and their buffers are recycled through a free
// list, so the steady state allocates nothing; idle buffers are capped at
// kMaxIdleBytes in total.
#pragma once

#include <fuse_lowlevel.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "nvmefs/block_device.hpp"

namespace nvmefs::fs {

struct FsState;

struct FuseIo {
  IoRequest req;
  fuse_req_t fuse_req = nullptr;
  FsState* fs = nullptr;
  uint8_t* data = nullptr;  // capacity bytes, 4 KiB aligned
  size_t capacity = 0;
  FuseIo* next_free = nullptr;

  ~FuseIo();
};

class IoPool {
 public:
  static constexpr size_t kMaxIdleBytes = 64u << 20;

  IoPool() = default;
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  // A clean object whose buffer holds at least `bytes`; nullptr when out of memory.
  FuseIo* acquire(size_t bytes);
  void release(FuseIo* io);

 private:
  std::mutex mu_;  // held for a pointer swap only
  FuseIo* free_ = nullptr;
  size_t idle_bytes_ = 0;
};

}  // namespace nvmefs::fs
