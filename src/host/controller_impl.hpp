// The Controller implementation: bring-up (NVMe-oF 1.1 §3.3, NVMe Base 2.0
// §3.5.2), synchronous admin commands, the timer thread (command deadlines,
// Keep Alive) and orderly shutdown. Failure policy lives here and nowhere
// else: any broken queue or timed-out command fails the whole controller.
#pragma once

#include <atomic>
#include <condition_variable>
#include <chrono>
#include <mutex>
#include <thread>

#include "auth_dhchap.hpp"
#include "host_identity.hpp"
#include "io_queues.hpp"
#include "namespace_impl.hpp"
#include "nvmefs/host/controller.hpp"

namespace nvmefs::host {

class ControllerImpl final : public Controller {
 public:
  // discovery: admin queue only, no Keep Alive, no namespaces.
  ControllerImpl(const ConnectOptions& opts, bool discovery);
  ~ControllerImpl() override;

  // Runs the whole bring-up; throws nvmefs::Error (one line).
  void bring_up();

  const ControllerInfo& info() const override { return info_; }
  const ConnectOptions& options() const override { return opts_; }
  std::vector<std::shared_ptr<Namespace>> namespaces() const override;
  std::shared_ptr<Namespace> ns(uint32_t nsid) const override;
  int admin_command(wire::Sqe sqe, void* data, uint32_t len, wire::Cqe* cqe = nullptr) override;
  void disconnect() override;
  bool live() const override { return live_.load(); }

 private:
  using Clock = std::chrono::steady_clock;

  // One command on `q`, waiting for its completion (the timer bounds the wait).
  int run(Queue& q, const wire::Sqe& sqe, void* data, uint32_t len, transport::DataDir dir, wire::Cqe* cqe,
          uint32_t timeout_ms);
  // As run() on the admin queue during bring-up: NVMe errors and timeouts throw.
  wire::Cqe setup_command(const char* what, const wire::Sqe& sqe, void* data = nullptr, uint32_t len = 0,
                          transport::DataDir dir = transport::DataDir::None);
  std::unique_ptr<Queue> open_queue(uint16_t qid, uint16_t entries);
  void fabrics_connect(Queue& q, uint16_t qid, uint16_t entries);
  void authenticate(Queue& q, uint16_t qid, uint32_t connect_dw0);
  uint64_t property_get(uint32_t offset, bool eight_bytes);
  void enable();
  void identify_controller();
  uint16_t negotiate_queue_count();
  void find_namespaces();
  void start_timer();
  void timer_loop();
  void on_queue_broken(Queue& q, int err, const std::string& why);
  void shutdown_controller();
  uint32_t bring_up_ms_left() const;  // throws when connect_timeout_ms has passed
  std::string where() const;


  const ConnectOptions opts_;
  const bool discovery_;
  HostIdentity host_;
  std::unique_ptr<Authenticator> auth_;  // secrets (wiped on destruction) and transaction counters
  ControllerInfo info_;
  Clock::time_point bring_up_deadline_;
  std::atomic<bool> bringing_up_{true};  // I/O queue list still changing
  std::atomic<bool> closing_{false};     // disconnect() running: broken queues are expected
  bool enabled_ = false;

  std::unique_ptr<Queue> admin_;
  std::shared_ptr<IoQueues> io_ = std::make_shared<IoQueues>();
  std::vector<std::shared_ptr<NamespaceImpl>> namespaces_;

  std::atomic<bool> live_{false};
  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  bool timer_stop_ = false;
  std::thread timer_;
  std::once_flag disconnect_once_;
};

}  // namespace nvmefs::host
