#include "storage.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"

namespace nvmefs::target {
namespace {

class FileStorage final : public Storage {
 public:
  FileStorage(std::string name, uint64_t size, int fd, bool block_device)
      : Storage(std::move(name), size), fd_(fd), block_device_(block_device) {}
  ~FileStorage() override { ::close(fd_); }

  int read(void* buf, size_t len, uint64_t offset) override {
    auto* p = static_cast<uint8_t*>(buf);
    while (len > 0) {
      ssize_t n = ::pread(fd_, p, len, off_t(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return -errno;
      if (n == 0) {  // a file shrunk behind our back: the rest reads as zeros
        std::memset(p, 0, len);
        return 0;
      }
      p += n; len -= size_t(n); offset += uint64_t(n);
    }
    return 0;
  }

  int write(const void* buf, size_t len, uint64_t offset) override {
    const auto* p = static_cast<const uint8_t*>(buf);
    while (len > 0) {
      ssize_t n = ::pwrite(fd_, p, len, off_t(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return -errno;
      p += n; len -= size_t(n); offset += uint64_t(n);
    }
    return 0;
  }

  int flush() override { return ::fdatasync(fd_) == 0 ? 0 : -errno; }

  void resize(uint64_t bytes) override {
    if (block_device_) throw Error(fmt::format("{}: a block device cannot be resized", name()));
    if (::ftruncate(fd_, off_t(bytes)) != 0)
      throw Error(fmt::format("{}: cannot set size {}: {}", name(), bytes, std::strerror(errno)));
    set_size(bytes);
  }

  int write_zeroes(uint64_t offset, uint64_t len, bool deallocate) override {
    if (!block_device_) {
      int mode = deallocate ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
      if (::fallocate(fd_, mode, off_t(offset), off_t(len)) == 0) return 0;
      if (errno != EOPNOTSUPP && errno != ENOSYS) return -errno;
    } else {
      uint64_t range[2] = {offset, len};
      if (::ioctl(fd_, BLKZEROOUT, range) == 0) return 0;
    }
    return write_zeroes_slowly(offset, len);
  }

 private:
  int write_zeroes_slowly(uint64_t offset, uint64_t len) {
    static const std::vector<uint8_t> zeros(1 << 20, 0);
    while (len > 0) {
      size_t n = size_t(std::min<uint64_t>(len, zeros.size()));
      if (int rc = write(zeros.data(), n, offset)) return rc;
      offset += n; len -= n;
    }
    return 0;
  }

  int fd_;
  bool block_device_;
};

class MemoryStorage final : public Storage {
 public:
  MemoryStorage(uint64_t size, uint8_t* mem) : Storage(fmt::format("ram:{}", size), size), mem_(mem), capacity_(size) {}
  ~MemoryStorage() override { ::munmap(mem_, capacity_); }

  int read(void* buf, size_t len, uint64_t offset) override { std::memcpy(buf, mem_ + offset, len); return 0; }
  int write(const void* buf, size_t len, uint64_t offset) override { std::memcpy(mem_ + offset, buf, len); return 0; }
  int flush() override { return 0; }
  int write_zeroes(uint64_t offset, uint64_t len, bool) override { std::memset(mem_ + offset, 0, len); return 0; }

  // The mapping stays as created (queues may still use it): a memory
  // namespace shrinks, and grows back at most to its first size.
  void resize(uint64_t bytes) override {
    if (bytes > capacity_)
      throw Error(fmt::format("{}: a memory namespace cannot grow beyond its first size ({} bytes)", name(), capacity_));
    const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
    const uint64_t keep = (bytes + page - 1) / page * page;
    if (bytes < size_bytes()) {
      std::memset(mem_ + bytes, 0, size_t(std::min(keep, capacity_) - bytes));
      if (keep < capacity_) ::madvise(mem_ + keep, capacity_ - keep, MADV_DONTNEED);  // reads back as zeros
    }
    set_size(bytes);
  }

 private:
  uint8_t* mem_;
  const uint64_t capacity_;  // anonymous mapping: pages cost nothing until written
};

std::unique_ptr<Storage> open_memory(const NamespaceSpec& spec) {
  void* mem = ::mmap(nullptr, spec.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) throw Error(fmt::format("--ns ram:{}: cannot map memory: {}", spec.size, std::strerror(errno)));
  return std::make_unique<MemoryStorage>(spec.size, static_cast<uint8_t*>(mem));
}

std::unique_ptr<Storage> open_file(const NamespaceSpec& spec, bool read_only) {
  int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (spec.size && !read_only) flags |= O_CREAT;
  int fd = ::open(spec.path.c_str(), flags, 0644);
  if (fd < 0) throw Error(fmt::format("--ns {}: {}", spec.path, std::strerror(errno)));
  auto fail = [&](const char* what) {
    int err = errno;
    ::close(fd);
    throw Error(fmt::format("--ns {}: {}: {}", spec.path, what, std::strerror(err)));
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("stat");
  bool block_device = S_ISBLK(st.st_mode);
  uint64_t size = uint64_t(st.st_size);
  if (block_device && ::ioctl(fd, BLKGETSIZE64, &size) != 0) fail("BLKGETSIZE64");
  if (!block_device && !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(fmt::format("--ns {}: not a regular file or block device", spec.path));
  }
  if (spec.size) {
    // Grow a short file to SIZE; never truncate data away: a longer file
    // exports only its first SIZE bytes.
    if (size < spec.size) {
      if (block_device || read_only) {
        ::close(fd);
        throw Error(fmt::format("--ns {}: only {} bytes, smaller than {}", spec.path, size, spec.size));
      }
      if (::ftruncate(fd, off_t(spec.size)) != 0) fail("cannot set size");
    }
    size = spec.size;
  }
  if (size == 0) {
    ::close(fd);
    throw Error(fmt::format("--ns {}: empty (give a size: {}:SIZE)", spec.path, spec.path));
  }
  return std::make_unique<FileStorage>(spec.path, size, fd, block_device);
}

}  // namespace

std::unique_ptr<Storage> Storage::open(const NamespaceSpec& spec, bool read_only) {
  return spec.ram ? open_memory(spec) : open_file(spec, read_only);
}

}  // namespace nvmefs::target
