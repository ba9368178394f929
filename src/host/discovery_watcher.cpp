// DiscoveryWatcher: a persistent discovery controller plus one thread that
// re-reads the log. Notices arrive on the admin queue's receive thread
// (ControllerObserver::on_discovery_change) and only set a flag; the log is
// read and on_change called on the watcher's thread. A lost connection
// (ControllerState::Dead: discovery controllers do not reconnect by
// themselves) makes the thread build a new controller and read the log again.
#include "nvmefs/host/discovery_watcher.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/core.h>

#include "controller_impl.hpp"
#include "discovery_read.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::host {

bool same_discovery_entry(const wire::DiscoveryEntry& a, const wire::DiscoveryEntry& b) {
  return a.subnqn == b.subnqn && a.trtype == b.trtype && a.traddr == b.traddr && a.trsvcid == b.trsvcid;
}

DiscoveryDiff diff_discovery_logs(const std::vector<wire::DiscoveryEntry>& before,
                                  const std::vector<wire::DiscoveryEntry>& after) {
  auto in = [](const std::vector<wire::DiscoveryEntry>& v, const wire::DiscoveryEntry& e) {
    for (const auto& x : v)
      if (same_discovery_entry(x, e)) return true;
    return false;
  };
  DiscoveryDiff d;
  for (const auto& e : after)
    if (!in(before, e) && !in(d.added, e)) d.added.push_back(e);
  for (const auto& e : before)
    if (!in(after, e) && !in(d.removed, e)) d.removed.push_back(e);
  return d;
}

struct DiscoveryWatcher::State {
  ConnectOptions opts;
  std::string where;
  std::function<void(const DiscoveryDiff&)> on_change;

  mutable std::mutex mu;  // everything below
  std::condition_variable cv;
  bool stop = false;
  bool change_pending = false;  // a notice came in: read the log again
  bool lost = false;            // the controller died: reconnect
  std::shared_ptr<ControllerImpl> ctrl;
  std::vector<wire::DiscoveryEntry> entries;
  uint64_t rereads = 0, reconnects = 0;
  std::thread thread;

  std::shared_ptr<ControllerImpl> connect();
  void run();
  bool reconnect();  // false: stopped
  void reread(const std::shared_ptr<ControllerImpl>& c);
};

namespace {
// Called on a receive thread or the timer thread: only flags.
class Observer final : public ControllerObserver {
 public:
  explicit Observer(DiscoveryWatcher::State* s) : s_(s) {}
  void on_discovery_change() override { flag(&DiscoveryWatcher::State::change_pending); }
  void on_state_change(ControllerState st) override {
    if (st == ControllerState::Dead) flag(&DiscoveryWatcher::State::lost);
  }

 private:
  void flag(bool DiscoveryWatcher::State::*which) {
    {
      std::lock_guard lk(s_->mu);
      s_->*which = true;
    }
    s_->cv.notify_all();
  }
  // The controller (and so this observer's callers) is disconnected before the State goes away.
  DiscoveryWatcher::State* s_;
};
}  // namespace

std::shared_ptr<ControllerImpl> DiscoveryWatcher::State::connect() {
  auto c = std::make_shared<ControllerImpl>(opts, true);
  c->set_persistent_discovery();
  c->set_observer(std::make_shared<Observer>(this));
  c->bring_up();
  return c;
}

DiscoveryWatcher::DiscoveryWatcher(const ConnectOptions& opts, std::function<void(const DiscoveryDiff&)> on_change)
    : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.opts = opts;
  s.opts.target.subnqn = wire::kDiscoveryNqn;
  s.opts.dhchap_ctrl_secret.clear();  // belongs to the I/O subsystem (see discover())
  if (s.opts.target.trsvcid.empty()) s.opts.target.trsvcid = kDefaultDiscoveryPort;
  if (s.opts.keep_alive_tmo == 0) s.opts.keep_alive_tmo = kDiscoveryKeepAliveTmo;
  s.where = fmt::format("discovery controller {}:{}", s.opts.target.traddr, s.opts.target.trsvcid);
  s.on_change = std::move(on_change);
  s.ctrl = s.connect();
  s.entries = read_discovery_log(*s.ctrl, s.where);  // on failure ~ControllerImpl disconnects
  log::info("{}: watching the discovery log ({} entries, KATO {} s)", s.where, s.entries.size(),
            s.opts.keep_alive_tmo);
  s.thread = std::thread([&s] { s.run(); });
}

DiscoveryWatcher::~DiscoveryWatcher() {
  State& s = *state_;
  std::shared_ptr<ControllerImpl> c;
  {
    std::lock_guard lk(s.mu);
    s.stop = true;
    c = s.ctrl;
  }
  s.cv.notify_all();
  // A log read in progress fails at once on the closed queue.
  if (c) c->disconnect();
  if (s.thread.joinable()) s.thread.join();
  std::lock_guard lk(s.mu);
  c = std::move(s.ctrl);  // destroyed after the lock is released (already disconnected)
}

void DiscoveryWatcher::State::run() {
  std::unique_lock lk(mu);
  while (!stop) {
    cv.wait(lk, [&] { return stop || change_pending || lost; });
    if (stop) break;
    if (lost) {
      lk.unlock();
      const bool ok = reconnect();
      lk.lock();
      if (!ok || stop) break;
      change_pending = true;  // the log may have changed while we were away
    }
    if (change_pending) {
      change_pending = false;
      auto c = ctrl;
      lk.unlock();
      reread(c);
      lk.lock();
    }
  }
}

// Reads the log and reports what changed; a failed read counts as a lost
// connection (the association is no longer trusted).
void DiscoveryWatcher::State::reread(const std::shared_ptr<ControllerImpl>& c) {
  std::vector<wire::DiscoveryEntry> fresh;
  try {
    fresh = read_discovery_log(*c, where);
  } catch (const Error& e) {
    std::lock_guard lk(mu);
    if (!stop) log::warn("{}: reading the discovery log failed: {}; reconnecting", where, e.what());
    lost = true;
    return;
  }
  DiscoveryDiff diff;
  {
    std::lock_guard lk(mu);
    ++rereads;
    diff = diff_discovery_logs(entries, fresh);
    entries = std::move(fresh);
    if (stop) return;
  }
  if (diff.added.empty() && diff.removed.empty()) return;
  for (const auto& e : diff.added)
    log::info("{}: discovery log: added {} at {}:{}", where, e.subnqn, e.traddr, e.trsvcid);
  for (const auto& e : diff.removed)
    log::info("{}: discovery log: removed {} at {}:{}", where, e.subnqn, e.traddr, e.trsvcid);
  on_change(diff);
}

bool DiscoveryWatcher::State::reconnect() {
  std::shared_ptr<ControllerImpl> old;
  {
    std::lock_guard lk(mu);
    old = std::move(ctrl);
  }
  if (old) old->disconnect();
  old.reset();
  const auto delay = std::chrono::milliseconds(uint64_t(opts.reconnect_delay) * opts.recovery_unit_ms);
  for (bool first = true;; first = false) {
    {
      std::unique_lock lk(mu);
      // The first attempt at once (a cut connection to a live target comes back at once).
      if (!first) cv.wait_for(lk, delay, [&] { return stop; });
      if (stop) return false;
    }
    std::shared_ptr<ControllerImpl> c;
    try {
      c = connect();
    } catch (const Error& e) {
      log::warn("{}: reconnect failed: {}; next attempt in {} ms", where, e.what(), delay.count());
      continue;
    }
    {
      std::lock_guard lk(mu);
      if (!stop) {
        ctrl = c;
        lost = false;
        ++reconnects;
        log::info("{}: reconnected", where);
        return true;
      }
    }
    return false;  // stopped during the attempt: the destructor never saw `c`, which disconnects here
  }
}

std::vector<wire::DiscoveryEntry> DiscoveryWatcher::entries() const {
  std::lock_guard lk(state_->mu);
  return state_->entries;
}

bool DiscoveryWatcher::connected() const {
  std::lock_guard lk(state_->mu);
  return state_->ctrl && state_->ctrl->live() && !state_->lost;
}

uint64_t DiscoveryWatcher::rereads() const {
  std::lock_guard lk(state_->mu);
  return state_->rereads;
}

uint64_t DiscoveryWatcher::reconnects() const {
  std::lock_guard lk(state_->mu);
  return state_->reconnects;
}

}  // namespace nvmefs::host
