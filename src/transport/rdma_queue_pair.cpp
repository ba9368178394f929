// NVMe/RDMA queue pair, host side (NVMe-oF 1.1 §7.3; NVMe/RDMA transport spec).
//
// Wire: each command capsule (SQE + in-capsule data) goes by SEND; each
// response capsule (CQE only) lands in one of the receive buffers posted
// before the connect (§7.3.3: the host must have a receive posted for every
// response it can get, i.e. one per command slot). Data that is not in-capsule
// is described by a keyed SGL data block descriptor (type 4h, NVMe Base 2.0
// §4.3.2.3.2 / Figure 121) and moved by the controller with RDMA READ (host to
// controller) or RDMA WRITE (controller to host).
//
// Memory: one registered slab holds, per CID, the 64-byte SQE followed by a
// data slot of kSlotDataBytes, the receive buffers, and an arena of
// kArenaChunks chunks for larger transfers. Data is copied through the slab
// (in-capsule data, the CID's slot, or a run of arena chunks): no
// registration per I/O, and no cached registration that could outlive the
// caller's buffer (a freed and re-mapped buffer at the same address would
// silently get the old pages: seen with nvmefs-perf, whose buffers come and go
// between phases). The copy costs far less than a soft-RoCE round trip. When
// the arena is full, that one command registers its buffer for its own
// lifetime. Callers whose buffers stay mapped for the connection's life may
// opt into zero-copy through the registration cache
// (RdmaParams::registration_cache_bytes, rdma_mr_cache.hpp).
//
// Threads: send_command() posts the SEND from the caller's thread (under
// send_mu_, like TCP). One completion thread per queue pair sleeps on the CQ's
// completion channel, the CM event channel (disconnects) and an eventfd
// (abort/close), and delivers completions upward. A command completes once
// both its response and its SEND completion were seen (the slot's SQE buffer
// may only be reused then). A failure is recorded once; the QP is moved to
// the error state (rdma_disconnect), which stops all remote access to our
// memory, and the thread reports on_broken() exactly once.
#include <fcntl.h>
#include <infiniband/verbs.h>
#include <poll.h>
#include <rdma/rdma_cma.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/transport/rdma.hpp"
#include "rdma_cm_data.hpp"
#include "rdma_cm_wait.hpp"
#include "rdma_mr_cache.hpp"

namespace nvmefs::transport {

using namespace rdma;

namespace {

constexpr uint32_t kSqeBytes = 64;
constexpr uint32_t kCqeBytes = 16;
constexpr uint32_t kSlotDataBytes = 16384;          // bounce / in-capsule data per CID
constexpr uint32_t kSlotBytes = kSqeBytes + kSlotDataBytes;
constexpr uint32_t kArenaChunks = 64;               // one bit each in a uint64_t
constexpr uint32_t kArenaChunkBytes = 64 * 1024;    // 4 MiB of bounce arena per queue
constexpr uint32_t kMaxKeyedLength = 0xFFFFFF;      // keyed SGL LENGTH is 24 bits
constexpr uint64_t kRecvTag = 1ull << 32;           // wr_id of receives: tag | index; sends: CID
constexpr int kMaxResponderResources = 16;          // as the Linux host
constexpr int kPollBatch = 16;

struct CmdState {
  void* buf = nullptr;
  uint32_t len = 0;
  DataDir dir = DataDir::None;
  uint8_t* bounce = nullptr;            // where the data sits in the slab (slot or arena), if copied
  int arena_first = -1;                 // arena chunks held: [first, first + count)
  uint32_t arena_count = 0;
  uint32_t rkey = 0;                    // the key offered in the SGL (0: none)
  MrCache::Entry* mr = nullptr;         // cache entry while the command runs (opt-in zero-copy)
  ibv_mr* own_mr = nullptr;             // registration for this command only (arena full)
  bool send_done = false, resp_seen = false;
  wire::Cqe cqe;
  std::atomic<bool> in_flight{false};
};

class VerbsRegistrar final : public Registrar {
 public:
  explicit VerbsRegistrar(ibv_pd*& pd) : pd_(pd) {}
  void* reg(void* addr, size_t len, MrKeys& keys) override {
    ibv_mr* mr = ibv_reg_mr(pd_, addr, len, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
    if (mr) keys = {mr->lkey, mr->rkey};
    return mr;
  }
  void dereg(void* handle) override { ibv_dereg_mr(static_cast<ibv_mr*>(handle)); }

 private:
  ibv_pd*& pd_;
};

class RdmaQueuePair final : public QueuePair {
 public:
  RdmaQueuePair(std::string peer, const RdmaParams& p)
      : peer_(std::move(peer)), setup_(fmt::format("connect to {}", peer_)), params_(p),
        entries_(uint32_t(p.nr_cids) + 1),
        max_inline_(std::min(p.max_inline_data, kSlotDataBytes)), cmds_(p.nr_cids), registrar_(pd_),
        cache_(registrar_, p.registration_cache_bytes) {}

  ~RdmaQueuePair() override { close(); }

  void connect(const std::string& host, const std::string& port, uint32_t timeout_ms);

  void start(QueueEvents* events) override {
    events_ = events;
    poller_ = std::thread([this] { completion_loop(); });
  }

  int send_command(wire::Sqe& sqe, void* data, uint32_t len, DataDir dir) override;
  void abort(int err, const std::string& why) override { fail(err, why); }
  void close() override;

  void set_max_inline_data(uint32_t bytes) override { max_inline_ = std::min(bytes, kSlotDataBytes); }
  bool header_digest() const override { return false; }  // RDMA has no digests
  bool data_digest() const override { return false; }
  uint32_t max_h2c_data() const override { return 0; }

 private:
  uint8_t* slot(uint16_t cid) const { return slab_ + size_t(cid) * kSlotBytes; }
  uint8_t* recv_buf(uint32_t i) const { return slab_ + size_t(params_.nr_cids) * kSlotBytes + size_t(i) * kCqeBytes; }
  uint8_t* arena() const { return recv_buf(entries_); }
  // First-fit run of chunks for `len` bytes; -1 when none is free.
  int arena_take(uint32_t len, uint32_t& count);
  // Gives back what `st` holds beyond its slot (arena chunks, registrations).
  void release_data(CmdState& st);
  void create_resources();
  void establish(Clock::time_point deadline);
  int post_recv(uint32_t i);
  // Fills the SGL of `sqe` and `st`; returns the in-capsule byte count, or -errno.
  int describe_data(wire::Sqe& sqe, CmdState& st, void* data, uint32_t len, DataDir dir);
  void completion_loop();
  bool drain_cq();  // false once failed
  void on_wc(const ibv_wc& wc);
  void on_response(const ibv_wc& wc);
  void maybe_complete(CmdState& st);
  void on_cm_event();
  void fail(int err, const std::string& why);
  bool failed() const { return failed_flag_.load(std::memory_order_acquire); }
  std::string fmt_peer() const { return fmt::format("{} qid {}", peer_, params_.qid); }

  const std::string peer_;   // "10.0.2.15:4420 (rdma)"
  const std::string setup_;  // prefix of setup errors: "connect to 10.0.2.15:4420 (rdma)"
  const RdmaParams params_;
  const uint32_t entries_;  // queue entries: receive buffers, HRQSIZE
  std::atomic<uint32_t> max_inline_;
  std::vector<CmdState> cmds_;

  rdma_event_channel* cm_channel_ = nullptr;
  rdma_cm_id* id_ = nullptr;
  ibv_pd* pd_ = nullptr;
  ibv_comp_channel* comp_channel_ = nullptr;
  ibv_cq* cq_ = nullptr;
  bool qp_created_ = false;
  uint8_t* slab_ = nullptr;
  std::mutex arena_mu_;
  uint64_t arena_used_ = 0;  // bit i: chunk i taken
  ibv_mr* slab_mr_ = nullptr;
  int wake_fd_ = -1;
  VerbsRegistrar registrar_;
  MrCache cache_;

  QueueEvents* events_ = nullptr;
  std::thread poller_;
  bool closed_ = false;

  std::mutex send_mu_;   // posts in order with the broken_ check
  bool broken_ = false;  // set by the completion thread right before on_broken()

  std::mutex fail_mu_;
  std::atomic<bool> failed_flag_{false};
  int fail_err_ = 0;
  std::string fail_why_;
};

void RdmaQueuePair::connect(const std::string& host, const std::string& port, uint32_t timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  cm_channel_ = rdma_create_event_channel();
  if (wake_fd_ < 0 || !cm_channel_)
    throw Error(fmt::format("{}: cannot create RDMA CM event channel: {}", setup_, std::strerror(errno)), errno);
  ::fcntl(cm_channel_->fd, F_SETFL, ::fcntl(cm_channel_->fd, F_GETFL) | O_NONBLOCK);
  if (rdma_create_id(cm_channel_, &id_, this, RDMA_PS_TCP) != 0)
    throw Error(fmt::format("{}: rdma_create_id: {}", setup_, std::strerror(errno)), errno);
  resolve(id_, host, port, deadline, setup_);
  create_resources();
  establish(deadline);
}

void RdmaQueuePair::create_resources() {
  auto fail_with = [&](const char* what) {
    throw Error(fmt::format("{}: {}: {}", setup_, what, std::strerror(errno)), errno ? errno : ENOMEM);
  };
  pd_ = ibv_alloc_pd(id_->verbs);
  if (!pd_) fail_with("ibv_alloc_pd");
  comp_channel_ = ibv_create_comp_channel(id_->verbs);
  if (!comp_channel_) fail_with("ibv_create_comp_channel");
  ::fcntl(comp_channel_->fd, F_SETFL, ::fcntl(comp_channel_->fd, F_GETFL) | O_NONBLOCK);
  const int sends = params_.nr_cids, recvs = int(entries_);
  cq_ = ibv_create_cq(id_->verbs, sends + recvs, nullptr, comp_channel_, 0);
  if (!cq_) fail_with("ibv_create_cq");
  if (ibv_req_notify_cq(cq_, 0) != 0) fail_with("ibv_req_notify_cq");

  ibv_qp_init_attr qa{};
  qa.send_cq = qa.recv_cq = cq_;
  qa.qp_type = IBV_QPT_RC;
  qa.cap.max_send_wr = uint32_t(sends);
  qa.cap.max_recv_wr = uint32_t(recvs);
  qa.cap.max_send_sge = qa.cap.max_recv_sge = 1;
  if (rdma_create_qp(id_, pd_, &qa) != 0) fail_with("rdma_create_qp");
  qp_created_ = true;

  const size_t slab_len =
      size_t(params_.nr_cids) * kSlotBytes + size_t(entries_) * kCqeBytes + size_t(kArenaChunks) * kArenaChunkBytes;
  slab_ = static_cast<uint8_t*>(std::aligned_alloc(4096, (slab_len + 4095) / 4096 * 4096));
  if (!slab_) fail_with("slab allocation");
  std::memset(slab_, 0, slab_len);
  slab_mr_ = ibv_reg_mr(pd_, slab_, slab_len,
                        IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
  if (!slab_mr_) fail_with("ibv_reg_mr of the capsule slab");
  for (uint32_t i = 0; i < entries_; ++i)  // before the connect: the first response needs one
    if (post_recv(i) != 0) fail_with("ibv_post_recv");
}

void RdmaQueuePair::establish(Clock::time_point deadline) {
  // NVMe-oF 1.1 §7.3.2: RDMA_CM_REQUEST private data. HSQSIZE is 0-based like
  // Connect SQSIZE; HRQSIZE is the number of responses we can receive.
  const auto pdata = encode_cm_req({0, params_.qid, uint16_t(entries_), uint16_t(entries_ - 1)});
  ibv_device_attr dev{};
  if (ibv_query_device(id_->verbs, &dev) != 0)
    throw Error(fmt::format("{}: ibv_query_device: {}", setup_, std::strerror(errno)), errno);
  rdma_conn_param cp{};
  cp.private_data = pdata.data();
  cp.private_data_len = uint8_t(pdata.size());
  cp.responder_resources = uint8_t(std::clamp(dev.max_qp_rd_atom, 0, kMaxResponderResources));  // its RDMA READs
  cp.initiator_depth = 0;  // the host issues no RDMA READ
  cp.retry_count = 7;
  cp.rnr_retry_count = 7;
  if (rdma_connect(id_, &cp) != 0)
    throw Error(fmt::format("{}: rdma_connect: {}", setup_, std::strerror(errno)), errno);
  const CmEvent ev = wait_cm_event(cm_channel_, deadline, setup_, "RDMA connect");
  if (ev.type == RDMA_CM_EVENT_REJECTED)
    throw Error(fmt::format("{}: qid {}: {}", setup_, params_.qid, describe_reject(ev.status, ev.private_data)), ECONNREFUSED);
  if (ev.type != RDMA_CM_EVENT_ESTABLISHED)
    throw Error(fmt::format("{}: qid {}: RDMA connect failed: {} (status {})", setup_, params_.qid, rdma_event_str(ev.type), ev.status),
                ECONNREFUSED);
  CmRep rep;
  if (!decode_cm_rep(ev.private_data, rep) || rep.recfmt != 0)
    throw Error(fmt::format("{}: qid {}: controller accepted with unreadable NVMe/RDMA private data", setup_, params_.qid), EPROTO);
  if (rep.crqsize < params_.nr_cids)
    throw Error(fmt::format("{}: qid {}: controller receive queue holds {} commands, {} needed (CRQSIZE)", setup_,
                            params_.qid, rep.crqsize, params_.nr_cids),
                EPROTO);
  if (params_.trace)
    log::trace("qid {}: RDMA established, hrqsize {} hsqsize {} crqsize {} responder_resources {}", params_.qid,
               entries_, entries_ - 1, rep.crqsize, cp.responder_resources);
}

int RdmaQueuePair::post_recv(uint32_t i) {
  ibv_sge sge{reinterpret_cast<uintptr_t>(recv_buf(i)), kCqeBytes, slab_mr_->lkey};
  ibv_recv_wr wr{};
  ibv_recv_wr* bad = nullptr;
  wr.wr_id = kRecvTag | i;
  wr.sg_list = &sge;
  wr.num_sge = 1;
  return ibv_post_recv(id_->qp, &wr, &bad);
}

int RdmaQueuePair::describe_data(wire::Sqe& sqe, CmdState& st, void* data, uint32_t len, DataDir dir) {
  // NVMe-oF 1.1 §7.3.1 / Base 2.0 §4.3.2: keyed SGL data block (type 4h,
  // subtype 0h: no invalidation requested; our MRs are not invalidatable),
  // or SGL data block with offset (01h) for in-capsule data.
  if (dir == DataDir::None || len == 0) {
    sqe.set_keyed_sgl(0, 0, 0, wire::kSglKeyedDataBlock);
    return 0;
  }
  uint8_t* slot_data = slot(sqe.cid()) + kSqeBytes;
  if (dir == DataDir::ToController && len <= max_inline_.load(std::memory_order_relaxed)) {
    std::memcpy(slot_data, data, len);
    sqe.set_sgl(0, len, wire::kSglDataBlockOffset);
    return int(len);
  }
  if (len <= kSlotDataBytes) {
    st.bounce = slot_data;
  } else if (params_.registration_cache_bytes) {
    st.mr = cache_.acquire(data, len);
    if (!st.mr) return -errno;
    st.rkey = st.mr->keys.rkey;
  } else if (int first = arena_take(len, st.arena_count); first >= 0) {
    st.arena_first = first;
    st.bounce = arena() + size_t(first) * kArenaChunkBytes;
  } else {
    st.own_mr = ibv_reg_mr(pd_, data, len, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
    if (!st.own_mr) return -errno;
    st.rkey = st.own_mr->rkey;
  }
  if (st.bounce) {
    if (dir == DataDir::ToController) std::memcpy(st.bounce, data, len);
    st.rkey = slab_mr_->rkey;
  }
  const void* where = st.bounce ? st.bounce : data;
  sqe.set_keyed_sgl(reinterpret_cast<uintptr_t>(where), len, st.rkey, wire::kSglKeyedDataBlock);
  return 0;
}

int RdmaQueuePair::arena_take(uint32_t len, uint32_t& count) {
  count = (len + kArenaChunkBytes - 1) / kArenaChunkBytes;
  if (count > kArenaChunks) return -1;
  const uint64_t run = count == 64 ? ~0ull : ((1ull << count) - 1);
  std::lock_guard lk(arena_mu_);
  for (uint32_t first = 0; first + count <= kArenaChunks; ++first) {
    if ((arena_used_ & (run << first)) == 0) {
      arena_used_ |= run << first;
      return int(first);
    }
  }
  return -1;
}

void RdmaQueuePair::release_data(CmdState& st) {
  if (st.arena_first >= 0) {
    const uint64_t run = st.arena_count == 64 ? ~0ull : ((1ull << st.arena_count) - 1);
    std::lock_guard lk(arena_mu_);
    arena_used_ &= ~(run << st.arena_first);
  }
  if (st.mr) cache_.release(st.mr);
  if (st.own_mr) ibv_dereg_mr(st.own_mr);
  st.arena_first = -1;
  st.mr = nullptr;
  st.own_mr = nullptr;
}

int RdmaQueuePair::send_command(wire::Sqe& sqe, void* data, uint32_t len, DataDir dir) {
  const uint16_t cid = sqe.cid();
  if (cid >= cmds_.size() || len > params_.max_data_len || len > kMaxKeyedLength) return -EINVAL;
  if (failed()) return -ENOTCONN;
  CmdState& st = cmds_[cid];
  st.buf = data;
  st.len = len;
  st.dir = dir;
  st.bounce = nullptr;
  st.rkey = 0;
  st.send_done = st.resp_seen = false;
  sqe.set_flags(uint8_t((sqe.flags() & 0x3F) | wire::kPsdtSgl));
  const int inline_len = describe_data(sqe, st, data, len, dir);
  if (inline_len < 0) {
    fail(-EIO, fmt::format("{}: cannot register {} bytes at {} for RDMA: {}", fmt_peer(), len, data,
                           std::strerror(-inline_len)));
    return -ENOTCONN;
  }
  std::memcpy(slot(cid), sqe.b, kSqeBytes);

  ibv_sge sge{reinterpret_cast<uintptr_t>(slot(cid)), kSqeBytes + uint32_t(inline_len), slab_mr_->lkey};
  ibv_send_wr wr{};
  ibv_send_wr* bad = nullptr;
  wr.wr_id = cid;
  wr.sg_list = &sge;
  wr.num_sge = 1;
  wr.opcode = IBV_WR_SEND;
  wr.send_flags = IBV_SEND_SIGNALED;

  std::lock_guard lk(send_mu_);
  if (broken_) {
    release_data(st);
    return -ENOTCONN;
  }
  st.in_flight.store(true, std::memory_order_release);
  if (params_.trace)
    log::trace("qid {}: send capsule cid {} opcode {:#x} data {} ({})", params_.qid, cid, sqe.opcode(), len,
               inline_len        ? "in-capsule"
               : st.bounce     ? "keyed, copied through the slab"
               : st.rkey       ? "keyed, caller's buffer registered"
                               : "none");
  if (int r = ibv_post_send(id_->qp, &wr, &bad); r != 0)
    fail(-ENOTCONN, fmt::format("{}: ibv_post_send: {}", fmt_peer(), std::strerror(r)));
  return 0;  // handed over: it completes by on_completion or on_broken
}

void RdmaQueuePair::fail(int err, const std::string& why) {
  {
    std::lock_guard lk(fail_mu_);
    if (failed_flag_.load()) return;
    fail_err_ = err;
    fail_why_ = why;
    failed_flag_.store(true, std::memory_order_release);
  }
  // The QP goes to the error state: no more remote access to our memory, and
  // every posted work request flushes.
  if (id_ && qp_created_) rdma_disconnect(id_);
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }
}

void RdmaQueuePair::completion_loop() {
  pollfd fds[3] = {{comp_channel_->fd, POLLIN, 0}, {cm_channel_->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (!failed()) {
    if (::poll(fds, 3, -1) < 0 && errno != EINTR) {
      fail(-EIO, fmt::format("{}: poll: {}", fmt_peer(), std::strerror(errno)));
      break;
    }
    if (fds[1].revents) on_cm_event();
    if (fds[0].revents) {
      ibv_cq* cq;
      void* ctx;
      if (ibv_get_cq_event(comp_channel_, &cq, &ctx) == 0) {
        ibv_ack_cq_events(cq, 1);
        ibv_req_notify_cq(cq_, 0);  // re-arm, then drain: nothing slips between
      }
      drain_cq();
    }
  }
  {
    std::lock_guard lk(send_mu_);  // waits for a post in progress; none starts afterwards
    broken_ = true;
  }
  for (auto& c : cmds_) {
    if (c.in_flight.exchange(false)) release_data(c);
  }
  int err;
  std::string why;
  {
    std::lock_guard lk(fail_mu_);
    err = fail_err_;
    why = fail_why_;
  }
  events_->on_broken(err, why);
}

bool RdmaQueuePair::drain_cq() {
  ibv_wc wcs[kPollBatch];
  for (;;) {
    const int n = ibv_poll_cq(cq_, kPollBatch, wcs);
    if (n < 0) {
      fail(-EIO, fmt::format("{}: ibv_poll_cq failed", fmt_peer()));
      return false;
    }
    for (int i = 0; i < n && !failed(); ++i) on_wc(wcs[i]);
    if (n < kPollBatch || failed()) return !failed();
  }
}

void RdmaQueuePair::on_wc(const ibv_wc& wc) {
  const bool is_recv = wc.wr_id & kRecvTag;
  if (wc.status != IBV_WC_SUCCESS) {
    fail(-ENOTCONN, fmt::format("{}: {} failed: {}", fmt_peer(), is_recv ? "receive" : "send",
                                ibv_wc_status_str(wc.status)));
    return;
  }
  if (is_recv) return on_response(wc);
  CmdState& st = cmds_[uint16_t(wc.wr_id)];
  st.send_done = true;
  maybe_complete(st);
}

void RdmaQueuePair::on_response(const ibv_wc& wc) {
  const uint32_t index = uint32_t(wc.wr_id & 0xFFFFFFFF);
  if (wc.byte_len < kCqeBytes) {
    fail(-EPROTO, fmt::format("{}: protocol error: {}-byte response capsule", fmt_peer(), wc.byte_len));
    return;
  }
  wire::Cqe cqe;
  std::memcpy(cqe.b, recv_buf(index), kCqeBytes);
  if (post_recv(index) != 0) {
    fail(-ENOTCONN, fmt::format("{}: ibv_post_recv: {}", fmt_peer(), std::strerror(errno)));
    return;
  }
  const uint16_t cid = cqe.cid();
  if (cid >= cmds_.size() || !cmds_[cid].in_flight.load(std::memory_order_acquire) || cmds_[cid].resp_seen) {
    fail(-EPROTO, fmt::format("{}: protocol error: completion for unknown command id {}", fmt_peer(), cid));
    return;
  }
  CmdState& st = cmds_[cid];
  if (wc.wc_flags & IBV_WC_WITH_INV) {
    // Remote invalidation (SEND with Invalidate): only of the key this command offered.
    if (st.rkey == 0 || wc.invalidated_rkey != st.rkey) {
      fail(-EPROTO, fmt::format("{}: protocol error: controller invalidated rkey {:#x}, command id {} offered {:#x}",
                                fmt_peer(), wc.invalidated_rkey, cid, st.rkey));
      return;
    }
    if (!st.mr && !st.own_mr) {  // the slab's key is gone: no further transfer can use it
      fail(-EPROTO, fmt::format("{}: controller invalidated the capsule slab's rkey", fmt_peer()));
      return;
    }
    if (st.mr) cache_.invalidate(st.mr);  // never offered again; deregistered when released
  }
  st.cqe = cqe;
  st.resp_seen = true;
  maybe_complete(st);
}

void RdmaQueuePair::maybe_complete(CmdState& st) {
  if (!st.send_done || !st.resp_seen) return;
  if (st.bounce && st.dir == DataDir::FromController) std::memcpy(st.buf, st.bounce, st.len);
  release_data(st);
  st.in_flight.store(false, std::memory_order_relaxed);
  if (params_.trace)
    log::trace("qid {}: response cid {} status {:#x}", params_.qid, st.cqe.cid(), st.cqe.status());
  events_->on_completion(st.cqe);
}

void RdmaQueuePair::on_cm_event() {
  rdma_cm_event* ev = nullptr;
  if (rdma_get_cm_event(cm_channel_, &ev) != 0) return;
  const rdma_cm_event_type type = ev->event;
  rdma_ack_cm_event(ev);
  switch (type) {
    case RDMA_CM_EVENT_DISCONNECTED: fail(-ENOTCONN, fmt::format("{} closed the connection", fmt_peer())); break;
    case RDMA_CM_EVENT_DEVICE_REMOVAL: fail(-ENOTCONN, fmt::format("{}: RDMA device removed", fmt_peer())); break;
    case RDMA_CM_EVENT_ADDR_CHANGE: fail(-ENOTCONN, fmt::format("{}: local address changed", fmt_peer())); break;
    default: log::debug("{}: RDMA CM event {}", fmt_peer(), rdma_event_str(type)); break;
  }
}

void RdmaQueuePair::close() {
  if (closed_) return;
  closed_ = true;
  fail(-ENOTCONN, "queue closed");
  if (poller_.joinable()) poller_.join();
  // Teardown order: QP (no more access), then CQ and channels, memory, PD, id.
  if (qp_created_) rdma_destroy_qp(id_);
  if (cq_) ibv_destroy_cq(cq_);
  if (comp_channel_) ibv_destroy_comp_channel(comp_channel_);
  if (slab_mr_) ibv_dereg_mr(slab_mr_);
  std::free(slab_);
  cache_.clear();  // before the PD goes
  if (pd_) ibv_dealloc_pd(pd_);
  if (id_) rdma_destroy_id(id_);
  if (cm_channel_) rdma_destroy_event_channel(cm_channel_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

}  // namespace

std::unique_ptr<QueuePair> rdma_connect(const std::string& host, const std::string& port, const RdmaParams& params,
                                        uint32_t timeout_ms) {
  const std::string peer = host.find(':') != std::string::npos ? fmt::format("[{}]:{} (rdma)", host, port)
                                                                : fmt::format("{}:{} (rdma)", host, port);
  auto qp = std::make_unique<RdmaQueuePair>(peer, params);
  qp->connect(host, port, timeout_ms);  // on throw, the destructor releases what exists
  return qp;
}

}  // namespace nvmefs::transport
