#include "nvmefs/block_device.hpp"

#include <condition_variable>
#include <mutex>

namespace nvmefs {

const char* io_op_name(IoOp op) {
  switch (op) {
    case IoOp::Read: return "read";
    case IoOp::Write: return "write";
    case IoOp::Flush: return "flush";
    case IoOp::WriteZeroes: return "write-zeroes";
    case IoOp::Deallocate: return "deallocate";
  }
  return "?";
}

namespace {
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
};
}  // namespace

int submit_and_wait(BlockDevice& dev, IoOp op, uint64_t offset, uint64_t length, void* buf, uint32_t flags) {
  Waiter w;
  IoRequest req;
  req.op = op;
  req.flags = flags;
  req.offset = offset;
  req.length = length;
  req.buf = buf;
  req.user = &w;
  req.done = [](IoRequest* r) {
    auto* w = static_cast<Waiter*>(r->user);
    std::lock_guard lk(w->mu);
    w->done = true;
    w->cv.notify_one();
  };
  dev.submit(&req);
  std::unique_lock lk(w.mu);
  w.cv.wait(lk, [&] { return w.done; });
  return req.result;
}

}  // namespace nvmefs
