// Keeps the mounted tree in step with the target while mounted (NVMe Base
// 2.0 §5.2 Asynchronous Events, seen by the initiator as NamespaceChange and
// discovery log differences):
//   namespace added    -> lock it, build its layers, add its file
//   namespace resized  -> resize its cache, tell the kernel the new size
//   namespace removed  -> remove its file (open handles get EIO); cached
//                         writes not yet written back are reported as lost
//   subsystem added to the discovery log (discovery mounts)   -> connect, add its directory
//   subsystem gone from the discovery log                     -> remove its directory, disconnect
// Every change is applied on one event thread, in the order it was seen.
#pragma once

#include <chrono>
#include <memory>

#include "event_thread.hpp"
#include "nvmefs/fs/fuse_mount.hpp"
#include "nvmefs/host/discovery_watcher.hpp"
#include "options.hpp"
#include "served.hpp"

namespace nvmefs::daemon {

class LiveUpdates {
 public:
  // Watches every controller in `served` (and, for a discovery mount, the
  // discovery log). `cfg`, `served` and `mount` must outlive this object.
  LiveUpdates(const Config& cfg, ServedSet& served, fs::FuseMount& mount);
  ~LiveUpdates();  // stop()
  LiveUpdates(const LiveUpdates&) = delete;
  LiveUpdates& operator=(const LiveUpdates&) = delete;

  // No change is applied after this returns. Idempotent.
  void stop();

 private:
  class Observer;

  void watch(const std::shared_ptr<host::Controller>& ctrl);
  void start_discovery_watch();
  void apply(const host::Controller* ctrl, const host::NamespaceChange& change);
  void namespace_added(const std::shared_ptr<host::Controller>& ctrl, uint32_t nsid);
  void namespace_removed(const std::shared_ptr<ServedNamespace>& s);
  void namespace_resized(const ServedNamespace& s);
  void subsystems_changed(const host::DiscoveryDiff& diff);
  void subsystem_added(const wire::DiscoveryEntry& e);
  void subsystem_removed(const std::string& subnqn);
  std::string dir_of(const host::Controller& ctrl) const;

  // A namespace that appears while mounted waits this long for another
  // daemon's lock on it, not the 30 s of mount time: the event thread serves every change.
  static constexpr auto kLockWait = std::chrono::seconds(1);

  const Config& cfg_;
  ServedSet& served_;
  fs::FuseMount& mount_;
  EventThread events_;
  std::unique_ptr<host::DiscoveryWatcher> discovery_;
};

}  // namespace nvmefs::daemon
