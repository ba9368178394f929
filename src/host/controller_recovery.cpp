// The controller's state machine (controller.hpp: Live / Connecting / Dead /
// Deleting), modelled on the Linux host (drivers/nvme/host/fabrics.c,
// tcp.c error recovery): one place decides; transports only report
// "connection broken".
//
//   Live --queue broken / command or Keep Alive timeout--> Connecting
//   Connecting --bring-up succeeded--> Live    (held I/O re-sent)
//   Connecting --fast_io_fail_tmo--> Connecting, held and new I/O fail with -EIO
//   Connecting --ctrl_loss_tmo--> Dead         (held and new I/O fail with -EIO)
//   Dead --reconnect()--> Connecting
//   any --disconnect()--> Deleting
//
// The first attempt runs at once (a cut connection to a live target comes
// back without waiting), the next ones every reconnect_delay (Linux waits
// reconnect_delay before the first one too).
#include <fmt/core.h>

#include "controller_impl.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"

namespace nvmefs::host {

using transport::DataDir;

namespace {
constexpr uint32_t kTimerTickMs = 50;
}  // namespace

const char* controller_state_name(ControllerState s) {
  switch (s) {
    case ControllerState::Live: return "live";
    case ControllerState::Connecting: return "connecting";
    case ControllerState::Dead: return "dead";
    case ControllerState::Deleting: return "deleting";
  }
  return "?";
}

template <typename F>
void ControllerImpl::for_each_queue(F&& f) {
  if (admin_) f(*admin_);
  const size_t n = io_->count.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i) f(*io_->queues[i]);
}

void ControllerImpl::set_state(ControllerState s) { state_.store(s); }

void ControllerImpl::notify_state(ControllerState s) {
  std::shared_ptr<ControllerObserver> o;
  {
    std::lock_guard lk(state_mu_);
    o = observer_;
  }
  if (o) o->on_state_change(s);
}

void ControllerImpl::set_observer(std::shared_ptr<ControllerObserver> observer) {
  std::lock_guard lk(state_mu_);
  observer_ = std::move(observer);
}

// Under hold_mu_ (callers), so hold changes and state changes stay in order.
void ControllerImpl::set_io_hold(bool hold, int err) {
  const size_t n = io_->count.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; ++i) io_->queues[i]->set_hold(hold, err);
}

void ControllerImpl::close_all_queues() {
  for_each_queue([](Queue& q) { q.close(); });
}

ControllerStats ControllerImpl::stats() const {
  std::lock_guard lk(state_mu_);
  ControllerStats s;
  s.state = state_.load();
  s.reconnects = reconnects_;
  s.reconnect_attempts = attempts_;
  s.last_error = last_error_;
  s.down_ms = s.state == ControllerState::Live ? 0 : int64_t(now_ms() - lost_at_ms_);
  s.last_recovery_ms = last_recovery_ms_;
  return s;
}

void ControllerImpl::on_queue_broken(Queue& q, int, const std::string& why) {
  if (closing_) return;
  ControllerState entered = ControllerState::Connecting;
  {
    std::lock_guard lk(state_mu_);
    // Not live: the initial bring-up or a reconnect attempt sees the failure
    // itself; a dead controller has nothing left to lose.
    if (state_.load() != ControllerState::Live) return;
    entered = discovery_ ? ControllerState::Dead : ControllerState::Connecting;
    set_state(entered);
    lost_at_ms_ = next_attempt_ms_ = now_ms();
    io_failed_fast_ = false;
    last_error_ = fmt::format("queue {}: {}", q.qid(), why);
  }
  log::error("{} on {}: queue {} failed ({}); {}", opts_.target.subnqn, where(), q.qid(), why,
             discovery_ ? "controller is down" : "reconnecting");
  state_cv_.notify_all();
  // One queue down takes the association down: break the others too (their
  // I/O is parked in its slots for the reconnect, see queue.hpp).
  for_each_queue([&](Queue& other) {
    if (&other != &q) other.abort(-ENOTCONN, "controller reset");
  });
  // The state this outage entered, even if a quick reconnect already left it.
  notify_state(entered);
}

void ControllerImpl::timer_loop() {
  kato_ms_ = keeps_alive() ? opts_.keep_alive_tmo * 1000 : 0;
  const uint32_t ka_interval = kato_ms_ / 2;
  uint64_t next_ka = now_ms() + ka_interval;
  std::unique_lock lk(timer_mu_);
  while (!timer_cv_.wait_for(lk, std::chrono::milliseconds(kTimerTickMs), [&] { return timer_stop_; })) {
    lk.unlock();
    const uint64_t now = now_ms();
    check_command_deadlines(now);
    if (ka_interval && live() && now >= next_ka) {
      next_ka = now + ka_interval;
      send_keep_alive(now);
    }
    check_recovery_deadlines(now);
    lk.lock();
  }
}

// Keep Alive every KATO/2 (NVMe Base 2.0 §3.9.4), one at a time, in the
// admin queue's reserved slot, with a deadline of KATO (the Linux host's
// nvme_keep_alive_work: rq->timeout = kato). A Keep Alive that times out or
// fails takes the connection down (recovery follows), so a target that stops
// answering with TCP still up is noticed within about 1.5 x KATO.
void ControllerImpl::send_keep_alive(uint64_t now) {
  uint64_t none = 0;
  if (!ka_deadline_ms_.compare_exchange_strong(none, now + kato_ms_)) return;  // the previous one is still out
  if (admin_->issue(wire::cmd::keep_alive(), nullptr, 0, DataDir::None, keep_alive_done, this, kato_ms_,
                    SlotPool::Reserved) != 0)
    ka_deadline_ms_.store(0);  // queue down (recovery is on it) or reserved slot busy
}

void ControllerImpl::keep_alive_done(void* ctx, int err, const wire::Cqe* cqe) {
  auto* self = static_cast<ControllerImpl*>(ctx);
  self->ka_deadline_ms_.store(0);
  if (err != 0 || !cqe || cqe->status() == 0) return;  // a timeout or break already took the queue down
  log::error("{} on {}: Keep Alive failed with status {:#x} ({})", self->opts_.target.subnqn, self->where(),
             cqe->status(), wire::status_name(cqe->status()));
  self->admin_->abort(-EIO, fmt::format("Keep Alive failed with status {:#x}", cqe->status()));
}

void ControllerImpl::check_command_deadlines(uint64_t now) {
  const uint64_t ka_deadline = ka_deadline_ms_.load();
  for_each_queue([&](Queue& q) {
    if (!q.live() || !q.has_expired(now)) return;
    if (&q == admin_.get() && ka_deadline && ka_deadline <= now) {
      log::error("{} on {}: no answer to Keep Alive within KATO ({} ms)", opts_.target.subnqn, where(), kato_ms_);
      q.abort(-ETIMEDOUT, "Keep Alive timed out");
      return;
    }
    log::error("{} on {}: command on queue {} timed out", opts_.target.subnqn, where(), q.qid());
    q.abort(-ETIMEDOUT, "command timed out");
  });
}

void ControllerImpl::check_recovery_deadlines(uint64_t now) {
  std::lock_guard hold_lk(hold_mu_);
  bool fail_fast = false, dead = false;
  {
    std::lock_guard lk(state_mu_);
    // The first bring-up is Connecting too, but has its own deadline (connect_timeout_ms).
    if (state_.load() != ControllerState::Connecting || first_bring_up_) return;
    if (opts_.fast_io_fail_tmo >= 0 && !io_failed_fast_ && now >= lost_at_ms_ + unit_ms(opts_.fast_io_fail_tmo))
      io_failed_fast_ = fail_fast = true;
    if (opts_.ctrl_loss_tmo >= 0 && now >= lost_at_ms_ + unit_ms(opts_.ctrl_loss_tmo)) {
      set_state(ControllerState::Dead);
      dead = true;
    }
  }
  if (dead) {
    log::error("{} on {}: controller lost for {} s (ctrl_loss_tmo): giving up, I/O fails", opts_.target.subnqn,
               where(), opts_.ctrl_loss_tmo);
    set_io_hold(false, -EIO);
    // An attempt in progress fails on these; it then closes what it opened.
    for_each_queue([](Queue& q) { q.abort(-ENOTCONN, "controller dead"); });
    state_cv_.notify_all();
    notify_state(ControllerState::Dead);
  } else if (fail_fast) {
    log::warn("{} on {}: fast_io_fail_tmo passed: failing queued I/O while reconnecting", opts_.target.subnqn,
              where());
    set_io_hold(false, -EIO);
  }
}

void ControllerImpl::recovery_loop() {
  std::unique_lock lk(state_mu_);
  while (!stop_) {
    const uint64_t now = now_ms();
    const ControllerState s = state_.load();
    if (rescan_pending_ && s == ControllerState::Live) {
      rescan_pending_ = false;
      lk.unlock();
      rescan_namespaces();
      lk.lock();
    } else if (s == ControllerState::Connecting && now >= next_attempt_ms_) {
      ++attempts_;
      lk.unlock();
      attempt_reconnect();
      lk.lock();
    } else if (s == ControllerState::Connecting) {
      state_cv_.wait_for(lk, std::chrono::milliseconds(next_attempt_ms_ - now));
    } else {
      state_cv_.wait(lk);
    }
  }
}

void ControllerImpl::attempt_reconnect() {
  log::info("{} on {}: reconnecting", opts_.target.subnqn, where());
  close_all_queues();  // the old connections: receive threads joined, I/O parked in the slots
  std::string error;
  try {
    establish(false);
    if (commit_reconnect()) return;
    error = "connection lost again during reconnect";
  } catch (const Error& e) {
    error = e.what();
  }
  close_all_queues();
  {
    std::lock_guard lk(state_mu_);
    if (state_.load() != ControllerState::Connecting) return;  // dead or deleting meanwhile
    last_error_ = error;
    next_attempt_ms_ = now_ms() + unit_ms(int32_t(opts_.reconnect_delay));
  }
  log::warn("{} on {}: reconnect failed: {}; next attempt in {} ms", opts_.target.subnqn, where(), error,
            unit_ms(int32_t(opts_.reconnect_delay)));
}

bool ControllerImpl::commit_reconnect() {
  const size_t nr = connected_io_queues_;
  uint64_t down = 0;
  {
    std::lock_guard hold_lk(hold_mu_);
    std::lock_guard lk(state_mu_);
    if (stop_ || state_.load() != ControllerState::Connecting) return false;
    // A queue that broke before this point was ignored by on_queue_broken
    // (not live yet); one that breaks after it finds the state Live.
    if (!admin_->live()) return false;
    for (size_t i = 0; i < nr; ++i)
      if (!io_->queues[i]->live()) return false;
    set_state(ControllerState::Live);
    if (!first_bring_up_) {
      down = now_ms() - lost_at_ms_;
      ++reconnects_;
      last_recovery_ms_ = down;
      rescan_pending_ = true;  // namespaces may have changed while we were away
    }
    io_->active.store(nr, std::memory_order_release);
    // Hold I/O over the next outage (fast_io_fail_tmo may have released it).
    // set_hold(true) completes nothing, so it may run under state_mu_.
    if (!discovery_)
      for (size_t i = 0; i < nr; ++i) io_->queues[i]->set_hold(true, -EIO);
  }
  const size_t total = io_->count.load(std::memory_order_acquire);
  if (total > nr) {
    std::lock_guard hold_lk(hold_mu_);
    log::warn("{} on {}: controller granted {} I/O queues instead of {}; requests queued on the others fail",
              opts_.target.subnqn, where(), nr, total);
    for (size_t i = nr; i < total; ++i) io_->queues[i]->set_hold(false, -EIO);
  }
  for (size_t i = 0; i < nr; ++i) io_->queues[i]->open_io();
  if (!first_bring_up_) {
    log::info("{} on {}: reconnected after {} ms (cntlid {})", opts_.target.subnqn, where(), down, cntlid_);
    state_cv_.notify_all();
    notify_state(ControllerState::Live);
  }
  return true;
}

void ControllerImpl::reconnect() {
  {
    std::lock_guard hold_lk(hold_mu_);
    std::lock_guard lk(state_mu_);
    const ControllerState s = state_.load();
    if (discovery_ || stop_ || (s != ControllerState::Dead && s != ControllerState::Connecting)) return;
    next_attempt_ms_ = now_ms();
    if (s == ControllerState::Dead) {
      set_state(ControllerState::Connecting);
      lost_at_ms_ = next_attempt_ms_;  // ctrl_loss_tmo counts from now
      io_failed_fast_ = false;
      for (size_t i = 0; i < io_->count.load(std::memory_order_acquire); ++i) io_->queues[i]->set_hold(true, -EIO);
    }
  }
  log::info("{} on {}: reconnect requested", opts_.target.subnqn, where());
  state_cv_.notify_all();
  notify_state(ControllerState::Connecting);
}

void ControllerImpl::disconnect() {
  std::call_once(disconnect_once_, [this] {
    closing_ = true;
    ControllerState was;
    {
      std::lock_guard hold_lk(hold_mu_);
      {
        std::lock_guard lk(state_mu_);
        was = state_.load();
        set_state(ControllerState::Deleting);
        stop_ = true;
      }
      set_io_hold(false, -ENOTCONN);  // held I/O fails now, new I/O at once
    }
    state_cv_.notify_all();
    // A reconnect attempt in progress fails on these at its next command.
    if (was != ControllerState::Live)
      for_each_queue([](Queue& q) { q.abort(-ENOTCONN, "controller deleted"); });
    if (recovery_.joinable()) recovery_.join();
    const size_t n = io_->count.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i) io_->queues[i]->close();  // in-flight I/O completes with -ENOTCONN
    if (admin_ && was == ControllerState::Live && enabled_) shutdown_controller();
    {
      std::lock_guard lk(timer_mu_);
      timer_stop_ = true;
    }
    timer_cv_.notify_all();
    if (timer_.joinable()) timer_.join();
    if (admin_) admin_->close();
  });
}

}  // namespace nvmefs::host
