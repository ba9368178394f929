// gen-hostnqn and gen-dhchap-key (nvme-cli's formats).
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>

extern "C" {
#include <nvme/fabrics.h>
}

#include "nvmefs/host/dhchap.hpp"
#include "verb.hpp"

namespace nvmefs::ctl {
namespace {

std::string generated_hostnqn() {
  char* nqn = nvmf_hostnqn_generate();  // nqn.2014-08.org.nvmexpress:uuid:<machine or random UUID>
  if (!nqn) throw Error("cannot generate a host NQN (libnvme nvmf_hostnqn_generate failed)");
  std::string s = nqn;
  std::free(nqn);
  return s;
}

// nvme-cli's default: /etc/nvme/hostnqn, else a generated one.
std::string default_hostnqn() {
  std::ifstream f("/etc/nvme/hostnqn");
  std::string line;
  if (f && std::getline(f, line) && line.rfind("nqn.", 0) == 0) return line;
  return generated_hostnqn();
}

unsigned number_option(const Args& a, const char* name, unsigned fallback) {
  if (!a.has(name)) return fallback;
  std::string s = a.get(name);
  char* end = nullptr;
  unsigned long n = std::strtoul(s.c_str(), &end, 10);
  if (s.empty() || *end || n > 1024) throw UsageError(fmt::format("gen-dhchap-key: invalid --{} '{}'", name, s));
  return unsigned(n);
}

}  // namespace

int run_gen_hostnqn(const Args& a) {
  if (!a.positional.empty()) throw UsageError(fmt::format("gen-hostnqn: unexpected argument '{}'", a.positional[0]));
  std::printf("%s\n", generated_hostnqn().c_str());
  return 0;
}

int run_gen_dhchap_key(const Args& a) {
  if (!a.positional.empty()) throw UsageError(fmt::format("gen-dhchap-key: unexpected argument '{}'", a.positional[0]));
  unsigned hmac = number_option(a, "hmac", 0);
  if (hmac > 3) throw UsageError(fmt::format("gen-dhchap-key: invalid --hmac '{}' (0 to 3)", a.get("hmac")));
  unsigned len = number_option(a, "key-length", 0);
  if (len != 0 && len != 32 && len != 48 && len != 64)
    throw UsageError(fmt::format("gen-dhchap-key: invalid --key-length '{}' (32, 48 or 64)", a.get("key-length")));
  std::string nqn = a.has("nqn") ? a.get("nqn") : default_hostnqn();
  std::printf("%s\n", host::generate_dhchap_secret(uint8_t(hmac), len, nqn).c_str());
  return 0;
}

}  // namespace nvmefs::ctl
