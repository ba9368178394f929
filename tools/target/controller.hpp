// A controller: what one host sees after an admin-queue Connect, shared by
// that admin queue and the I/O queues that attach to it (one connection and
// thread each). Also the registry that hands out controller IDs and enforces
// the keep-alive timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "async_events.hpp"
#include "subsystem.hpp"

namespace nvmefs::target {

struct ControllerLimits {
  uint16_t max_io_queues = 0;
  uint16_t queue_size = 0;  // CAP.MQES + 1
};

class Controller {
 public:
  using Clock = std::chrono::steady_clock;

  // `subsystem` is nullptr for a discovery controller.
  Controller(uint16_t cntlid, std::shared_ptr<Subsystem> subsystem, std::string hostnqn, ControllerLimits limits,
             uint32_t kato_ms);

  uint16_t cntlid() const { return cntlid_; }
  Subsystem* subsystem() const { return subsystem_.get(); }
  bool is_discovery() const { return subsystem_ == nullptr; }
  const std::string& hostnqn() const { return hostnqn_; }
  const ControllerLimits& limits() const { return limits_; }

  // ---- properties (NVMe Base 2.0 §3.1.4) ----
  uint64_t cap() const;
  uint32_t cc() const { return cc_.load(); }
  uint32_t csts() const { return csts_.load(); }
  bool ready() const { return csts_.load() & 1; }
  // Applies a write to CC: EN 0->1 sets CSTS.RDY, EN 1->0 clears it, a
  // shutdown notification flushes the namespaces and reports SHST complete.
  void set_cc(uint32_t value);

  // ---- features (NVMe Base 2.0 §5.27.1) ----
  std::atomic<uint32_t> kato_ms;               // Keep Alive Timer, 0 = disabled
  std::atomic<uint32_t> async_event_config{0};
  std::atomic<bool> write_cache_enabled{true};
  // Asynchronous Event Configuration bits (§5.27.1.7, Figure 323).
  static constexpr uint32_t kAecNamespaceAttribute = 1u << 8;
  static constexpr uint32_t kAecDiscoveryLogChange = 1u << 31;
  AsyncEvents& events() { return events_; }
  // Number of Queues: grants min(requested, limit) and returns it 0-based (NSQA | NCQA << 16).
  uint32_t grant_queues(uint32_t requested_dw11);
  uint32_t granted_queues() const { return granted_queues_.load(); }

  // ---- keep-alive (NVMe Base 2.0 §3.9.5; CTRATT.TBKAS: any command restarts the timer) ----
  void touch() { last_command_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed); }
  bool keep_alive_expired(Clock::time_point now) const;

  // ---- queues (one TCP connection each) ----
  // False if qid is out of range or already connected.
  bool attach_queue(uint16_t qid, int fd);
  void detach_queue(uint16_t qid);
  // Drops every connection of this controller (keep-alive timeout, admin queue gone).
  void kill();
  bool dead() const { return dead_.load(); }

 private:
  const uint16_t cntlid_;
  const std::shared_ptr<Subsystem> subsystem_;  // kept alive while a removed subsystem's controllers end
  AsyncEvents events_;
  const std::string hostnqn_;
  const ControllerLimits limits_;
  std::atomic<uint32_t> cc_{0}, csts_{0};
  std::atomic<uint32_t> granted_queues_;
  std::atomic<Clock::rep> last_command_;
  std::atomic<bool> dead_{false};
  std::mutex mu_;              // guards queue_fds_
  std::vector<int> queue_fds_; // index qid, -1 = not connected
};

class ControllerRegistry {
 public:
  // A new controller with a free ID (1..0xFFEF, NVMe Base 2.0 §5.15.2.2), or nullptr if none is free.
  std::shared_ptr<Controller> create(std::shared_ptr<Subsystem> subsystem, const std::string& hostnqn, ControllerLimits limits,
                                     uint32_t kato_ms);
  // The live controller `cntlid` if it belongs to that subsystem and host.
  std::shared_ptr<Controller> find(uint16_t cntlid, const Subsystem* subsystem, const std::string& hostnqn);
  void remove(uint16_t cntlid);
  // The live controllers (for events and subsystem removal).
  std::vector<std::shared_ptr<Controller>> all();
  // Kills controllers whose keep-alive timer expired; called periodically.
  void expire_keep_alive();

 private:
  std::mutex mu_;
  std::map<uint16_t, std::weak_ptr<Controller>> controllers_;
  uint16_t next_cntlid_ = 1;
};

}  // namespace nvmefs::target
