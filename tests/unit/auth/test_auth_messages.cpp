// DH-HMAC-CHAP message encoders and bounds-checked decoders; the Auth Send /
// Receive command layout.
#include <doctest/doctest.h>

#include <vector>

#include "auth_dhchap.hpp"
#include "auth_messages.hpp"

using namespace nvmefs;
using namespace nvmefs::host;
namespace msg = nvmefs::host::authmsg;

namespace {

// A Challenge as a controller would send it.
std::vector<uint8_t> challenge(uint8_t hl, uint8_t hashid, uint8_t dhgid, uint16_t dhvlen, size_t body) {
  std::vector<uint8_t> m(16 + body, 0);
  m[0] = msg::kDhchapMessage;
  m[1] = msg::kChallenge;
  wire::put_le16(m.data() + 4, 7);
  m[6] = hl;
  m[8] = hashid;
  m[9] = dhgid;
  wire::put_le16(m.data() + 10, dhvlen);
  wire::put_le32(m.data() + 12, 0xA1B2C3D4);
  for (size_t i = 16; i < m.size(); ++i) m[i] = uint8_t(i);
  return m;
}

}  // namespace

TEST_CASE("Authentication Send/Receive commands: FCTYPE, SECP/SPSP in CDW10, TL/AL in CDW11") {
  const auto s = auth_send_command(72);
  CHECK(s.opcode() == 0x7F);
  CHECK(s.fctype() == 0x05);
  CHECK(s.cdw(10) == 0xE9010100u);
  CHECK(s.cdw(11) == 72);
  const auto r = auth_receive_command(4096);
  CHECK(r.fctype() == 0x06);
  CHECK(r.cdw(10) == 0xE9010100u);
  CHECK(r.cdw(11) == 4096);
}

TEST_CASE("AUTH_Negotiate lists SHA-256/384/512 and the NULL and ffdhe groups") {
  const auto m = msg::encode_negotiate(0x1234);
  REQUIRE(m.size() == 72);
  CHECK(m[0] == msg::kCommonMessage);
  CHECK(m[1] == msg::kNegotiate);
  CHECK(wire::get_le16(m.data() + 4) == 0x1234);
  CHECK(m[6] == 0);  // SC_C
  CHECK(m[7] == 1);  // NAPD
  CHECK(m[8] == 1);  // AUTHID DH-HMAC-CHAP
  CHECK(m[10] == 3);
  CHECK(m[11] == 6);
  CHECK(std::vector<uint8_t>(m.begin() + 12, m.begin() + 15) == std::vector<uint8_t>{1, 2, 3});
  CHECK(std::vector<uint8_t>(m.begin() + 42, m.begin() + 48) == std::vector<uint8_t>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("Challenge decoding accepts exact sizes and rejects truncated or lying ones") {
  auto ok = challenge(32, 1, 0, 0, 32);
  auto c = msg::decode_challenge(ok.data(), ok.size());
  REQUIRE(c);
  CHECK(c->t_id == 7);
  CHECK(c->hash == AuthHash::Sha256);
  CHECK(c->dhgroup == DhGroup::Null);
  CHECK(c->seqnum == 0xA1B2C3D4);
  CHECK(c->c1 == ok.data() + 16);
  CHECK(c->dhv == nullptr);

  auto dh = challenge(64, 3, 1, 256, 64 + 256);
  c = msg::decode_challenge(dh.data(), dh.size());
  REQUIRE(c);
  CHECK(c->dhv == dh.data() + 16 + 64);
  CHECK(c->dhv_len == 256);

  CHECK_FALSE(msg::decode_challenge(dh.data(), dh.size() - 1));        // DH value cut short
  CHECK_FALSE(msg::decode_challenge(ok.data(), 15));                   // header cut short
  auto lying_dhvlen = challenge(32, 1, 1, 0xFFFF, 32 + 256);
  CHECK_FALSE(msg::decode_challenge(lying_dhvlen.data(), lying_dhvlen.size()));
  auto lying_hl = challenge(64, 1, 0, 0, 64);                          // SHA-256 with HL 64
  CHECK_FALSE(msg::decode_challenge(lying_hl.data(), lying_hl.size()));
  auto null_with_value = challenge(32, 1, 0, 8, 40);
  CHECK_FALSE(msg::decode_challenge(null_with_value.data(), null_with_value.size()));
  auto group_without_value = challenge(32, 1, 1, 0, 32);
  CHECK_FALSE(msg::decode_challenge(group_without_value.data(), group_without_value.size()));
  auto bad_hash = challenge(32, 4, 0, 0, 32);
  CHECK_FALSE(msg::decode_challenge(bad_hash.data(), bad_hash.size()));
  auto bad_group = challenge(32, 1, 6, 8, 40);
  CHECK_FALSE(msg::decode_challenge(bad_group.data(), bad_group.size()));
  auto wrong_id = ok;
  wrong_id[1] = msg::kSuccess1;
  CHECK_FALSE(msg::decode_challenge(wrong_id.data(), wrong_id.size()));
}

TEST_CASE("Reply layout: RVAL, C2 slot (zero unless CVALID), DH value") {
  std::vector<uint8_t> resp(48, 0xAA), c2(48, 0xBB), dhv(384, 0xCC);
  msg::Reply r;
  r.t_id = 9;
  r.hash = AuthHash::Sha384;
  r.response = resp.data();
  auto m = msg::encode_reply(r);
  REQUIRE(m.size() == 16 + 96);
  CHECK(m[0] == msg::kDhchapMessage);
  CHECK(m[1] == msg::kReply);
  CHECK(m[6] == 48);
  CHECK(m[8] == 0);
  CHECK(wire::get_le32(m.data() + 12) == 0);
  CHECK(m[16] == 0xAA);
  CHECK(m[16 + 48] == 0);
  r.c2 = c2.data();
  r.seqnum = 0x01020304;
  r.dhv = dhv.data();
  r.dhv_len = dhv.size();
  m = msg::encode_reply(r);
  REQUIRE(m.size() == 16 + 96 + 384);
  CHECK(m[8] == 1);
  CHECK(wire::get_le16(m.data() + 10) == 384);
  CHECK(wire::get_le32(m.data() + 12) == 0x01020304);
  CHECK(m[16 + 48] == 0xBB);
  CHECK(m[16 + 96] == 0xCC);
  CHECK(m.back() == 0xCC);
}

TEST_CASE("Success1 / Failure1 decoding, Success2 / Failure2 encoding") {
  std::vector<uint8_t> s(16 + 32, 0);
  s[0] = msg::kDhchapMessage;
  s[1] = msg::kSuccess1;
  wire::put_le16(s.data() + 4, 3);
  s[6] = 32;
  auto d = msg::decode_success1(s.data(), s.size());
  REQUIRE(d);
  CHECK(d->response == nullptr);
  s[8] = 1;  // RVALID
  d = msg::decode_success1(s.data(), s.size());
  REQUIRE(d);
  CHECK(d->response == s.data() + 16);
  CHECK_FALSE(msg::decode_success1(s.data(), 16 + 31));  // response cut short
  s[6] = 200;                                            // lying HL
  CHECK_FALSE(msg::decode_success1(s.data(), s.size()));
  CHECK_FALSE(msg::decode_success1(s.data(), 10));

  const std::vector<uint8_t> f = {msg::kCommonMessage, msg::kFailure1, 0, 0, 5, 0, 1, 0x04};
  auto fd = msg::decode_failure1(f.data(), f.size());
  REQUIRE(fd);
  CHECK(fd->t_id == 5);
  CHECK(fd->explanation == msg::kExplHashUnusable);
  CHECK_FALSE(msg::decode_failure1(f.data(), 7));
  CHECK(std::string(msg::explanation_name(0x04)) == "hash function not usable");

  const auto s2 = msg::encode_success2(0x0A0B);
  CHECK(s2.size() == 16);
  CHECK(s2[1] == msg::kSuccess2);
  CHECK(wire::get_le16(s2.data() + 4) == 0x0A0B);
  const auto f2 = msg::encode_failure2(0x0A0B, msg::kExplFailed);
  CHECK(f2 == std::vector<uint8_t>{0x00, 0xF0, 0, 0, 0x0B, 0x0A, 0x01, 0x01});
}
