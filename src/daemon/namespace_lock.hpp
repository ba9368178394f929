// One daemon per namespace: an exclusive flock on
// /run/nvmefs/locks/<hash of subsystem NQN + NSID>.lock, held for the
// daemon's lifetime (the kernel drops it when the process exits, after the
// final write-back). A quick remount waits, bounded, for an old daemon that
// is still flushing instead of racing it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace nvmefs::daemon {

inline constexpr const char* kLockDir = "/run/nvmefs/locks";

class NamespaceLock {
 public:
  // Throws nvmefs::Error when the lock cannot be taken within `wait`.
  NamespaceLock(const std::string& subnqn, uint32_t nsid, std::chrono::seconds wait);
  ~NamespaceLock();
  NamespaceLock(const NamespaceLock&) = delete;
  NamespaceLock& operator=(const NamespaceLock&) = delete;

  static std::string path_for(const std::string& subnqn, uint32_t nsid);

 private:
  int fd_ = -1;
};

}  // namespace nvmefs::daemon
