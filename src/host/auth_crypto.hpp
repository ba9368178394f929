// The DH-HMAC-CHAP computations (NVMe Base 2.0 §8.13.5), every primitive
// from OpenSSL 3: HMAC (EVP_MAC), hashes (EVP_Digest) and the RFC 7919
// ffdhe groups (EVP_PKEY "DH" with a group name). OpenSSL failures throw
// nvmefs::Error ("OpenSSL <step> failed: <reason>"); callers add the context.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "auth_secret.hpp"

namespace nvmefs::host {

// Hash function identifiers (NVMe Base 2.0 Figure "DH-HMAC-CHAP Hash Functions").
enum class AuthHash : uint8_t { Sha256 = 1, Sha384 = 2, Sha512 = 3 };
// Diffie-Hellman group identifiers (NVMe Base 2.0 Figure "DH-HMAC-CHAP Diffie-Hellman group identifiers").
enum class DhGroup : uint8_t { Null = 0, Ffdhe2048 = 1, Ffdhe3072 = 2, Ffdhe4096 = 3, Ffdhe6144 = 4, Ffdhe8192 = 5 };

inline constexpr size_t kMaxHashLen = 64;

bool valid_hash_id(uint8_t id);
bool valid_dhgroup_id(uint8_t id);
size_t hash_len(AuthHash h);
const char* hash_name(AuthHash h);     // "hmac(sha256)", as Linux names it
const char* dhgroup_name(DhGroup g);   // "null", "ffdhe2048", ...

// HMAC(key, data) into out[hash_len(h)].
void hmac(AuthHash h, const uint8_t* key, size_t key_len, const uint8_t* data, size_t len, uint8_t* out);

// The key transformation (§8.13.5.8): HMAC_XX(key, NQN || "NVMe-over-Fabrics")
// for transform XX = 1..3, the key itself for 0.
SecretBytes transform_key(const DhchapKey& key, std::string_view nqn);

// The augmented challenge with a DH exchange (§8.13.5.2): HMAC(H(Ks), C),
// H the negotiated hash and Ks the DH session key.
void augment_challenge(AuthHash h, const SecretBytes& session_key, const uint8_t* challenge, uint8_t* out);

// Which side a response proves: the host ("HostHost", NQNh then NQNs) or the
// controller ("Controller", NQNs then NQNh).
enum class Responder { Host, Controller };

// Response = HMAC(K', C || U32(seqnum) || U16(T_ID) || U8(0) || "HostHost" ||
// NQNh || 00h || NQNs) for the host, "Controller" with the NQNs swapped for the
// controller (§8.13.5.3, .5). `challenge` is C (or the augmented one), hash_len(h) bytes.
void chap_response(AuthHash h, const SecretBytes& transformed_key, const uint8_t* challenge, uint32_t seqnum,
                   uint16_t transaction, Responder who, std::string_view hostnqn, std::string_view subnqn,
                   uint8_t* out);

// One side of a finite-field DH exchange in an RFC 7919 group: an ephemeral
// key pair, its public value, and the session key with a peer's public value.
class DhExchange {
 public:
  explicit DhExchange(DhGroup g);  // generates the key pair; throws nvmefs::Error
  ~DhExchange();
  DhExchange(const DhExchange&) = delete;
  DhExchange& operator=(const DhExchange&) = delete;

  size_t size() const { return size_; }  // bytes of p: length of public values and the session key
  // Our public value g^x mod p, big-endian, padded to size().
  const std::vector<uint8_t>& public_value() const { return public_; }
  // (peer)^x mod p, padded to size(). Throws nvmefs::Error when the peer's
  // value is out of range (OpenSSL's public key check) or has the wrong length.
  SecretBytes session_key(const uint8_t* peer, size_t len) const;

 private:
  struct Pkey;
  std::unique_ptr<Pkey> key_;
  size_t size_ = 0;
  std::vector<uint8_t> public_;
};

}  // namespace nvmefs::host
