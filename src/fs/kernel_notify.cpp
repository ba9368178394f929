#include "kernel_notify.hpp"

#include <cerrno>
#include <cstring>
#include <mutex>

#include "nvmefs/common/log.hpp"

namespace nvmefs::fs {

void KernelNotifier::attach(fuse_session* se) {
  std::unique_lock lk(mu_);
  se_ = se;
}

void KernelNotifier::detach() {
  std::unique_lock lk(mu_);
  se_ = nullptr;
}

void KernelNotifier::check(int rc, const char* what, fuse_ino_t ino) {
  // -ENOENT: nothing cached. -ENOSYS: the session has not been initialised
  // yet (nothing cached either). -EBADF/-ENODEV: the session is ending.
  if (rc == 0 || rc == -ENOENT || rc == -ENOSYS || rc == -EBADF || rc == -ENODEV) return;
  log::warn("kernel notification {} for inode {} failed: {}", what, ino, std::strerror(-rc));
}

void KernelNotifier::entry_deleted(fuse_ino_t parent, fuse_ino_t ino, const std::string& name) {
  std::shared_lock lk(mu_);
  if (!se_) return;
  // notify_delete also marks the inode unlinked (nlink 0) and drops the
  // parent's cached listing; a directory still holding cached children
  // answers -ENOTEMPTY (callers send children first), then plain invalidation.
  int rc = fuse_lowlevel_notify_delete(se_, parent, ino, name.data(), name.size());
  if (rc == -ENOSYS || rc == -ENOTEMPTY || rc == -EBUSY)
    rc = fuse_lowlevel_notify_inval_entry(se_, parent, name.data(), name.size());
  check(rc, "delete", ino);
  // The parent's listing (readdir cache) and attributes.
  check(fuse_lowlevel_notify_inval_inode(se_, parent, 0, 0), "inval dir", parent);
}

void KernelNotifier::entry_added(fuse_ino_t parent, const std::string& name) {
  std::shared_lock lk(mu_);
  if (!se_) return;
  check(fuse_lowlevel_notify_inval_entry(se_, parent, name.data(), name.size()), "inval entry", parent);
  check(fuse_lowlevel_notify_inval_inode(se_, parent, 0, 0), "inval dir", parent);
}

void KernelNotifier::inode_changed(fuse_ino_t ino) {
  std::shared_lock lk(mu_);
  if (!se_) return;
  // off 0, len 0: attributes and every cached page (kernel_cache mode).
  check(fuse_lowlevel_notify_inval_inode(se_, ino, 0, 0), "inval inode", ino);
}

}  // namespace nvmefs::fs
