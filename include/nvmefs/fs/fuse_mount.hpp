// A mounted nvmefs file system (libfuse3 low-level API).
//
//   fs::block_termination_signals();      // first thing in main(), before any thread
//   fs::FuseMount m(mountpoint, tree, opts);  // mounted on return, or throws nvmefs::Error
//   int rc = m.run();                     // serves until unmounted or SIGTERM/SIGINT/SIGHUP,
//                                         // then writes back + flushes every file
//
// Page cache policy (docs/FS.md): files are opened with FOPEN_DIRECT_IO
// unless FsOptions::kernel_cache: the block cache below is the only cache,
// so there is no double caching and every opener sees the same bytes.
#pragma once

#include <memory>
#include <string>

#include "nvmefs/fs/tree.hpp"

struct fuse_session;

namespace nvmefs::fs {

struct FsState;

// Blocks SIGTERM/SIGINT/SIGHUP in the calling thread so that every thread
// created afterwards inherits the mask; FuseMount::run() waits for them on
// a thread of its own. Call before starting any thread.
void block_termination_signals();

class FuseMount {
 public:
  FuseMount(const std::string& mountpoint, DirSpec root, const FsOptions& opts);
  ~FuseMount();
  FuseMount(const FuseMount&) = delete;
  FuseMount& operator=(const FuseMount&) = delete;

  // Serves requests until the file system is unmounted or a termination
  // signal arrives (which unmounts it lazily). Then waits for in-flight
  // I/O, writes back and flushes every file. Returns 0, or the first
  // negative errno of that final flush.
  int run();

 private:
  void teardown();

  std::string mountpoint_;
  std::unique_ptr<FsState> state_;
  fuse_session* session_ = nullptr;
};

}  // namespace nvmefs::fs
