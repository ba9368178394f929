#include "subsystem.hpp"

#include <algorithm>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"

namespace nvmefs::target {
namespace {

// FNV-1a, 64 bits: a stable hash for identifiers derived from names.
uint64_t fnv1a(const std::string& s, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::array<uint8_t, 16> hash128(const std::string& s) {
  std::array<uint8_t, 16> out{};
  uint64_t a = fnv1a(s, 0), b = fnv1a(s, 0x9e3779b97f4a7c15ull);
  for (int i = 0; i < 8; ++i) {
    out[i] = uint8_t(a >> (56 - 8 * i));
    out[8 + i] = uint8_t(b >> (56 - 8 * i));
  }
  return out;
}

std::string derived_serial(const std::string& nqn) { return fmt::format("{:016x}", fnv1a(nqn, 0x5e)); }

}  // namespace

bool Subsystem::host_allowed(const std::string& hostnqn) const {
  return allowed_hosts.empty() || std::find(allowed_hosts.begin(), allowed_hosts.end(), hostnqn) != allowed_hosts.end();
}

Namespace* Subsystem::find_namespace(uint32_t nsid) {
  if (nsid == 0 || nsid > namespaces.size()) return nullptr;
  return &namespaces[nsid - 1];
}

std::vector<std::unique_ptr<Subsystem>> build_subsystems(const Options& o) {
  std::vector<std::unique_ptr<Subsystem>> out;
  const uint32_t lba_shift = o.lba_size == 4096 ? 12 : 9;
  for (const auto& spec : o.subsystems) {
    auto sub = std::make_unique<Subsystem>();
    sub->nqn = spec.nqn;
    sub->model = o.model;
    sub->serial = o.serial.empty() ? derived_serial(spec.nqn) : o.serial;
    sub->allowed_hosts = spec.allowed_hosts;
    if (!spec.allowed_hosts.empty() || !o.allowed_hosts.empty())
      sub->allowed_hosts.insert(sub->allowed_hosts.end(), o.allowed_hosts.begin(), o.allowed_hosts.end());
    for (const auto& nspec : spec.namespaces) {
      Namespace ns;
      ns.nsid = uint32_t(sub->namespaces.size() + 1);
      ns.storage = Storage::open(nspec, o.read_only);
      ns.lba_shift = lba_shift;
      ns.lba_count = ns.storage->size_bytes() >> lba_shift;
      if (ns.lba_count == 0)
        throw Error(fmt::format("--ns {}: smaller than one {}-byte block", ns.storage->name(), o.lba_size));
      std::string id = fmt::format("{}/{}", spec.nqn, ns.nsid);
      ns.nguid = hash128(id);
      ns.uuid = hash128("uuid:" + id);
      ns.uuid[6] = uint8_t((ns.uuid[6] & 0x0F) | 0x80);  // RFC 9562 version 8 (custom)
      ns.uuid[8] = uint8_t((ns.uuid[8] & 0x3F) | 0x80);  // variant 10b
      sub->namespaces.push_back(std::move(ns));
    }
    out.push_back(std::move(sub));
  }
  return out;
}

}  // namespace nvmefs::target
