// What the daemon serves: its controllers and one ServedNamespace per
// namespace file. The set changes while mounted (namespaces and, in
// discovery mode, subsystems come and go), so it is shared between the
// thread applying those changes (live_updates) and the control socket,
// behind one mutex; readers take snapshots of shared pointers.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "namespace_lock.hpp"
#include "nvmefs/cache/block_cache.hpp"
#include "nvmefs/control/stats_device.hpp"
#include "nvmefs/fs/tree.hpp"
#include "nvmefs/host/controller.hpp"
#include "options.hpp"

namespace nvmefs::daemon {

// One namespace file and its layers:
//   StatsDevice (front) -> BlockCache -> StatsDevice (device) -> Namespace
// so nvmefs-ctl stats shows both what applications see and what goes over
// the network.
struct ServedNamespace {
  std::string dir;  // "" at the root; the subsystem NQN in discovery mode
  std::shared_ptr<host::Controller> controller;
  std::shared_ptr<host::Namespace> ns;
  std::shared_ptr<control::StatsDevice> device;  // below the cache: the network's I/O
  std::shared_ptr<cache::BlockCache> cache;
  std::shared_ptr<control::StatsDevice> front;   // above the cache: the file's I/O
  std::unique_ptr<NamespaceLock> lock;           // one daemon per namespace

  std::string name() const;  // "ns<NSID>"
  std::string path() const;  // relative to the mount point: "ns1" or "SUBNQN/ns1"
  fs::FileSpec file_spec() const;
};

// Builds the layers for `ns` (no lock taken). Throws nvmefs::Error when the
// cache options do not fit the namespace.
std::shared_ptr<ServedNamespace> serve_namespace(std::shared_ptr<host::Controller> ctrl,
                                                 std::shared_ptr<host::Namespace> ns, const Config& cfg,
                                                 std::string dir);

class ServedSet {
 public:
  void add_controller(std::shared_ptr<host::Controller> ctrl);
  // Forgets the controller (the caller disconnects it).
  void remove_controller(const host::Controller* ctrl);
  std::vector<std::shared_ptr<host::Controller>> controllers() const;
  std::shared_ptr<host::Controller> controller_for(const std::string& subnqn) const;
  std::shared_ptr<host::Controller> shared(const host::Controller* ctrl) const;

  void add(std::shared_ptr<ServedNamespace> s);
  std::shared_ptr<ServedNamespace> remove(const std::string& path);  // null when not served
  std::shared_ptr<ServedNamespace> find(const host::Controller* ctrl, uint32_t nsid) const;
  std::vector<std::shared_ptr<ServedNamespace>> namespaces() const;  // in the order they were added

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<host::Controller>> controllers_;
  std::vector<std::shared_ptr<ServedNamespace>> namespaces_;
};

}  // namespace nvmefs::daemon
