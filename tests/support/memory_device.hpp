// An in-memory BlockDevice for tests of the layers above the initiator
// (cache, FUSE). Completes synchronously by default, or from a worker thread
// after a delay to exercise asynchronous paths. Counts operations so tests
// can assert what reached the "device".
#pragma once

#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <condition_variable>
#include <thread>
#include <vector>

#include "nvmefs/block_device.hpp"

namespace nvmefs::testing {

class MemoryDevice : public BlockDevice {
 public:
  MemoryDevice(uint64_t size, uint32_t block_size = 512, std::chrono::microseconds delay = {})
      : data_(size), delay_(delay) {
    info_.size_bytes = size;
    info_.block_size = block_size;
    info_.max_transfer = 1 << 20;
    info_.can_write_zeroes = true;
    info_.can_deallocate = true;
    info_.deallocate_reads_zeroes = true;
    if (delay_.count() > 0) worker_ = std::thread([this] { run(); });
  }
  ~MemoryDevice() override {
    if (worker_.joinable()) {
      { std::lock_guard lk(mu_); stop_ = true; }
      cv_.notify_all();
      worker_.join();
    }
  }
  const BlockDeviceInfo& info() const override { return info_; }

  void submit(IoRequest* r) override {
    if (delay_.count() == 0) return execute(r);
    { std::lock_guard lk(mu_); queue_.push_back(r); }
    cv_.notify_one();
  }

  std::vector<uint8_t>& bytes() { return data_; }
  // A namespace resized on the target: new size, bytes kept up to the
  // smaller size, zeros beyond. Safe while I/O is in flight (requests are
  // checked against the size under the data lock).
  void resize(uint64_t size) {
    std::lock_guard lk(data_mu_);
    data_.resize(size);
    info_.size_bytes = size;
  }
  // Tests adjust capabilities (e.g. no WriteZeroes) before wrapping the device.
  BlockDeviceInfo& mutable_info() { return info_; }
  std::atomic<uint64_t> reads{0}, writes{0}, flushes{0}, zeroes{0}, deallocates{0};
  std::atomic<uint64_t> bytes_read{0}, bytes_written{0};
  std::atomic<int> fail_next{0};  // when non-zero, the next request fails with this -errno

 private:
  void execute(IoRequest* r) {
    int injected = fail_next.exchange(0);
    if (injected) {
      r->result = injected;
      r->done(r);
      return;
    }
    bool aligned = r->offset % info_.block_size == 0 && r->length % info_.block_size == 0;
    {
      std::unique_lock lk(data_mu_);
      bool in_range = r->offset <= data_.size() && r->length <= data_.size() - r->offset;
      if (r->op != IoOp::Flush && (!aligned || !in_range)) {
        lk.unlock();
        r->result = -EINVAL;
        r->done(r);
        return;
      }
      switch (r->op) {
        case IoOp::Read: std::memcpy(r->buf, data_.data() + r->offset, r->length); reads++; bytes_read += r->length; break;
        case IoOp::Write: std::memcpy(data_.data() + r->offset, r->buf, r->length); writes++; bytes_written += r->length; break;
        case IoOp::Flush: flushes++; break;
        case IoOp::WriteZeroes: std::memset(data_.data() + r->offset, 0, r->length); zeroes++; break;
        case IoOp::Deallocate: std::memset(data_.data() + r->offset, 0, r->length); deallocates++; break;
      }
    }
    r->result = 0;
    r->done(r);
  }
  void run() {
    std::unique_lock lk(mu_);
    for (;;) {
      cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (stop_ && queue_.empty()) return;
      IoRequest* r = queue_.front();
      queue_.pop_front();
      lk.unlock();
      std::this_thread::sleep_for(delay_);
      execute(r);
      lk.lock();
    }
  }

  BlockDeviceInfo info_;
  std::vector<uint8_t> data_;
  std::mutex data_mu_;
  std::chrono::microseconds delay_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<IoRequest*> queue_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace nvmefs::testing
