#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <vector>

#include "nvmefs/wire/crc32c.hpp"

using namespace nvmefs::wire;

TEST_CASE("crc32c: RFC 3720 B.4 known answers") {
  uint8_t zeros[32]{};
  uint8_t ones[32];
  std::memset(ones, 0xFF, sizeof ones);
  uint8_t incr[32], decr[32];
  for (int i = 0; i < 32; ++i) {
    incr[i] = uint8_t(i);
    decr[i] = uint8_t(31 - i);
  }
  CHECK(crc32c(zeros, sizeof zeros) == 0x8A9136AAu);
  CHECK(crc32c(ones, sizeof ones) == 0x62A8AB43u);
  CHECK(crc32c(incr, sizeof incr) == 0x46DD794Eu);
  CHECK(crc32c(decr, sizeof decr) == 0x113FDB5Cu);
  CHECK(crc32c("123456789", 9) == 0xE3069283u);
  CHECK(crc32c(nullptr, 0) == 0u);
}

TEST_CASE("crc32c: running form equals one-shot") {
  const char* s = "The quick brown fox jumps over the lazy dog";
  size_t n = std::strlen(s);
  for (size_t split = 0; split <= n; ++split) {
    uint32_t c = crc32c_update(kCrc32cInit, s, split);
    c = crc32c_update(c, s + split, n - split);
    CHECK(crc32c_final(c) == crc32c(s, n));
  }
}

TEST_CASE("crc32c: hardware and software paths agree") {
  MESSAGE("hardware crc32c: " << crc32c_is_hardware());
  std::mt19937 rng(12345);
  std::vector<uint8_t> buf(8192 + 16);
  for (auto& b : buf) b = uint8_t(rng());
  for (int i = 0; i < 2000; ++i) {
    size_t off = rng() % 16;
    size_t len = rng() % 8192;
    if (i < 64) len = size_t(i);  // every short length, including the byte tail path
    uint32_t seed = (i & 1) ? kCrc32cInit : uint32_t(rng());
    REQUIRE(crc32c_update(seed, buf.data() + off, len) ==
            detail::crc32c_update_software(seed, buf.data() + off, len));
  }
}
