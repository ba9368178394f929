// TLS pre-shared keys for NVMe/TCP (NVMe/TCP Transport Specification 1.0
// revision 2021+ with TP 8011/8018, "TCP §3.6.1"; key text as NVMe Base 2.0
// §8.13.5.9 and nvme-cli). Everything here matches libnvme/nvme-cli byte for
// byte (libnvme test/psk.c known answers, tests/unit/tls):
//
//   configured PSK text  NVMeTLSkey-1:HH:<base64(key || CRC-32(key) LE)>:
//                        HH 00 = use as retained PSK, 01 = SHA-256 (32-byte
//                        key), 02 = SHA-384 (48-byte key)
//   retained PSK         HKDF-Expand-Label(HKDF-Extract(0, configured),
//                                          "HostNQN", hostnqn, len(key))
//   PSK digest           base64(HMAC-hash(retained, hostnqn " " subnqn " NVMe-over-Fabrics"))
//   identity v1          "NVMe1R<hh> <hostnqn> <subnqn> <digest>"  (v0: no digest)
//   TLS PSK              HKDF-Expand-Label(HKDF-Extract(0, retained),
//                                          "nvme-tls-psk", "<hh> <digest>" (v1) | identity (v0), len(key))
//
// Key bytes live in SecretKey, wiped (OPENSSL_cleanse) when it dies; nothing
// here ever puts key bytes into an error message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nvmefs::transport {

// Heap bytes that are zeroed before they are freed. Move-only.
class SecretKey {
 public:
  SecretKey() = default;
  explicit SecretKey(size_t n) : b_(n) {}
  SecretKey(SecretKey&& o) noexcept : b_(std::move(o.b_)) {}
  SecretKey& operator=(SecretKey&& o) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey() { wipe(); }

  uint8_t* data() { return b_.data(); }
  const uint8_t* data() const { return b_.data(); }
  size_t size() const { return b_.size(); }
  std::span<const uint8_t> bytes() const { return b_; }
  void wipe();

 private:
  std::vector<uint8_t> b_;
};

// Hash of the cipher suite a PSK goes with (the <hh> of the identity):
// 1 = SHA-256 (TLS_AES_128_GCM_SHA256), 2 = SHA-384 (TLS_AES_256_GCM_SHA384).
enum class TlsHash : uint8_t { Sha256 = 1, Sha384 = 2 };

inline size_t hash_len(TlsHash h) { return h == TlsHash::Sha256 ? 32 : 48; }

struct ConfiguredPsk {
  uint8_t transform = 0;  // HH of the key text: 0 none, 1 SHA-256, 2 SHA-384
  SecretKey key;          // 32 or 48 bytes
  // SHA-256 for 32-byte keys, SHA-384 for 48-byte keys (what HH also says when not 0).
  TlsHash hash() const { return key.size() == 48 ? TlsHash::Sha384 : TlsHash::Sha256; }
};

// Parses "NVMeTLSkey-1:HH:<base64>:" (surrounding white space allowed).
// Throws nvmefs::Error naming what is wrong ("TLS key: CRC-32 mismatch ..."),
// never echoing the key.
ConfiguredPsk parse_tls_key(std::string_view text);
// The key text of `key` (32 or 48 bytes) with transform HH. Throws on a bad length.
std::string format_tls_key(uint8_t transform, std::span<const uint8_t> key);

// The derivation steps (each throws nvmefs::Error only on OpenSSL failure or
// an over-long NQN).
SecretKey derive_retained_psk(const ConfiguredPsk& configured, std::string_view hostnqn);
std::string psk_digest(TlsHash hash, std::span<const uint8_t> retained, std::string_view hostnqn,
                       std::string_view subnqn);
SecretKey derive_tls_psk(TlsHash hash, std::span<const uint8_t> input_psk, std::string_view context);
// "NVMe0R01 host sub" (version 0, empty digest) or "NVMe1R01 host sub digest".
std::string psk_identity(int version, TlsHash hash, std::string_view hostnqn, std::string_view subnqn,
                         std::string_view digest = {});

// What the TLS handshake uses: identity on the wire, the PSK, its cipher suite hash.
struct TlsPsk {
  std::string identity;
  SecretKey key;
  TlsHash hash = TlsHash::Sha256;
};

// Host side: the configured PSK turned into the version 1 identity and TLS PSK,
// as `nvme connect --tls_key` (libnvme nvme_insert_tls_key_versioned) does.
TlsPsk host_tls_psk(const ConfiguredPsk& configured, std::string_view hostnqn, std::string_view subnqn);

// Controller side: the TLS PSK for an identity a host offered, if it is one
// this configured PSK produces (version 0 or 1; a v1 digest must match).
std::optional<TlsPsk> controller_tls_psk(const ConfiguredPsk& configured, std::string_view identity);

}  // namespace nvmefs::transport
