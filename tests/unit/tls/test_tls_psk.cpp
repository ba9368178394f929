// TLS PSK interchange format, identity and derivation (transport/tls_psk.hpp).
//
// Known answers: libnvme test/psk.c (github.com/linux-nvme/libnvme, 2024,
// test_data_psk and test_data_identity — the non-"compat" identities that
// libnvme >= 1.11 / nvme-cli `connect --tls_key` put on the wire). The TLS
// PSK itself has no published vector there; it is cross-checked against an
// independent hashlib/hmac implementation (psk_reference.py, run here).
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"
#include "nvmefs/transport/tls_psk.hpp"

using namespace nvmefs;
using namespace nvmefs::transport;

namespace {

// libnvme test/psk.c configured_psk
constexpr std::array<uint8_t, 48> kKey48 = {
    0x55, 0x12, 0xDB, 0xB6, 0x73, 0x7D, 0x01, 0x06, 0xF6, 0x59, 0x75, 0xB7, 0x73, 0xDF, 0xB0, 0x11,
    0xFF, 0xC3, 0x44, 0xBC, 0xF4, 0x42, 0xE2, 0xDD, 0x6D, 0x8B, 0xC4, 0x87, 0x0B, 0x5D, 0x5B, 0x03,
    0xFF, 0xC3, 0x44, 0xBC, 0xF4, 0x42, 0xE2, 0xDD, 0x6D, 0x8B, 0xC4, 0x87, 0x0B, 0x5D, 0x5B, 0x03};
const std::span<const uint8_t> kKey32{kKey48.data(), 32};

constexpr const char* kText00 = "NVMeTLSkey-1:00:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:";
constexpr const char* kText01 = "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:";
constexpr const char* kText02 =
    "NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:";
constexpr const char* kHost = "nqn.psk-test-host";
constexpr const char* kSub = "nqn.psk-test-subsys";
constexpr const char* kIdentity01 =
    "NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU=";
constexpr const char* kIdentity02 =
    "NVMe1R02 nqn.psk-test-host nqn.psk-test-subsys "
    "QhW2+Rp6RzHlNtCslyRxMnwJ11tKKhz8JCAQpQ+XUD8f9td1VeH5h53yz2wKJG1a";

std::string hex(std::span<const uint8_t> b) {
  std::string s;
  for (uint8_t c : b) s += fmt::format("{:02x}", c);
  return s;
}

bool same(const SecretKey& k, std::span<const uint8_t> b) {
  return k.size() == b.size() && std::equal(b.begin(), b.end(), k.data());
}

// Runs psk_reference.py: {retained hex, digest, TLS PSK hex}.
std::vector<std::string> reference(std::span<const uint8_t> key, int hh, const char* host, const char* sub) {
  const std::string cmd = fmt::format("python3 '{}' {} {} '{}' '{}'", PSK_REFERENCE_PY, hex(key), hh, host, sub);
  FILE* f = ::popen(cmd.c_str(), "r");
  REQUIRE(f != nullptr);
  char buf[1024] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  REQUIRE(::pclose(f) == 0);
  std::vector<std::string> words;
  std::string w;
  for (char c : std::string(buf, n)) {
    if (c == ' ' || c == '\n') {
      if (!w.empty()) words.push_back(w);
      w.clear();
    } else {
      w += c;
    }
  }
  REQUIRE(words.size() == 3);
  return words;
}

void check_rejected(const char* text, const char* why) {
  CAPTURE(text);
  try {
    parse_tls_key(text);
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find(why) != std::string::npos);
    CHECK(std::string(e.what()).rfind("TLS key: ", 0) == 0);
  }
}

}  // namespace

TEST_CASE("interchange format: libnvme known answers parse and format") {
  const ConfiguredPsk k0 = parse_tls_key(kText00);
  CHECK(k0.transform == 0);
  CHECK(same(k0.key, kKey32));
  CHECK(k0.hash() == TlsHash::Sha256);
  const ConfiguredPsk k1 = parse_tls_key(std::string("  ") + kText01 + "\n");
  CHECK(k1.transform == 1);
  CHECK(same(k1.key, kKey32));
  const ConfiguredPsk k2 = parse_tls_key(kText02);
  CHECK(k2.transform == 2);
  CHECK(same(k2.key, kKey48));
  CHECK(k2.hash() == TlsHash::Sha384);

  CHECK(format_tls_key(0, kKey32) == kText00);
  CHECK(format_tls_key(1, kKey32) == kText01);
  CHECK(format_tls_key(2, kKey48) == kText02);
  CHECK_THROWS_AS(format_tls_key(2, kKey32), Error);
  CHECK_THROWS_AS(format_tls_key(1, std::span<const uint8_t>(kKey48.data(), 16)), Error);
}

TEST_CASE("interchange format: bad input is refused with a clear reason") {
  check_rejected("", "none given");
  check_rejected("DHHC-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:", "does not start with");
  check_rejected("NVMeTLSkey-1:03:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:", "hash indicator");
  check_rejected("NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ", "of the form");
  check_rejected("NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrY:", "CRC-32 mismatch");
  check_rejected("NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9Lr:", "multiple of 4");
  check_rejected("NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9L!Z:", "alphabet");
  check_rejected("NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLd:", "32 or 48");
  // A valid 48-byte key under indicator 01 (SHA-256 needs 32 bytes).
  check_rejected("NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:",
                 "needs a 32-byte key");
}

TEST_CASE("identity: version 0 and version 1 strings") {
  CHECK(psk_identity(0, TlsHash::Sha256, kHost, kSub) == "NVMe0R01 nqn.psk-test-host nqn.psk-test-subsys");
  CHECK(psk_identity(0, TlsHash::Sha384, kHost, kSub) == "NVMe0R02 nqn.psk-test-host nqn.psk-test-subsys");
  CHECK(psk_identity(1, TlsHash::Sha256, kHost, kSub, "abc=") == "NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys abc=");
}

TEST_CASE("host PSK: libnvme identity known answers, TLS PSK matches the Python reference") {
  struct Case {
    const char* text;
    const char* identity;
    int hh;
  };
  for (const Case& c : {Case{kText01, kIdentity01, 1}, Case{kText02, kIdentity02, 2}}) {
    CAPTURE(c.text);
    const ConfiguredPsk configured = parse_tls_key(c.text);
    const TlsPsk psk = host_tls_psk(configured, kHost, kSub);
    CHECK(psk.identity == c.identity);  // libnvme test/psk.c
    CHECK(psk.hash == (c.hh == 1 ? TlsHash::Sha256 : TlsHash::Sha384));

    const auto ref = reference(configured.key.bytes(), c.hh, kHost, kSub);
    const SecretKey retained = derive_retained_psk(configured, kHost);
    CHECK(hex(retained.bytes()) == ref[0]);
    CHECK(psk_digest(psk.hash, retained.bytes(), kHost, kSub) == ref[1]);
    CHECK(std::string(c.identity).ends_with(ref[1]));  // the reference agrees with libnvme too
    CHECK(hex(psk.key.bytes()) == ref[2]);
    CHECK(psk.key.size() == hash_len(psk.hash));
  }
}

TEST_CASE("retained PSK: indicator 00 uses the configured key as it is") {
  const ConfiguredPsk configured = parse_tls_key(kText00);
  const SecretKey retained = derive_retained_psk(configured, kHost);
  CHECK(same(retained, kKey32));
  const auto ref = reference(configured.key.bytes(), 0, kHost, kSub);
  CHECK(hex(host_tls_psk(configured, kHost, kSub).key.bytes()) == ref[2]);
}

TEST_CASE("controller PSK: finds the host's key from its identity, refuses others") {
  const ConfiguredPsk configured = parse_tls_key(kText01);
  const TlsPsk host = host_tls_psk(configured, kHost, kSub);
  auto found = controller_tls_psk(configured, host.identity);
  REQUIRE(found.has_value());
  CHECK(found->key.bytes().size() == host.key.size());
  CHECK(hex(found->key.bytes()) == hex(host.key.bytes()));

  // Version 0 identity: TLS PSK from the identity string as context.
  const std::string v0 = psk_identity(0, TlsHash::Sha256, kHost, kSub);
  auto found_v0 = controller_tls_psk(configured, v0);
  REQUIRE(found_v0.has_value());
  const SecretKey retained = derive_retained_psk(configured, kHost);
  CHECK(hex(found_v0->key.bytes()) == hex(derive_tls_psk(TlsHash::Sha256, retained.bytes(), v0).bytes()));

  // Another key: the digest differs.
  const ConfiguredPsk other = parse_tls_key(format_tls_key(1, std::span<const uint8_t>(kKey48.data() + 16, 32)));
  CHECK_FALSE(controller_tls_psk(other, host.identity).has_value());
  // Other hash, malformed identities.
  CHECK_FALSE(controller_tls_psk(parse_tls_key(kText02), host.identity).has_value());
  CHECK_FALSE(controller_tls_psk(configured, "NVMe1R01 nqn.a nqn.b").has_value());
  CHECK_FALSE(controller_tls_psk(configured, "NVMe0R01 nqn.a nqn.b extra").has_value());
  CHECK_FALSE(controller_tls_psk(configured, "NVMe2R01 nqn.a nqn.b").has_value());
  CHECK_FALSE(controller_tls_psk(configured, "").has_value());
  CHECK_FALSE(controller_tls_psk(configured, "garbage").has_value());
}
