#include "auth_secret.hpp"

#include <cctype>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"

namespace nvmefs::host {

SecretBytes& SecretBytes::operator=(SecretBytes&& o) noexcept {
  if (this != &o) {
    wipe();
    b_ = std::move(o.b_);
  }
  return *this;
}

void SecretBytes::wipe() {
  if (!b_.empty()) OPENSSL_cleanse(b_.data(), b_.size());
  b_.clear();
}

uint32_t dhchap_crc32(const uint8_t* p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

namespace {

constexpr std::string_view kPrefix = "DHHC-1:";

[[noreturn]] void bad(const char* why) { throw Error(fmt::format("invalid DH-HMAC-CHAP secret: {}", why), EINVAL); }

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// Strict RFC 4648 base64 (padding required, no white space) into `out`.
SecretBytes decode_base64(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) bad("base64 part has a length that is not a multiple of 4");
  size_t pad = 0;
  while (pad < 2 && s[s.size() - 1 - pad] == '=') ++pad;
  for (size_t i = 0; i < s.size() - pad; ++i)
    if (!is_base64_char(s[i])) bad("base64 part has a character outside the base64 alphabet");
  SecretBytes out(s.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()), int(s.size()));
  if (n < 0 || size_t(n) != out.size()) bad("base64 part does not decode");
  SecretBytes exact(out.data(), out.size() - pad);
  return exact;
}

}  // namespace

DhchapKey parse_dhchap_secret(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  if (text.substr(0, kPrefix.size()) != kPrefix) bad("does not start with \"DHHC-1:\"");
  text.remove_prefix(kPrefix.size());
  if (text.size() < 3 || text[0] != '0' || text[1] < '0' || text[1] > '3' || text[2] != ':')
    bad("the transform must be 00, 01, 02 or 03 (\"DHHC-1:XX:\")");
  DhchapKey k;
  k.transform = uint8_t(text[1] - '0');
  text.remove_prefix(3);
  if (text.empty() || text.back() != ':') bad("does not end with ':'");
  text.remove_suffix(1);
  SecretBytes raw = decode_base64(text);
  if (raw.size() != 36 && raw.size() != 52 && raw.size() != 68)
    bad("the key must be 32, 48 or 64 bytes (plus its 4-byte CRC)");
  const size_t len = raw.size() - 4;
  const uint8_t* c = raw.data() + len;
  const uint32_t stored = uint32_t(c[0]) | uint32_t(c[1]) << 8 | uint32_t(c[2]) << 16 | uint32_t(c[3]) << 24;
  if (stored != dhchap_crc32(raw.data(), len)) bad("CRC-32 mismatch (mistyped or truncated secret)");
  k.key = SecretBytes(raw.data(), len);
  return k;
}

std::string format_dhchap_secret(uint8_t transform, const uint8_t* key, size_t len) {
  if (transform > 3) bad("the transform must be 0..3");
  if (len != 32 && len != 48 && len != 64) bad("the key must be 32, 48 or 64 bytes");
  SecretBytes raw(len + 4);
  std::copy(key, key + len, raw.data());
  const uint32_t crc = dhchap_crc32(key, len);
  for (int i = 0; i < 4; ++i) raw.data()[len + i] = uint8_t(crc >> (8 * i));
  std::string b64(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), raw.data(), int(raw.size()));
  b64.resize(size_t(n));
  std::string out = fmt::format("DHHC-1:{:02}:{}:", transform, b64);
  OPENSSL_cleanse(b64.data(), b64.size());
  return out;
}

}  // namespace nvmefs::host
