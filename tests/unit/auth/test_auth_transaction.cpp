// The host's DH-HMAC-CHAP state machine (Authenticator) against a fake
// controller that plays the target's side of the protocol.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth_crypto.hpp"
#include "auth_dhchap.hpp"
#include "auth_messages.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/host/dhchap.hpp"

using namespace nvmefs;
using namespace nvmefs::host;
namespace msg = nvmefs::host::authmsg;
using transport::DataDir;

namespace {

const std::string kHost = "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555";
const std::string kSub = "nqn.2014-08.org.nvmexpress:nvmet-vm:unit";
constexpr uint32_t kAtr = kConnectAuthreqAtr | 1;  // CNTLID 1, authentication required

// The controller's half of DH-HMAC-CHAP, as the Linux target behaves.
struct FakeController {
  AuthHash hash = AuthHash::Sha256;
  DhGroup group = DhGroup::Null;
  std::string host_secret, ctrl_secret;  // what the target is configured with ("" = none)
  bool omit_ctrl_response = false;
  bool wrong_tid = false;
  bool bad_dh_value = false;      // a public value of 1 (a small-subgroup trick)
  bool drop_after_reply = false;  // as the Linux target may after deciding on Failure1

  std::vector<uint8_t> sent;  // AUTH_IDs the host sent, in order
  std::optional<uint8_t> failure2;
  bool authenticated = false;

  uint16_t tid = 0;
  uint32_t s1 = 0x5000, s2 = 0;
  std::vector<uint8_t> c1, c2;
  std::unique_ptr<DhExchange> dh;
  SecretBytes session;
  std::optional<uint8_t> failure1;

  void operator()(const wire::Sqe& sqe, void* data, uint32_t len, DataDir dir) {
    REQUIRE(sqe.cdw(11) == len);
    REQUIRE(sqe.cdw(10) == 0xE9010100u);
    auto* p = static_cast<uint8_t*>(data);
    if (dir == DataDir::ToController) {
      REQUIRE(sqe.fctype() == 0x05);
      sent.push_back(p[1]);
      if (p[1] == msg::kNegotiate) tid = wire::get_le16(p + 4);
      if (p[1] == msg::kReply) check_reply(p, len);
      if (p[1] == msg::kSuccess2) authenticated = true;
      if (p[1] == msg::kFailure2) failure2 = p[7];
      return;
    }
    REQUIRE(sqe.fctype() == 0x06);
    if (drop_after_reply && !c1.empty()) throw Error("Authentication Receive: Transport endpoint is not connected", ENOTCONN);
    std::vector<uint8_t> m = c1.empty() ? challenge() : success1();
    REQUIRE(m.size() <= len);
    std::copy(m.begin(), m.end(), p);
  }

  std::vector<uint8_t> challenge() {
    const size_t hl = hash_len(hash);
    c1.assign(hl, 0x3C);
    if (group != DhGroup::Null) dh = std::make_unique<DhExchange>(group);
    const size_t dhvlen = dh ? dh->size() : 0;
    std::vector<uint8_t> m(16 + hl + dhvlen, 0);
    m[0] = msg::kDhchapMessage;
    m[1] = msg::kChallenge;
    wire::put_le16(m.data() + 4, uint16_t(tid + (wrong_tid ? 1 : 0)));
    m[6] = uint8_t(hl);
    m[8] = uint8_t(hash);
    m[9] = uint8_t(group);
    wire::put_le16(m.data() + 10, uint16_t(dhvlen));
    wire::put_le32(m.data() + 12, s1);
    std::copy(c1.begin(), c1.end(), m.begin() + 16);
    if (dh) std::copy(dh->public_value().begin(), dh->public_value().end(), m.begin() + 16 + hl);
    if (dh && bad_dh_value) {
      std::fill(m.begin() + 16 + long(hl), m.end(), 0);
      m.back() = 1;
    }
    return m;
  }

  std::vector<uint8_t> challenge_value(const std::vector<uint8_t>& c) {
    std::vector<uint8_t> v = c;
    if (dh) augment_challenge(hash, session, c.data(), v.data());
    return v;
  }

  void check_reply(const uint8_t* p, uint32_t len) {
    const size_t hl = p[6];
    const uint16_t dhvlen = wire::get_le16(p + 10);
    REQUIRE(hl == hash_len(hash));
    REQUIRE(len == 16 + 2 * hl + dhvlen);
    if (dh) {
      REQUIRE(dhvlen == dh->size());
      session = dh->session_key(p + 16 + 2 * hl, dhvlen);
    } else {
      REQUIRE(dhvlen == 0);
    }
    if (host_secret.empty()) return void(failure1 = msg::kExplFailed);
    std::vector<uint8_t> expected(hl);
    chap_response(hash, transform_key(parse_dhchap_secret(host_secret), kHost), challenge_value(c1).data(), s1, tid,
                  Responder::Host, kHost, kSub, expected.data());
    if (!std::equal(expected.begin(), expected.end(), p + 16)) return void(failure1 = msg::kExplFailed);
    if (p[8]) {
      c2.assign(p + 16 + hl, p + 16 + 2 * hl);
      s2 = wire::get_le32(p + 12);
      REQUIRE(s2 != 0);
    } else {
      authenticated = true;
    }
  }

  std::vector<uint8_t> success1() {
    if (!c2.empty() && ctrl_secret.empty()) failure1 = msg::kExplFailed;  // as Linux: no controller key
    if (failure1) return {msg::kCommonMessage, msg::kFailure1, 0, 0, uint8_t(tid), uint8_t(tid >> 8), 1, *failure1};
    const size_t hl = hash_len(hash);
    std::vector<uint8_t> m(16 + hl, 0);
    m[0] = msg::kDhchapMessage;
    m[1] = msg::kSuccess1;
    wire::put_le16(m.data() + 4, tid);
    m[6] = uint8_t(hl);
    if (!c2.empty() && !omit_ctrl_response) {
      m[8] = 1;
      chap_response(hash, transform_key(parse_dhchap_secret(ctrl_secret), kSub), challenge_value(c2).data(), s2, tid,
                    Responder::Controller, kHost, kSub, m.data() + 16);
    }
    return m;
  }
};

ConnectOptions options(const std::string& secret, const std::string& ctrl_secret) {
  ConnectOptions o;
  o.target.subnqn = kSub;
  o.dhchap_secret = secret;
  o.dhchap_ctrl_secret = ctrl_secret;
  return o;
}

std::string run(FakeController& fc, const ConnectOptions& o, uint32_t dw0 = kAtr) {
  Authenticator auth(o, kHost, kSub + " on test");
  try {
    auth.on_connected(0, dw0, std::ref(fc));
  } catch (const Error& e) {
    return e.what();
  }
  return "ok";
}

}  // namespace

TEST_CASE("unidirectional and bidirectional authentication succeed for every hash, NULL and ffdhe2048") {
  for (auto h : {AuthHash::Sha256, AuthHash::Sha384, AuthHash::Sha512})
    for (auto g : {DhGroup::Null, DhGroup::Ffdhe2048})
      for (bool bidi : {false, true}) {
        CAPTURE(hash_name(h));
        CAPTURE(dhgroup_name(g));
        CAPTURE(bidi);
        const uint8_t t = uint8_t(h);  // transform with the same hash as the HMAC
        FakeController fc;
        fc.hash = h;
        fc.group = g;
        fc.host_secret = generate_dhchap_secret(t, 0, kHost);
        fc.ctrl_secret = bidi ? generate_dhchap_secret(0, 32, "") : "";
        CHECK(run(fc, options(fc.host_secret, fc.ctrl_secret)) == "ok");
        CHECK(fc.authenticated);
        const std::vector<uint8_t> expect = bidi ? std::vector<uint8_t>{msg::kNegotiate, msg::kReply, msg::kSuccess2}
                                                 : std::vector<uint8_t>{msg::kNegotiate, msg::kReply};
        CHECK(fc.sent == expect);
      }
}

TEST_CASE("a wrong host key fails with the controller's Failure1") {
  FakeController fc;
  fc.host_secret = generate_dhchap_secret(0, 32, "");
  const std::string err = run(fc, options(generate_dhchap_secret(0, 32, ""), ""));
  CHECK(err.rfind("authentication failed: ", 0) == 0);
  CHECK(err.find("rejected the host's response") != std::string::npos);
  CHECK(err.find("Failure1: authentication failed") != std::string::npos);
  CHECK_FALSE(fc.authenticated);
}

TEST_CASE("a connection dropped instead of Failure1 still says why") {
  FakeController fc;
  fc.host_secret = generate_dhchap_secret(0, 32, "");
  fc.drop_after_reply = true;
  const std::string err = run(fc, options(fc.host_secret, ""));
  CHECK(err.rfind("authentication failed: ", 0) == 0);
  CHECK(err.find("closed the connection instead of sending Success1: it rejected the host's response") != std::string::npos);
}

TEST_CASE("a wrong controller key fails, and the host tells the controller with Failure2") {
  FakeController fc;
  fc.group = DhGroup::Ffdhe2048;
  fc.host_secret = generate_dhchap_secret(1, 0, kHost);
  fc.ctrl_secret = generate_dhchap_secret(0, 32, "");
  const std::string err = run(fc, options(fc.host_secret, generate_dhchap_secret(0, 32, "")));
  CHECK(err.rfind("authentication failed: ", 0) == 0);
  CHECK(err.find("dhchap_ctrl_secret") != std::string::npos);
  CHECK(fc.failure2 == msg::kExplFailed);
  CHECK_FALSE(fc.authenticated);
}

TEST_CASE("a controller that does not answer the host's challenge is rejected") {
  FakeController fc;
  fc.host_secret = generate_dhchap_secret(0, 32, "");
  fc.ctrl_secret = generate_dhchap_secret(0, 32, "");
  fc.omit_ctrl_response = true;
  CHECK(run(fc, options(fc.host_secret, fc.ctrl_secret)).find("did not answer") != std::string::npos);
  CHECK(fc.failure2 == msg::kExplFailed);
}

TEST_CASE("a controller DH value outside the group is refused with Failure2") {
  FakeController fc;
  fc.group = DhGroup::Ffdhe2048;
  fc.host_secret = generate_dhchap_secret(0, 32, "");
  fc.bad_dh_value = true;
  const std::string err = run(fc, options(fc.host_secret, ""));
  CHECK(err.rfind("authentication failed: ", 0) == 0);
  CHECK(err.find("DH key agreement") != std::string::npos);
  CHECK(fc.failure2 == msg::kExplDhgroupUnusable);
  CHECK(fc.sent == std::vector<uint8_t>{msg::kNegotiate, msg::kFailure2});
}

TEST_CASE("a challenge for another transaction is rejected") {
  FakeController fc;
  fc.host_secret = generate_dhchap_secret(0, 32, "");
  fc.wrong_tid = true;
  CHECK(run(fc, options(fc.host_secret, "")).find("another transaction") != std::string::npos);
  CHECK(fc.failure2 == msg::kExplIncorrectMessage);
}

TEST_CASE("AUTHREQ handling: no key, no request, secure channel, malformed secrets") {
  FakeController fc;
  CHECK(run(fc, options("", "")).find("no dhchap_secret is set") != std::string::npos);
  CHECK(fc.sent.empty());
  const std::string key = generate_dhchap_secret(0, 32, "");
  CHECK(run(fc, options(key, ""), 1) == "ok");  // not asked: nothing to do
  CHECK(fc.sent.empty());
  CHECK(run(fc, options(key, key), 1).find("cannot prove") != std::string::npos);
  CHECK(run(fc, options(key, ""), kAtr | kConnectAuthreqAscr).find("secure channel") != std::string::npos);
  CHECK_THROWS_WITH_AS(Authenticator(options("DHHC-1:00:AAAA:", ""), kHost, "x"),
                       doctest::Contains("dhchap_secret: invalid DH-HMAC-CHAP secret"), Error);
  CHECK_THROWS_WITH_AS(Authenticator(options("", key), kHost, "x"), doctest::Contains("needs dhchap_secret"), Error);
}
