// In-band authentication, controller side (NVMe Base 2.0 §8.13, DH-HMAC-CHAP
// §8.13.5). When configured, Connect answers with AUTHREQ.ATR and each queue
// must run one transaction before anything but fabrics commands:
//
//   Auth Send    AUTH_Negotiate      -> pick the configured hash and DH group among the host's offers
//   Auth Receive DH-HMAC-CHAP_Challenge (T_ID, S1, C1, our DH public value)
//   Auth Send    DH-HMAC-CHAP_Reply  -> check the host's response with the host key
//   Auth Receive DH-HMAC-CHAP_Success1 (our response to C2 when asked) or _Failure1
//   Auth Send    DH-HMAC-CHAP_Success2 (bidirectional) or _Failure2
//
// Message layouts and computations are those of src/host/auth_* (checked
// against the Linux kernel target), whose primitives this reuses.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth_crypto.hpp"
#include "command.hpp"

namespace nvmefs::target {

// --dhchap-* options: one host key (for the allowed hosts), an optional
// controller key (bidirectional), the hash and DH group the target insists on.
struct DhchapConfig {
  host::DhchapKey host_key;
  std::optional<host::DhchapKey> ctrl_key;
  host::AuthHash hash = host::AuthHash::Sha256;
  host::DhGroup dhgroup = host::DhGroup::Ffdhe2048;
};

// "sha256" (or "hmac(sha256)") ...; "null", "ffdhe2048" ... Throw nvmefs::Error.
host::AuthHash parse_auth_hash(std::string_view name);
host::DhGroup parse_dhgroup(std::string_view name);

// Fabrics command types of Authentication Send / Receive (NVMe Base 2.0 §6.2, §6.3).
inline constexpr uint8_t kFctypeAuthSend = 0x05;
inline constexpr uint8_t kFctypeAuthReceive = 0x06;

// The DH-HMAC-CHAP state of one queue.
class QueueAuth {
 public:
  QueueAuth(const DhchapConfig& config, std::string hostnqn, std::string subnqn, uint16_t qid);

  bool authenticated() const { return state_ == State::Done; }

  // Authentication Send / Receive on this queue. `data` is the Send payload
  // (TL bytes); Receive returns at most AL bytes in Reply::data.
  Reply handle(const wire::Sqe& sqe, std::span<const uint8_t> data);

 private:
  enum class State { Negotiate, SendChallenge, WaitReply, SendSuccess1, WaitSuccess2, SendFailure1, Done, Failed };

  void on_message(std::span<const uint8_t> m);
  void on_negotiate(std::span<const uint8_t> m);
  void on_reply(std::span<const uint8_t> m);
  std::vector<uint8_t> next_message();
  std::vector<uint8_t> challenge();
  std::vector<uint8_t> success1();
  void fail(uint8_t explanation, std::string_view why);

  const DhchapConfig& config_;
  const std::string hostnqn_, subnqn_;
  const uint16_t qid_;
  State state_ = State::Negotiate;
  uint16_t t_id_ = 0;
  uint8_t explanation_ = 0;  // of the pending Failure1
  // One transaction's values: S1, C1, the DH exchange, and the controller's response (bidirectional).
  uint32_t s1_ = 0;
  host::SecretBytes c1_, session_, ctrl_response_;
  std::optional<host::DhExchange> dh_;
};

}  // namespace nvmefs::target
