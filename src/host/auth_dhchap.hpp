// In-band authentication of a queue with DH-HMAC-CHAP (NVMe Base 2.0 §8.13.5),
// host side. The controller asks for it in the Connect response (AUTHREQ.ATR);
// the host then runs one transaction on that queue before any other command:
//
//   Auth Send    AUTH_Negotiate (hashes, DH groups we support)
//   Auth Receive DH-HMAC-CHAP_Challenge (hash, group, S1, C1, controller DH value)
//   Auth Send    DH-HMAC-CHAP_Reply (our response, host DH value, C2/S2 if bidirectional)
//   Auth Receive DH-HMAC-CHAP_Success1 (controller's response if bidirectional) or _Failure1
//   Auth Send    DH-HMAC-CHAP_Success2 (bidirectional) or _Failure2 (we reject the controller)
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "auth_secret.hpp"
#include "nvmefs/host/options.hpp"
#include "nvmefs/transport/queue_pair.hpp"
#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::host {

// Connect response DW0 (NVMe Base 2.0 Figure "Connect Response"; Linux
// NVME_CONNECT_AUTHREQ_*): AUTHREQ.ATR bit 17, AUTHREQ.ASCR bit 18.
inline constexpr uint32_t kConnectAuthreqAtr = 1u << 17;
inline constexpr uint32_t kConnectAuthreqAscr = 1u << 18;

// Authentication Send / Receive (fabrics FCTYPE 05h / 06h): SECP E9h
// (DH-HMAC-CHAP) in CDW10[31:24], SPSP1 = SPSP0 = 01h in CDW10[23:16]/[15:8],
// TL (send) or AL (receive) in CDW11.
wire::Sqe auth_send_command(uint32_t tl);
wire::Sqe auth_receive_command(uint32_t al);

// Runs one fabrics command on the queue being authenticated and waits for it.
// Throws nvmefs::Error when it fails (transport error, timeout, NVMe status).
using AuthTransfer = std::function<void(const wire::Sqe& sqe, void* data, uint32_t len, transport::DataDir dir)>;

// What one transaction ended with (for the log; nothing secret).
struct AuthOutcome {
  const char* hash = "";
  const char* dhgroup = "";
  bool bidirectional = false;
};

// The secrets of one controller (parsed once, kept for reconnects, wiped on
// destruction) and the counters that make every transaction distinct.
class Authenticator {
 public:
  // Parses opts.dhchap_secret / dhchap_ctrl_secret (throws nvmefs::Error on a
  // malformed one). `where` names the target in messages ("subnqn on addr:port").
  Authenticator(const ConnectOptions& opts, std::string hostnqn, std::string where);

  // Checks the Connect response's AUTHREQ and, when the controller asks,
  // authenticates queue `qid`. Throws nvmefs::Error "authentication failed: ..."
  // when that fails, when the controller asks but we have no secret, or when we
  // hold a controller secret but the controller does not authenticate.
  void on_connected(uint16_t qid, uint32_t connect_dw0, const AuthTransfer& transfer);

 private:
  AuthOutcome authenticate(uint16_t qid, const AuthTransfer& transfer);
  uint32_t next_seqnum();

  std::optional<DhchapKey> host_key_, ctrl_key_;
  std::string hostnqn_, subnqn_, where_;
  std::atomic<uint16_t> transaction_{0};
  std::atomic<uint32_t> seqnum_;
};

}  // namespace nvmefs::host
