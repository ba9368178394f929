#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "pattern.hpp"

using namespace nvmefs::perf;

TEST_CASE("pattern verifies what it wrote") {
  std::vector<uint8_t> block(4096);
  fill_pattern(block, 0x10000, 7);
  CHECK_FALSE(check_pattern(block, 0x10000, 7));
  // The same bytes are the pattern of their own sub-ranges too.
  CHECK_FALSE(check_pattern(std::span(block).subspan(512, 512), 0x10000 + 512, 7));
}

TEST_CASE("pattern detects a flipped byte") {
  std::vector<uint8_t> block(4096);
  fill_pattern(block, 0x2000, 1);
  block[1000] ^= 0x04;
  auto m = check_pattern(block, 0x2000, 1);
  REQUIRE(m);
  CHECK(m->offset == 0x2000 + 992);  // the 16-byte word holding byte 1000
  CHECK(m->expected != m->got);
  CHECK(describe(*m).find("offset 0x23e0") != std::string::npos);
}

TEST_CASE("pattern detects a block holding another LBA's data, and says whose") {
  std::vector<uint8_t> block(512);
  fill_pattern(block, 5 * 512, 3);  // what LBA 5 should hold...
  auto m = check_pattern(block, 9 * 512, 3);  // ...read from LBA 9
  REQUIRE(m);
  CHECK(m->offset == 9 * 512);
  CHECK(describe(*m).find("intact pattern word of offset 0xa00, seed 3") != std::string::npos);
}

TEST_CASE("pattern detects stale data of another seed and zeroed blocks") {
  std::vector<uint8_t> block(512);
  fill_pattern(block, 0, 3);
  CHECK(check_pattern(block, 0, 4));
  std::memset(block.data(), 0, block.size());
  CHECK(check_pattern(block, 0, 3));
}
