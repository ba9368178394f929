#include "controller.hpp"

#include <sys/socket.h>

#include <algorithm>

#include "nvmefs/common/log.hpp"

namespace nvmefs::target {
namespace {
// CC / CSTS fields (NVMe Base 2.0 §3.1.4.5, §3.1.4.6).
constexpr uint32_t kCcEnable = 1u << 0;
constexpr uint32_t kCcShnShift = 14;
constexpr uint32_t kCstsReady = 1u << 0;
constexpr uint32_t kCstsShstComplete = 2u << 2;
constexpr uint16_t kMaxCntlid = 0xFFEF;
}  // namespace

Controller::Controller(uint16_t cntlid, std::shared_ptr<Subsystem> subsystem, std::string hostnqn,
                       ControllerLimits limits, uint32_t kato)
    : kato_ms(kato),
      cntlid_(cntlid),
      subsystem_(std::move(subsystem)),
      hostnqn_(std::move(hostnqn)),
      limits_(limits),
      granted_queues_(0),
      queue_fds_(size_t(limits.max_io_queues) + 1, -1) {
  touch();
}

uint64_t Controller::cap() const {
  // NVMe Base 2.0 §3.1.4.1: MQES 15:0 (0-based), CQR bit 16, TO 31:24 in
  // 500 ms units, CSS bit 37 (NVM command set); MPSMIN = MPSMAX = 0 (4 KiB).
  return uint64_t(limits_.queue_size - 1) | (1ull << 16) | (15ull << 24) | (1ull << 37);
}

void Controller::set_cc(uint32_t value) {
  uint32_t old = cc_.exchange(value);
  uint32_t csts = csts_.load();
  if ((value & kCcEnable) && !(old & kCcEnable)) csts = (csts | kCstsReady) & ~(3u << 2);
  if (!(value & kCcEnable) && (old & kCcEnable)) csts &= ~kCstsReady;  // controller reset
  if (((value >> kCcShnShift) & 3) && !((old >> kCcShnShift) & 3)) {
    if (subsystem_)
      subsystem_->namespaces()->for_each([](const Namespace& ns) { ns.storage->flush(); });
    csts |= kCstsShstComplete;
  }
  csts_.store(csts);
}

uint32_t Controller::grant_queues(uint32_t dw11) {
  // NSQR 15:0 and NCQR 31:16 are 0-based; 0xFFFF is invalid (caller checks).
  uint32_t max = limits_.max_io_queues - 1u;
  uint32_t nsq = std::min(dw11 & 0xFFFF, max), ncq = std::min(dw11 >> 16, max);
  granted_queues_.store(nsq | (ncq << 16));
  return granted_queues_.load();
}

bool Controller::keep_alive_expired(Clock::time_point now) const {
  uint32_t kato = kato_ms.load();
  if (kato == 0) return false;
  Clock::time_point last{Clock::duration(last_command_.load(std::memory_order_relaxed))};
  return now - last > std::chrono::milliseconds(kato);
}

bool Controller::attach_queue(uint16_t qid, int fd) {
  std::lock_guard lock(mu_);
  if (dead_ || qid >= queue_fds_.size() || queue_fds_[qid] >= 0) return false;
  queue_fds_[qid] = fd;
  return true;
}

void Controller::detach_queue(uint16_t qid) {
  std::lock_guard lock(mu_);
  if (qid < queue_fds_.size()) queue_fds_[qid] = -1;
}

void Controller::kill() {
  std::lock_guard lock(mu_);
  dead_ = true;
  // shutdown() wakes the queue threads blocked in recv; each closes its own fd.
  for (int fd : queue_fds_)
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

std::shared_ptr<Controller> ControllerRegistry::create(std::shared_ptr<Subsystem> subsystem, const std::string& hostnqn,
                                                       ControllerLimits limits, uint32_t kato_ms) {
  std::lock_guard lock(mu_);
  for (uint32_t tries = 0; tries < kMaxCntlid; ++tries) {
    uint16_t id = next_cntlid_;
    next_cntlid_ = next_cntlid_ == kMaxCntlid ? 1 : uint16_t(next_cntlid_ + 1);
    auto it = controllers_.find(id);
    if (it != controllers_.end() && !it->second.expired()) continue;
    auto ctrl = std::make_shared<Controller>(id, subsystem, hostnqn, limits, kato_ms);
    controllers_[id] = ctrl;
    return ctrl;
  }
  return nullptr;
}

std::shared_ptr<Controller> ControllerRegistry::find(uint16_t cntlid, const Subsystem* subsystem,
                                                     const std::string& hostnqn) {
  std::lock_guard lock(mu_);
  auto it = controllers_.find(cntlid);
  if (it == controllers_.end()) return nullptr;
  auto ctrl = it->second.lock();
  if (!ctrl || ctrl->dead() || ctrl->subsystem() != subsystem || ctrl->hostnqn() != hostnqn) return nullptr;
  return ctrl;
}

void ControllerRegistry::remove(uint16_t cntlid) {
  std::lock_guard lock(mu_);
  controllers_.erase(cntlid);
}

std::vector<std::shared_ptr<Controller>> ControllerRegistry::all() {
  std::vector<std::shared_ptr<Controller>> out;
  std::lock_guard lock(mu_);
  for (auto& [id, weak] : controllers_)
    if (auto ctrl = weak.lock(); ctrl && !ctrl->dead()) out.push_back(std::move(ctrl));
  return out;
}

void ControllerRegistry::expire_keep_alive() {
  auto now = Controller::Clock::now();
  std::lock_guard lock(mu_);
  for (auto& [id, weak] : controllers_) {
    auto ctrl = weak.lock();
    if (ctrl && !ctrl->dead() && ctrl->keep_alive_expired(now)) {
      log::warn("controller {} ({}): keep-alive timeout ({} ms without a command), dropping it", id,
                ctrl->hostnqn(), ctrl->kato_ms.load());
      ctrl->kill();
    }
  }
}

}  // namespace nvmefs::target
