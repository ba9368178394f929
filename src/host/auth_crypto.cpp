#include "auth_crypto.hpp"

#include <iterator>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/err.h>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"
#include "nvmefs/wire/nvme_cmd.hpp"

namespace nvmefs::host {

namespace {

const char* digest_name(AuthHash h) {
  switch (h) {
    case AuthHash::Sha256: return "SHA256";
    case AuthHash::Sha384: return "SHA384";
    case AuthHash::Sha512: return "SHA512";
  }
  return "SHA256";
}

[[noreturn]] void crypto_failure(const char* what) {
  const unsigned long e = ERR_get_error();
  char buf[256] = "";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  throw Error(fmt::format("OpenSSL {} failed{}{}", what, e ? ": " : "", buf), EPROTO);
}

// Incremental HMAC over EVP_MAC; the context is freed (and cleansed by OpenSSL) on destruction.
class Hmac {
 public:
  Hmac(AuthHash h, const uint8_t* key, size_t key_len) : h_(h) {
    mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    ctx_ = mac_ ? EVP_MAC_CTX_new(mac_) : nullptr;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name(h)), 0),
        OSSL_PARAM_construct_end()};
    if (!ctx_ || !EVP_MAC_init(ctx_, key, key_len, params)) crypto_failure("HMAC init");
  }
  ~Hmac() {
    EVP_MAC_CTX_free(ctx_);
    EVP_MAC_free(mac_);
  }
  Hmac& update(const void* p, size_t n) {
    if (!EVP_MAC_update(ctx_, static_cast<const unsigned char*>(p), n)) crypto_failure("HMAC update");
    return *this;
  }
  Hmac& update(std::string_view s) { return update(s.data(), s.size()); }
  void final(uint8_t* out) {
    size_t n = 0;
    if (!EVP_MAC_final(ctx_, out, &n, hash_len(h_)) || n != hash_len(h_)) crypto_failure("HMAC final");
  }

 private:
  AuthHash h_;
  EVP_MAC* mac_ = nullptr;
  EVP_MAC_CTX* ctx_ = nullptr;
};

}  // namespace

bool valid_hash_id(uint8_t id) { return id >= 1 && id <= 3; }
bool valid_dhgroup_id(uint8_t id) { return id <= 5; }

size_t hash_len(AuthHash h) {
  switch (h) {
    case AuthHash::Sha256: return 32;
    case AuthHash::Sha384: return 48;
    case AuthHash::Sha512: return 64;
  }
  return 0;
}

const char* hash_name(AuthHash h) {
  switch (h) {
    case AuthHash::Sha256: return "hmac(sha256)";
    case AuthHash::Sha384: return "hmac(sha384)";
    case AuthHash::Sha512: return "hmac(sha512)";
  }
  return "?";
}

const char* dhgroup_name(DhGroup g) {
  static const char* const names[] = {"null", "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192"};
  return uint8_t(g) < std::size(names) ? names[uint8_t(g)] : "?";
}

void hmac(AuthHash h, const uint8_t* key, size_t key_len, const uint8_t* data, size_t len, uint8_t* out) {
  Hmac(h, key, key_len).update(data, len).final(out);
}

SecretBytes transform_key(const DhchapKey& key, std::string_view nqn) {
  if (key.transform == 0) return SecretBytes(key.key.data(), key.key.size());
  const auto h = AuthHash(key.transform);
  SecretBytes out(hash_len(h));
  Hmac(h, key.key.data(), key.key.size()).update(nqn).update("NVMe-over-Fabrics").final(out.data());
  return out;
}

void augment_challenge(AuthHash h, const SecretBytes& session_key, const uint8_t* challenge, uint8_t* out) {
  const size_t hl = hash_len(h);
  SecretBytes hashed(hl);
  unsigned int n = 0;
  EVP_MD* md = EVP_MD_fetch(nullptr, digest_name(h), nullptr);
  const bool ok = md && EVP_Digest(session_key.data(), session_key.size(), hashed.data(), &n, md, nullptr) && n == hl;
  EVP_MD_free(md);
  if (!ok) crypto_failure("digest");
  hmac(h, hashed.data(), hl, challenge, hl, out);
}

void chap_response(AuthHash h, const SecretBytes& transformed_key, const uint8_t* challenge, uint32_t seqnum,
                   uint16_t transaction, Responder who, std::string_view hostnqn, std::string_view subnqn,
                   uint8_t* out) {
  uint8_t seq[4], tid[2];
  wire::put_le32(seq, seqnum);
  wire::put_le16(tid, transaction);
  const uint8_t zero = 0;  // SC_C: no secure channel concatenation; then the NQN separator
  const bool host = who == Responder::Host;
  Hmac(h, transformed_key.data(), transformed_key.size())
      .update(challenge, hash_len(h))
      .update(seq, 4)
      .update(tid, 2)
      .update(&zero, 1)
      .update(host ? std::string_view("HostHost") : std::string_view("Controller"))
      .update(host ? hostnqn : subnqn)
      .update(&zero, 1)
      .update(host ? subnqn : hostnqn)
      .final(out);
}

struct DhExchange::Pkey {
  EVP_PKEY* p = nullptr;
  ~Pkey() { EVP_PKEY_free(p); }
};

DhExchange::DhExchange(DhGroup g) : key_(std::make_unique<Pkey>()) {
  if (g == DhGroup::Null || !valid_dhgroup_id(uint8_t(g))) throw Error("no such DH group", EINVAL);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(dhgroup_name(g)), 0),
      OSSL_PARAM_construct_end()};
  const bool ok = ctx && EVP_PKEY_keygen_init(ctx) > 0 && EVP_PKEY_CTX_set_params(ctx, params) > 0 &&
                  EVP_PKEY_generate(ctx, &key_->p) > 0;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) crypto_failure(fmt::format("{} key generation", dhgroup_name(g)).c_str());
  size_ = size_t(EVP_PKEY_get_size(key_->p));
  BIGNUM* pub = nullptr;
  if (!EVP_PKEY_get_bn_param(key_->p, OSSL_PKEY_PARAM_PUB_KEY, &pub)) crypto_failure("DH public key");
  public_.resize(size_);
  const int n = BN_bn2binpad(pub, public_.data(), int(size_));
  BN_free(pub);
  if (n != int(size_)) crypto_failure("DH public key encoding");
}

DhExchange::~DhExchange() = default;

SecretBytes DhExchange::session_key(const uint8_t* peer, size_t len) const {
  if (len != size_)
    throw Error(fmt::format("the controller's DH value has {} bytes, the group needs {}", len, size_), EPROTO);
  Pkey peer_key;
  peer_key.p = EVP_PKEY_new();
  EVP_PKEY_CTX* ctx = nullptr;
  SecretBytes out(size_);
  size_t n = size_;
  // set_peer checks the peer's public value (1 < y < p-1, and y^q = 1 for safe-prime groups).
  const bool ok = peer_key.p && EVP_PKEY_copy_parameters(peer_key.p, key_->p) > 0 &&
                  EVP_PKEY_set1_encoded_public_key(peer_key.p, peer, len) > 0 &&
                  (ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key_->p, nullptr)) != nullptr &&
                  EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_CTX_set_dh_pad(ctx, 1) > 0 &&
                  EVP_PKEY_derive_set_peer(ctx, peer_key.p) > 0 && EVP_PKEY_derive(ctx, out.data(), &n) > 0 &&
                  n == size_;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) crypto_failure("DH key agreement with the controller's value");
  return out;
}

}  // namespace nvmefs::host
