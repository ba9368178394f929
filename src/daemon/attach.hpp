// Connecting to the target(s) and building the tree the FUSE layer serves:
// one file ns<NSID> per active namespace, at the root for a subsystem URI,
// in one directory per subsystem NQN in discovery mode. Each file is the
// stack  StatsDevice (front) -> BlockCache -> StatsDevice (device) -> Namespace,
// so nvmefs-ctl stats shows both what applications see and what goes over
// the network.
#pragma once

#include <memory>
#include <vector>

#include "nvmefs/cache/block_cache.hpp"
#include "nvmefs/control/stats_device.hpp"
#include "nvmefs/fs/tree.hpp"
#include "nvmefs/host/controller.hpp"
#include "options.hpp"

namespace nvmefs::daemon {

// One served namespace file, with the layers the control socket reports on.
struct ServedNamespace {
  std::string path;               // relative to the mount point: "ns1" or "SUBNQN/ns1"
  host::Controller* controller;   // owned by Attached::controllers
  std::shared_ptr<host::Namespace> ns;
  std::shared_ptr<cache::BlockCache> cache;
  std::shared_ptr<control::StatsDevice> front;   // above the cache: the file's I/O
  std::shared_ptr<control::StatsDevice> device;  // below the cache: the network's I/O
};

struct Attached {
  std::vector<std::unique_ptr<host::Controller>> controllers;
  std::vector<ServedNamespace> namespaces;
  fs::DirSpec root;
};

// Throws nvmefs::Error (one line) when nothing can be connected.
Attached attach(const Config& cfg);

}  // namespace nvmefs::daemon
