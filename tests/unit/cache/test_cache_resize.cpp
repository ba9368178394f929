// BlockCache::resize() (src/cache/resize.cpp): the lower device changes size
// and the cache follows, over an in-memory device whose visible size the test
// changes (the bytes behind it stay, like a namespace grown on the target).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "memory_device.hpp"
#include "nvmefs/cache/block_cache.hpp"

using namespace nvmefs;
using namespace nvmefs::cache;
using nvmefs::testing::MemoryDevice;

namespace {

constexpr uint64_t kMax = 4ull << 20;  // bytes behind the device, whatever its current size
constexpr uint32_t kBlock = 64 << 10;  // cache block

// A device of adjustable size over a MemoryDevice of kMax bytes: requests past
// the current size fail with -EINVAL (as a namespace does); `hold` keeps
// requests until release() (a read in flight across a resize).
class ResizableDevice : public BlockDevice {
 public:
  explicit ResizableDevice(uint64_t size) : mem_(std::make_shared<MemoryDevice>(kMax)) {
    info_ = mem_->info();
    info_.size_bytes = size;
    for (uint64_t i = 0; i < kMax; ++i) mem_->bytes()[i] = pattern(i);
  }
  static uint8_t pattern(uint64_t i) { return uint8_t(i * 7 + i / 4096); }

  const BlockDeviceInfo& info() const override { return info_; }
  void submit(IoRequest* r) override {
    const uint64_t size = info_.size_bytes;
    if (r->op != IoOp::Flush && (r->offset > size || r->length > size - r->offset)) {
      r->result = -EINVAL;
      r->done(r);
      return;
    }
    {
      std::lock_guard lk(mu_);
      if (hold) {
        held_.push_back(r);
        return;
      }
    }
    mem_->submit(r);
  }
  void set_size(uint64_t size) { info_.size_bytes = size; }
  size_t held() {
    std::lock_guard lk(mu_);
    return held_.size();
  }
  void release() {
    std::vector<IoRequest*> held;
    {
      std::lock_guard lk(mu_);
      hold = false;
      held.swap(held_);
    }
    for (IoRequest* r : held) mem_->submit(r);
  }
  std::vector<uint8_t>& bytes() { return mem_->bytes(); }

  bool hold = false;  // set before submitting (under no lock: the test's own thread)

 private:
  std::shared_ptr<MemoryDevice> mem_;
  BlockDeviceInfo info_;
  std::mutex mu_;
  std::vector<IoRequest*> held_;
};

CacheOptions options(Mode mode) {
  CacheOptions o;
  o.mode = mode;
  o.cache_size = 2ull << 20;
  o.cache_block = kBlock;
  o.dirty_max = 1ull << 20;
  o.dirty_expire_ms = 60000;  // write-back only when the test asks
  return o;
}

bool matches_lower(ResizableDevice& dev, const std::vector<uint8_t>& got, uint64_t offset) {
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != dev.bytes()[offset + i]) {
      MESSAGE("first difference at byte " << offset + i);
      return false;
    }
  return true;
}

}  // namespace

TEST_CASE("growing: the new range, the rest of the old partial last block included, reads the lower device's bytes") {
  const uint64_t old_size = (1ull << 20) + 3 * 512;  // the last cache block is partial
  const uint64_t new_size = 2ull << 20;
  auto dev = std::make_shared<ResizableDevice>(old_size);
  auto cache = make_block_cache(dev, options(Mode::WriteThrough));
  std::vector<uint8_t> buf(old_size);
  REQUIRE(submit_and_wait(*cache, IoOp::Read, 0, old_size, buf.data()) == 0);  // every block cached
  CHECK(matches_lower(*dev, buf, 0));
  std::vector<uint8_t> beyond(4096);
  CHECK(submit_and_wait(*cache, IoOp::Read, old_size, 4096, beyond.data()) == -EINVAL);

  dev->set_size(new_size);
  REQUIRE(cache->resize() == 0);
  CHECK(cache->info().size_bytes == new_size);
  buf.assign(new_size, 0);
  REQUIRE(submit_and_wait(*cache, IoOp::Read, 0, new_size, buf.data()) == 0);
  CHECK(matches_lower(*dev, buf, 0));
  // Byte-granular reads across the old end, from the cache now.
  std::vector<uint8_t> across(1000);
  REQUIRE(submit_and_wait(*cache, IoOp::Read, old_size - 300, across.size(), across.data()) == 0);
  CHECK(matches_lower(*dev, across, old_size - 300));
  // Writes into the new range reach the device.
  std::vector<uint8_t> w(5000, 0x5A);
  REQUIRE(submit_and_wait(*cache, IoOp::Write, new_size - w.size(), w.size(), w.data()) == 0);
  CHECK(dev->bytes()[new_size - 1] == 0x5A);
  CHECK(submit_and_wait(*cache, IoOp::Read, new_size, 1, beyond.data()) == -EINVAL);
  CHECK(cache->resize() == 0);  // no change: nothing to do
}

TEST_CASE("shrinking: reads past the new end fail, data below it stays, dirty data below it is written back") {
  const uint64_t old_size = 2ull << 20;
  const uint64_t new_size = (512ull << 10) + 1536;  // cuts a cache block
  auto dev = std::make_shared<ResizableDevice>(old_size);
  auto cache = make_block_cache(dev, options(Mode::WriteBack));
  std::vector<uint8_t> low(3 * kBlock, 0xC3), edge(1536 + 1024, 0xD4), high(kBlock, 0xE5);
  // Dirty data: well below the new end, across it, and past it.
  REQUIRE(submit_and_wait(*cache, IoOp::Write, 4096, low.size(), low.data()) == 0);
  REQUIRE(submit_and_wait(*cache, IoOp::Write, new_size - 1536, edge.size(), edge.data()) == 0);
  REQUIRE(submit_and_wait(*cache, IoOp::Write, 1ull << 20, high.size(), high.data()) == 0);
  const uint8_t past_byte = dev->bytes()[new_size + 100];
  CHECK(cache->stats().dirty_bytes >= low.size() + edge.size() + high.size());

  dev->set_size(new_size);
  REQUIRE(cache->resize() == 0);
  CHECK(cache->info().size_bytes == new_size);
  std::vector<uint8_t> buf(4096);
  CHECK(submit_and_wait(*cache, IoOp::Read, new_size, 1, buf.data()) == -EINVAL);
  CHECK(submit_and_wait(*cache, IoOp::Read, 1ull << 20, 4096, buf.data()) == -EINVAL);
  CHECK(submit_and_wait(*cache, IoOp::Write, new_size - 512, 1024, buf.data()) == -EINVAL);

  // Below the new end everything reads as written (still dirty: from the cache).
  std::vector<uint8_t> back(low.size());
  REQUIRE(submit_and_wait(*cache, IoOp::Read, 4096, back.size(), back.data()) == 0);
  CHECK(back == low);
  std::vector<uint8_t> edge_back(1536);
  REQUIRE(submit_and_wait(*cache, IoOp::Read, new_size - 1536, edge_back.size(), edge_back.data()) == 0);
  CHECK(edge_back == std::vector<uint8_t>(1536, 0xD4));

  // Write-back carries the dirty data below the end and drops what was past it.
  REQUIRE(cache->writeback_all() == 0);
  CHECK(cache->stats().dirty_bytes == 0);
  for (uint64_t i = 0; i < low.size(); ++i) REQUIRE(dev->bytes()[4096 + i] == 0xC3);
  for (uint64_t i = 0; i < 1536; ++i) REQUIRE(dev->bytes()[new_size - 1536 + i] == 0xD4);
  CHECK(dev->bytes()[new_size + 100] == past_byte);       // the part of `edge` past the end never went down
  CHECK(dev->bytes()[(1ull << 20) + 5] == ResizableDevice::pattern((1ull << 20) + 5));  // nor did `high`
  CHECK(submit_and_wait(*cache, IoOp::Flush, 0, 0, nullptr) == 0);

  // Growing back: the range past the old (small) end reads the device again, not stale cache.
  dev->set_size(old_size);
  REQUIRE(cache->resize() == 0);
  std::vector<uint8_t> again(kBlock);
  REQUIRE(submit_and_wait(*cache, IoOp::Read, 1ull << 20, again.size(), again.data()) == 0);
  CHECK(matches_lower(*dev, again, 1ull << 20));
}

TEST_CASE("a fill in flight across a resize does not make stale bytes valid past the old end") {
  const uint64_t old_size = (1ull << 20) + 4096;  // last block: 4 KiB of 64 KiB
  auto dev = std::make_shared<ResizableDevice>(old_size);
  CacheOptions o = options(Mode::WriteThrough);
  o.readahead_max = 0;
  auto cache = make_block_cache(dev, o);

  // A read of the partial last block starts a fill of its 4 KiB and is held.
  dev->hold = true;
  std::vector<uint8_t> first(4096);
  std::atomic<bool> done{false};
  IoRequest r;
  r.op = IoOp::Read;
  r.offset = 1ull << 20;
  r.length = first.size();
  r.buf = first.data();
  r.user = &done;
  r.done = [](IoRequest* q) { static_cast<std::atomic<bool>*>(q->user)->store(true); };
  cache->submit(&r);
  REQUIRE(dev->held() == 1);
  CHECK_FALSE(done.load());

  // The device grows while the fill is on its way; then the fill completes.
  dev->set_size(2ull << 20);
  REQUIRE(cache->resize() == 0);
  dev->release();
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done.load() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(done.load());
  CHECK(r.result == 0);
  CHECK(matches_lower(*dev, first, 1ull << 20));

  // The whole block, its new part included, reads the device's bytes.
  std::vector<uint8_t> block(kBlock);
  REQUIRE(submit_and_wait(*cache, IoOp::Read, 1ull << 20, block.size(), block.data()) == 0);
  CHECK(matches_lower(*dev, block, 1ull << 20));
}

TEST_CASE("resize rejects a lower size that is not a whole number of LBAs") {
  auto dev = std::make_shared<ResizableDevice>(1ull << 20);
  auto cache = make_block_cache(dev, options(Mode::WriteThrough));
  dev->set_size((1ull << 20) + 100);
  CHECK(cache->resize() == -EINVAL);
  CHECK(cache->info().size_bytes == 1ull << 20);
}
