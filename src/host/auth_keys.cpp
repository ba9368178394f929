// The public helpers of nvmefs/host/dhchap.hpp: generate, read, check secrets.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <fmt/core.h>

#include "auth_secret.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/host/dhchap.hpp"

extern "C" {
#include <nvme/linux.h>
}

namespace nvmefs::host {

std::string generate_dhchap_secret(uint8_t transform, size_t key_len, const std::string& hostnqn) {
  static constexpr size_t kHashLen[] = {32, 32, 48, 64};
  if (transform > 3) throw Error(fmt::format("DH-HMAC-CHAP transform {} is not 0..3", transform), EINVAL);
  if (key_len == 0) key_len = kHashLen[transform];
  if (key_len != 32 && key_len != 48 && key_len != 64)
    throw Error(fmt::format("DH-HMAC-CHAP key length {} is not 32, 48 or 64", key_len), EINVAL);
  if (transform && hostnqn.empty()) throw Error("a transformed DH-HMAC-CHAP secret needs the host NQN", EINVAL);
  SecretBytes random(key_len), key(64);
  if (RAND_bytes(random.data(), int(key_len)) != 1) throw Error("no random bytes for a DH-HMAC-CHAP secret", EIO);
  std::vector<char> nqn(hostnqn.begin(), hostnqn.end());
  nqn.push_back('\0');
  if (nvme_gen_dhchap_key(nqn.data(), nvme_hmac_alg(transform), unsigned(key_len), random.data(), key.data()) != 0)
    throw Error(fmt::format("generating a DH-HMAC-CHAP secret failed: {}", std::strerror(errno)), EIO);
  // A transformed key is the hash's length; the secret holds key_len bytes of it, as nvme-cli does.
  return format_dhchap_secret(transform, key.data(), key_len);
}

void check_dhchap_secret(const std::string& secret) { (void)parse_dhchap_secret(secret); }

std::string read_dhchap_secret_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("cannot read DH-HMAC-CHAP secret file {}: {}", path, std::strerror(errno)), ENOENT);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
    log::warn("DH-HMAC-CHAP secret file {} is accessible by group or others (chmod 600 it)", path);
  std::string line;
  std::getline(in, line);
  const auto first = line.find_first_not_of(" \t\r");
  const auto last = line.find_last_not_of(" \t\r");
  std::string secret = first == std::string::npos ? std::string() : line.substr(first, last - first + 1);
  OPENSSL_cleanse(line.data(), line.size());
  try {
    check_dhchap_secret(secret);
  } catch (const Error& e) {
    OPENSSL_cleanse(secret.data(), secret.size());
    throw Error(fmt::format("{}: {}", path, e.what()), EINVAL);
  }
  return secret;
}

}  // namespace nvmefs::host
