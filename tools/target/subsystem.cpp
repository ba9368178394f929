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

std::shared_ptr<const NamespaceTable> Subsystem::namespaces() const {
  std::lock_guard lock(mu_);
  return table_;
}

void Subsystem::set_namespaces(std::shared_ptr<const NamespaceTable> table) {
  {
    std::lock_guard lock(mu_);
    table_ = std::move(table);
  }
  generation_.fetch_add(1, std::memory_order_release);  // after the table: a reader seeing it finds the new table
}

std::shared_ptr<Subsystem> SubsystemRegistry::find(const std::string& nqn) const {
  std::lock_guard lock(mu_);
  for (const auto& s : subsystems_)
    if (s->nqn == nqn) return s;
  return nullptr;
}

std::vector<std::shared_ptr<Subsystem>> SubsystemRegistry::all() const {
  uint64_t genctr;
  return all(genctr);
}

std::vector<std::shared_ptr<Subsystem>> SubsystemRegistry::all(uint64_t& genctr) const {
  std::lock_guard lock(mu_);
  genctr = genctr_;
  return subsystems_;
}

bool SubsystemRegistry::add(std::shared_ptr<Subsystem> sub) {
  std::lock_guard lock(mu_);
  for (const auto& s : subsystems_)
    if (s->nqn == sub->nqn) return false;
  subsystems_.push_back(std::move(sub));
  ++genctr_;
  return true;
}

std::shared_ptr<Subsystem> SubsystemRegistry::remove(const std::string& nqn) {
  std::lock_guard lock(mu_);
  for (auto it = subsystems_.begin(); it != subsystems_.end(); ++it) {
    if ((*it)->nqn != nqn) continue;
    auto sub = std::move(*it);
    subsystems_.erase(it);
    ++genctr_;
    return sub;
  }
  return nullptr;
}

std::shared_ptr<const Namespace> make_namespace(const std::string& subnqn, uint32_t nsid, const NamespaceSpec& spec,
                                                const Options& o) {
  auto ns = std::make_shared<Namespace>();
  ns->nsid = nsid;
  ns->storage = Storage::open(spec, o.read_only);
  ns->lba_shift = o.lba_size == 4096 ? 12 : 9;
  ns->lba_count = ns->storage->size_bytes() >> ns->lba_shift;
  if (ns->lba_count == 0)
    throw Error(fmt::format("--ns {}: smaller than one {}-byte block", ns->storage->name(), o.lba_size));
  std::string id = fmt::format("{}/{}", subnqn, nsid);
  ns->nguid = hash128(id);
  ns->uuid = hash128("uuid:" + id);
  ns->uuid[6] = uint8_t((ns->uuid[6] & 0x0F) | 0x80);  // RFC 9562 version 8 (custom)
  ns->uuid[8] = uint8_t((ns->uuid[8] & 0x3F) | 0x80);  // variant 10b
  return ns;
}

std::shared_ptr<const Namespace> resized_namespace(const Namespace& ns) {
  auto next = std::make_shared<Namespace>(ns);
  next->lba_count = ns.storage->size_bytes() >> ns.lba_shift;
  return next;
}

std::shared_ptr<Subsystem> make_subsystem(const SubsystemSpec& spec, const Options& o) {
  auto sub = std::make_shared<Subsystem>();
  sub->nqn = spec.nqn;
  sub->model = o.model;
  sub->serial = o.serial.empty() ? derived_serial(spec.nqn) : o.serial;
  sub->allowed_hosts = spec.allowed_hosts;
  if (!spec.allowed_hosts.empty() || !o.allowed_hosts.empty())
    sub->allowed_hosts.insert(sub->allowed_hosts.end(), o.allowed_hosts.begin(), o.allowed_hosts.end());
  auto table = std::make_shared<NamespaceTable>();
  for (const auto& nspec : spec.namespaces) {
    const uint32_t nsid = uint32_t(table->by_nsid.size() + 1);
    if (nsid > kMaxNsid) throw Error(fmt::format("subsystem {}: more than {} namespaces", spec.nqn, kMaxNsid));
    table->by_nsid.push_back(make_namespace(spec.nqn, nsid, nspec, o));
  }
  sub->set_namespaces(std::move(table));
  return sub;
}

void build_subsystems(const Options& o, SubsystemRegistry& out) {
  for (const auto& spec : o.subsystems) out.add(make_subsystem(spec, o));
}

}  // namespace nvmefs::target
