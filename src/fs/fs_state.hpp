// Shared state of one mount, reached from every FUSE handler through
// fuse_req_userdata(). No lock on the I/O hot path: an open handle holds its
// node, writer counts and the in-flight count are atomics, the pool takes
// its own short lock; drain_mu_ is only for waiting. Metadata handlers take
// the inode table's shared lock inside InodeTable calls, never across a
// reply or a kernel notification.
#pragma once

#include <fuse_lowlevel.h>

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <mutex>

#include "inode_table.hpp"
#include "io_pool.hpp"
#include "kernel_notify.hpp"
#include "open_files.hpp"
#include "nvmefs/fs/tree.hpp"

namespace nvmefs::fs {

inline constexpr uint32_t kMaxIo = 1u << 20;  // max_read / max_write negotiated with the kernel

struct FsState {
  FsState(DirSpec root, const FsOptions& o) : inodes(std::move(root)), opts(o), mount_time(::time(nullptr)) {}

  InodeTable inodes;
  OpenFiles handles{inodes};  // destroyed before the table
  KernelNotifier notifier;
  FsOptions opts;
  IoPool pool;
  time_t mount_time;
  int final_flush_result = 0;  // set by the destroy handler

  // Asynchronous requests between submit and reply: destroy waits for zero
  // before the session (and its channel) goes away.
  void io_started() { inflight_.fetch_add(1, std::memory_order_relaxed); }
  void io_finished() {
    if (inflight_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lk(drain_mu_);
      drain_cv_.notify_all();
    }
  }
  void wait_idle() {
    std::unique_lock lk(drain_mu_);
    drain_cv_.wait(lk, [&] { return inflight_.load(std::memory_order_acquire) == 0; });
  }

 private:
  std::atomic<int64_t> inflight_{0};
  std::mutex drain_mu_;
  std::condition_variable drain_cv_;
};

// The low-level operation table (fuse_ops.cpp).
const fuse_lowlevel_ops& lowlevel_ops();

// Writes back and flushes every file's device; returns 0 or the first -errno.
int flush_all_files(const InodeTable& inodes);

}  // namespace nvmefs::fs
