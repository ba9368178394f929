#include <doctest/doctest.h>

#include <memory>
#include <thread>
#include <vector>

#include "../../support/memory_device.hpp"
#include "nvmefs/control/stats_device.hpp"

using namespace nvmefs;

TEST_CASE("StatsDevice counts operations, bytes, errors and latencies, and passes data through") {
  auto mem = std::make_shared<testing::MemoryDevice>(1 << 20, 512, std::chrono::microseconds(200));
  control::StatsDevice dev(mem);
  CHECK(dev.info().size_bytes == 1 << 20);
  std::vector<uint8_t> out(4096, 0xAB), in(4096, 0);
  REQUIRE(submit_and_wait(dev, IoOp::Write, 8192, 4096, out.data()) == 0);
  REQUIRE(submit_and_wait(dev, IoOp::Read, 8192, 4096, in.data()) == 0);
  CHECK(in == out);
  REQUIRE(submit_and_wait(dev, IoOp::Flush, 0, 0, nullptr) == 0);
  CHECK(submit_and_wait(dev, IoOp::Read, 2 << 20, 4096, in.data()) < 0);  // beyond the end

  control::DeviceStats s = dev.stats();
  CHECK(s.writes.ops == 1);
  CHECK(s.writes.bytes == 4096);
  CHECK(s.reads.ops == 2);
  CHECK(s.reads.bytes == 4096);
  CHECK(s.reads.errors == 1);
  CHECK(s.flushes.ops == 1);
  CHECK(s.in_flight == 0);
  CHECK(s.write_latency.count == 1);
  CHECK(s.write_latency.p50 >= 150);  // microseconds; the device sleeps 200
  CHECK(s.read_latency.count == 1);   // errors are not in the histogram
  CHECK(s.read_latency.p999 >= s.read_latency.p50);
}

TEST_CASE("StatsDevice under concurrent submitters reuses its trackers") {
  auto mem = std::make_shared<testing::MemoryDevice>(4 << 20);
  control::StatsDevice dev(mem);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&dev, t] {
      std::vector<uint8_t> buf(512, uint8_t(t));
      for (int i = 0; i < 500; ++i) CHECK(submit_and_wait(dev, IoOp::Write, uint64_t(t * 1000 + i) * 512, 512, buf.data()) == 0);
    });
  for (auto& th : threads) th.join();
  control::DeviceStats s = dev.stats();
  CHECK(s.writes.ops == 2000);
  CHECK(s.writes.bytes == 2000 * 512);
  CHECK(s.write_latency.count == 2000);
  CHECK(s.in_flight == 0);
}

TEST_CASE("StatsDevice reports the lower device's current size after a resize") {
  auto mem = std::make_shared<testing::MemoryDevice>(1 << 20);
  control::StatsDevice dev(mem);
  const BlockDeviceInfo& info = dev.info();  // a reference held across the resize, as the layers above do
  CHECK(info.size_bytes == 1 << 20);
  mem->mutable_info().size_bytes = 2 << 20;  // grown in place (the namespace's DeviceSize)
  CHECK(info.size_bytes == 2 << 20);
  CHECK(dev.info().size_bytes == 2 << 20);
  mem->mutable_info().size_bytes = 512 << 10;
  CHECK(dev.info().size_bytes == 512 << 10);
}
