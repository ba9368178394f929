// Tells the kernel what changed in the tree (libfuse3 reverse notifications),
// so that its dentry/attribute caches (entry and attr timeouts are long) do
// not keep showing a removed file or an old size.
//
// Deadlock rules: a notification may block in the kernel (invalidating an
// entry takes the parent directory's inode lock, which a lookup in progress
// holds until its reply arrives). So notifications are sent only from a
// thread that is not a FUSE worker and holds no lock the workers need (never
// the inode table lock). -ENOENT (the kernel had nothing cached) is normal.
#pragma once

#include <fuse_lowlevel.h>

#include <shared_mutex>
#include <string>

namespace nvmefs::fs {

class KernelNotifier {
 public:
  // Before attach() and after detach() notifications are dropped.
  void attach(fuse_session* se);
  void detach();  // waits for notifications being sent

  // Entry `name` (inode `ino`) of directory `parent` is gone.
  void entry_deleted(fuse_ino_t parent, fuse_ino_t ino, const std::string& name);
  // Directory `parent` gained entry `name`: drop its cached listing.
  void entry_added(fuse_ino_t parent, const std::string& name);
  // Attributes (size) of `ino` changed: drop cached attributes and pages.
  void inode_changed(fuse_ino_t ino);

 private:
  void check(int rc, const char* what, fuse_ino_t ino);

  std::shared_mutex mu_;  // shared: sending; exclusive: attach/detach
  fuse_session* se_ = nullptr;
};

}  // namespace nvmefs::fs
