// The multipath controller (multipath.hpp): several per-path controllers of
// one subsystem behind the Controller interface, their namespaces joined
// into MultipathNamespaces, and ANA tracking.
//
// ANA (NVMe Base 2.0 §8.1): for each path whose controller reports it (CMIC
// bit 3) the ANA log is read at connect, after every reconnect, on an ANA
// Change notice (§5.2.1), when a command answers with an ANA status, and
// every kAnaPollMs for controllers that do not send the notice, on one thread of
// this object (admin commands wait, completion threads must not).
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <thread>

#include "multipath_ana.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/common/uri.hpp"
#include "nvmefs/host/multipath.hpp"

namespace nvmefs::host {

namespace {

constexpr uint32_t kAnaPollMs = 2000;

bool all_zero(const uint8_t* p, size_t n) { return std::all_of(p, p + n, [](uint8_t b) { return b == 0; }); }

// The same namespace? NSIDs are unique in a subsystem (§3.2.1), but a
// namespace identifier the two report must also agree (NGUID, EUI64).
bool same_namespace(const Namespace& a, const Namespace& b) {
  if (a.nsid() != b.nsid()) return false;
  const nvme_id_ns &x = a.id(), &y = b.id();
  if (!all_zero(x.nguid, sizeof x.nguid) && std::memcmp(x.nguid, y.nguid, sizeof x.nguid) != 0) return false;
  if (!all_zero(x.eui64, sizeof x.eui64) && std::memcmp(x.eui64, y.eui64, sizeof x.eui64) != 0) return false;
  return a.info().block_size == b.info().block_size && a.info().size_bytes == b.info().size_bytes;
}

class MultipathController;

// Forwards one path controller's events to the multipath controller.
class PathObserver final : public ControllerObserver {
 public:
  PathObserver(MultipathController* owner, size_t path) : owner_(owner), path_(path) {}
  void on_state_change(ControllerState s) override;
  void on_namespace_change(const NamespaceChange& c) override;
  void on_ana_change() override;

 private:
  MultipathController* owner_;
  size_t path_;
};

class MultipathController final : public Controller {
 public:
  MultipathController(std::vector<std::shared_ptr<Controller>> paths, IoPolicy policy)
      : paths_(std::move(paths)), ana_dirty_(paths_.size(), true) {
    join_namespaces(policy);
    refresh_ana();  // before the first request: routing follows the real states at once
    for (size_t i = 0; i < paths_.size(); ++i) paths_[i]->set_observer(std::make_shared<PathObserver>(this, i));
    ana_thread_ = std::thread([this] { ana_loop(); });
  }

  ~MultipathController() override { disconnect(); }

  const ControllerInfo& info() const override { return first_live().info(); }
  const ConnectOptions& options() const override { return first_live().options(); }
  std::vector<std::shared_ptr<Namespace>> namespaces() const override {
    return {namespaces_.begin(), namespaces_.end()};
  }
  std::shared_ptr<Namespace> ns(uint32_t nsid) const override {
    for (const auto& n : namespaces_)
      if (n->nsid() == nsid) return n;
    return nullptr;
  }
  int admin_command(wire::Sqe sqe, void* data, uint32_t len, wire::Cqe* cqe = nullptr) override {
    return const_cast<Controller&>(first_live()).admin_command(sqe, data, len, cqe);
  }

  void disconnect() override {
    std::call_once(disconnect_once_, [this] {
      {
        std::lock_guard lk(ana_mu_);
        stop_ = true;
      }
      ana_cv_.notify_all();
      if (ana_thread_.joinable()) ana_thread_.join();
      for (auto& p : paths_) {
        p->disconnect();  // its threads are joined: no more observer calls
        p->set_observer(nullptr);
      }
      for (auto& n : namespaces_) n->paths_changed();
    });
  }

  bool live() const override { return state() == ControllerState::Live; }

  // The best state of any path: Live > Connecting > Dead > Deleting.
  ControllerState state() const override {
    ControllerState best = ControllerState::Deleting;
    for (const auto& p : paths_) best = std::min(best, p->state(), [](auto a, auto b) { return rank(a) < rank(b); });
    return best;
  }

  ControllerStats stats() const override {
    ControllerStats s;
    s.state = state();
    s.down_ms = INT64_MAX;
    for (const auto& p : paths_) {
      const ControllerStats ps = p->stats();
      s.reconnects += ps.reconnects;
      s.reconnect_attempts += ps.reconnect_attempts;
      s.last_recovery_ms = std::max(s.last_recovery_ms, ps.last_recovery_ms);
      if (!ps.last_error.empty()) s.last_error = ps.last_error;
      s.down_ms = std::min(s.down_ms, ps.down_ms);
    }
    return s;
  }

  void reconnect() override {
    for (auto& p : paths_) p->reconnect();
  }

  void set_observer(std::shared_ptr<ControllerObserver> observer) override {
    std::lock_guard lk(observer_mu_);
    observer_ = std::move(observer);
  }

  // ---- from the path observers (path controllers' threads) ----
  void on_path_state(size_t path, ControllerState s) {
    log::info("{}: path {} ({}) is {}", subnqn_, path, format_nvme_uri(paths_[path]->options().target),
              controller_state_name(s));
    if (s == ControllerState::Live) mark_ana_dirty(path);  // states may have changed while it was away
    for (auto& n : namespaces_) n->paths_changed();
    const ControllerState now = state();
    {
      std::lock_guard lk(observer_mu_);
      if (now == reported_) return;
      reported_ = now;
    }
    if (auto o = observer()) o->on_state_change(now);
  }

  // Namespace changes are reported as the first path sees them (the
  // multipath namespace set itself is fixed at connect).
  void on_path_namespace_change(size_t path, const NamespaceChange& c) {
    if (path != 0) return;
    if (auto o = observer()) o->on_namespace_change(c);
  }

  void mark_ana_dirty(size_t path) {
    {
      std::lock_guard lk(ana_mu_);
      ana_dirty_[path] = true;
    }
    ana_cv_.notify_all();
  }

 private:
  static int rank(ControllerState s) {
    switch (s) {
      case ControllerState::Live: return 0;
      case ControllerState::Connecting: return 1;
      case ControllerState::Dead: return 2;
      case ControllerState::Deleting: return 3;
    }
    return 3;
  }

  const Controller& first_live() const {
    for (const auto& p : paths_)
      if (p->live()) return *p;
    return *paths_.front();
  }

  std::shared_ptr<ControllerObserver> observer() {
    std::lock_guard lk(observer_mu_);
    return observer_;
  }

  // Every namespace of any path, joined by NSID over the paths that have it.
  void join_namespaces(IoPolicy policy) {
    subnqn_ = paths_.front()->info().subnqn;
    std::vector<uint32_t> nsids;
    for (const auto& p : paths_)
      for (const auto& n : p->namespaces())
        if (std::find(nsids.begin(), nsids.end(), n->nsid()) == nsids.end()) nsids.push_back(n->nsid());
    std::sort(nsids.begin(), nsids.end());
    for (uint32_t nsid : nsids) {
      std::vector<MultipathPath> members;
      std::vector<size_t> member_paths;
      for (size_t i = 0; i < paths_.size(); ++i) {
        auto n = paths_[i]->ns(nsid);
        if (!n) continue;
        if (!members.empty() && !same_namespace(*members.front().ns, *n)) {
          log::warn("{}: namespace {} differs on path {} (identifiers or size); path not used for it", subnqn_, nsid,
                    i);
          continue;
        }
        members.push_back({paths_[i], n});
        member_paths.push_back(i);
      }
      auto on_ana_error = [this, member_paths](size_t member) { mark_ana_dirty(member_paths[member]); };
      namespaces_.push_back(std::make_shared<MultipathNamespace>(std::move(members), policy, on_ana_error));
      ns_paths_.push_back(std::move(member_paths));
    }
  }

  // Reads the ANA log of every dirty live path that reports ANA and applies it.
  void refresh_ana() {
    for (size_t i = 0; i < paths_.size(); ++i) {
      {
        std::lock_guard lk(ana_mu_);
        if (!ana_dirty_[i]) continue;
        ana_dirty_[i] = false;
      }
      Controller& c = *paths_[i];
      if (!reports_ana(c.info().id) || !c.live()) continue;
      try {
        apply_ana(i, read_ana_log(c));
      } catch (const Error& e) {
        log::warn("{}: path {}: {}", subnqn_, i, e.what());
      }
    }
  }

  void apply_ana(size_t path, const std::vector<AnaGroup>& groups) {
    for (size_t k = 0; k < namespaces_.size(); ++k) {
      const auto& members = ns_paths_[k];
      const auto m = std::find(members.begin(), members.end(), path);
      if (m == members.end()) continue;
      const size_t member = size_t(m - members.begin());
      const uint32_t grpid = ana_group_of(namespaces_[k]->path(member).ns->id());
      for (const AnaGroup& g : groups)
        if (g.grpid == grpid) namespaces_[k]->set_ana_state(member, g.state);
    }
  }

  void ana_loop() {
    std::unique_lock lk(ana_mu_);
    while (!stop_) {
      const bool dirty = std::find(ana_dirty_.begin(), ana_dirty_.end(), true) != ana_dirty_.end();
      if (!dirty && ana_cv_.wait_for(lk, std::chrono::milliseconds(kAnaPollMs)) == std::cv_status::timeout)
        for (size_t i = 0; i < paths_.size(); ++i)
          if (!sends_ana_notices(paths_[i]->info().id)) ana_dirty_[i] = true;
      if (stop_) break;
      lk.unlock();
      refresh_ana();
      lk.lock();
    }
  }

  std::vector<std::shared_ptr<Controller>> paths_;
  std::string subnqn_;
  std::vector<std::shared_ptr<MultipathNamespace>> namespaces_;
  std::vector<std::vector<size_t>> ns_paths_;  // per namespace: controller index of each of its paths

  std::mutex observer_mu_;
  std::shared_ptr<ControllerObserver> observer_;
  ControllerState reported_ = ControllerState::Live;

  std::mutex ana_mu_;
  std::condition_variable ana_cv_;
  std::vector<bool> ana_dirty_;
  bool stop_ = false;
  std::thread ana_thread_;
  std::once_flag disconnect_once_;
};

void PathObserver::on_state_change(ControllerState s) { owner_->on_path_state(path_, s); }
void PathObserver::on_namespace_change(const NamespaceChange& c) { owner_->on_path_namespace_change(path_, c); }
void PathObserver::on_ana_change() {
  log::info("multipath: path {}: ANA change notice", path_);
  owner_->mark_ana_dirty(path_);
}

}  // namespace

std::unique_ptr<Controller> make_multipath_controller(std::vector<std::shared_ptr<Controller>> paths,
                                                      IoPolicy policy) {
  if (paths.empty()) throw Error("multipath: no path");
  for (const auto& p : paths)
    if (p->info().subnqn != paths.front()->info().subnqn)
      throw Error(fmt::format("multipath: paths lead to different subsystems ({} and {})", paths.front()->info().subnqn,
                              p->info().subnqn));
  return std::make_unique<MultipathController>(std::move(paths), policy);
}

std::unique_ptr<Controller> connect_multipath(const ConnectOptions& base, const std::vector<TransportId>& paths,
                                              IoPolicy policy) {
  if (paths.size() == 1) {  // one path: the plain controller, unchanged
    ConnectOptions opts = base;
    opts.target = paths.front();
    if (opts.target.subnqn.empty()) opts.target.subnqn = base.target.subnqn;
    return Controller::connect(opts);
  }
  std::vector<std::shared_ptr<Controller>> connected;
  std::string errors;
  for (const auto& tid : paths) {
    ConnectOptions opts = base;
    opts.target = tid;
    if (opts.target.subnqn.empty()) opts.target.subnqn = base.target.subnqn;
    // A path that loses its connection fails its parked I/O at once (instead
    // of holding it until it reconnects), so MultipathNamespace re-sends it
    // on another path; with no path left it is held there.
    opts.fast_io_fail_tmo = 0;
    try {
      connected.push_back(Controller::connect(opts));
    } catch (const Error& e) {
      log::warn("multipath: path {} not connected: {}", format_nvme_uri(opts.target), e.what());
      errors += (errors.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  if (connected.empty()) throw Error("multipath: no path connected: " + errors);
  return make_multipath_controller(std::move(connected), policy);
}

}  // namespace nvmefs::host
