// DHHC-1 secrets, key transformation, responses: known answers computed
// independently by kat_vectors.py (Python hashlib/hmac/zlib/base64).
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "auth_crypto.hpp"
#include "auth_secret.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/host/dhchap.hpp"

extern "C" {
#include <nvme/linux.h>
}

using namespace nvmefs;
using namespace nvmefs::host;

namespace {

struct Kat {
  int hash;
  size_t key_len;
  const char *host_secret, *ctrl_secret, *c1, *c2, *session_key, *host_key_transformed;
  uint32_t seq1, seq2;
  uint16_t tid;
  const char *host_response, *ctrl_response, *host_response_dh, *ctrl_response_dh;
};
#include "kat_vectors.inc"

std::vector<uint8_t> unhex(const std::string& s) {
  std::vector<uint8_t> v;
  for (size_t i = 0; i + 1 < s.size(); i += 2) v.push_back(uint8_t(std::stoi(s.substr(i, 2), nullptr, 16)));
  return v;
}
SecretBytes secret_of(const std::string& hex) {
  auto v = unhex(hex);
  return SecretBytes(v.data(), v.size());
}
std::string hex(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += "0123456789abcdef"[p[i] >> 4], s += "0123456789abcdef"[p[i] & 15];
  return s;
}
std::string parse_error(const std::string& text) {
  try {
    parse_dhchap_secret(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "parsed";
}

}  // namespace

TEST_CASE("DHHC-1 secrets from an independent encoder parse, with transform and length") {
  for (const auto& k : kKats) {
    const auto key = parse_dhchap_secret(k.host_secret);
    const std::string s = k.host_secret;
    CHECK(key.transform == s[8] - '0');
    CHECK(key.key.size() == k.key_len);
    // And formatting gives back the same text.
    CHECK(format_dhchap_secret(key.transform, key.key.data(), key.key.size()) == s);
  }
  CHECK(parse_dhchap_secret(std::string("  ") + kKats[0].host_secret + "\n").key.size() == 32);
}

TEST_CASE("malformed DHHC-1 secrets are rejected with a reason and without echoing the secret") {
  std::string good = kKats[0].host_secret;  // DHHC-1:01:<48 chars>:
  std::string crc = good;
  crc[12] = crc[12] == 'A' ? 'B' : 'A';
  CHECK(parse_error(crc).find("CRC-32 mismatch") != std::string::npos);
  CHECK(parse_error(crc).find(crc.substr(10, 20)) == std::string::npos);
  CHECK(parse_error("DHHC-2:00:" + good.substr(10)).find("DHHC-1") != std::string::npos);
  CHECK(parse_error("DHHC-1:04:" + good.substr(10)).find("transform") != std::string::npos);
  CHECK(parse_error("DHHC-1:1:" + good.substr(10)).find("transform") != std::string::npos);
  CHECK(parse_error(good.substr(0, good.size() - 1)).find("end with ':'") != std::string::npos);
  std::string badchar = good;
  badchar[20] = '*';
  CHECK(parse_error(badchar).find("alphabet") != std::string::npos);
  CHECK(parse_error(good.substr(0, good.size() - 2) + ":").find("multiple of 4") != std::string::npos);
  CHECK(parse_error("DHHC-1:00::").find("multiple of 4") != std::string::npos);
  // Well-formed base64 of 20 bytes: a 16-byte key is not allowed.
  CHECK(parse_error("DHHC-1:00:QkJCQkJCQkJCQkJCQkJCQkJCQkI=:").find("32, 48 or 64") != std::string::npos);
  const std::vector<uint8_t> k16(16, 0x42);
  CHECK_THROWS_AS(format_dhchap_secret(0, k16.data(), k16.size()), Error);
}

TEST_CASE("CRC-32 is zlib's") {
  const std::string s = "123456789";
  CHECK(dhchap_crc32(reinterpret_cast<const uint8_t*>(s.data()), s.size()) == 0xCBF43926u);  // the check value
}

TEST_CASE("key transformation, host and controller responses match the known answers") {
  for (const auto& k : kKats) {
    CAPTURE(k.host_secret);
    const auto h = AuthHash(k.hash);
    const size_t hl = hash_len(h);
    const auto hk = parse_dhchap_secret(k.host_secret), ck = parse_dhchap_secret(k.ctrl_secret);
    const SecretBytes kh = transform_key(hk, kHostNqn), kc = transform_key(ck, kSubNqn);
    CHECK(hex(kh.data(), kh.size()) == k.host_key_transformed);
    const auto c1 = unhex(k.c1), c2 = unhex(k.c2);
    std::vector<uint8_t> out(hl), aug(hl);
    chap_response(h, kh, c1.data(), k.seq1, k.tid, Responder::Host, kHostNqn, kSubNqn, out.data());
    CHECK(hex(out.data(), hl) == k.host_response);
    chap_response(h, kc, c2.data(), k.seq2, k.tid, Responder::Controller, kHostNqn, kSubNqn, out.data());
    CHECK(hex(out.data(), hl) == k.ctrl_response);
    const SecretBytes session = secret_of(k.session_key);
    augment_challenge(h, session, c1.data(), aug.data());
    chap_response(h, kh, aug.data(), k.seq1, k.tid, Responder::Host, kHostNqn, kSubNqn, out.data());
    CHECK(hex(out.data(), hl) == k.host_response_dh);
    augment_challenge(h, session, c2.data(), aug.data());
    chap_response(h, kc, aug.data(), k.seq2, k.tid, Responder::Controller, kHostNqn, kSubNqn, out.data());
    CHECK(hex(out.data(), hl) == k.ctrl_response_dh);
  }
}

TEST_CASE("our key transformation agrees with libnvme's nvme_gen_dhchap_key") {
  std::vector<uint8_t> raw(64);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = uint8_t(i * 3 + 1);
  std::string nqn = kHostNqn;
  for (uint8_t t = 1; t <= 3; ++t) {
    const size_t len = hash_len(AuthHash(t));
    std::vector<uint8_t> theirs(64);
    REQUIRE(nvme_gen_dhchap_key(nqn.data(), nvme_hmac_alg(t), unsigned(len), raw.data(), theirs.data()) == 0);
    DhchapKey k{t, SecretBytes(raw.data(), len)};
    const SecretBytes ours = transform_key(k, kHostNqn);
    CHECK(hex(ours.data(), ours.size()) == hex(theirs.data(), len));
  }
}

TEST_CASE("generated secrets parse back with the asked transform and length, and differ") {
  for (uint8_t t = 0; t <= 3; ++t) {
    const std::string s = generate_dhchap_secret(t, 0, kHostNqn);
    const auto k = parse_dhchap_secret(s);
    CHECK(k.transform == t);
    CHECK(k.key.size() == (t == 0 ? 32 : hash_len(AuthHash(t))));
    CHECK(generate_dhchap_secret(t, 0, kHostNqn) != s);
    CHECK_NOTHROW(check_dhchap_secret(s));
  }
  CHECK(parse_dhchap_secret(generate_dhchap_secret(0, 64, "")).key.size() == 64);
  CHECK_THROWS_AS(generate_dhchap_secret(4, 0, kHostNqn), Error);
  CHECK_THROWS_AS(generate_dhchap_secret(0, 40, kHostNqn), Error);
  CHECK_THROWS_AS(generate_dhchap_secret(1, 0, ""), Error);
}

TEST_CASE("secret files: first line, trimmed, validated") {
  char path[] = "/tmp/test-auth-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string body = std::string("  ") + kKats[1].host_secret + "  \nignored\n";
  REQUIRE(write(fd, body.data(), body.size()) == ssize_t(body.size()));
  close(fd);
  CHECK(read_dhchap_secret_file(path) == kKats[1].host_secret);
  FILE* f = fopen(path, "w");
  fputs("DHHC-1:00:nonsense:\n", f);
  fclose(f);
  try {
    read_dhchap_secret_file(path);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find(path) != std::string::npos);
  }
  unlink(path);
  CHECK_THROWS_AS(read_dhchap_secret_file(path), Error);
}

TEST_CASE("DH exchange: both sides agree on a padded session key; bad peer values are refused") {
  for (auto g : {DhGroup::Ffdhe2048, DhGroup::Ffdhe3072}) {
    DhExchange a(g), b(g);
    const size_t n = g == DhGroup::Ffdhe2048 ? 256 : 384;
    CHECK(a.size() == n);
    CHECK(a.public_value().size() == n);
    const SecretBytes ka = a.session_key(b.public_value().data(), n);
    const SecretBytes kb = b.session_key(a.public_value().data(), n);
    REQUIRE(ka.size() == n);
    CHECK(hex(ka.data(), n) == hex(kb.data(), n));
    std::vector<uint8_t> bad(n, 0);
    CHECK_THROWS_AS(a.session_key(bad.data(), n), Error);  // 0
    bad[n - 1] = 1;
    CHECK_THROWS_AS(a.session_key(bad.data(), n), Error);  // 1
    std::vector<uint8_t> big(n, 0xFF);
    CHECK_THROWS_AS(a.session_key(big.data(), n), Error);  // >= p
    CHECK_THROWS_AS(a.session_key(b.public_value().data(), n - 1), Error);  // wrong length
  }
}
