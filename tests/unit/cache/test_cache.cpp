// Unit tests of the block cache over an in-memory device, synchronous and
// with asynchronous completions.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "memory_device.hpp"
#include "nvmefs/cache/block_cache.hpp"

using namespace nvmefs;
using namespace nvmefs::cache;
using nvmefs::testing::MemoryDevice;
using std::chrono::microseconds;

namespace {

// Records the order of operations reaching the wrapped device.
class RecordingDevice : public BlockDevice {
 public:
  explicit RecordingDevice(std::shared_ptr<BlockDevice> inner) : inner_(std::move(inner)) {}
  const BlockDeviceInfo& info() const override { return inner_->info(); }
  void submit(IoRequest* r) override {
    {
      std::lock_guard lk(mu);
      ops.push_back(r->op);
    }
    inner_->submit(r);
  }
  std::mutex mu;
  std::vector<IoOp> ops;

 private:
  std::shared_ptr<BlockDevice> inner_;
};

// Holds one request (hold_next) until release(): fails it or passes it on.
class GatedDevice : public BlockDevice {
 public:
  explicit GatedDevice(std::shared_ptr<BlockDevice> inner) : inner_(std::move(inner)) {}
  const BlockDeviceInfo& info() const override { return inner_->info(); }
  void submit(IoRequest* r) override {
    ++submitted;
    if (hold_next.exchange(false)) held_ = r;
    else inner_->submit(r);
  }
  void release(int err) {
    IoRequest* r = std::exchange(held_, nullptr);
    REQUIRE(r);
    if (!err) return inner_->submit(r);
    r->result = err;
    r->done(r);
  }
  std::atomic<bool> hold_next{false};
  std::atomic<int> submitted{0};

 private:
  std::shared_ptr<BlockDevice> inner_;
  IoRequest* held_ = nullptr;
};

int io(BlockDevice& d, IoOp op, uint64_t off, uint64_t len, void* buf = nullptr, uint32_t flags = 0) {
  return submit_and_wait(d, op, off, len, buf, flags);
}

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = uint8_t(rng());
  return v;
}

CacheOptions small_options(Mode mode) {
  CacheOptions o;
  o.mode = mode;
  o.cache_size = 64 << 10;
  o.cache_block = 8 << 10;
  o.readahead_max = 64 << 10;
  o.dirty_max = 32 << 10;
  o.dirty_expire_ms = 50;
  return o;
}

// Thousands of random byte-granular operations checked against a model.
void random_ops(Mode mode, microseconds delay, bool lower_can_zero) {
  const uint64_t size = 512 << 10;
  auto dev = std::make_shared<MemoryDevice>(size, 512, delay);
  dev->mutable_info().can_write_zeroes = lower_can_zero;
  dev->mutable_info().can_deallocate = lower_can_zero;
  auto cache = make_block_cache(dev, small_options(mode));
  std::vector<uint8_t> model(size, 0);
  std::mt19937_64 rng(1234 + int(mode));
  std::vector<uint8_t> buf(40 << 10);
  const int ops = delay.count() ? 1500 : 4000;
  for (int i = 0; i < ops; ++i) {
    uint64_t len = 1 + rng() % (rng() % 4 == 0 ? buf.size() : 2000);
    uint64_t off = rng() % (size - len);
    int kind = int(rng() % 20);
    if (kind < 8) {
      REQUIRE(io(*cache, IoOp::Read, off, len, buf.data()) == 0);
      if (std::memcmp(buf.data(), model.data() + off, len) != 0) {
        uint64_t j = 0;
        while (buf[j] == model[off + j]) ++j;
        FAIL("op " << i << ": read at " << off << " +" << len << " differs at byte " << off + j);
      }
    } else if (kind < 17) {
      for (uint64_t j = 0; j < len; ++j) buf[j] = uint8_t(rng());
      REQUIRE(io(*cache, IoOp::Write, off, len, buf.data(), kind == 16 ? kIoFua : 0) == 0);
      std::memcpy(model.data() + off, buf.data(), len);
    } else if (kind < 19) {
      REQUIRE(io(*cache, kind == 17 ? IoOp::WriteZeroes : IoOp::Deallocate, off, len) == 0);
      std::memset(model.data() + off, 0, len);  // MemoryDevice deallocate reads zeroes
    } else {
      REQUIRE(io(*cache, IoOp::Flush, 0, 0) == 0);
    }
  }
  REQUIRE(io(*cache, IoOp::Flush, 0, 0) == 0);
  CHECK(cache->stats().dirty_bytes == 0);
  CHECK(std::memcmp(dev->bytes().data(), model.data(), size) == 0);
  std::vector<uint8_t> all(size);
  REQUIRE(io(*cache, IoOp::Read, 0, size, all.data()) == 0);
  CHECK(std::memcmp(all.data(), model.data(), size) == 0);
}

}  // namespace

TEST_CASE("mode names round-trip") {
  for (Mode m : {Mode::None, Mode::WriteThrough, Mode::WriteBack}) {
    Mode out{};
    CHECK(parse_mode(mode_name(m), out));
    CHECK(out == m);
  }
  Mode out{};
  CHECK_FALSE(parse_mode("sometimes", out));
}

TEST_CASE("bad options are rejected") {
  auto dev = std::make_shared<MemoryDevice>(1 << 20, 4096);
  CacheOptions o;
  o.cache_block = 6000;
  CHECK_THROWS(make_block_cache(dev, o));
  o = CacheOptions{};
  o.mode = Mode::WriteBack;
  o.cache_size = 1 << 20;
  o.dirty_max = 2 << 20;
  CHECK_THROWS(make_block_cache(dev, o));
}

TEST_CASE("info: byte granular, sized and capable like the lower device") {
  auto dev = std::make_shared<MemoryDevice>(1 << 20, 4096);
  auto cache = make_block_cache(dev, CacheOptions{});
  CHECK(cache->info().block_size == 1);
  CHECK(cache->info().size_bytes == 1 << 20);
  CHECK(cache->info().max_transfer == 1 << 20);
  CHECK(cache->info().can_deallocate == dev->info().can_deallocate);
  std::vector<uint8_t> b(16);
  CHECK(io(*cache, IoOp::Read, (1 << 20) - 8, 16, b.data()) == -EINVAL);
}

TEST_CASE("random byte-granular operations match a reference model") {
  for (Mode mode : {Mode::None, Mode::WriteThrough, Mode::WriteBack}) {
    for (auto delay : {microseconds(0), microseconds(20)}) {
      for (bool can_zero : {true, false}) {
        std::string mode_s = mode_name(mode);
        CAPTURE(mode_s);
        CAPTURE(delay.count());
        CAPTURE(can_zero);
        random_ops(mode, delay, can_zero);
      }
    }
  }
}

TEST_CASE("concurrent writers to the same LBA lose no bytes") {
  for (Mode mode : {Mode::None, Mode::WriteThrough, Mode::WriteBack}) {
    for (auto delay : {microseconds(0), microseconds(20)}) {
      std::string mode_s = mode_name(mode);
        CAPTURE(mode_s);
      auto dev = std::make_shared<MemoryDevice>(256 << 10, 512, delay);
      auto cache = make_block_cache(dev, small_options(mode));
      constexpr int kThreads = 4, kRounds = 40;
      const uint64_t base = 8192 + 100;  // straddles into a second LBA
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          for (int r = 1; r <= kRounds; ++r) {
            // Thread t owns bytes t, t+4, t+8, ... of a 600-byte range.
            for (uint64_t i = t; i < 600; i += kThreads * 25) {
              uint8_t v = uint8_t(r);
              REQUIRE(io(*cache, IoOp::Write, base + i, 1, &v) == 0);
            }
          }
        });
      }
      for (auto& th : threads) th.join();
      std::vector<uint8_t> out(600);
      REQUIRE(io(*cache, IoOp::Flush, 0, 0) == 0);
      REQUIRE(io(*cache, IoOp::Read, base, out.size(), out.data()) == 0);
      for (int t = 0; t < kThreads; ++t)
        for (uint64_t i = t; i < 600; i += kThreads * 25) {
          CHECK(out[i] == kRounds);
          CHECK(dev->bytes()[base + i] == kRounds);
        }
    }
  }
}

TEST_CASE("writeback: data reaches the device on Flush, before the Flush") {
  for (auto delay : {microseconds(0), microseconds(50)}) {
    auto mem = std::make_shared<MemoryDevice>(1 << 20, 512, delay);
    auto rec = std::make_shared<RecordingDevice>(mem);
    CacheOptions o;
    o.mode = Mode::WriteBack;
    o.dirty_expire_ms = 60000;
    auto cache = make_block_cache(rec, o);
    auto data = pattern(100000, 7);
    REQUIRE(io(*cache, IoOp::Write, 12345, data.size(), data.data()) == 0);
    CHECK(cache->stats().dirty_bytes > 0);
    CHECK(std::memcmp(mem->bytes().data() + 12345, data.data(), data.size()) != 0);
    REQUIRE(io(*cache, IoOp::Flush, 0, 0) == 0);
    CHECK(std::memcmp(mem->bytes().data() + 12345, data.data(), data.size()) == 0);
    CHECK(cache->stats().dirty_bytes == 0);
    CHECK(mem->flushes == 1);
    std::lock_guard lk(rec->mu);
    REQUIRE(!rec->ops.empty());
    CHECK(rec->ops.back() == IoOp::Flush);
    CHECK(std::count(rec->ops.begin(), rec->ops.end(), IoOp::Write) > 0);
  }
}

TEST_CASE("writeback: a small write into a big block reads nothing from the device") {
  auto dev = std::make_shared<MemoryDevice>(4 << 20, 512);
  CacheOptions o;
  o.mode = Mode::WriteBack;
  o.cache_block = 1 << 20;
  o.cache_size = 8 << 20;
  o.dirty_max = 4 << 20;
  auto cache = make_block_cache(dev, o);
  auto data = pattern(4096, 3);
  REQUIRE(io(*cache, IoOp::Write, 8192, 4096, data.data()) == 0);
  CHECK(dev->reads == 0);
  std::vector<uint8_t> b(512);
  REQUIRE(io(*cache, IoOp::Read, 100352, 512, b.data()) == 0);  // fills only what this read needs
  CHECK(dev->bytes_read.load() == 512);
  REQUIRE(io(*cache, IoOp::Flush, 0, 0) == 0);
  CHECK(dev->bytes_written == 4096);
}

TEST_CASE("writeback: writers above dirty_max are throttled, not failed") {
  auto dev = std::make_shared<MemoryDevice>(2 << 20, 512, microseconds(200));
  CacheOptions o;
  o.mode = Mode::WriteBack;
  o.cache_size = 1 << 20;
  o.cache_block = 16 << 10;
  o.dirty_max = 64 << 10;
  o.dirty_expire_ms = 60000;
  auto cache = make_block_cache(dev, o);
  auto data = pattern(1 << 20, 9);
  for (uint64_t off = 0; off < data.size(); off += 4096) REQUIRE(io(*cache, IoOp::Write, off, 4096, data.data() + off) == 0);
  CHECK(cache->stats().throttled_writes > 0);
  CHECK(cache->stats().dirty_bytes <= o.dirty_max + 4096);
  REQUIRE(io(*cache, IoOp::Flush, 0, 0) == 0);
  CHECK(std::memcmp(dev->bytes().data(), data.data(), data.size()) == 0);
}

TEST_CASE("writeback: many small sequential writes coalesce into few large lower writes") {
  auto dev = std::make_shared<MemoryDevice>(4 << 20, 512);
  CacheOptions o;
  o.mode = Mode::WriteBack;
  o.dirty_expire_ms = 60000;
  auto cache = make_block_cache(dev, o);
  auto data = pattern(1 << 20, 11);
  for (uint64_t off = 0; off < data.size(); off += 4096) REQUIRE(io(*cache, IoOp::Write, off, 4096, data.data() + off) == 0);
  REQUIRE(io(*cache, IoOp::Flush, 0, 0) == 0);
  CHECK(dev->writes <= 2);  // 256 writes of 4 KiB -> max_transfer (1 MiB) pieces
  CHECK(cache->stats().writeback_bytes == data.size());
  CHECK(std::memcmp(dev->bytes().data(), data.data(), data.size()) == 0);
}

TEST_CASE("writeback: a lower write error is kept and reported by the next Flush") {
  for (auto delay : {microseconds(0), microseconds(50)}) {
    auto dev = std::make_shared<MemoryDevice>(1 << 20, 512, delay);
    CacheOptions o;
    o.mode = Mode::WriteBack;
    o.dirty_expire_ms = 60000;
    auto cache = make_block_cache(dev, o);
    auto data = pattern(5000, 5);
    REQUIRE(io(*cache, IoOp::Write, 1000, data.size(), data.data()) == 0);
    dev->fail_next = -EIO;
    CHECK(io(*cache, IoOp::Flush, 0, 0) == -EIO);
    CHECK(cache->stats().dirty_bytes > 0);  // still dirty, not dropped
    CHECK(io(*cache, IoOp::Flush, 0, 0) == 0);  // retried
    CHECK(std::memcmp(dev->bytes().data() + 1000, data.data(), data.size()) == 0);
  }
}

TEST_CASE("writeback: FUA writes reach the device before completing") {
  auto dev = std::make_shared<MemoryDevice>(1 << 20, 512);
  CacheOptions o;
  o.mode = Mode::WriteBack;
  o.dirty_expire_ms = 60000;
  auto cache = make_block_cache(dev, o);
  auto data = pattern(3000, 6);
  REQUIRE(io(*cache, IoOp::Write, 777, data.size(), data.data(), kIoFua) == 0);
  CHECK(std::memcmp(dev->bytes().data() + 777, data.data(), data.size()) == 0);
  CHECK(cache->stats().dirty_bytes == 0);
}

TEST_CASE("writethrough: writes complete only on the device") {
  auto dev = std::make_shared<MemoryDevice>(1 << 20, 512, microseconds(50));
  auto cache = make_block_cache(dev, CacheOptions{});
  auto data = pattern(70000, 8);
  REQUIRE(io(*cache, IoOp::Write, 3, data.size(), data.data()) == 0);
  CHECK(std::memcmp(dev->bytes().data() + 3, data.data(), data.size()) == 0);
  CHECK(cache->stats().dirty_bytes == 0);
}

TEST_CASE("none: aligned requests go straight through") {
  auto dev = std::make_shared<MemoryDevice>(4 << 20, 512);
  CacheOptions o;
  o.mode = Mode::None;
  auto cache = make_block_cache(dev, o);
  auto data = pattern(1 << 20, 12);
  REQUIRE(io(*cache, IoOp::Write, 0, data.size(), data.data()) == 0);
  std::vector<uint8_t> b(data.size());
  REQUIRE(io(*cache, IoOp::Read, 0, b.size(), b.data()) == 0);
  CHECK(dev->reads == 1);
  CHECK(dev->bytes_read == data.size());
  CHECK(b == data);
  REQUIRE(io(*cache, IoOp::Read, 0, b.size(), b.data()) == 0);
  CHECK(dev->reads == 2);  // nothing cached
  CHECK(cache->stats().cached_bytes == 0);
}

TEST_CASE("2Q: a one-pass scan of 4x the cache does not evict the hot set") {
  auto dev = std::make_shared<MemoryDevice>(16 << 20, 512);
  CacheOptions o;
  o.cache_block = 4096;
  o.cache_size = 32 * 4096;  // one shard of 32 blocks: Kin 8, Kout 16
  o.readahead_max = 0;
  auto cache = make_block_cache(dev, o);
  std::vector<uint8_t> b(4096);
  auto read_block = [&](uint64_t blk) { REQUIRE(io(*cache, IoOp::Read, blk * 4096, 4096, b.data()) == 0); };
  const uint64_t hot_first = 1000, hot = 6;
  // Warm-up: the hot set is referenced, pushed out of A1in by other traffic,
  // and referenced again: the second reference promotes it to Am.
  for (uint64_t i = 0; i < hot; ++i) read_block(hot_first + i);
  for (uint64_t i = 0; i < 32; ++i) read_block(2000 + i);
  for (uint64_t i = 0; i < hot; ++i) read_block(hot_first + i);
  for (uint64_t i = 0; i < hot; ++i) read_block(hot_first + i);
  // One sequential scan of 4x the cache size.
  for (uint64_t i = 0; i < 4 * 32; ++i) read_block(3000 + i);
  uint64_t reads_before = dev->reads;
  for (uint64_t i = 0; i < hot; ++i) read_block(hot_first + i);
  CHECK(dev->reads == reads_before);  // all hits
  CHECK(cache->stats().evictions > 0);
}

TEST_CASE("readahead: sequential reads prefetch, random reads do not") {
  for (auto delay : {microseconds(0), microseconds(50)}) {
    auto dev = std::make_shared<MemoryDevice>(8 << 20, 512, delay);
    CacheOptions o;
    o.cache_block = 64 << 10;
    o.readahead_max = 1 << 20;
    auto cache = make_block_cache(dev, o);
    auto data = pattern(4 << 20, 13);
    std::memcpy(dev->bytes().data(), data.data(), data.size());
    std::vector<uint8_t> b(16 << 10);
    for (uint64_t off = 0; off < (4 << 20); off += b.size()) {
      REQUIRE(io(*cache, IoOp::Read, off, b.size(), b.data()) == 0);
      REQUIRE(std::memcmp(b.data(), data.data() + off, b.size()) == 0);
    }
    CacheStats st = cache->stats();
    CHECK(st.readahead_blocks > 0);
    CHECK(st.read_misses < 64 / 4);  // most of the 64 blocks came in by readahead
  }
  auto dev = std::make_shared<MemoryDevice>(64 << 20, 512);
  CacheOptions o;
  o.readahead_max = 1 << 20;
  auto cache = make_block_cache(dev, o);
  std::mt19937 rng(3);
  std::vector<uint8_t> b(4096);
  for (int i = 0; i < 300; ++i) REQUIRE(io(*cache, IoOp::Read, (rng() % 16000) * 4096, 4096, b.data()) == 0);
  CHECK(cache->stats().readahead_blocks == 0);
}

TEST_CASE("readahead: a sequential read is filled by few large lower reads") {
  for (auto delay : {microseconds(0), microseconds(50)}) {
    CAPTURE(delay.count());
    const uint64_t total = 8 << 20;  // 128 cache blocks
    auto dev = std::make_shared<MemoryDevice>(16 << 20, 512, delay);
    CacheOptions o;
    o.cache_block = 64 << 10;
    o.readahead_max = 1 << 20;
    auto cache = make_block_cache(dev, o);
    auto data = pattern(total, 21);
    std::memcpy(dev->bytes().data(), data.data(), data.size());
    std::vector<uint8_t> b(16 << 10);
    for (uint64_t off = 0; off < total; off += b.size()) {
      REQUIRE(io(*cache, IoOp::Read, off, b.size(), b.data()) == 0);
      REQUIRE(std::memcmp(b.data(), data.data() + off, b.size()) == 0);
    }
    CHECK(cache->stats().readahead_blocks > 0);
    uint64_t reads = dev->reads;
    CHECK(reads < 128 / 4);  // one lower read per block would be 128
    CHECK(dev->bytes_read <= total + (1 << 20));
  }
}

TEST_CASE("a multi-block read miss is one lower read; its error fails the read") {
  for (auto delay : {microseconds(0), microseconds(50)}) {
    CAPTURE(delay.count());
    auto dev = std::make_shared<MemoryDevice>(4 << 20, 512, delay);
    CacheOptions o;
    o.cache_block = 64 << 10;
    o.readahead_max = 0;
    auto cache = make_block_cache(dev, o);
    auto data = pattern(4 << 20, 22);
    std::memcpy(dev->bytes().data(), data.data(), data.size());
    std::vector<uint8_t> b(1 << 20);
    // Unaligned: 17 blocks touched, the first and last partly.
    const uint64_t off = (64 << 10) + 100, len = b.size() - 200;
    dev->fail_next = -EIO;
    CHECK(io(*cache, IoOp::Read, off, len, b.data()) == -EIO);
    CHECK(dev->reads == 0);  // one merged read took the error, nothing else was read
    REQUIRE(io(*cache, IoOp::Read, off, len, b.data()) == 0);
    CHECK(std::memcmp(b.data(), data.data() + off, len) == 0);
    uint64_t reads = dev->reads;
    CHECK(reads <= 2);  // 17 blocks, at most 1 MiB per lower read
    REQUIRE(io(*cache, IoOp::Read, off, len, b.data()) == 0);  // now all hits
    CHECK(std::memcmp(b.data(), data.data() + off, len) == 0);
    CHECK(dev->reads == reads);
  }
}

TEST_CASE("a failed merged fill fails its own read and wakes reads waiting on its blocks") {
  auto mem = std::make_shared<MemoryDevice>(1 << 20, 512);
  auto gate = std::make_shared<GatedDevice>(mem);
  CacheOptions o;
  o.cache_block = 64 << 10;
  o.readahead_max = 0;
  auto cache = make_block_cache(gate, o);
  auto data = pattern(1 << 20, 23);
  std::memcpy(mem->bytes().data(), data.data(), data.size());
  std::vector<uint8_t> a(4 << 16), b(1000);
  IoRequest ra, rb;
  std::atomic<int> done{0};
  auto submit_read = [&](IoRequest& r, uint64_t off, std::vector<uint8_t>& buf) {
    r.op = IoOp::Read;
    r.offset = off;
    r.length = buf.size();
    r.buf = buf.data();
    r.user = &done;
    r.done = [](IoRequest* r) { static_cast<std::atomic<int>*>(r->user)->fetch_add(1); };
    cache->submit(&r);
  };
  gate->hold_next = true;
  submit_read(ra, 0, a);                // blocks 0..3: one merged fill, held
  submit_read(rb, (2 << 16) + 10, b);  // block 2: waits for the held fill
  CHECK(gate->submitted == 1);
  CHECK(done == 0);
  gate->release(-EIO);
  REQUIRE(done == 2);
  CHECK(ra.result == -EIO);             // the merged fill's own read fails
  CHECK(rb.result == 0);                // the waiter retried with its own fill
  CHECK(std::memcmp(b.data(), data.data() + (2 << 16) + 10, b.size()) == 0);
  CHECK(gate->submitted == 2);
}

TEST_CASE("drop empties the cache and writes back dirty data") {
  auto dev = std::make_shared<MemoryDevice>(1 << 20, 512);
  CacheOptions o;
  o.mode = Mode::WriteBack;
  o.dirty_expire_ms = 60000;
  auto cache = make_block_cache(dev, o);
  auto data = pattern(200000, 14);
  REQUIRE(io(*cache, IoOp::Write, 0, data.size(), data.data()) == 0);
  std::vector<uint8_t> b(4096);
  REQUIRE(io(*cache, IoOp::Read, 500000, b.size(), b.data()) == 0);
  CHECK(cache->stats().cached_bytes > 0);
  REQUIRE(cache->drop() == 0);
  CHECK(cache->stats().cached_bytes == 0);
  CHECK(cache->stats().dirty_bytes == 0);
  CHECK(std::memcmp(dev->bytes().data(), data.data(), data.size()) == 0);
}

TEST_CASE("WriteZeroes / Deallocate reach the device, edges become zero writes") {
  for (bool caps : {true, false}) {
    auto dev = std::make_shared<MemoryDevice>(1 << 20, 512);
    dev->mutable_info().can_write_zeroes = caps;
    dev->mutable_info().can_deallocate = caps;
    auto cache = make_block_cache(dev, CacheOptions{});
    std::vector<uint8_t> ones(1 << 20, 0xff);
    REQUIRE(io(*cache, IoOp::Write, 0, ones.size(), ones.data()) == 0);
    REQUIRE(io(*cache, IoOp::Deallocate, 100, 300000) == 0);
    REQUIRE(io(*cache, IoOp::WriteZeroes, 500000, 1000) == 0);
    if (caps) CHECK(dev->deallocates > 0);
    else CHECK(dev->zeroes + dev->deallocates == 0);
    std::vector<uint8_t> b(1 << 20);
    REQUIRE(io(*cache, IoOp::Read, 0, b.size(), b.data()) == 0);
    for (uint64_t i = 0; i < b.size(); ++i) {
      bool zero = (i >= 100 && i < 300100) || (i >= 500000 && i < 501000);
      if (b[i] != (zero ? 0 : 0xff) || dev->bytes()[i] != b[i]) {
        FAIL("byte " << i << " is " << int(b[i]) << " (device " << int(dev->bytes()[i]) << ")");
      }
    }
  }
}
