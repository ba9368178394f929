#include <doctest/doctest.h>

#include <vector>

#include "rdma_cm_data.hpp"

using namespace nvmefs::transport::rdma;

TEST_CASE("cm request: NVMe-oF 1.1 Figure 60 layout, little-endian, reserved bytes zero") {
  const auto b = encode_cm_req({0, 3, 128, 127});
  const std::vector<uint8_t> head(b.begin(), b.begin() + 8);
  CHECK(head == std::vector<uint8_t>{0, 0, 3, 0, 128, 0, 127, 0});
  for (size_t i = 8; i < b.size(); ++i) CHECK(b[i] == 0);
  CHECK(b.size() == 32);
  const auto admin = encode_cm_req({0, 0, 32, 31});
  CHECK(admin[4] == 32);
  CHECK(admin[6] == 31);
  CHECK(encode_cm_req({0, 0x1234, 0, 0})[3] == 0x12);
}

TEST_CASE("cm accept: recfmt and crqsize; short data is rejected") {
  std::vector<uint8_t> rep(196, 0);  // IB CM pads the REP private data
  rep[2] = 32;
  CmRep r;
  REQUIRE(decode_cm_rep(rep, r));
  CHECK(r.recfmt == 0);
  CHECK(r.crqsize == 32);
  rep[0] = 1;
  rep[3] = 1;
  REQUIRE(decode_cm_rep(rep, r));
  CHECK(r.recfmt == 1);
  CHECK(r.crqsize == 288);
  const std::vector<uint8_t> short_data{0, 0, 32};
  CHECK_FALSE(decode_cm_rep(short_data, r));
  CHECK_FALSE(decode_cm_rep({}, r));
}

TEST_CASE("cm reject: NVMe/RDMA status names") {
  const std::vector<uint8_t> hsqsize{0, 0, 4, 0};
  CHECK(describe_reject(28, hsqsize) == "rejected by the controller: invalid HSQSIZE (NVMe/RDMA status 0x4)");
  const std::vector<uint8_t> recfmt{0, 0, 2, 0};
  CHECK(describe_reject(28, recfmt) == "rejected by the controller: invalid RECFMT (NVMe/RDMA status 0x2)");
  const std::vector<uint8_t> unknown{0, 0, 0x77, 0};
  CHECK(describe_reject(28, unknown) == "rejected by the controller: NVMe/RDMA status 0x77");
  for (uint16_t s = 1; s <= 9; ++s) CHECK(reject_status_name(s) != nullptr);
  CHECK(reject_status_name(0) == nullptr);
  CHECK(reject_status_name(10) == nullptr);
}

TEST_CASE("cm reject: no listener, unreadable or foreign private data") {
  CHECK(describe_reject(8, {}) == "no NVMe/RDMA listener on that port (CM reject: invalid service ID)");
  const std::vector<uint8_t> tiny{0, 0, 4};
  CHECK(describe_reject(28, tiny) == "rejected (CM status 28)");
  const std::vector<uint8_t> other_fmt{1, 0, 4, 0};  // RECFMT 1 is not NVMe/RDMA's
  CHECK(describe_reject(28, other_fmt) == "rejected (CM status 28)");
  const std::vector<uint8_t> hsqsize{0, 0, 4, 0};
  CHECK(describe_reject(5, hsqsize) == "rejected (CM status 5)");  // not a consumer reject
}
