#include "auth_dhchap.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <fmt/core.h>

#include "auth_crypto.hpp"
#include "auth_messages.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::host {

using transport::DataDir;

namespace {

constexpr uint8_t kFctypeAuthSend = 0x05;
constexpr uint8_t kFctypeAuthReceive = 0x06;
constexpr uint32_t kSecpDhchap = 0xE9;
// Auth Receive buffer: the largest message, a Challenge with SHA-512 and
// ffdhe8192, is 16 + 64 + 1024 bytes; 4 KiB as Linux (CHAP_BUF_SIZE).
constexpr uint32_t kReceiveLen = 4096;

wire::Sqe auth_command(uint8_t fctype, uint32_t length) {
  wire::Sqe sqe;
  sqe.set_opcode(wire::kFabricsOpcode);
  sqe.b[4] = fctype;
  sqe.set_cdw(10, (kSecpDhchap << 24) | (0x01u << 16) | (0x01u << 8));  // SECP, SPSP1, SPSP0
  sqe.set_cdw(11, length);
  return sqe;
}

DhchapKey parse_option(const std::string& text, const char* option) {
  try {
    return parse_dhchap_secret(text);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", option, e.what()), EINVAL);
  }
}

}  // namespace

wire::Sqe auth_send_command(uint32_t tl) { return auth_command(kFctypeAuthSend, tl); }
wire::Sqe auth_receive_command(uint32_t al) { return auth_command(kFctypeAuthReceive, al); }

Authenticator::Authenticator(const ConnectOptions& opts, std::string hostnqn, std::string where)
    : hostnqn_(std::move(hostnqn)), subnqn_(opts.target.subnqn), where_(std::move(where)) {
  if (!opts.dhchap_secret.empty()) host_key_ = parse_option(opts.dhchap_secret, "dhchap_secret");
  if (!opts.dhchap_ctrl_secret.empty()) {
    if (!host_key_) throw Error("dhchap_ctrl_secret needs dhchap_secret (bidirectional authentication)", EINVAL);
    ctrl_key_ = parse_option(opts.dhchap_ctrl_secret, "dhchap_ctrl_secret");
  }
  uint32_t seed = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1) seed = 1;
  seqnum_ = seed;
}

uint32_t Authenticator::next_seqnum() {
  uint32_t s;
  while ((s = seqnum_.fetch_add(1)) == 0) {}  // 0 means "not bidirectional" (§8.13.5.4)
  return s;
}

void Authenticator::on_connected(uint16_t qid, uint32_t connect_dw0, const AuthTransfer& transfer) {
  if (connect_dw0 & kConnectAuthreqAscr)
    throw Error(fmt::format("authentication failed: {} requires a secure channel (TLS), which is not supported", where_),
                EACCES);
  if (!(connect_dw0 & kConnectAuthreqAtr)) {
    if (ctrl_key_)
      throw Error(fmt::format("authentication failed: {} does not ask for authentication, so it cannot prove it holds "
                              "dhchap_ctrl_secret",
                              where_),
                  EACCES);
    return;
  }
  if (!host_key_)
    throw Error(fmt::format("authentication failed: {} requires DH-HMAC-CHAP and no dhchap_secret is set", where_),
                EACCES);
  const AuthOutcome out = authenticate(qid, transfer);
  const auto say = qid == 0 ? log::Level::Info : log::Level::Debug;
  if (log::enabled(say))
    log::write(say, fmt::format("{} qid {}: authenticated with {} dhgroup {}{}", where_, qid, out.hash, out.dhgroup,
                                out.bidirectional ? ", controller authenticated" : ""));
}

AuthOutcome Authenticator::authenticate(uint16_t qid, const AuthTransfer& transfer) {
  namespace msg = authmsg;
  const uint16_t tid = transaction_.fetch_add(1);
  auto failed = [&](const std::string& why) {
    return Error(fmt::format("authentication failed: {} qid {}: {}", where_, qid, why), EACCES);
  };
  auto send = [&](std::vector<uint8_t> m, const char* name) {
    try {
      transfer(auth_send_command(uint32_t(m.size())), m.data(), uint32_t(m.size()), DataDir::ToController);
    } catch (const Error& e) {
      throw failed(fmt::format("sending {}: {}", name, e.what()));
    }
  };
  // We reject the controller: tell it (best effort, the queue may already be gone), then fail.
  auto reject = [&](uint8_t explanation, const std::string& why) {
    try {
      send(msg::encode_failure2(tid, explanation), "Failure2");
    } catch (const Error&) {
    }
    return failed(why);
  };
  std::vector<uint8_t> buf(kReceiveLen);
  // `refusal` says what a Failure1 here means. The Linux target may close the
  // connection right after deciding on Failure1, before the host reads it.
  auto receive = [&](const char* name, const char* refusal) {
    std::fill(buf.begin(), buf.end(), 0);
    try {
      transfer(auth_receive_command(kReceiveLen), buf.data(), kReceiveLen, DataDir::FromController);
    } catch (const Error& e) {
      const bool closed = e.err() == ENOTCONN || e.err() == ECONNRESET || e.err() == EPIPE;
      if (closed) throw failed(fmt::format("the controller closed the connection instead of sending {}: it {}", name, refusal));
      throw failed(fmt::format("receiving {}: {}", name, e.what()));
    }
    if (auto f = msg::decode_failure1(buf.data(), buf.size()))
      throw failed(fmt::format("the controller {} (Failure1: {})", refusal, msg::explanation_name(f->explanation)));
  };

  // Step 1-2: negotiate, then the controller's challenge.
  send(msg::encode_negotiate(tid), "Negotiate");
  receive("a Challenge", "refused to negotiate");
  const auto ch = msg::decode_challenge(buf.data(), buf.size());
  if (!ch) throw reject(msg::kExplIncorrectPayload, "malformed DH-HMAC-CHAP_Challenge");
  if (ch->t_id != tid) throw reject(msg::kExplIncorrectMessage, "Challenge for another transaction");
  const size_t hl = hash_len(ch->hash);

  // Step 3: DH exchange (unless the NULL group), our response, and C2 when bidirectional.
  std::optional<DhExchange> dh;
  SecretBytes session, c1(ch->c1, hl), response(hl);
  try {
    if (ch->dhgroup != DhGroup::Null) {
      dh.emplace(ch->dhgroup);
      session = dh->session_key(ch->dhv, ch->dhv_len);
      augment_challenge(ch->hash, session, ch->c1, c1.data());
    }
    chap_response(ch->hash, transform_key(*host_key_, hostnqn_), c1.data(), ch->seqnum, tid, Responder::Host,
                  hostnqn_, subnqn_, response.data());
  } catch (const Error& e) {
    throw reject(dh ? msg::kExplDhgroupUnusable : msg::kExplFailed, e.what());
  }
  SecretBytes c2;
  msg::Reply reply;
  reply.t_id = tid;
  reply.hash = ch->hash;
  reply.response = response.data();
  if (ctrl_key_) {
    c2 = SecretBytes(hl);
    if (RAND_bytes(c2.data(), int(hl)) != 1) throw reject(msg::kExplFailed, "no random bytes for the challenge");
    reply.c2 = c2.data();
    reply.seqnum = next_seqnum();
  }
  if (dh) {
    reply.dhv = dh->public_value().data();
    reply.dhv_len = dh->public_value().size();
  }
  send(msg::encode_reply(reply), "Reply");

  // Step 4: Success1 (or Failure1: the controller rejected our response).
  receive("Success1", "rejected the host's response; is dhchap_secret the key the target has for this host?");
  const auto ok = msg::decode_success1(buf.data(), buf.size());
  if (!ok || ok->hl != hl) throw reject(msg::kExplIncorrectPayload, "malformed DH-HMAC-CHAP_Success1");
  if (ok->t_id != tid) throw reject(msg::kExplIncorrectMessage, "Success1 for another transaction");

  // Step 5 (bidirectional): check the controller's response, then Success2.
  if (ctrl_key_) {
    if (!ok->response)
      throw reject(msg::kExplFailed, "the controller did not answer our challenge (no controller key on the target?)");
    SecretBytes c2a(c2.data(), hl), expected(hl);
    if (dh) augment_challenge(ch->hash, session, c2.data(), c2a.data());
    chap_response(ch->hash, transform_key(*ctrl_key_, subnqn_), c2a.data(), reply.seqnum, tid, Responder::Controller,
                  hostnqn_, subnqn_, expected.data());
    if (CRYPTO_memcmp(expected.data(), ok->response, hl) != 0)
      throw reject(msg::kExplFailed, "the controller's response does not match dhchap_ctrl_secret");
    send(msg::encode_success2(tid), "Success2");
  }
  return {hash_name(ch->hash), dhgroup_name(ch->dhgroup), bool(ctrl_key_)};
}

}  // namespace nvmefs::host
