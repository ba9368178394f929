#include "controller_impl.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/core.h>

#include "connect_error.hpp"
#include "identify_parse.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/transport/tcp.hpp"
#ifdef NVMEFS_HAVE_RDMA
#include "nvmefs/transport/rdma.hpp"
#endif

namespace nvmefs::host {

using transport::DataDir;

namespace {

constexpr uint16_t kAdminQueueEntries = 32;
// Reserved slots (queue.hpp; Linux NVMF_RESERVED_TAGS): Connect and
// DH-HMAC-CHAP on every queue, plus Keep Alive on the admin queue. They are
// part of the SQ's entries - 1 commands (NVMe Base 2.0 §4.1.3).
constexpr uint16_t kIoReservedSlots = 1;
constexpr uint16_t kAdminReservedSlots = 2;
constexpr uint32_t kAdminMaxInline = 8192;      // NVMe/TCP §3.3.2: admin queue in-capsule data limit
constexpr uint32_t kShutdownTimeoutMs = 5000;   // bound on CSTS.SHST (Linux: nvme_core shutdown_timeout)
constexpr uint8_t kFeatureNumberOfQueues = 0x07;

// CC (NVMe Base 2.0 §3.1.4.5): EN bit 0, CSS 6:4 = 000b (NVM), MPS 10:7 = 0
// (4 KiB), AMS 13:11 = 0 (round robin), SHN 15:14, IOSQES 19:16 = 6 (64 B), IOCQES 23:20 = 4 (16 B).
constexpr uint32_t kCcEnable = 1u | (6u << 16) | (4u << 20);
constexpr uint32_t kCcShnNormal = 1u << 14;
// CSTS (§3.1.4.6): RDY bit 0, CFS bit 1, SHST 3:2 (10b = shutdown complete).
constexpr uint32_t kCstsRdy = 1u << 0;
constexpr uint32_t kCstsCfs = 1u << 1;
constexpr uint32_t kCstsShstMask = 3u << 2;
constexpr uint32_t kCstsShstComplete = 2u << 2;

struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int err = 0;
  wire::Cqe cqe;
};

void wake_waiter(void* ctx, int err, const wire::Cqe* cqe) {
  auto* w = static_cast<Waiter*>(ctx);
  std::lock_guard lk(w->mu);
  w->err = err;
  if (cqe) w->cqe = *cqe;
  w->done = true;
  w->cv.notify_one();
}

// Data direction of an admin or fabrics command: opcode (or FCTYPE) bits 1:0
// (NVMe Base 2.0 §5 Figure 28; NVMe-oF 1.1 §2.1).
DataDir direction_of(const wire::Sqe& sqe) {
  const uint8_t code = sqe.opcode() == wire::kFabricsOpcode ? sqe.fctype() : sqe.opcode();
  switch (code & 3) {
    case 1: return DataDir::ToController;
    case 2: return DataDir::FromController;
    default: return DataDir::None;
  }
}

uint32_t online_cpus() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? uint32_t(n) : 1;
}

// NVMe/RDMA queue with the TCP queue's limits, except that the admin queue
// carries no in-capsule data (nvmet-rdma accepts none there).
std::unique_ptr<transport::QueuePair> rdma_queue(const TransportId& t, const transport::TcpParams& p,
                                                 uint32_t timeout_ms) {
#ifdef NVMEFS_HAVE_RDMA
  transport::RdmaParams r;
  r.qid = p.qid;
  r.nr_cids = p.nr_cids;
  r.max_inline_data = p.qid == 0 ? 0 : p.max_inline_data;
  r.max_data_len = p.max_data_len;
  r.trace = p.trace;
  return transport::rdma_connect(t.traddr, t.trsvcid, r, timeout_ms);
#else
  (void)p, (void)timeout_ms;
  throw Error(fmt::format("connect to {}: transport 'rdma' is not supported (built without rdma-core)", t.traddr),
              EPROTONOSUPPORT);
#endif
}

}  // namespace

ControllerImpl::ControllerImpl(const ConnectOptions& opts, bool discovery) : opts_(opts), discovery_(discovery) {}

ControllerImpl::~ControllerImpl() { disconnect(); }

std::string ControllerImpl::where() const {
  const auto& t = opts_.target;
  return t.traddr.find(':') != std::string::npos ? fmt::format("[{}]:{}", t.traddr, t.trsvcid)
                                                 : fmt::format("{}:{}", t.traddr, t.trsvcid);
}

uint32_t ControllerImpl::bring_up_ms_left() const {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(bring_up_deadline_ - Clock::now()).count();
  if (left <= 0)
    throw Error(fmt::format("connect to {}: timed out after {} s", where(), opts_.connect_timeout_ms / 1000.0),
                ETIMEDOUT);
  return uint32_t(left);
}

void ControllerImpl::bring_up() {
  host_ = resolve_host_identity(opts_);
  auth_ = std::make_unique<Authenticator>(opts_, host_.nqn, fmt::format("{} on {}", opts_.target.subnqn, where()));
  auto on_broken = [this](Queue& q, int err, const std::string& why) { on_queue_broken(q, err, why); };
  admin_ = std::make_unique<Queue>(0, uint16_t(kAdminQueueEntries - 1), nullptr, opts_.admin_timeout_ms, opts_.trace,
                                   on_broken, kAdminReservedSlots);
  timer_ = std::thread([this] { timer_loop(); });
  establish(true);
  if (!commit_reconnect())
    throw Error(fmt::format("connect to {}: connection lost during bring-up", where()), ENOTCONN);
  first_bring_up_ = false;
  if (!discovery_) recovery_ = std::thread([this] { recovery_loop(); });
  log::info("connected to {} on {}: cntlid {}, {} I/O queues of {}, {} namespaces", info_.subnqn, where(),
            info_.cntlid, info_.nr_io_queues, info_.queue_size, namespaces_.size());
}

void ControllerImpl::establish(bool first) {
  bring_up_deadline_ = Clock::now() + std::chrono::milliseconds(opts_.connect_timeout_ms);
  enabled_ = false;
  attach_and_connect(*admin_, kAdminQueueEntries);
  const uint64_t cap = property_get(wire::kPropCap, true);
  if (first) {
    info_.cap = cap;
    info_.vs = uint32_t(property_get(wire::kPropVs, false));
  }
  enable();
  if (first)
    identify_controller();
  else
    check_same_subsystem();
  if (discovery_) {
    if (persistent_) {  // Discovery Log Page Change notices (AEC bit 31)
      configure_async_events();
      arm_async_events();
    }
    return;
  }
  configure_async_events();
  uint16_t nr;
  if (first) {
    nr = negotiate_queue_count(opts_.nr_io_queues ? opts_.nr_io_queues : online_cpus());
    const uint32_t mqes = uint32_t(info_.cap & 0xFFFF) + 1;  // CAP.MQES is 0-based
    // At least one regular slot besides the reserved one: 3 entries hold 2 commands.
    info_.queue_size = uint16_t(std::clamp<uint32_t>(std::min(opts_.queue_size, mqes), 2 + kIoReservedSlots, 1024));
    find_namespaces();
    io_->queues.reserve(nr);  // never reallocated: the timer walks it (io_queues.hpp)
    for (uint16_t qid = 1; qid <= nr; ++qid) {
      io_->queues.push_back(std::make_unique<Queue>(
          qid, uint16_t(info_.queue_size - 1), nullptr, opts_.io_timeout_ms, opts_.trace,
          [this](Queue& q, int err, const std::string& why) { on_queue_broken(q, err, why); }, kIoReservedSlots));
      io_->count.store(qid, std::memory_order_release);
    }
    info_.nr_io_queues = nr;
  } else {
    // The same queue count as before if the controller still grants it (one
    // granting fewer leaves the surplus queues unused: commit_reconnect()).
    nr = std::min(negotiate_queue_count(info_.nr_io_queues), info_.nr_io_queues);
  }
  for (uint16_t qid = 1; qid <= nr; ++qid) attach_and_connect(*io_->queues[qid - 1], info_.queue_size);
  connected_io_queues_ = nr;
  arm_async_events();
}

std::unique_ptr<transport::QueuePair> ControllerImpl::connect_transport(uint16_t qid, uint16_t entries) {
  transport::TcpParams p;
  p.qid = qid;
  p.nr_cids = uint16_t(entries - 1);  // an SQ of N entries holds N-1 commands
  p.header_digest = opts_.hdr_digest;
  p.data_digest = opts_.data_digest;
  p.max_inline_data = qid == 0 ? kAdminMaxInline : info_.ioccsz_bytes;
  p.max_data_len = kMaxCommandData;
  p.trace = opts_.trace;
  if (opts_.tls || !opts_.tls_key.empty()) {  // TLS PSK (NVMe/TCP TP 8011): identity + key, derived per queue
    if (opts_.target.trtype != "tcp") throw Error("tls: only the tcp transport has TLS", EINVAL);
    p.tls = std::make_shared<const transport::TlsPsk>(
        transport::host_tls_psk(transport::parse_tls_key(opts_.tls_key), host_.nqn, opts_.target.subnqn));
  }
  if (opts_.target.trtype != "tcp" && opts_.target.trtype != "rdma")
    throw Error(fmt::format("transport '{}' is not supported (tcp or rdma)", opts_.target.trtype), EPROTONOSUPPORT);
  auto qp = transport_factory_             ? transport_factory_(p, bring_up_ms_left())
            : opts_.target.trtype == "rdma" ? rdma_queue(opts_.target, p, bring_up_ms_left())
                : transport::tcp_connect(opts_.target.traddr, opts_.target.trsvcid, p, bring_up_ms_left());
  if (qid == 0 && first_bring_up_) {
    info_.header_digest = qp->header_digest();
    info_.data_digest = qp->data_digest();
    info_.maxh2cdata = qp->max_h2c_data();
  }
  return qp;
}

void ControllerImpl::attach_and_connect(Queue& q, uint16_t entries) {
  q.attach(connect_transport(q.qid(), entries));
  fabrics_connect(q, q.qid(), entries);
}

void ControllerImpl::fabrics_connect(Queue& q, uint16_t qid, uint16_t entries) {
  // NVMe-oF 1.1 §3.3: Connect data carries host ID, CNTLID (FFFFh on the admin
  // queue: any controller, dynamic model), subsystem and host NQNs. A reconnect
  // sends the same host NQN and host ID, so the subsystem sees the same host.
  nvmf_connect_data data{};
  std::memcpy(data.hostid, host_.id.data(), sizeof data.hostid);
  wire::put_le16(reinterpret_cast<uint8_t*>(&data.cntlid), qid == 0 ? 0xFFFF : cntlid_);
  std::strncpy(data.subsysnqn, opts_.target.subnqn.c_str(), sizeof data.subsysnqn - 1);
  std::strncpy(data.hostnqn, host_.nqn.c_str(), sizeof data.hostnqn - 1);
  const uint32_t kato_ms = qid == 0 && keeps_alive() ? opts_.keep_alive_tmo * 1000 : 0;
  const auto sqe = wire::cmd::connect(qid, uint16_t(entries - 1), kato_ms, false);

  wire::Cqe cqe;
  int r = run(q, sqe, &data, sizeof data, DataDir::ToController, &cqe, bring_up_ms_left(), SlotPool::Reserved);
  if (r == -ETIMEDOUT)
    throw Error(fmt::format("connect to {}: no answer to Fabrics Connect (qid {}) within {} s", where(), qid,
                            opts_.connect_timeout_ms / 1000.0),
                ETIMEDOUT);
  if (r != 0 && r != -EIO) throw Error(fmt::format("connect to {}: connection lost during Fabrics Connect", where()), -r);
  if (cqe.status() != 0) throw Error(describe_connect_failure(cqe, opts_.target.subnqn, host_.nqn, where()), EIO);
  if (qid == 0) {
    cntlid_ = uint16_t(cqe.dw0() & 0xFFFF);
    if (first_bring_up_) {  // what info() reports
      info_.cntlid = cntlid_;
      info_.kato_ms = kato_ms;
    }
  }
  authenticate(q, qid, cqe.dw0());  // AUTHREQ: every queue, on every (re)connect
}
// Runs the DH-HMAC-CHAP commands on `q` itself (they must precede any other command on it).
void ControllerImpl::authenticate(Queue& q, uint16_t qid, uint32_t connect_dw0) {
  auth_->on_connected(qid, connect_dw0, [&](const wire::Sqe& sqe, void* data, uint32_t len, DataDir dir) {
    wire::Cqe cqe;
    const int r = run(q, sqe, data, len, dir, &cqe, bring_up_ms_left(), SlotPool::Reserved);
    const char* what = dir == DataDir::ToController ? "Authentication Send" : "Authentication Receive";
    if (r == -EIO)
      throw Error(fmt::format("{} failed with status {:#x} ({})", what, cqe.status(), wire::status_name(cqe.status())),
                  EIO);
    if (r != 0) throw Error(fmt::format("{}: {}", what, std::strerror(-r)), -r);
  });
}

int ControllerImpl::run(Queue& q, const wire::Sqe& sqe, void* data, uint32_t len, DataDir dir, wire::Cqe* cqe,
                        uint32_t timeout_ms, SlotPool pool) {
  Waiter w;
  int r;
  // The admin queue has 29 regular slots; callers beyond that wait briefly for one.
  const auto give_up = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while ((r = q.issue(sqe, data, len, dir, wake_waiter, &w, timeout_ms, pool)) == -EAGAIN) {
    if (Clock::now() > give_up) return -EBUSY;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (r < 0) return r;
  std::unique_lock lk(w.mu);
  // The timer fails the command at its deadline; this bound only guards against a stuck timer.
  if (!w.cv.wait_for(lk, std::chrono::milliseconds(timeout_ms) + std::chrono::seconds(5), [&] { return w.done; })) {
    q.abort(-ETIMEDOUT, "command timed out");
    w.cv.wait(lk, [&] { return w.done; });  // on_broken completes it
  }
  if (cqe) *cqe = w.cqe;
  if (w.err) return w.err;
  return w.cqe.status() == 0 ? 0 : -EIO;
}

wire::Cqe ControllerImpl::setup_command(const char* what, const wire::Sqe& sqe, void* data, uint32_t len,
                                        DataDir dir) {
  wire::Cqe cqe;
  int r = run(*admin_, sqe, data, len, dir, &cqe, std::min(opts_.admin_timeout_ms, bring_up_ms_left()));
  if (r == -EIO)
    throw Error(fmt::format("{} on {}: {} failed with status {:#x} ({})", opts_.target.subnqn, where(), what,
                            cqe.status(), wire::status_name(cqe.status())),
                EIO);
  if (r == -ETIMEDOUT) throw Error(fmt::format("{} on {}: {} timed out", opts_.target.subnqn, where(), what), ETIMEDOUT);
  if (r != 0)
    throw Error(fmt::format("{} on {}: {} failed: {}", opts_.target.subnqn, where(), what, std::strerror(-r)), -r);
  return cqe;
}

uint64_t ControllerImpl::property_get(uint32_t offset, bool eight_bytes) {
  auto cqe = setup_command("Property Get", wire::cmd::property_get(offset, eight_bytes));
  return eight_bytes ? cqe.result64() : cqe.dw0();
}

void ControllerImpl::enable() {
  // NVMe Base 2.0 §3.5.2 steps: CC.EN=1, then CSTS.RDY within CAP.TO (500 ms units).
  setup_command("Property Set CC", wire::cmd::property_set(wire::kPropCc, kCcEnable, false));
  enabled_ = true;
  const uint32_t to_ms = uint32_t((info_.cap >> 24) & 0xFF) * 500;
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max<uint32_t>(to_ms, 500));
  for (;;) {
    const uint32_t csts = uint32_t(property_get(wire::kPropCsts, false));
    if (csts & kCstsCfs) throw Error(fmt::format("{} on {}: controller fatal status while enabling", opts_.target.subnqn, where()), EIO);
    if (csts & kCstsRdy) return;
    if (Clock::now() > deadline)
      throw Error(fmt::format("{} on {}: controller not ready after {} ms (CAP.TO)", opts_.target.subnqn, where(), to_ms),
                  ETIMEDOUT);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void ControllerImpl::identify_controller() {
  auto& id = info_.id;
  setup_command("Identify Controller", wire::cmd::identify(NVME_IDENTIFY_CNS_CTRL, 0), &id, sizeof id,
                DataDir::FromController);
  info_.model = wire::ascii_field(id.mn, sizeof id.mn);
  info_.serial = wire::ascii_field(id.sn, sizeof id.sn);
  info_.firmware = wire::ascii_field(id.fr, sizeof id.fr);
  info_.subnqn = wire::ascii_field(id.subnqn, sizeof id.subnqn);
  info_.mdts_bytes = mdts_bytes(id.mdts, info_.cap);
  info_.ioccsz_bytes = in_capsule_data_bytes(wire::get_le32(reinterpret_cast<const uint8_t*>(&id.ioccsz)));
}

void ControllerImpl::check_same_subsystem() {
  // A reconnect must reach the same subsystem (the address may now belong to another one).
  auto id = std::make_unique<nvme_id_ctrl>();
  setup_command("Identify Controller", wire::cmd::identify(NVME_IDENTIFY_CNS_CTRL, 0), id.get(), sizeof *id,
                DataDir::FromController);
  const std::string subnqn = wire::ascii_field(id->subnqn, sizeof id->subnqn);
  if (subnqn != info_.subnqn)
    throw Error(fmt::format("{}: reconnected to a different subsystem ({})", where(), subnqn), EIO);
}

uint16_t ControllerImpl::negotiate_queue_count(uint32_t asked) {
  asked = std::clamp<uint32_t>(asked, 1, 65535);
  // NVMe Base 2.0 §5.27.1.5: NSQR CDW11[15:0], NCQR [31:16], both 0-based; DW0 gives what was allocated.
  auto cqe = setup_command("Set Features (Number of Queues)",
                           wire::cmd::set_features(kFeatureNumberOfQueues, (asked - 1) | ((asked - 1) << 16)));
  const uint32_t granted = std::min(cqe.dw0() & 0xFFFF, cqe.dw0() >> 16) + 1;
  return uint16_t(std::min(asked, granted));
}

std::vector<uint32_t> ControllerImpl::active_nsids() {
  // Identify CNS 02h: active NSIDs greater than the given one, 1024 per page, zero-terminated.
  std::vector<uint32_t> nsids;
  uint32_t after = 0;
  for (;;) {
    nvme_ns_list list{};
    setup_command("Identify active namespace list", wire::cmd::identify(NVME_IDENTIFY_CNS_NS_ACTIVE_LIST, after),
                  &list, sizeof list, DataDir::FromController);
    size_t n = 0;
    for (; n < NVME_ID_NS_LIST_MAX; ++n) {
      uint32_t nsid = wire::get_le32(reinterpret_cast<const uint8_t*>(&list.ns[n]));
      if (nsid == 0 || nsid <= after) break;  // end of list, or a list out of order
      nsids.push_back(nsid);
      after = nsid;
    }
    if (n < NVME_ID_NS_LIST_MAX) break;
  }
  return nsids;
}

// Null when the namespace is not usable (not attached, or a format this initiator cannot use).
std::shared_ptr<NamespaceImpl> ControllerImpl::identify_namespace(uint32_t nsid, nvme_id_ns& id) {
  id = nvme_id_ns{};
  setup_command("Identify Namespace", wire::cmd::identify(NVME_IDENTIFY_CNS_NS, nsid), &id, sizeof id,
                DataDir::FromController);
  if (id.nsze == 0) return nullptr;  // allocated but not attached/usable
  NamespaceLimits limits;
  limits.mdts_bytes = info_.mdts_bytes;
  limits.volatile_write_cache = info_.id.vwc & 1;
  const uint16_t oncs = wire::get_le16(reinterpret_cast<const uint8_t*>(&info_.id.oncs));
  limits.dataset_management = oncs & NVME_CTRL_ONCS_DSM;
  limits.write_zeroes = oncs & NVME_CTRL_ONCS_WRITE_ZEROES;
  try {
    return std::make_shared<NamespaceImpl>(nsid, id, limits, io_);
  } catch (const Error& e) {
    log::warn("{}: skipping: {}", opts_.target.subnqn, e.what());
    return nullptr;
  }
}

void ControllerImpl::find_namespaces() {
  std::vector<std::shared_ptr<NamespaceImpl>> found;
  for (uint32_t nsid : active_nsids()) {
    nvme_id_ns id;
    if (auto n = identify_namespace(nsid, id)) found.push_back(std::move(n));
  }
  std::lock_guard lk(ns_mu_);
  namespaces_ = std::move(found);
}

std::vector<std::shared_ptr<Namespace>> ControllerImpl::namespaces() const {
  std::lock_guard lk(ns_mu_);
  return {namespaces_.begin(), namespaces_.end()};
}

std::shared_ptr<Namespace> ControllerImpl::ns(uint32_t nsid) const {
  std::lock_guard lk(ns_mu_);
  for (const auto& n : namespaces_)
    if (n->nsid() == nsid) return n;
  return nullptr;
}

int ControllerImpl::admin_command(wire::Sqe sqe, void* data, uint32_t len, wire::Cqe* cqe) {
  if (len > kMaxCommandData) return -EINVAL;
  if (!admin_ || state_.load() != ControllerState::Live) return -ENOTCONN;
  const DataDir dir = len ? direction_of(sqe) : DataDir::None;
  return run(*admin_, sqe, data, len, dir, cqe, opts_.admin_timeout_ms);
}

void ControllerImpl::shutdown_controller() {
  // NVMe Base 2.0 §3.6.1: CC.SHN = 01b, then wait for CSTS.SHST = 10b (bounded).
  wire::Cqe cqe;
  const auto set = wire::cmd::property_set(wire::kPropCc, kCcEnable | kCcShnNormal, false);
  if (run(*admin_, set, nullptr, 0, DataDir::None, &cqe, kShutdownTimeoutMs) != 0) return;
  const auto deadline = Clock::now() + std::chrono::milliseconds(kShutdownTimeoutMs);
  while (Clock::now() < deadline) {
    if (run(*admin_, wire::cmd::property_get(wire::kPropCsts, false), nullptr, 0, DataDir::None, &cqe,
            kShutdownTimeoutMs) != 0)
      return;
    if ((cqe.dw0() & kCstsShstMask) == kCstsShstComplete) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  log::warn("{} on {}: shutdown not complete after {} ms", opts_.target.subnqn, where(), kShutdownTimeoutMs);
}

std::unique_ptr<Controller> Controller::connect(const ConnectOptions& opts) {
  ConnectOptions o = opts;
  if (o.target.trsvcid.empty()) o.target.trsvcid = kDefaultIoPort;
  auto c = std::make_unique<ControllerImpl>(o, false);
  c->bring_up();  // on throw, the destructor tears down what exists
  return c;
}

}  // namespace nvmefs::host
