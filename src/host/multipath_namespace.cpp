// MultipathNamespace: path selection, failover and holding (multipath.hpp).
//
// Each request gets a context (PathIo, recycled) whose `child` request goes
// down one path; the caller's request is completed once, from the child's
// completion, when the child succeeded, failed with an error that is not a
// path error, or failed on max_tries_ paths.
//
// Re-sending a request on another path is safe: a path error means the
// command either never reached the namespace or its outcome is unknown, and
// every operation here is idempotent over its LBA range (a read re-reads; a
// write, write zeroes or deallocate sets the same range to the same content
// again). The caller does not complete an overlapping request before this
// one completes (BlockDevice contract), so a late-arriving copy of a failed
// write on a dead path races only with itself. Linux's nvme_failover_req
// relies on the same argument.
#include "nvmefs/common/log.hpp"
#include "nvmefs/host/multipath.hpp"

namespace nvmefs::host {

namespace {
constexpr uint8_t kSctPathRelated = 0x3;  // NVMe Base 2.0 §4.2.3.2.4
constexpr uint8_t kScAnaPersistentLoss = 0x01;
constexpr uint8_t kScAnaInaccessible = 0x02;
constexpr uint8_t kScAnaTransition = 0x03;

uint8_t status_sct(uint16_t s) { return uint8_t((s >> 8) & 0x7); }
uint8_t status_sc(uint16_t s) { return uint8_t(s & 0xFF); }
bool status_dnr(uint16_t s) { return (s >> 14) & 1; }
}  // namespace

const char* io_policy_name(IoPolicy p) { return p == IoPolicy::RoundRobin ? "round-robin" : "queue-depth"; }

const char* ana_state_name(AnaState s) {
  switch (s) {
    case AnaState::Optimized: return "optimized";
    case AnaState::NonOptimized: return "non-optimized";
    case AnaState::Inaccessible: return "inaccessible";
    case AnaState::PersistentLoss: return "persistent-loss";
    case AnaState::Change: return "change";
  }
  return "?";
}

bool is_path_error(int result, uint16_t nvme_status) {
  if (result == 0) return false;
  if (nvme_status != 0) return status_sct(nvme_status) == kSctPathRelated && !status_dnr(nvme_status);
  // No NVMe status: the connection failed (-ENOTCONN, -ETIMEDOUT), the
  // controller failed parked I/O while reconnecting or dead (-EIO), or the
  // namespace is gone on this controller only (-ENODEV).
  return result == -ENOTCONN || result == -ETIMEDOUT || result == -EIO || result == -ENODEV;
}

struct MultipathNamespace::PathIo {
  IoRequest child;
  IoRequest* parent = nullptr;
  MultipathNamespace* owner = nullptr;
  uint32_t tries = 0;
  int path = -1;
};

MultipathNamespace::MultipathNamespace(std::vector<MultipathPath> paths, IoPolicy policy,
                                       std::function<void(size_t)> on_ana_error)
    : policy_(policy), on_ana_error_(std::move(on_ana_error)), max_tries_(uint32_t(2 * paths.size() + 1)) {
  for (auto& p : paths) {
    auto path = std::make_unique<Path>();
    path->ref = std::move(p);
    paths_.push_back(std::move(path));
  }
  last_.store(paths_.size() - 1);  // round-robin starts at path 0
}

MultipathNamespace::~MultipathNamespace() {
  std::vector<PathIo*> held;
  {
    std::lock_guard lk(hold_mu_);
    held.swap(held_);
  }
  for (PathIo* io : held) finish(io, -ENOTCONN, 0);
  for (PathIo* io : free_) delete io;
}

size_t MultipathNamespace::held() const {
  std::lock_guard lk(hold_mu_);
  return held_.size();
}

bool MultipathNamespace::usable(const Path& p) const {
  const AnaState a = p.ana.load(std::memory_order_relaxed);
  return (a == AnaState::Optimized || a == AnaState::NonOptimized) && p.ref.ctrl->state() == ControllerState::Live;
}

bool MultipathNamespace::all_paths_dead() const {
  for (const auto& p : paths_) {
    const ControllerState s = p->ref.ctrl->state();
    if (s != ControllerState::Dead && s != ControllerState::Deleting) return false;
  }
  return true;
}

// The best usable path: optimized before non-optimized, any other path
// before `avoid` (the one that just failed); among equals, the policy decides.
int MultipathNamespace::select_path(int avoid) const {
  const size_t n = paths_.size();
  // Round-robin scans from the path after the last one used (Linux nvme_round_robin_path).
  const size_t start = policy_ == IoPolicy::RoundRobin ? (last_.load(std::memory_order_relaxed) + 1) % n : 0;
  int best = -1;
  unsigned best_rank = ~0u;
  uint32_t best_depth = ~0u;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (start + k) % n;
    const Path& p = *paths_[i];
    if (!usable(p)) continue;
    const unsigned rank = (p.ana.load(std::memory_order_relaxed) == AnaState::Optimized ? 0 : 1) +
                          (int(i) == avoid ? 2 : 0);
    const uint32_t depth = policy_ == IoPolicy::QueueDepth ? p.outstanding.load(std::memory_order_relaxed) : 0;
    if (rank < best_rank || (rank == best_rank && depth < best_depth)) {
      best = int(i);
      best_rank = rank;
      best_depth = depth;
    }
  }
  if (best >= 0 && policy_ == IoPolicy::RoundRobin) last_.store(size_t(best), std::memory_order_relaxed);
  return best;
}

MultipathNamespace::PathIo* MultipathNamespace::get_io() {
  {
    std::lock_guard lk(free_mu_);
    if (!free_.empty()) {
      PathIo* io = free_.back();
      free_.pop_back();
      return io;
    }
  }
  auto* io = new PathIo;
  io->owner = this;
  io->child.done = path_done;
  io->child.user = io;
  return io;
}

void MultipathNamespace::put_io(PathIo* io) {
  std::lock_guard lk(free_mu_);
  free_.push_back(io);
}

void MultipathNamespace::submit(IoRequest* req) {
  PathIo* io = get_io();
  io->parent = req;
  io->tries = 0;
  io->child.op = req->op;
  io->child.flags = req->flags;
  io->child.offset = req->offset;
  io->child.length = req->length;
  io->child.buf = req->buf;
  dispatch(io, -1);
}

void MultipathNamespace::dispatch(PathIo* io, int avoid) {
  int p = select_path(avoid);
  if (p < 0) {
    // Re-checked under hold_mu_: paths_changed() takes it after a path's
    // state changed, so a request is either sent or seen by that call.
    std::unique_lock lk(hold_mu_);
    p = select_path(avoid);
    if (p < 0) {
      if (all_paths_dead()) {
        lk.unlock();
        finish(io, -EIO, 0);
        return;
      }
      held_.push_back(io);
      return;
    }
  }
  io->path = p;
  ++io->tries;
  Path& path = *paths_[size_t(p)];
  path.outstanding.fetch_add(1, std::memory_order_relaxed);
  path.ref.ns->submit(&io->child);
}

void MultipathNamespace::path_done(IoRequest* child) {
  auto* io = static_cast<PathIo*>(child->user);
  MultipathNamespace* self = io->owner;
  const size_t p = size_t(io->path);
  self->paths_[p]->outstanding.fetch_sub(1, std::memory_order_relaxed);
  const int result = child->result;
  const uint16_t status = child->nvme_status;
  if (!is_path_error(result, status) || io->tries >= self->max_tries_) {
    self->finish(io, result, status);
    return;
  }
  if (status != 0 && status_sct(status) == kSctPathRelated) {
    // ANA statuses tell the path's new state at once (§8.1.3); the owner
    // re-reads the ANA log for the full picture.
    const uint8_t sc = status_sc(status);
    if (sc >= kScAnaPersistentLoss && sc <= kScAnaTransition) {
      self->set_ana_state(p, sc == kScAnaPersistentLoss ? AnaState::PersistentLoss
                             : sc == kScAnaInaccessible ? AnaState::Inaccessible
                                                        : AnaState::Change);
      if (self->on_ana_error_) self->on_ana_error_(p);
    }
  }
  log::debug("ns {}: {} failed on path {} ({}, status {:#x}); failing over", self->nsid(), io_op_name(child->op), p,
             result, status);
  self->dispatch(io, int(p));
}

void MultipathNamespace::finish(PathIo* io, int result, uint16_t status) {
  IoRequest* parent = io->parent;
  put_io(io);
  parent->result = result;
  parent->nvme_status = status;
  parent->done(parent);
}

void MultipathNamespace::set_ana_state(size_t i, AnaState s) {
  const AnaState old = paths_[i]->ana.exchange(s);
  if (old != s) {
    log::info("ns {}: path {} ANA state {} -> {}", nsid(), i, ana_state_name(old), ana_state_name(s));
    paths_changed();
  }
}

void MultipathNamespace::paths_changed() {
  std::vector<PathIo*> held;
  {
    std::lock_guard lk(hold_mu_);
    if (held_.empty() || (select_path(-1) < 0 && !all_paths_dead())) return;
    held.swap(held_);
  }
  for (PathIo* io : held) {
    io->tries = 0;  // a new chance per path event; dispatch() holds it again if needed
    dispatch(io, -1);
  }
}

}  // namespace nvmefs::host
