// A mounted nvmefs file system (libfuse3 low-level API).
//
//   fs::block_termination_signals();      // first thing in main(), before any thread
//   fs::FuseMount m(mountpoint, tree, opts);  // mounted on return, or throws nvmefs::Error
//   int rc = m.run();                     // serves until unmounted or SIGTERM/SIGINT/SIGHUP,
//                                         // then writes back + flushes every file
//
// The tree is live: add_file/remove/size_changed may be called from any
// thread other than a FUSE worker (the daemon's event thread) while run()
// serves, and also before or after it. They update the inode table and
// then, with no lock held, tell the kernel (fuse_lowlevel_notify_*) so its
// caches drop the old entry/size.
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

  // Adds a file in directory `dir` ("" = the root; "a/b" nested; missing
  // directories are created). Throws nvmefs::Error if the name exists or a
  // name is invalid.
  void add_file(const std::string& dir, FileSpec file);
  // Removes the file or directory (recursively) at `path` ("ns1",
  // "SUBNQN/ns2", "SUBNQN"). Returns false if absent. Handles still open on
  // a removed file stay valid, but read/write/fsync/fallocate fail with EIO
  // (and a writer's close reports EIO); the path answers ENOENT at once.
  bool remove(const std::string& path);
  // The device size of the file at `path` changed (file.dev->info().size_bytes
  // already holds the new size): drops the kernel's cached attributes so
  // stat shows it. Returns false if there is no such file.
  bool size_changed(const std::string& path);

 private:
  void teardown();

  std::string mountpoint_;
  std::unique_ptr<FsState> state_;
  fuse_session* session_ = nullptr;
};

}  // namespace nvmefs::fs
