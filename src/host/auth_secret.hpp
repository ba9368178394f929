// DH-HMAC-CHAP secrets in their textual representation (NVMe Base 2.0
// §8.13.5.8, as nvme-cli and Linux write them):
//
//   DHHC-1:XX:<base64 of key || CRC-32(key), little-endian>:
//
// XX = 00 (use the key as it is), 01/02/03 (transform it with SHA-256/384/512
// and the NQN first, auth_crypto.hpp). The key is 32, 48 or 64 bytes.
// Key bytes live in SecretBytes, which wipes them (OPENSSL_cleanse) when it dies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nvmefs::host {

// Heap bytes that are zeroed before they are freed. Move-only.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t n) : b_(n) {}
  SecretBytes(const uint8_t* p, size_t n) : b_(p, p + n) {}
  SecretBytes(SecretBytes&&) noexcept = default;
  SecretBytes& operator=(SecretBytes&& o) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes() { wipe(); }

  uint8_t* data() { return b_.data(); }
  const uint8_t* data() const { return b_.data(); }
  size_t size() const { return b_.size(); }
  bool empty() const { return b_.empty(); }
  void wipe();  // zeroes and empties

 private:
  std::vector<uint8_t> b_;
};

struct DhchapKey {
  uint8_t transform = 0;  // 0 none, 1 SHA-256, 2 SHA-384, 3 SHA-512
  SecretBytes key;        // 32, 48 or 64 bytes
};

// Parses "DHHC-1:XX:...:" (surrounding white space allowed). Throws
// nvmefs::Error naming what is wrong (never echoing the secret).
DhchapKey parse_dhchap_secret(std::string_view text);

// The representation of `key` (32/48/64 bytes) with transform indicator `transform`.
std::string format_dhchap_secret(uint8_t transform, const uint8_t* key, size_t len);

// CRC-32 (IEEE 802.3, reflected 0xEDB88320, as zlib's crc32()) of a key.
uint32_t dhchap_crc32(const uint8_t* p, size_t n);

}  // namespace nvmefs::host
