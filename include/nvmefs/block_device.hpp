// BlockDevice: the one asynchronous interface every layer above the network
// talks to. A remote NVMe namespace implements it (host/namespace), the block
// cache implements it by wrapping another BlockDevice (cache/), tests use an
// in-memory one. The FUSE layer sees nothing but this.
//
// Contract:
//  * submit() never blocks for I/O; the request completes exactly once by a
//    call to req->done(req) on some thread (possibly inside submit()).
//  * Offsets and lengths of Read/Write/WriteZeroes/Deallocate are multiples of
//    block_size(); the request must stay alive and untouched until done().
//  * result is 0 or a negative errno (-EIO, -ETIMEDOUT, -ENOTCONN, -EROFS, ...);
//    for NVMe errors nvme_status holds the status (SCT/SC, without phase).
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <future>

namespace nvmefs {

enum class IoOp : uint8_t {
  Read,
  Write,
  Flush,        // make every completed write durable (NVMe Flush)
  WriteZeroes,  // the range reads back as zeros afterwards
  Deallocate,   // hint: the range is unused (NVMe DSM deallocate); reads may return zeros or old data
};
const char* io_op_name(IoOp op);

inline constexpr uint32_t kIoFua = 1u << 0;  // Write: Force Unit Access

struct IoRequest {
  // ---- filled by the caller ----
  IoOp op = IoOp::Read;
  uint32_t flags = 0;
  uint64_t offset = 0;  // bytes
  uint64_t length = 0;  // bytes
  void* buf = nullptr;  // Read: destination, Write: source; unused otherwise
  void (*done)(IoRequest*) = nullptr;
  void* user = nullptr;  // free for the caller

  // ---- set before done() ----
  int result = 0;            // 0 or -errno
  uint16_t nvme_status = 0;  // NVMe status when result came from the device

  // ---- private to the layer executing the request ----
  IoRequest* next_ = nullptr;
  uint64_t cursor_ = 0;                 // bytes already dispatched
  std::atomic<uint32_t> pending_{0};    // outstanding pieces
  std::atomic<int> first_error_{0};
  uint16_t first_status_ = 0;
  void* exec_ = nullptr;
};

// A device's size in bytes. It can change while the device is in use (a
// namespace resized on the target, NVMe Base 2.0 §5.2 Namespace Attribute
// Changed), so it is read and written atomically; relaxed order is enough:
// a request that races a resize is checked against either size, and the
// layer that resizes orders its own state.
class DeviceSize {
 public:
  DeviceSize(uint64_t v = 0) : v_(v) {}  // NOLINT: implicit, reads like a plain integer
  DeviceSize(const DeviceSize& o) : v_(o.load()) {}
  DeviceSize& operator=(const DeviceSize& o) { return store(o.load()), *this; }
  DeviceSize& operator=(uint64_t v) { return store(v), *this; }
  operator uint64_t() const { return load(); }  // NOLINT
  uint64_t load() const { return v_.load(std::memory_order_relaxed); }
  void store(uint64_t v) { v_.store(v, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_;
};

struct BlockDeviceInfo {
  DeviceSize size_bytes = 0;
  uint32_t block_size = 512;        // LBA data size
  uint32_t max_transfer = 1 << 20;  // largest efficient single request (bytes)
  bool read_only = false;
  bool volatile_write_cache = true; // Flush needed for durability
  bool can_write_zeroes = false;
  bool can_deallocate = false;
  bool deallocate_reads_zeroes = false;
};

class BlockDevice {
 public:
  virtual ~BlockDevice() = default;
  virtual const BlockDeviceInfo& info() const = 0;
  virtual void submit(IoRequest* req) = 0;
};

// Blocking convenience wrapper (tests, tools, slow paths only).
int submit_and_wait(BlockDevice& dev, IoOp op, uint64_t offset, uint64_t length, void* buf, uint32_t flags = 0);

}  // namespace nvmefs
