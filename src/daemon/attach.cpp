#include "attach.hpp"

#include <iterator>
#include <set>

#include "identity.hpp"
#include "nvmefs/cache/block_cache.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/common/uri.hpp"
#include "nvmefs/host/multipath.hpp"

namespace nvmefs::daemon {
namespace {

std::vector<fs::FileSpec> namespace_files(host::Controller& ctrl, const Config& cfg, const std::string& dir,
                                         std::vector<ServedNamespace>& served) {
  std::vector<fs::FileSpec> files;
  for (const auto& ns : ctrl.namespaces()) {
    ServedNamespace s{"", &ctrl, ns, nullptr, nullptr, nullptr};
    s.device = std::make_shared<control::StatsDevice>(ns);
    s.cache = cache::make_block_cache(s.device, cfg.cache);
    s.front = std::make_shared<control::StatsDevice>(s.cache);
    fs::FileSpec f;
    f.name = "ns" + std::to_string(ns->nsid());
    f.dev = s.front;
    f.lba_size = ns->info().block_size;
    f.read_only = ns->info().read_only;
    f.xattrs = namespace_xattrs(ctrl, *ns);
    s.path = dir.empty() ? f.name : dir + "/" + f.name;
    served.push_back(std::move(s));
    files.push_back(std::move(f));
  }
  return files;
}

// A discovery log entry may name a wildcard address (the target listens on
// every interface): then reach it through the discovery controller's address.
std::string reachable_addr(const wire::DiscoveryEntry& e, const std::string& discovery_addr) {
  if (e.traddr.empty() || e.traddr == "0.0.0.0" || e.traddr == "::") return discovery_addr;
  return e.traddr;
}

// NVMe/TCP 1.0 §3.6.1.x / NVMe-oF discovery: an entry whose TSAS names TLS,
// or whose TREQ says a secure channel is required, must be reached over TLS.
bool entry_requires_tls(const wire::DiscoveryEntry& e) {
  if (e.trtype != NVMF_TRTYPE_TCP) return false;
  return e.tcp_sectype == NVMF_TCP_SECTYPE_TLS || e.tcp_sectype == NVMF_TCP_SECTYPE_TLS13 ||
         (e.treq & 0x3) == NVMF_TREQ_REQUIRED;
}

}  // namespace

Attached attach(const Config& cfg) {
  Attached a;
  if (!cfg.discovery) {
    // Native multipath with -o path=URI; one path is a plain controller.
    std::vector<host::TransportId> paths{cfg.connect.target};
    paths.insert(paths.end(), cfg.extra_paths.begin(), cfg.extra_paths.end());
    a.controllers.push_back(host::connect_multipath(cfg.connect, paths, cfg.iopolicy));
    a.root.files = namespace_files(*a.controllers.back(), cfg, "", a.namespaces);
    if (a.root.files.empty()) throw Error(cfg.connect.target.subnqn + " has no active namespace");
    return a;
  }
  std::set<std::string> seen;
  for (const auto& e : host::discover(cfg.connect)) {
    if (e.subtype != NVME_NQN_NVME || !seen.insert(e.subnqn).second) continue;
    host::ConnectOptions opts = cfg.connect;
    opts.target = {wire::trtype_name(e.trtype), reachable_addr(e, cfg.connect.target.traddr), e.trsvcid, e.subnqn};
    if (entry_requires_tls(e) && !opts.tls) {
      log::info("{}: the discovery log asks for TLS on {}:{}", e.subnqn, opts.target.traddr, e.trsvcid);
      opts.tls = true;
    }
    try {
      auto ctrl = host::Controller::connect(opts);
      std::vector<ServedNamespace> served;
      a.root.dirs.push_back({e.subnqn, {}, namespace_files(*ctrl, cfg, e.subnqn, served)});
      std::move(served.begin(), served.end(), std::back_inserter(a.namespaces));
      a.controllers.push_back(std::move(ctrl));
    } catch (const Error& err) {
      log::warn("skipping {}: {}", e.subnqn, err.what());
    }
  }
  if (a.controllers.empty())
    throw Error("discovery at " + format_nvme_uri(cfg.connect.target) + " found no reachable NVM subsystem");
  return a;
}

}  // namespace nvmefs::daemon
