#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "nvmefs/wire/discovery_log.hpp"
#include "nvmefs/wire/nvme_cmd.hpp"

using namespace nvmefs::wire;

namespace {

// A log with `written` entries but `numrec` in the header.
std::vector<uint8_t> make_log(uint64_t numrec, size_t written) {
  std::vector<uint8_t> buf(kDiscoveryLogHeaderLen + written * kDiscoveryLogEntryLen, 0);
  put_le64(&buf[0], 0x1122334455667788ull);
  put_le64(&buf[8], numrec);
  put_le16(&buf[16], 0);
  for (size_t i = 0; i < written; ++i) {
    auto* e = reinterpret_cast<nvmf_disc_log_entry*>(&buf[kDiscoveryLogHeaderLen + i * kDiscoveryLogEntryLen]);
    e->trtype = NVMF_TRTYPE_TCP;
    e->adrfam = NVMF_ADDR_FAMILY_IP4;
    e->subtype = i == 0 ? NVME_NQN_CURR : NVME_NQN_NVME;
    e->treq = 0x2;
    put_le16(reinterpret_cast<uint8_t*>(&e->portid), uint16_t(i + 1));
    put_le16(reinterpret_cast<uint8_t*>(&e->cntlid), 0xFFFF);
    put_le16(reinterpret_cast<uint8_t*>(&e->asqsz), 32);
    put_le16(reinterpret_cast<uint8_t*>(&e->eflags), 0x3);
    std::memset(e->trsvcid, ' ', sizeof e->trsvcid);  // space padded
    std::memcpy(e->trsvcid, "4420", 4);
    std::string nqn = "nqn.2024-01.io.example:sub" + std::to_string(i);
    std::memcpy(e->subnqn, nqn.data(), nqn.size());   // NUL padded
    std::memcpy(e->traddr, "10.0.2.15", 9);
    e->tsas.tcp.sectype = NVMF_TCP_SECTYPE_NONE;
  }
  return buf;
}

}  // namespace

TEST_CASE("discovery log: header and entries") {
  auto buf = make_log(3, 3);
  DiscoveryLogHeader hdr;
  bool truncated = true;
  auto entries = parse_discovery_log(buf, hdr, truncated);
  CHECK_FALSE(truncated);
  CHECK(hdr.genctr == 0x1122334455667788ull);
  CHECK(hdr.numrec == 3);
  CHECK(hdr.recfmt == 0);
  REQUIRE(entries.size() == 3);
  const auto& e = entries[2];
  CHECK(e.trtype == NVMF_TRTYPE_TCP);
  CHECK(e.adrfam == NVMF_ADDR_FAMILY_IP4);
  CHECK(e.subtype == NVME_NQN_NVME);
  CHECK(entries[0].subtype == NVME_NQN_CURR);
  CHECK(e.treq == 0x2);
  CHECK(e.portid == 3);
  CHECK(e.cntlid == 0xFFFF);
  CHECK(e.asqsz == 32);
  CHECK(e.eflags == 0x3);
  CHECK(e.trsvcid == "4420");
  CHECK(e.subnqn == "nqn.2024-01.io.example:sub2");
  CHECK(e.traddr == "10.0.2.15");
  CHECK(e.tcp_sectype == NVMF_TCP_SECTYPE_NONE);
  CHECK(std::string(trtype_name(e.trtype)) == "tcp");
  CHECK(std::string(adrfam_name(e.adrfam)) == "ipv4");
  CHECK(std::string(subtype_name(e.subtype)) == "nvme subsystem");
  CHECK(std::string(subtype_name(NVME_NQN_DISC)) == "discovery subsystem referral");
  CHECK(std::string(trtype_name(0x42)) == "unspecified");
}

TEST_CASE("discovery log: numrec larger than the buffer") {
  auto buf = make_log(1000000, 2);
  DiscoveryLogHeader hdr;
  bool truncated = false;
  auto entries = parse_discovery_log(buf, hdr, truncated);
  CHECK(truncated);
  CHECK(hdr.numrec == 1000000);
  CHECK(entries.size() == 2);
  // A partial trailing entry is not parsed.
  buf.resize(buf.size() + 500, 0);
  entries = parse_discovery_log(buf, hdr, truncated);
  CHECK(truncated);
  CHECK(entries.size() == 2);
  // UINT64_MAX records promised.
  put_le64(&buf[8], ~0ull);
  entries = parse_discovery_log(buf, hdr, truncated);
  CHECK(truncated);
  CHECK(entries.size() == 2);
}

TEST_CASE("discovery log: fewer records than the buffer holds") {
  auto buf = make_log(1, 3);
  DiscoveryLogHeader hdr;
  bool truncated = true;
  auto entries = parse_discovery_log(buf, hdr, truncated);
  CHECK_FALSE(truncated);
  CHECK(entries.size() == 1);
}

TEST_CASE("discovery log: short buffers") {
  std::vector<uint8_t> buf(1023, 0);
  DiscoveryLogHeader hdr;
  CHECK_FALSE(parse_discovery_log_header(buf, hdr));
  bool truncated = false;
  CHECK(parse_discovery_log(buf, hdr, truncated).empty());
  CHECK(truncated);
  DiscoveryEntry e;
  CHECK_FALSE(parse_discovery_entry(buf, e));
  CHECK(parse_discovery_entry(std::vector<uint8_t>(1024, 0), e));
  CHECK(parse_discovery_log(std::span<const uint8_t>{}, hdr, truncated).empty());
}

TEST_CASE("ascii_field") {
  CHECK(ascii_field("abc   ", 6) == "abc");
  CHECK(ascii_field("ab\0cd", 5) == "ab");
  CHECK(ascii_field("a\x01\xff" "b", 4) == "a??b");
  CHECK(ascii_field("abcdef", 3) == "abc");
  CHECK(ascii_field("      ", 6).empty());
  CHECK(ascii_field(" lead", 5) == " lead");
}
