// A scripted NVMe-oF controller behind fake queue pairs, for the
// controller's state machine tests: enough of bring-up (Connect, Property
// Get/Set, Identify, Set Features, AER) and of the NVM command set (Read,
// Write, Flush on RAM) to run I/O, plus switches to take it down: refuse new
// connections, break every connection, stop answering I/O.
#pragma once

#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "nvmefs/common/error.hpp"
#include "nvmefs/transport/queue_pair.hpp"
#include "nvmefs/transport/tcp.hpp"

extern "C" {
#include <nvme/types.h>
}

namespace test {

using nvmefs::transport::DataDir;
namespace wire = nvmefs::wire;

class FakeController;

// One connection: commands are answered on its own thread, as a transport's
// receive thread would.
class FakeQueuePair : public nvmefs::transport::QueuePair {
 public:
  FakeQueuePair(FakeController& ctrl, uint16_t qid) : ctrl_(ctrl), qid_(qid) {}
  ~FakeQueuePair() override;

  void start(nvmefs::transport::QueueEvents* e) override {
    events_ = e;
    thread_ = std::thread([this] { run(); });
  }
  int send_command(wire::Sqe& sqe, void* data, uint32_t len, DataDir dir) override {
    std::lock_guard lk(mu_);
    if (broken_) return -ENOTCONN;
    work_.push_back({sqe, data, len, dir});
    cv_.notify_all();
    return 0;
  }
  void abort(int err, const std::string& why) override {
    std::lock_guard lk(mu_);
    if (!broken_ && !abort_err_) {
      abort_err_ = err;
      why_ = why;
    }
    cv_.notify_all();
  }
  void close() override {
    abort(-ENOTCONN, "closed");
    if (thread_.joinable()) thread_.join();
  }
  void set_max_inline_data(uint32_t) override {}
  bool header_digest() const override { return false; }
  bool data_digest() const override { return false; }
  uint32_t max_h2c_data() const override { return 0; }
  uint16_t qid() const { return qid_; }

 private:
  struct Cmd {
    wire::Sqe sqe;
    void* data;
    uint32_t len;
    DataDir dir;
  };
  void run();

  FakeController& ctrl_;
  const uint16_t qid_;
  nvmefs::transport::QueueEvents* events_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Cmd> work_;
  std::deque<Cmd> held_;  // not answered yet (stalled I/O, AERs): retried every 5 ms
  bool broken_ = false;
  int abort_err_ = 0;
  std::string why_;
  std::thread thread_;
  friend class FakeController;
};

class FakeController {
 public:
  static constexpr uint32_t kLbaShift = 9;
  static constexpr uint64_t kNsze = 2048;  // 1 MiB namespace
  static constexpr const char* kNqn = "nqn.2024-01.io.nvmefs:fake";

  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint8_t> media = std::vector<uint8_t>(kNsze << kLbaShift);
  bool refuse = false;      // new connections fail (target down)
  bool stall_io = false;    // I/O commands are kept, never answered
  bool frozen = false;      // nothing is answered (connections stay up): a hung target
  uint64_t nsze = kNsze;    // namespace 1 as Identify reports it (media follows growth)
  uint8_t lba_ds = kLbaShift;
  bool ns_changed = false;  // answer one outstanding AER with Namespace Attribute Changed
  uint64_t keep_alives = 0; // Keep Alive commands answered
  uint16_t granted_queues = 4;
  uint64_t io_executed = 0;  // I/O commands carried out
  uint64_t connects = 0;    // admin Connects accepted
  std::vector<FakeQueuePair*> open;  // live connections
  uint32_t cc = 0;

  nvmefs::host::ConnectOptions options() const {
    nvmefs::host::ConnectOptions o;
    o.target.traddr = "fake";
    o.target.trsvcid = "4420";
    o.target.subnqn = kNqn;
    o.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001";
    o.hostid = "00000000-0000-0000-0000-000000000001";
    o.nr_io_queues = 2;
    o.queue_size = 16;
    o.keep_alive_tmo = 0;
    o.recovery_unit_ms = 100;  // option "seconds" are 100 ms here
    o.reconnect_delay = 1;
    o.connect_timeout_ms = 2000;
    o.io_timeout_ms = 2000;
    o.admin_timeout_ms = 2000;
    return o;
  }

  std::unique_ptr<nvmefs::transport::QueuePair> connect(const nvmefs::transport::TcpParams& p) {
    std::lock_guard lk(mu);
    if (refuse) throw nvmefs::Error("connect to fake:4420: Connection refused", ECONNREFUSED);
    auto qp = std::make_unique<FakeQueuePair>(*this, p.qid);
    open.push_back(qp.get());
    return qp;
  }

  // Breaks every open connection (the receive threads report it).
  void break_all() {
    std::lock_guard lk(mu);
    for (auto* q : open) q->abort(-ECONNRESET, "connection reset by fake");
  }

  size_t io_done() {
    std::lock_guard lk(mu);
    return io_executed;
  }

  // Answers one command; false: keep it (not answered).
  bool execute(FakeQueuePair& q, const wire::Sqe& s, void* data, uint32_t len, wire::Cqe& c) {
    std::lock_guard lk(mu);
    if (frozen) return false;
    if (s.opcode() == wire::kFabricsOpcode) return fabrics(q, s, c);
    if (q.qid() == 0) return admin(s, data, len, c);
    if (stall_io) return false;
    const uint64_t off = (uint64_t(s.cdw(10)) | uint64_t(s.cdw(11)) << 32) << kLbaShift;
    const uint64_t bytes = uint64_t((s.cdw(12) & 0xFFFF) + 1) << kLbaShift;
    switch (s.opcode()) {
      case 0x01: std::memcpy(&media[off], data, std::min<uint64_t>(bytes, len)); break;   // Write
      case 0x02: std::memcpy(data, &media[off], std::min<uint64_t>(bytes, len)); break;   // Read
      default: break;                                                                   // Flush
    }
    ++io_executed;
    cv.notify_all();
    return true;
  }

 private:
  bool fabrics(FakeQueuePair& q, const wire::Sqe& s, wire::Cqe& c) {
    switch (s.fctype()) {
      case 0x01:  // Connect
        if (q.qid() == 0) ++connects;
        c.set_dw0(1);  // cntlid
        return true;
      case 0x00:  // Property Set (CC)
        cc = s.cdw(12);
        return true;
      case 0x04:  // Property Get
        if (s.cdw(11) == wire::kPropCap) c.set_result64(127 | (1ull << 24));  // MQES 127, TO 500 ms
        if (s.cdw(11) == wire::kPropCsts) c.set_dw0((cc & 1) | ((cc >> 14 & 3) ? 2u << 2 : 0));
        return true;
    }
    c.set_status(wire::status::kInvalidOpcode);
    return true;
  }
  bool admin(const wire::Sqe& s, void* data, uint32_t len, wire::Cqe& c) {
    switch (s.opcode()) {
      case 0x06: {  // Identify
        std::memset(data, 0, len);
        const uint8_t cns = s.cdw(10) & 0xFF;
        if (cns == NVME_IDENTIFY_CNS_CTRL) {
          auto* id = static_cast<nvme_id_ctrl*>(data);
          std::strncpy(id->subnqn, kNqn, sizeof id->subnqn);
          std::memset(id->mn, ' ', sizeof id->mn);
          id->ioccsz = 4 + 4096 / 16;
          id->aerl = 0;
        } else if (cns == NVME_IDENTIFY_CNS_NS_ACTIVE_LIST) {
          if (s.nsid() == 0) static_cast<uint32_t*>(data)[0] = 1;
        } else if (cns == NVME_IDENTIFY_CNS_NS) {
          auto* id = static_cast<nvme_id_ns*>(data);
          id->nsze = id->ncap = nsze;
          id->lbaf[0].ds = lba_ds;
        }
        return true;
      }
      case 0x09:  // Set Features: Number of Queues
        c.set_dw0(uint32_t(granted_queues - 1) | (uint32_t(granted_queues - 1) << 16));
        return true;
      case 0x18: ++keep_alives; return true;  // Keep Alive
      case 0x0C:  // AER: outstanding until a notice is due
        if (!ns_changed) return false;
        ns_changed = false;
        c.set_dw0(0x2 | (0x00 << 8) | (0x04 << 16));  // Notice, Namespace Attribute Changed, log 04h
        return true;
      default: return true;
    }
  }
};

inline void FakeQueuePair::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait_for(lk, std::chrono::milliseconds(5), [&] { return abort_err_ || !work_.empty(); });
    if (abort_err_) break;
    std::deque<Cmd> todo;
    todo.swap(held_);
    for (auto& w : work_) todo.push_back(w);
    work_.clear();
    lk.unlock();
    std::deque<Cmd> kept;
    for (auto& cmd : todo) {
      wire::Cqe c;
      c.set_cid(cmd.sqe.cid());
      if (ctrl_.execute(*this, cmd.sqe, cmd.data, cmd.len, c))
        events_->on_completion(c);
      else
        kept.push_back(cmd);
    }
    lk.lock();
    held_ = std::move(kept);
  }
  broken_ = true;
  const int err = abort_err_;
  const std::string why = why_;
  lk.unlock();
  {
    std::lock_guard clk(ctrl_.mu);
    std::erase(ctrl_.open, this);
  }
  events_->on_broken(err, why);
}

inline FakeQueuePair::~FakeQueuePair() {
  close();
  std::lock_guard lk(ctrl_.mu);
  std::erase(ctrl_.open, this);
}

}  // namespace test
