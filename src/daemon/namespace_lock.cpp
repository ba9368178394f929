#include "namespace_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <thread>

#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::daemon {
namespace {

uint64_t fnv1a64(const std::string& s, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace

std::string NamespaceLock::path_for(const std::string& subnqn, uint32_t nsid) {
  return fmt::format("{}/{:016x}.lock", kLockDir, fnv1a64(subnqn + '\0' + std::to_string(nsid)));
}

NamespaceLock::NamespaceLock(const std::string& subnqn, uint32_t nsid, std::chrono::seconds wait) {
  std::error_code ec;
  std::filesystem::create_directories(kLockDir, ec);
  std::string path = path_for(subnqn, nsid);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(fmt::format("lock file {}: {}", path, std::strerror(errno)), errno);
  auto deadline = std::chrono::steady_clock::now() + wait;
  bool told = false;
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK || std::chrono::steady_clock::now() >= deadline) {
      int err = errno;
      ::close(fd_);
      throw Error(fmt::format("namespace {} of {} is still in use by another nvmefs (lock {})", nsid, subnqn, path),
                  err == EWOULDBLOCK ? EBUSY : err);
    }
    if (!told) {
      log::warn("namespace {} of {}: waiting up to {} s for a previous nvmefs to finish writing back", nsid, subnqn,
                wait.count());
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) log::debug("{}: cannot record pid", path);
}

NamespaceLock::~NamespaceLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace nvmefs::daemon
