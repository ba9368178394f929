// Connecting to the target(s) and building the tree the FUSE layer serves at
// mount time: one file ns<NSID> per active namespace, at the root for a
// subsystem URI, in one directory per subsystem NQN in discovery mode.
// Later changes go through live_updates.hpp.
#pragma once

#include <memory>
#include <vector>

#include "nvmefs/fs/tree.hpp"
#include "nvmefs/host/controller.hpp"
#include "nvmefs/wire/discovery_log.hpp"
#include "options.hpp"
#include "served.hpp"

namespace nvmefs::daemon {

struct Attached {
  std::shared_ptr<ServedSet> served = std::make_shared<ServedSet>();
  fs::DirSpec root;
};

// Throws nvmefs::Error (one line) when nothing can be connected.
Attached attach(const Config& cfg);

// Discovery mode: does this log entry name an NVM subsystem we serve?
bool serves_entry(const wire::DiscoveryEntry& e);

// Discovery mode: connects the subsystem a discovery log entry names (through
// the discovery controller's address when the entry names a wildcard, over
// TLS when the entry asks for it). Throws nvmefs::Error.
std::shared_ptr<host::Controller> connect_entry(const Config& cfg, const wire::DiscoveryEntry& e);

// The files of every active namespace of `ctrl`, added to `served`; returns their specs.
std::vector<fs::FileSpec> serve_controller(const std::shared_ptr<host::Controller>& ctrl, const Config& cfg,
                                           const std::string& dir, ServedSet& served);

}  // namespace nvmefs::daemon
