// Backing storage of one namespace: a file, a block device, or memory.
// Thread-safe (positional I/O); every call returns 0 or a negative errno.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "options.hpp"

namespace nvmefs::target {

class Storage {
 public:
  // Opens or creates the backing store; throws nvmefs::Error with one line.
  static std::unique_ptr<Storage> open(const NamespaceSpec& spec, bool read_only);
  virtual ~Storage() = default;

  uint64_t size_bytes() const { return size_.load(std::memory_order_relaxed); }
  const std::string& name() const { return name_; }
  virtual int read(void* buf, size_t len, uint64_t offset) = 0;
  virtual int write(const void* buf, size_t len, uint64_t offset) = 0;
  virtual int flush() = 0;
  // The range reads back as zeros afterwards; `deallocate` frees the space when possible.
  virtual int write_zeroes(uint64_t offset, uint64_t len, bool deallocate) = 0;
  // Control path: the store becomes `bytes` long (a file is truncated or
  // extended). Throws nvmefs::Error with one line when it cannot.
  virtual void resize(uint64_t bytes) = 0;

 protected:
  Storage(std::string name, uint64_t size) : name_(std::move(name)), size_(size) {}
  void set_size(uint64_t bytes) { size_.store(bytes, std::memory_order_relaxed); }

 private:
  std::string name_;
  std::atomic<uint64_t> size_;
};

}  // namespace nvmefs::target
