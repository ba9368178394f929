#include "live_updates.hpp"

#include <algorithm>
#include <cstring>

#include "attach.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::daemon {

// Called on the controller's recovery thread: only posts.
class LiveUpdates::Observer : public host::ControllerObserver {
 public:
  Observer(LiveUpdates& owner, const host::Controller* ctrl) : owner_(owner), ctrl_(ctrl) {}
  void on_namespace_change(const host::NamespaceChange& change) override {
    // Captures the owner, not this observer: the controller may drop the observer before the job runs.
    owner_.events_.post([owner = &owner_, ctrl = ctrl_, change] { owner->apply(ctrl, change); });
  }

 private:
  LiveUpdates& owner_;
  const host::Controller* ctrl_;
};

LiveUpdates::LiveUpdates(const Config& cfg, ServedSet& served, fs::FuseMount& mount)
    : cfg_(cfg), served_(served), mount_(mount) {
  for (const auto& c : served_.controllers()) watch(c);
  if (cfg_.discovery) start_discovery_watch();
}

LiveUpdates::~LiveUpdates() { stop(); }

void LiveUpdates::stop() {
  discovery_.reset();  // no discovery callback after this
  for (const auto& c : served_.controllers()) c->set_observer(nullptr);
  events_.stop();
}

void LiveUpdates::watch(const std::shared_ptr<host::Controller>& ctrl) {
  ctrl->set_observer(std::make_shared<Observer>(*this, ctrl.get()));
}

void LiveUpdates::start_discovery_watch() {
  try {
    discovery_ = std::make_unique<host::DiscoveryWatcher>(
        cfg_.connect, [this](const host::DiscoveryDiff& diff) { events_.post([this, diff] { subsystems_changed(diff); }); });
  } catch (const Error& e) {
    log::warn("discovery log changes will not be followed: {}", e.what());
    return;
  }
  // The log may have changed between the mount's own discovery and the
  // watcher's first read: bring the tree in line with that read.
  host::DiscoveryDiff initial;
  initial.added = discovery_->entries();
  for (const auto& c : served_.controllers()) {
    const std::string& subnqn = c->options().target.subnqn;
    if (std::none_of(initial.added.begin(), initial.added.end(), [&](const auto& e) { return e.subnqn == subnqn; })) {
      wire::DiscoveryEntry gone;
      gone.subtype = NVME_NQN_NVME;
      gone.subnqn = subnqn;
      initial.removed.push_back(std::move(gone));
    }
  }
  events_.post([this, initial] { subsystems_changed(initial); });
}

std::string LiveUpdates::dir_of(const host::Controller& ctrl) const {
  return cfg_.discovery ? ctrl.options().target.subnqn : std::string();
}

void LiveUpdates::apply(const host::Controller* ctrl, const host::NamespaceChange& change) {
  auto shared = served_.shared(ctrl);
  if (!shared) return;  // its subsystem left meanwhile
  switch (change.kind) {
    case host::NamespaceChange::Kind::Added:
      namespace_added(shared, change.nsid);
      break;
    case host::NamespaceChange::Kind::Removed:
      if (auto s = served_.find(ctrl, change.nsid)) namespace_removed(s);
      break;
    case host::NamespaceChange::Kind::Resized:
      if (auto s = served_.find(ctrl, change.nsid)) namespace_resized(*s);
      break;
  }
}

void LiveUpdates::namespace_added(const std::shared_ptr<host::Controller>& ctrl, uint32_t nsid) {
  if (served_.find(ctrl.get(), nsid)) return;
  auto ns = ctrl->ns(nsid);
  if (!ns) {  // a multipath controller's namespace set is fixed when it connects
    log::warn("{}: namespace {} appeared on the target; remount to see it (paths: {})", ctrl->info().subnqn, nsid,
              cfg_.extra_paths.size() + 1);
    return;
  }
  auto s = serve_namespace(ctrl, ns, cfg_, dir_of(*ctrl));
  try {
    s->lock = std::make_unique<NamespaceLock>(ctrl->info().subnqn, nsid, kLockWait);
  } catch (const Error& e) {
    log::error("new namespace {} of {} is not shown: {}", nsid, ctrl->info().subnqn, e.what());
    return;
  }
  mount_.add_file(s->dir, s->file_spec());
  log::info("{}: namespace {} appeared, served as {}", ctrl->info().subnqn, nsid, s->path());
  served_.add(std::move(s));
}

void LiveUpdates::namespace_removed(const std::shared_ptr<ServedNamespace>& s) {
  const std::string path = s->path();
  served_.remove(path);
  mount_.remove(path);
  // Writes acknowledged to applications (cache=writeback) that could not be
  // written back: say so loudly, never drop them silently.
  if (uint64_t dirty = s->cache->stats().dirty_bytes)
    log::error("{}: the namespace was removed on the target; {} bytes of cached writes were never written back and are lost",
               path, dirty);
  log::info("{}: namespace removed on the target, file removed", path);
}

void LiveUpdates::namespace_resized(const ServedNamespace& s) {
  if (int rc = s.cache->resize(); rc < 0) log::error("{}: resizing the cache failed: {}", s.path(), std::strerror(-rc));
  mount_.size_changed(s.path());
  log::info("{}: namespace resized to {} bytes", s.path(), s.ns->info().size_bytes.load());
}

void LiveUpdates::subsystems_changed(const host::DiscoveryDiff& diff) {
  for (const auto& e : diff.removed) {
    if (!serves_entry(e)) continue;
    // Another entry (another port) of the same subsystem may remain.
    bool still_listed = false;
    if (discovery_)
      for (const auto& other : discovery_->entries()) still_listed |= other.subnqn == e.subnqn && serves_entry(other);
    if (!still_listed) subsystem_removed(e.subnqn);
  }
  for (const auto& e : diff.added)
    if (serves_entry(e) && !served_.controller_for(e.subnqn)) subsystem_added(e);
}

void LiveUpdates::subsystem_added(const wire::DiscoveryEntry& e) {
  std::shared_ptr<host::Controller> ctrl;
  try {
    ctrl = connect_entry(cfg_, e);
  } catch (const Error& err) {
    log::warn("new subsystem {} is not shown: {}", e.subnqn, err.what());
    return;
  }
  served_.add_controller(ctrl);
  watch(ctrl);
  for (const auto& ns : ctrl->namespaces()) namespace_added(ctrl, ns->nsid());
  log::info("{}: subsystem appeared in the discovery log, served in {}/", e.subnqn, e.subnqn);
}

void LiveUpdates::subsystem_removed(const std::string& subnqn) {
  auto ctrl = served_.controller_for(subnqn);
  if (!ctrl) return;
  // Disconnect first: I/O held for a reconnect then ends with an error
  // instead of waiting for ctrl_loss_tmo while the files are taken away.
  ctrl->set_observer(nullptr);
  ctrl->disconnect();
  for (const auto& s : served_.namespaces())
    if (s->controller == ctrl) namespace_removed(s);
  mount_.remove(subnqn);
  served_.remove_controller(ctrl.get());
  log::info("{}: subsystem left the discovery log, disconnected", subnqn);
}

}  // namespace nvmefs::daemon
