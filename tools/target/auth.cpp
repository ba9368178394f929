#include "auth.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include <fmt/core.h>

#include "auth_messages.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::target {

using host::AuthHash;
using host::DhGroup;
using wire::get_le16;
using wire::get_le32;
using wire::put_le16;
using wire::put_le32;
namespace msg = host::authmsg;

namespace {

using namespace wire::status;

// Message layout (NVMe Base 2.0 §8.13.5; Linux struct nvmf_auth_dhchap_*).
constexpr size_t kFixedLen = 16;       // Challenge, Reply, Success1, Success2
constexpr size_t kFailureLen = 8;
constexpr size_t kNegotiateLen = 8;    // before the protocol descriptors
constexpr size_t kDescriptorLen = 64;  // AUTHID, rsvd, HALEN, DHLEN, 60 identifiers
constexpr size_t kDhIdOffset = 30;     // DH group identifiers start at identifier 30
constexpr uint8_t kDhchapAuthId = 0x01;
constexpr uint8_t kExplProtocolUnusable = 0x02;  // authentication protocol not usable
constexpr uint8_t kExplSecureChannel = 0x03;     // secure channel concatenation mismatch
// Authentication Send/Receive CDW10: SECP E9h (DH-HMAC-CHAP), SPSP1 = SPSP0 = 01h.
constexpr uint32_t kDhchapCdw10 = (0xE9u << 24) | (0x01u << 16) | (0x01u << 8);

std::vector<uint8_t> with_header(size_t len, uint8_t type, uint8_t id, uint16_t t_id) {
  std::vector<uint8_t> m(len, 0);
  m[0] = type;
  m[1] = id;
  put_le16(m.data() + 4, t_id);
  return m;
}

void random_bytes(uint8_t* p, size_t n) {
  if (RAND_bytes(p, int(n)) != 1) throw Error("OpenSSL RAND_bytes failed", EIO);
}

bool lists(const uint8_t* ids, uint8_t count, uint8_t id) { return std::find(ids, ids + count, id) != ids + count; }

}  // namespace

AuthHash parse_auth_hash(std::string_view name) {
  for (uint8_t id = 1; id <= 3; ++id) {
    const std::string_view hmac = host::hash_name(AuthHash(id));  // "hmac(sha256)"
    if (name == hmac || name == hmac.substr(5, hmac.size() - 6)) return AuthHash(id);
  }
  throw Error(fmt::format("--dhchap-hash: '{}' is not sha256, sha384 or sha512", name), EINVAL);
}

DhGroup parse_dhgroup(std::string_view name) {
  for (uint8_t id = 0; id <= 5; ++id)
    if (name == host::dhgroup_name(DhGroup(id))) return DhGroup(id);
  throw Error(fmt::format("--dhchap-dhgroup: '{}' is not null or ffdhe2048/3072/4096/6144/8192", name), EINVAL);
}

QueueAuth::QueueAuth(const DhchapConfig& config, std::string hostnqn, std::string subnqn, uint16_t qid)
    : config_(config), hostnqn_(std::move(hostnqn)), subnqn_(std::move(subnqn)), qid_(qid) {}

Reply QueueAuth::handle(const wire::Sqe& sqe, std::span<const uint8_t> data) {
  Reply r;
  if (sqe.cdw(10) != kDhchapCdw10) {  // other security protocols are not supported
    r.status = dnr(kInvalidField);
    return r;
  }
  if (sqe.fctype() == kFctypeAuthSend) {
    if (sqe.cdw(11) != data.size() || data.empty()) r.status = dnr(kInvalidField);  // TL
    else on_message(data);
    return r;
  }
  r.data = next_message();
  if (r.data.size() > sqe.cdw(11)) {  // AL too small for the message: it is lost, the queue fails
    r.data.clear();
    r.status = dnr(kInvalidField);
  }
  return r;
}

void QueueAuth::fail(uint8_t explanation, std::string_view why) {
  log::warn("qid {} of {} for {}: authentication failed: {}", qid_, subnqn_, hostnqn_, why);
  explanation_ = explanation;
  state_ = State::SendFailure1;
}

// One Authentication Send: a protocol error turns into a Failure1 for the
// next Receive (§8.13.5.1), the command itself succeeds.
void QueueAuth::on_message(std::span<const uint8_t> m) {
  const auto h = msg::decode_header(m.data(), m.size());
  if (!h) return fail(msg::kExplIncorrectPayload, "message shorter than its header");
  if (h->type == msg::kCommonMessage && h->id == msg::kNegotiate) return on_negotiate(m);  // (re)starts a transaction
  if (h->type == msg::kCommonMessage && h->id == msg::kFailure2) {
    log::warn("qid {} of {} for {}: the host rejected the controller (Failure2)", qid_, subnqn_, hostnqn_);
    state_ = State::Failed;
    return;
  }
  if (h->t_id != t_id_) return fail(msg::kExplIncorrectMessage, "message for another transaction");
  if (h->type == msg::kDhchapMessage && h->id == msg::kReply && state_ == State::WaitReply) return on_reply(m);
  if (h->type == msg::kDhchapMessage && h->id == msg::kSuccess2 && state_ == State::WaitSuccess2) {
    state_ = State::Done;
    log::info("qid {} of {} for {}: authenticated, controller authenticated", qid_, subnqn_, hostnqn_);
    return;
  }
  fail(msg::kExplIncorrectMessage, fmt::format("unexpected message type {:#x} id {:#x}", h->type, h->id));
}

// AUTH_Negotiate: SC_C, NAPD, then NAPD protocol descriptors of 64 bytes.
void QueueAuth::on_negotiate(std::span<const uint8_t> m) {
  t_id_ = get_le16(m.data() + 4);
  if (m.size() < kNegotiateLen) return fail(msg::kExplIncorrectPayload, "short AUTH_Negotiate");
  if (m[6] != 0) return fail(kExplSecureChannel, "the host asks for a secure channel");
  const size_t napd = m[7];
  if (napd == 0 || m.size() < kNegotiateLen + napd * kDescriptorLen)
    return fail(msg::kExplIncorrectPayload, "AUTH_Negotiate descriptors do not fit");
  for (size_t i = 0; i < napd; ++i) {
    const uint8_t* d = m.data() + kNegotiateLen + i * kDescriptorLen;
    if (d[0] != kDhchapAuthId) continue;
    const uint8_t halen = d[2], dhlen = d[3];
    if (halen > kDhIdOffset || dhlen > kDhIdOffset) return fail(msg::kExplIncorrectPayload, "bad HALEN/DHLEN");
    if (!lists(d + 4, halen, uint8_t(config_.hash)))
      return fail(msg::kExplHashUnusable, fmt::format("the host does not offer {}", host::hash_name(config_.hash)));
    if (!lists(d + 4 + kDhIdOffset, dhlen, uint8_t(config_.dhgroup)))
      return fail(msg::kExplDhgroupUnusable,
                  fmt::format("the host does not offer DH group {}", host::dhgroup_name(config_.dhgroup)));
    state_ = State::SendChallenge;
    return;
  }
  fail(kExplProtocolUnusable, "the host does not offer DH-HMAC-CHAP");
}

// DH-HMAC-CHAP_Reply: HL, CVALID, DHVLEN, S2, then RVAL[HL], C2[HL], DHV[DHVLEN].
void QueueAuth::on_reply(std::span<const uint8_t> m) {
  const size_t hl = host::hash_len(config_.hash);
  if (m.size() < kFixedLen || m[6] != hl) return fail(msg::kExplIncorrectPayload, "malformed DH-HMAC-CHAP_Reply");
  const bool cvalid = m[8] & 1;
  const size_t dhvlen = get_le16(m.data() + 10);
  const uint32_t s2 = get_le32(m.data() + 12);
  if (kFixedLen + 2 * hl + dhvlen > m.size() || (dhvlen == 0) != (config_.dhgroup == DhGroup::Null))
    return fail(msg::kExplIncorrectPayload, "DH-HMAC-CHAP_Reply lengths do not fit");
  const uint8_t* rval = m.data() + kFixedLen;
  const uint8_t* c2 = rval + hl;
  const uint8_t* dhv = c2 + hl;
  try {
    // §8.13.5.2: with a DH group, both challenges are augmented with H(session key).
    host::SecretBytes c1a(c1_.data(), hl), expected(hl);
    if (dh_) {
      session_ = dh_->session_key(dhv, dhvlen);
      host::augment_challenge(config_.hash, session_, c1_.data(), c1a.data());
    }
    host::chap_response(config_.hash, host::transform_key(config_.host_key, hostnqn_), c1a.data(), s1_, t_id_,
                        host::Responder::Host, hostnqn_, subnqn_, expected.data());
    if (CRYPTO_memcmp(expected.data(), rval, hl) != 0)
      return fail(msg::kExplFailed, "the host's response does not match --dhchap-key");
    ctrl_response_.wipe();
    if (cvalid && config_.ctrl_key) {  // §8.13.5.5: answer the host's challenge C2 with sequence number S2
      host::SecretBytes c2a(c2, hl);
      if (dh_) host::augment_challenge(config_.hash, session_, c2, c2a.data());
      ctrl_response_ = host::SecretBytes(hl);
      host::chap_response(config_.hash, host::transform_key(*config_.ctrl_key, subnqn_), c2a.data(), s2, t_id_,
                          host::Responder::Controller, hostnqn_, subnqn_, ctrl_response_.data());
    }
  } catch (const Error& e) {
    return fail(msg::kExplIncorrectPayload, e.what());
  }
  state_ = State::SendSuccess1;
}

// One Authentication Receive: whatever the transaction has to say next.
std::vector<uint8_t> QueueAuth::next_message() {
  try {
    switch (state_) {
      case State::SendChallenge: state_ = State::WaitReply; return challenge();
      case State::SendSuccess1: {
        auto m = success1();
        state_ = ctrl_response_.empty() ? State::Done : State::WaitSuccess2;
        if (state_ == State::Done) log::info("qid {} of {} for {}: authenticated", qid_, subnqn_, hostnqn_);
        return m;
      }
      case State::SendFailure1: break;
      default: fail(msg::kExplIncorrectMessage, "Authentication Receive out of sequence"); break;
    }
  } catch (const Error& e) {
    fail(msg::kExplFailed, e.what());
  }
  // DH-HMAC-CHAP failures: REASON CODE 01h (authentication failure) with the explanation.
  auto m = with_header(kFailureLen, msg::kCommonMessage, msg::kFailure1, t_id_);
  m[6] = msg::kReasonFailed;
  m[7] = explanation_;
  state_ = State::Failed;
  return m;
}

// DH-HMAC-CHAP_Challenge: HL, HASHID, DHGID, DHVLEN, S1, then C1[HL], DHV[DHVLEN].
std::vector<uint8_t> QueueAuth::challenge() {
  const size_t hl = host::hash_len(config_.hash);
  dh_.reset();
  if (config_.dhgroup != DhGroup::Null) dh_.emplace(config_.dhgroup);
  const size_t dhvlen = dh_ ? dh_->size() : 0;
  do random_bytes(reinterpret_cast<uint8_t*>(&s1_), sizeof s1_);
  while (s1_ == 0);
  c1_ = host::SecretBytes(hl);
  random_bytes(c1_.data(), hl);
  auto m = with_header(kFixedLen + hl + dhvlen, msg::kDhchapMessage, msg::kChallenge, t_id_);
  m[6] = uint8_t(hl);
  m[8] = uint8_t(config_.hash);
  m[9] = uint8_t(config_.dhgroup);
  put_le16(m.data() + 10, uint16_t(dhvlen));
  put_le32(m.data() + 12, s1_);
  std::memcpy(m.data() + kFixedLen, c1_.data(), hl);
  if (dh_) std::memcpy(m.data() + kFixedLen + hl, dh_->public_value().data(), dhvlen);
  return m;
}

// DH-HMAC-CHAP_Success1: HL, RVALID, then RVAL[HL] (our response when the host asked).
std::vector<uint8_t> QueueAuth::success1() {
  const size_t hl = host::hash_len(config_.hash);
  auto m = with_header(kFixedLen + hl, msg::kDhchapMessage, msg::kSuccess1, t_id_);
  m[6] = uint8_t(hl);
  if (!ctrl_response_.empty()) {
    m[8] = 1;  // RVALID
    std::memcpy(m.data() + kFixedLen, ctrl_response_.data(), hl);
  }
  return m;
}

}  // namespace nvmefs::target
