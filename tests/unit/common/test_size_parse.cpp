#include <doctest/doctest.h>

#include "nvmefs/common/size_parse.hpp"

using nvmefs::parse_int;
using nvmefs::parse_size;
using nvmefs::parse_uint;

TEST_CASE("parse_uint") {
  CHECK(parse_uint("0") == 0u);
  CHECK(parse_uint("4096") == 4096u);
  CHECK(parse_uint("18446744073709551615") == UINT64_MAX);
  CHECK(parse_uint("000000000000000000000042") == 42u);  // leading zeros are not overflow
  CHECK_FALSE(parse_uint("18446744073709551616"));
  CHECK_FALSE(parse_uint("99999999999999999999"));
  CHECK_FALSE(parse_uint(""));
  CHECK_FALSE(parse_uint("-1"));
  CHECK_FALSE(parse_uint("+1"));
  CHECK_FALSE(parse_uint("12a"));
  CHECK_FALSE(parse_uint(" 1"));
  CHECK_FALSE(parse_uint("1 "));
}

TEST_CASE("parse_int") {
  CHECK(parse_int("0") == 0);
  CHECK(parse_int("-1") == -1);
  CHECK(parse_int("600") == 600);
  CHECK(parse_int("9223372036854775807") == INT64_MAX);
  CHECK(parse_int("-9223372036854775808") == INT64_MIN);
  CHECK_FALSE(parse_int("9223372036854775808"));
  CHECK_FALSE(parse_int("-9223372036854775809"));
  CHECK_FALSE(parse_int("-"));
  CHECK_FALSE(parse_int(""));
  CHECK_FALSE(parse_int("--1"));
  CHECK_FALSE(parse_int("1-"));
}

TEST_CASE("parse_size") {
  CHECK(parse_size("4096") == 4096u);
  CHECK(parse_size("0") == 0u);
  CHECK(parse_size("4k") == 4096u);
  CHECK(parse_size("4K") == 4096u);
  CHECK(parse_size("64M") == 64ull << 20);
  CHECK(parse_size("64MiB") == 64ull << 20);
  CHECK(parse_size("64MB") == 64ull << 20);
  CHECK(parse_size("2G") == 2ull << 30);
  CHECK(parse_size("1T") == 1ull << 40);
  CHECK(parse_size("512B") == 512u);
  CHECK(parse_size("16777215T") == 16777215ull << 40);
  CHECK_FALSE(parse_size("16777216T"));  // overflows 64 bits
  CHECK_FALSE(parse_size("1.5K"));
  CHECK_FALSE(parse_size(""));
  CHECK_FALSE(parse_size("K"));
  CHECK_FALSE(parse_size("MiB"));
  CHECK_FALSE(parse_size("4X"));
  CHECK_FALSE(parse_size("4KX"));
  CHECK_FALSE(parse_size("4KiBB"));
  CHECK_FALSE(parse_size("4Bi"));
  CHECK_FALSE(parse_size("-4K"));
  CHECK_FALSE(parse_size("4 K"));
  CHECK_FALSE(parse_size("99999999999999999999"));
}
