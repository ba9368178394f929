#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "nvmefs/common/histogram.hpp"

using nvmefs::LatencyHistogram;

TEST_CASE("histogram buckets tile the value range with bounded relative width") {
  for (uint64_t v : {0ull, 1ull, 63ull, 64ull, 127ull, 128ull, 1000ull, 123456789ull, ~0ull >> 1, ~0ull}) {
    size_t b = LatencyHistogram::bucket_of(v);
    REQUIRE(b < LatencyHistogram::kBuckets);
    CHECK(LatencyHistogram::bucket_low(b) <= v);
    CHECK(v - LatencyHistogram::bucket_low(b) < LatencyHistogram::bucket_width(b));
    if (v >= LatencyHistogram::kSubBuckets)
      CHECK(LatencyHistogram::bucket_width(b) * LatencyHistogram::kSubBuckets <= LatencyHistogram::bucket_low(b));
  }
  for (size_t b = 0; b + 1 < LatencyHistogram::kBuckets; b++)
    REQUIRE(LatencyHistogram::bucket_low(b) + LatencyHistogram::bucket_width(b) == LatencyHistogram::bucket_low(b + 1));
}

TEST_CASE("histogram percentiles of a uniform distribution") {
  auto h = std::make_unique<LatencyHistogram>();
  for (uint64_t v = 1; v <= 100000; v++) h->record(v);
  CHECK(h->count() == 100000);
  CHECK(h->max() == 100000);
  CHECK(h->mean() == doctest::Approx(50000.5));
  CHECK(h->percentile(50) == doctest::Approx(50000).epsilon(0.02));
  CHECK(h->percentile(99) == doctest::Approx(99000).epsilon(0.02));
  CHECK(h->percentile(99.9) == doctest::Approx(99900).epsilon(0.02));
  CHECK(h->percentile(100) == 100000);
}

TEST_CASE("histogram is exact for small values and finds outliers") {
  auto h = std::make_unique<LatencyHistogram>();
  CHECK(h->percentile(50) == 0);
  for (uint64_t v = 1; v <= 10; v++) h->record(v);
  CHECK(h->percentile(50) == 5);
  CHECK(h->percentile(10) == 1);
  // 999 fast, 1 very slow: p99.9 is fast, max is the slow one.
  auto tail = std::make_unique<LatencyHistogram>();
  for (int i = 0; i < 999; i++) tail->record(20);
  tail->record(5'000'000);
  CHECK(tail->percentile(99.9) == 20);
  CHECK(tail->percentile(99.95) == doctest::Approx(5'000'000).epsilon(0.02));
  CHECK(tail->max() == 5'000'000);
}

TEST_CASE("histogram records from many threads without losing counts") {
  auto h = std::make_unique<LatencyHistogram>();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++)
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < 50000; i++) h->record(100 * (t + 1));
    });
  for (auto& t : threads) t.join();
  CHECK(h->count() == 200000);
  CHECK(h->max() == 400);
  CHECK(h->mean() == doctest::Approx(250));
}
