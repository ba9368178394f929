#include "nvmefs/transport/tls_psk.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <memory>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"

namespace nvmefs::transport {
namespace {

constexpr std::string_view kKeyPrefix = "NVMeTLSkey-1:";
constexpr std::string_view kDigestSeed = "NVMe-over-Fabrics";

[[noreturn]] void bad_key(const std::string& why) { throw Error("TLS key: " + why, EINVAL); }

// CRC-32 of the key text (IEEE 802.3, reflected polynomial 0xEDB88320, as
// zlib's crc32()): a typo check, not a security measure. Keys are <= 48 bytes.
uint32_t crc32_ieee(const uint8_t* p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

std::string base64(std::span<const uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(), int(bytes.size()));
  out.resize(size_t(n));
  return out;
}

// Strict RFC 4648 base64 (padding required) into wiped memory.
SecretKey decode_base64(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) bad_key("base64 part has a length that is not a multiple of 4");
  size_t pad = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '=' && i + 2 >= s.size() && (i + 1 == s.size() || s[i + 1] == '=')) ++pad;
    else if (!is_base64_char(s[i])) bad_key("base64 part has a character outside the base64 alphabet");
  }
  SecretKey out(s.size() / 4 * 3);
  if (EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()), int(s.size())) < 0)
    bad_key("base64 part does not decode");
  SecretKey exact(out.size() - pad);
  std::copy_n(out.data(), exact.size(), exact.data());
  return exact;
}

const char* digest_name(TlsHash h) { return h == TlsHash::Sha256 ? "SHA256" : "SHA384"; }

// TLS 1.3 HkdfLabel (RFC 8446 §7.1): length(2, BE) || "tls13 " label (1-byte
// length) || context (1-byte length). NVMe/TCP uses it with HKDF-Extract(0, key).
SecretKey hkdf_expand_label(TlsHash hash, std::span<const uint8_t> key, std::string_view label,
                            std::string_view context, size_t length) {
  const std::string full_label = fmt::format("tls13 {}", label);
  if (context.size() > 255) throw Error(fmt::format("TLS PSK: HKDF context of {} bytes is too long", context.size()));
  std::string info;
  info += char(length >> 8);
  info += char(length & 0xFF);
  info += char(full_label.size());
  info += full_label;
  info += char(context.size());
  info += context;

  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr), EVP_KDF_free);
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr,
                                                                 EVP_KDF_CTX_free);
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest_name(hash)), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(key.data()), key.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end(),
  };
  SecretKey out(length);
  if (!ctx || EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1)
    throw Error("TLS PSK: HKDF derivation failed (OpenSSL)", EIO);
  return out;
}

}  // namespace

SecretKey& SecretKey::operator=(SecretKey&& o) noexcept {
  if (this != &o) {
    wipe();
    b_ = std::move(o.b_);
  }
  return *this;
}

void SecretKey::wipe() {
  if (!b_.empty()) OPENSSL_cleanse(b_.data(), b_.size());
  b_.clear();
}

ConfiguredPsk parse_tls_key(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) bad_key("none given (expected NVMeTLSkey-1:HH:<base64>:)");
  if (text.substr(0, kKeyPrefix.size()) != kKeyPrefix) bad_key("does not start with 'NVMeTLSkey-1:'");
  text.remove_prefix(kKeyPrefix.size());
  if (text.size() < 4 || text[2] != ':' || text.back() != ':') bad_key("is not of the form NVMeTLSkey-1:HH:<base64>:");
  ConfiguredPsk psk;
  const std::string_view hh = text.substr(0, 2);
  if (hh == "00") psk.transform = 0;
  else if (hh == "01") psk.transform = 1;
  else if (hh == "02") psk.transform = 2;
  else bad_key(fmt::format("hash indicator '{}' is not 00, 01 or 02", hh));

  SecretKey raw = decode_base64(text.substr(3, text.size() - 4));
  if (raw.size() != 36 && raw.size() != 52)
    bad_key(fmt::format("{} key bytes; a PSK has 32 or 48 (plus a 4-byte CRC)", raw.size() < 4 ? 0 : raw.size() - 4));
  const size_t len = raw.size() - 4;
  if ((psk.transform == 1 && len != 32) || (psk.transform == 2 && len != 48))
    bad_key(fmt::format("hash indicator {} needs a {}-byte key, not {}", hh, psk.transform == 1 ? 32 : 48, len));
  const uint8_t* c = raw.data() + len;
  const uint32_t stored = uint32_t(c[0]) | uint32_t(c[1]) << 8 | uint32_t(c[2]) << 16 | uint32_t(c[3]) << 24;
  if (stored != crc32_ieee(raw.data(), len)) bad_key("CRC-32 mismatch (mistyped or truncated key)");
  psk.key = SecretKey(len);
  std::copy_n(raw.data(), len, psk.key.data());
  return psk;
}

std::string format_tls_key(uint8_t transform, std::span<const uint8_t> key) {
  if (key.size() != 32 && key.size() != 48) bad_key(fmt::format("{} key bytes; a PSK has 32 or 48", key.size()));
  if (transform > 2 || (transform == 1 && key.size() != 32) || (transform == 2 && key.size() != 48))
    bad_key(fmt::format("hash indicator {:02} does not fit a {}-byte key", transform, key.size()));
  SecretKey raw(key.size() + 4);
  std::copy(key.begin(), key.end(), raw.data());
  const uint32_t crc = crc32_ieee(key.data(), key.size());
  for (int i = 0; i < 4; ++i) raw.data()[key.size() + size_t(i)] = uint8_t(crc >> (8 * i));
  std::string b64 = base64(raw.bytes());
  std::string out = fmt::format("{}{:02}:{}:", kKeyPrefix, transform, b64);
  OPENSSL_cleanse(b64.data(), b64.size());
  return out;
}

// TCP §3.6.1.3 (retained PSK): HH 00 uses the configured PSK as it is.
SecretKey derive_retained_psk(const ConfiguredPsk& configured, std::string_view hostnqn) {
  if (configured.transform == 0) {
    SecretKey copy(configured.key.size());
    std::copy_n(configured.key.data(), copy.size(), copy.data());
    return copy;
  }
  const TlsHash h = configured.transform == 1 ? TlsHash::Sha256 : TlsHash::Sha384;
  return hkdf_expand_label(h, configured.key.bytes(), "HostNQN", hostnqn, configured.key.size());
}

std::string psk_digest(TlsHash hash, std::span<const uint8_t> retained, std::string_view hostnqn,
                       std::string_view subnqn) {
  const std::string msg = fmt::format("{} {} {}", hostnqn, subnqn, kDigestSeed);
  uint8_t mac[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, digest_name(hash), nullptr, retained.data(), retained.size(),
                 reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, sizeof mac, &len))
    throw Error("TLS PSK: HMAC failed (OpenSSL)", EIO);
  std::string out = base64({mac, len});
  OPENSSL_cleanse(mac, sizeof mac);
  return out;
}

SecretKey derive_tls_psk(TlsHash hash, std::span<const uint8_t> input_psk, std::string_view context) {
  return hkdf_expand_label(hash, input_psk, "nvme-tls-psk", context, input_psk.size());
}

std::string psk_identity(int version, TlsHash hash, std::string_view hostnqn, std::string_view subnqn,
                         std::string_view digest) {
  if (version == 0) return fmt::format("NVMe0R{:02} {} {}", unsigned(hash), hostnqn, subnqn);
  return fmt::format("NVMe1R{:02} {} {} {}", unsigned(hash), hostnqn, subnqn, digest);
}

TlsPsk host_tls_psk(const ConfiguredPsk& configured, std::string_view hostnqn, std::string_view subnqn) {
  TlsPsk out;
  out.hash = configured.hash();
  const SecretKey retained = derive_retained_psk(configured, hostnqn);
  const std::string digest = psk_digest(out.hash, retained.bytes(), hostnqn, subnqn);
  out.identity = psk_identity(1, out.hash, hostnqn, subnqn, digest);
  out.key = derive_tls_psk(out.hash, retained.bytes(), fmt::format("{:02} {}", unsigned(out.hash), digest));
  return out;
}

std::optional<TlsPsk> controller_tls_psk(const ConfiguredPsk& configured, std::string_view identity) {
  // "NVMe<v>R<hh> <hostnqn> <subnqn>[ <digest>]"; NQNs hold no spaces.
  std::vector<std::string_view> words;
  for (size_t pos = 0; pos <= identity.size();) {
    size_t sp = identity.find(' ', pos);
    if (sp == std::string_view::npos) sp = identity.size();
    words.push_back(identity.substr(pos, sp - pos));
    pos = sp + 1;
  }
  if (words.size() < 3 || words[0].size() != 8 || words[0].substr(0, 4) != "NVMe" || words[0][5] != 'R')
    return std::nullopt;
  const char version = words[0][4];
  if ((version == '0' && words.size() != 3) || (version == '1' && words.size() != 4) ||
      (version != '0' && version != '1'))
    return std::nullopt;
  const TlsHash hash = configured.hash();
  if (words[0].substr(6) != fmt::format("{:02}", unsigned(hash))) return std::nullopt;

  TlsPsk out;
  out.hash = hash;
  out.identity = std::string(identity);
  const SecretKey retained = derive_retained_psk(configured, words[1]);
  if (version == '0') {
    out.key = derive_tls_psk(hash, retained.bytes(), identity);
    return out;
  }
  const std::string digest = psk_digest(hash, retained.bytes(), words[1], words[2]);
  if (digest.size() != words[3].size() || CRYPTO_memcmp(digest.data(), words[3].data(), digest.size()) != 0)
    return std::nullopt;  // a different key (or NQNs) made this identity
  out.key = derive_tls_psk(hash, retained.bytes(), fmt::format("{:02} {}", unsigned(hash), digest));
  return out;
}

}  // namespace nvmefs::transport
