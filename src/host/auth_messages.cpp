#include "auth_messages.hpp"

#include <cstring>

#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::host::authmsg {

using wire::get_le16;
using wire::get_le32;
using wire::put_le16;
using wire::put_le32;

namespace {

constexpr size_t kHeaderLen = 6;
constexpr size_t kFixedLen = 16;        // Challenge, Reply, Success1, Success2 fixed parts
constexpr size_t kFailureLen = 8;
constexpr uint8_t kDhchapAuthId = 0x01;  // protocol descriptor AUTHID: DH-HMAC-CHAP
constexpr size_t kDescriptorLen = 64;    // AUTHID, rsvd, HALEN, DHLEN, 60 identifiers
constexpr size_t kDhIdOffset = 30;       // DH group IDs start at identifier 30

std::vector<uint8_t> with_header(size_t len, uint8_t type, uint8_t id, uint16_t t_id) {
  std::vector<uint8_t> m(len, 0);
  m[0] = type;
  m[1] = id;
  put_le16(m.data() + 4, t_id);
  return m;
}

}  // namespace

const char* explanation_name(uint8_t e) {
  switch (e) {
    case 0x01: return "authentication failed";
    case 0x02: return "authentication protocol not usable";
    case 0x03: return "secure channel concatenation mismatch";
    case 0x04: return "hash function not usable";
    case 0x05: return "DH group not usable";
    case 0x06: return "incorrect payload";
    case 0x07: return "incorrect protocol message";
    default: return "unknown reason";
  }
}

std::optional<Header> decode_header(const uint8_t* p, size_t len) {
  if (len < kHeaderLen) return std::nullopt;
  return Header{p[0], p[1], get_le16(p + 4)};
}

std::vector<uint8_t> encode_negotiate(uint16_t t_id) {
  auto m = with_header(8 + kDescriptorLen, kCommonMessage, kNegotiate, t_id);
  m[6] = 0;  // SC_C: no secure channel concatenation
  m[7] = 1;  // NAPD: one protocol descriptor
  uint8_t* d = m.data() + 8;
  d[0] = kDhchapAuthId;
  d[2] = 3;  // HALEN
  d[3] = 6;  // DHLEN
  uint8_t* ids = d + 4;
  for (uint8_t h = 1; h <= 3; ++h) ids[h - 1] = h;                    // SHA-256, -384, -512
  for (uint8_t g = 0; g <= 5; ++g) ids[kDhIdOffset + g] = g;          // NULL, ffdhe2048..8192
  return m;
}

std::optional<Challenge> decode_challenge(const uint8_t* p, size_t len) {
  if (len < kFixedLen || p[0] != kDhchapMessage || p[1] != kChallenge) return std::nullopt;
  const uint8_t hl = p[6], hashid = p[8], dhgid = p[9];
  if (!valid_hash_id(hashid) || !valid_dhgroup_id(dhgid)) return std::nullopt;
  Challenge c;
  c.t_id = get_le16(p + 4);
  c.hash = AuthHash(hashid);
  c.dhgroup = DhGroup(dhgid);
  c.dhv_len = get_le16(p + 10);
  c.seqnum = get_le32(p + 12);
  if (hl != hash_len(c.hash)) return std::nullopt;
  if ((c.dhgroup == DhGroup::Null) != (c.dhv_len == 0)) return std::nullopt;
  if (kFixedLen + hl + c.dhv_len > len) return std::nullopt;
  c.c1 = p + kFixedLen;
  c.dhv = c.dhv_len ? c.c1 + hl : nullptr;
  return c;
}

std::vector<uint8_t> encode_reply(const Reply& r) {
  const size_t hl = hash_len(r.hash);
  const size_t dhvlen = r.dhv ? r.dhv_len : 0;
  // RVAL and the C2 slot are always both present (C2 zero when CVALID = 0), then the DH value.
  auto m = with_header(kFixedLen + 2 * hl + dhvlen, kDhchapMessage, kReply, r.t_id);
  m[6] = uint8_t(hl);
  m[8] = r.c2 ? 1 : 0;  // CVALID
  put_le16(m.data() + 10, uint16_t(dhvlen));
  put_le32(m.data() + 12, r.seqnum);
  std::memcpy(m.data() + kFixedLen, r.response, hl);
  if (r.c2) std::memcpy(m.data() + kFixedLen + hl, r.c2, hl);
  if (dhvlen) std::memcpy(m.data() + kFixedLen + 2 * hl, r.dhv, dhvlen);
  return m;
}

std::optional<Success1> decode_success1(const uint8_t* p, size_t len) {
  if (len < kFixedLen || p[0] != kDhchapMessage || p[1] != kSuccess1) return std::nullopt;
  Success1 s;
  s.t_id = get_le16(p + 4);
  s.hl = p[6];
  if (p[8] & 1) {  // RVALID
    if (s.hl == 0 || s.hl > kMaxHashLen || kFixedLen + s.hl > len) return std::nullopt;
    s.response = p + kFixedLen;
  }
  return s;
}

std::vector<uint8_t> encode_success2(uint16_t t_id) { return with_header(kFixedLen, kDhchapMessage, kSuccess2, t_id); }

std::optional<Failure> decode_failure1(const uint8_t* p, size_t len) {
  if (len < kFailureLen || p[0] != kCommonMessage || p[1] != kFailure1) return std::nullopt;
  return Failure{get_le16(p + 4), p[6], p[7]};
}

std::vector<uint8_t> encode_failure2(uint16_t t_id, uint8_t explanation) {
  auto m = with_header(kFailureLen, kCommonMessage, kFailure2, t_id);
  m[6] = kReasonFailed;
  m[7] = explanation;
  return m;
}

}  // namespace nvmefs::host::authmsg
