// DH-HMAC-CHAP messages carried by Authentication Send/Receive (NVMe Base 2.0
// §8.13.5 and the message figures of §6.x; Linux: struct nvmf_auth_dhchap_*).
// Every message starts with AUTH_TYPE (1), AUTH_ID (1), reserved (2), T_ID (2, LE).
// Encoders fill a caller's vector; decoders take untrusted bytes and return
// std::nullopt for anything that does not fit (never read past `len`).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "auth_crypto.hpp"

namespace nvmefs::host::authmsg {

// AUTH_TYPE
inline constexpr uint8_t kCommonMessage = 0x00;  // Negotiate, Failure1/2
inline constexpr uint8_t kDhchapMessage = 0x01;  // Challenge, Reply, Success1/2
// AUTH_ID
inline constexpr uint8_t kNegotiate = 0x00;
inline constexpr uint8_t kChallenge = 0x01;
inline constexpr uint8_t kReply = 0x02;
inline constexpr uint8_t kSuccess1 = 0x03;
inline constexpr uint8_t kSuccess2 = 0x04;
inline constexpr uint8_t kFailure2 = 0xF0;
inline constexpr uint8_t kFailure1 = 0xF1;
// Failure reason code explanations (REASON CODE 01h "authentication failure").
inline constexpr uint8_t kReasonFailed = 0x01;
inline constexpr uint8_t kExplFailed = 0x01;
inline constexpr uint8_t kExplHashUnusable = 0x04;
inline constexpr uint8_t kExplDhgroupUnusable = 0x05;
inline constexpr uint8_t kExplIncorrectPayload = 0x06;
inline constexpr uint8_t kExplIncorrectMessage = 0x07;
const char* explanation_name(uint8_t rescode_exp);

struct Header {
  uint8_t type = 0, id = 0;
  uint16_t t_id = 0;
};
std::optional<Header> decode_header(const uint8_t* p, size_t len);

// AUTH_Negotiate: SC_C = 0 (no secure channel), one DH-HMAC-CHAP protocol
// descriptor listing every hash and DH group we support (72 bytes).
std::vector<uint8_t> encode_negotiate(uint16_t t_id);

struct Challenge {
  uint16_t t_id = 0;
  AuthHash hash = AuthHash::Sha256;
  DhGroup dhgroup = DhGroup::Null;
  uint32_t seqnum = 0;
  const uint8_t* c1 = nullptr;   // hash_len(hash) bytes, inside the decoded buffer
  const uint8_t* dhv = nullptr;  // dhv_len bytes (0 with the NULL group)
  size_t dhv_len = 0;
};
// Checks HL against HASHID, IDs against the defined ones, DHVLEN against the
// group (0 for NULL, nonzero otherwise) and that everything fits in `len`.
std::optional<Challenge> decode_challenge(const uint8_t* p, size_t len);

struct Reply {
  uint16_t t_id = 0;
  AuthHash hash = AuthHash::Sha256;
  const uint8_t* response = nullptr;  // hash_len bytes
  const uint8_t* c2 = nullptr;        // hash_len bytes when bidirectional, else nullptr
  uint32_t seqnum = 0;                // S2, 0 unless bidirectional
  const uint8_t* dhv = nullptr;       // host DH value (dhv_len bytes), or nullptr
  size_t dhv_len = 0;
};
std::vector<uint8_t> encode_reply(const Reply& r);

struct Success1 {
  uint16_t t_id = 0;
  uint8_t hl = 0;
  const uint8_t* response = nullptr;  // controller's response (hl bytes) when RVALID, else nullptr
};
std::optional<Success1> decode_success1(const uint8_t* p, size_t len);

std::vector<uint8_t> encode_success2(uint16_t t_id);

struct Failure {
  uint16_t t_id = 0;
  uint8_t reason = 0, explanation = 0;
};
std::optional<Failure> decode_failure1(const uint8_t* p, size_t len);
std::vector<uint8_t> encode_failure2(uint16_t t_id, uint8_t explanation);

}  // namespace nvmefs::host::authmsg
