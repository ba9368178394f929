// The Controller implementation. Split by job over three files:
//   controller_impl.cpp     bring-up on fresh connections (NVMe-oF 1.1 §3.3,
//                           NVMe Base 2.0 §3.5.2), synchronous admin commands,
//                           orderly shutdown;
//   controller_recovery.cpp the state machine: the timer thread (command
//                           deadlines, Keep Alive, fast_io_fail/ctrl_loss
//                           deadlines) and the recovery thread (reconnects);
//   controller_events.cpp   Asynchronous Event Requests and namespace rescans.
//
// Failure policy lives here and nowhere else: any broken queue or timed-out
// command takes the whole controller down (Connecting); the recovery thread
// then builds a new association on the same Queue objects (Queue::attach),
// which keep the I/O in flight parked and re-send it (Queue::open_io).
//
// Threads and locks:
//   * receive threads (one per queue): completions; on_queue_broken();
//     AER completions (which only set flags and wake the recovery thread);
//   * timer thread: reads admin_ and io_->queues[0..count) (published with
//     release, see io_queues.hpp), aborts expired queues, Keep Alive,
//     moves Connecting -> Dead and releases held I/O at the deadlines;
//   * recovery thread: every reconnect attempt and every rescan, so admin
//     commands of recovery never run on a receive thread;
//   * callers: connect()/bring_up() (initial bring-up, before the recovery
//     thread exists), admin_command(), disconnect(), reconnect().
// state_mu_ guards the recovery fields below; it is never held while
// calling into a Queue that could call back (abort, set_hold, open_io) nor
// while calling the observer. Lock order: Queue::qp_mu_ -> Queue::mu_;
// hold_mu_ -> state_mu_; state_mu_ and ns_mu_ are leaves.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <chrono>
#include <mutex>
#include <thread>

#include "auth_dhchap.hpp"
#include "host_identity.hpp"
#include "io_queues.hpp"
#include "namespace_impl.hpp"
#include "nvmefs/host/controller.hpp"
#include "nvmefs/transport/tcp.hpp"

namespace nvmefs::host {

class ControllerImpl final : public Controller {
 public:
  // discovery: admin queue only, no Keep Alive, no namespaces, no reconnect.
  ControllerImpl(const ConnectOptions& opts, bool discovery);
  ~ControllerImpl() override;

  // Runs the whole first bring-up; throws nvmefs::Error (one line).
  void bring_up();

  // Tests: opens queue pairs instead of tcp_connect/rdma_connect (throws
  // nvmefs::Error like them). Set before bring_up().
  using TransportFactory =
      std::function<std::unique_ptr<transport::QueuePair>(const transport::TcpParams&, uint32_t timeout_ms)>;
  void set_transport_factory(TransportFactory f) { transport_factory_ = std::move(f); }
  // A persistent discovery controller (NVMe-oF: KATO nonzero): Connect sends
  // KATO, Keep Alive runs, and AERs are armed for the Discovery Log Page
  // Change notice. Still no reconnect (the owner reconnects). Before bring_up().
  void set_persistent_discovery() { persistent_ = true; }

  const ControllerInfo& info() const override { return info_; }
  const ConnectOptions& options() const override { return opts_; }
  std::vector<std::shared_ptr<Namespace>> namespaces() const override;
  std::shared_ptr<Namespace> ns(uint32_t nsid) const override;
  int admin_command(wire::Sqe sqe, void* data, uint32_t len, wire::Cqe* cqe = nullptr) override;
  void disconnect() override;
  bool live() const override { return state_.load() == ControllerState::Live; }
  ControllerState state() const override { return state_.load(); }
  ControllerStats stats() const override;
  void reconnect() override;
  void set_observer(std::shared_ptr<ControllerObserver> observer) override;

 private:
  using Clock = std::chrono::steady_clock;

  // ---- bring-up (controller_impl.cpp) ----
  // One full bring-up on new connections: admin queue, enable, identify,
  // I/O queues (created when `first`, re-attached otherwise), AERs.
  void establish(bool first);
  std::unique_ptr<transport::QueuePair> connect_transport(uint16_t qid, uint16_t entries);
  void attach_and_connect(Queue& q, uint16_t entries);
  // One command on `q`, waiting for its completion (the timer bounds the wait).
  // Connect and authentication pass SlotPool::Reserved (queue.hpp).
  int run(Queue& q, const wire::Sqe& sqe, void* data, uint32_t len, transport::DataDir dir, wire::Cqe* cqe,
          uint32_t timeout_ms, SlotPool pool = SlotPool::Regular);
  // As run() on the admin queue during bring-up: NVMe errors and timeouts throw.
  wire::Cqe setup_command(const char* what, const wire::Sqe& sqe, void* data = nullptr, uint32_t len = 0,
                          transport::DataDir dir = transport::DataDir::None);
  void fabrics_connect(Queue& q, uint16_t qid, uint16_t entries);
  void authenticate(Queue& q, uint16_t qid, uint32_t connect_dw0);
  uint64_t property_get(uint32_t offset, bool eight_bytes);
  void enable();
  void identify_controller();
  void check_same_subsystem();
  uint16_t negotiate_queue_count(uint32_t asked);
  std::vector<uint32_t> active_nsids();
  std::shared_ptr<NamespaceImpl> identify_namespace(uint32_t nsid, nvme_id_ns& id);
  void find_namespaces();
  void shutdown_controller();
  uint32_t bring_up_ms_left() const;  // throws when connect_timeout_ms has passed
  std::string where() const;

  // ---- state machine (controller_recovery.cpp) ----
  uint64_t unit_ms(int32_t value) const { return uint64_t(value) * opts_.recovery_unit_ms; }
  void timer_loop();
  void check_command_deadlines(uint64_t now);
  void check_recovery_deadlines(uint64_t now);
  void send_keep_alive(uint64_t now);
  static void keep_alive_done(void* ctx, int err, const wire::Cqe* cqe);
  void recovery_loop();
  void attempt_reconnect();
  bool commit_reconnect();  // Connecting -> Live, unless a queue broke meanwhile or the controller died
  void on_queue_broken(Queue& q, int err, const std::string& why);
  void set_state(ControllerState s);  // under state_mu_; the observer is told by the caller
  void notify_state(ControllerState s);
  void set_io_hold(bool hold, int err);
  void close_all_queues();
  template <typename F> void for_each_queue(F&& f);

  // ---- asynchronous events and rescans (controller_events.cpp) ----
  void configure_async_events();
  void arm_async_events();
  static void async_event_done(void* ctx, int err, const wire::Cqe* cqe);
  void rescan_namespaces();
  void notify_namespace(const NamespaceChange& change);

  const ConnectOptions opts_;
  const bool discovery_;
  bool persistent_ = false;              // discovery_ only: see set_persistent_discovery()
  bool keeps_alive() const { return !discovery_ || persistent_; }
  TransportFactory transport_factory_;
  HostIdentity host_;
  std::unique_ptr<Authenticator> auth_;  // secrets (wiped on destruction) and transaction counters
  ControllerInfo info_;                  // as of the first connect (cntlid_ follows reconnects)
  uint16_t cntlid_ = 0;                  // of the current association
  uint16_t connected_io_queues_ = 0;     // I/O queues the last bring-up connected
  std::atomic<bool> first_bring_up_{true};  // bring_up() running: info_ being filled, no recovery deadlines yet
  Clock::time_point bring_up_deadline_;
  std::atomic<bool> closing_{false};     // disconnect() running: broken queues are expected
  std::atomic<bool> enabled_{false};

  std::unique_ptr<Queue> admin_;         // created before the timer starts, never replaced
  std::shared_ptr<IoQueues> io_ = std::make_shared<IoQueues>();

  mutable std::mutex ns_mu_;             // namespaces_
  std::vector<std::shared_ptr<NamespaceImpl>> namespaces_;

  std::atomic<ControllerState> state_{ControllerState::Connecting};  // written under state_mu_
  std::mutex hold_mu_;                   // orders changes of the queues' hold policy with state changes (taken before state_mu_)
  mutable std::mutex state_mu_;
  std::condition_variable state_cv_;     // wakes the recovery thread
  bool stop_ = false;                    // threads exit
  uint64_t lost_at_ms_ = 0;              // when the connection was lost (or reconnect() was called)
  uint64_t next_attempt_ms_ = 0;
  bool io_failed_fast_ = false;          // fast_io_fail_tmo fired for this outage
  bool rescan_pending_ = false;          // an AER asked for a namespace rescan
  uint64_t reconnects_ = 0, attempts_ = 0, last_recovery_ms_ = 0;
  std::string last_error_;
  std::shared_ptr<ControllerObserver> observer_;

  uint32_t kato_ms_ = 0;                  // Keep Alive Timeout sent in the admin Connect (0: no Keep Alive)
  std::atomic<uint64_t> ka_deadline_ms_{0};  // the Keep Alive in flight must complete by then (0: none in flight)

  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  bool timer_stop_ = false;
  std::thread timer_;
  std::thread recovery_;
  std::once_flag disconnect_once_;
};

}  // namespace nvmefs::host
