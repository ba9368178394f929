#include "attach.hpp"

#include <set>

#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/common/uri.hpp"
#include "nvmefs/host/multipath.hpp"

namespace nvmefs::daemon {
namespace {

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

bool serves_entry(const wire::DiscoveryEntry& e) { return e.subtype == NVME_NQN_NVME; }

std::shared_ptr<host::Controller> connect_entry(const Config& cfg, const wire::DiscoveryEntry& e) {
  host::ConnectOptions opts = cfg.connect;
  opts.target = {wire::trtype_name(e.trtype), reachable_addr(e, cfg.connect.target.traddr), e.trsvcid, e.subnqn};
  if (entry_requires_tls(e) && !opts.tls) {
    log::info("{}: the discovery log asks for TLS on {}:{}", e.subnqn, opts.target.traddr, e.trsvcid);
    opts.tls = true;
  }
  return host::Controller::connect(opts);
}

std::vector<fs::FileSpec> serve_controller(const std::shared_ptr<host::Controller>& ctrl, const Config& cfg,
                                           const std::string& dir, ServedSet& served) {
  std::vector<fs::FileSpec> files;
  for (const auto& ns : ctrl->namespaces()) {
    auto s = serve_namespace(ctrl, ns, cfg, dir);
    files.push_back(s->file_spec());
    served.add(std::move(s));
  }
  served.add_controller(ctrl);
  return files;
}

Attached attach(const Config& cfg) {
  Attached a;
  if (!cfg.discovery) {
    // Native multipath with -o path=URI; one path is a plain controller.
    std::vector<host::TransportId> paths{cfg.connect.target};
    paths.insert(paths.end(), cfg.extra_paths.begin(), cfg.extra_paths.end());
    std::shared_ptr<host::Controller> ctrl = host::connect_multipath(cfg.connect, paths, cfg.iopolicy);
    a.root.files = serve_controller(ctrl, cfg, "", *a.served);
    if (a.root.files.empty()) throw Error(cfg.connect.target.subnqn + " has no active namespace");
    return a;
  }
  std::set<std::string> seen;
  for (const auto& e : host::discover(cfg.connect)) {
    if (!serves_entry(e) || !seen.insert(e.subnqn).second) continue;
    try {
      auto ctrl = connect_entry(cfg, e);
      a.root.dirs.push_back({e.subnqn, {}, serve_controller(ctrl, cfg, e.subnqn, *a.served)});
    } catch (const Error& err) {
      log::warn("skipping {}: {}", e.subnqn, err.what());
    }
  }
  if (a.served->controllers().empty())
    throw Error("discovery at " + format_nvme_uri(cfg.connect.target) + " found no reachable NVM subsystem");
  return a;
}

}  // namespace nvmefs::daemon
