// Native NVMe multipath: one namespace reached through several controllers of
// the same NVM subsystem (NVMe Base 2.0 §2.4.1 multi-path I/O, §8.1
// Asymmetric Namespace Access), modelled on Linux drivers/nvme/host/multipath.c.
//
// A MultipathNamespace owns one per-path Namespace per controller and sends
// each request to a usable path: the controller is Live and the namespace's
// ANA state is optimized (preferred) or non-optimized. A request that fails
// with a path error is re-sent on another path; with no usable path it is
// held until one comes back, or fails with -EIO once every path is dead.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "nvmefs/host/controller.hpp"

namespace nvmefs::host {

enum class IoPolicy : uint8_t {
  RoundRobin,  // rotate over the best paths
  QueueDepth,  // the best path with the fewest requests outstanding
};
const char* io_policy_name(IoPolicy p);  // "round-robin", "queue-depth"

// ANA states, with their values in the ANA log page (NVMe Base 2.0 §5.16.1.12, Figure 226).
enum class AnaState : uint8_t {
  Optimized = 0x1,
  NonOptimized = 0x2,
  Inaccessible = 0x3,
  PersistentLoss = 0x4,
  Change = 0xF,
};
const char* ana_state_name(AnaState s);

// A path error: the command may succeed through another controller (Linux
// nvme_is_path_error + transport failures). NVMe status SCT 3h (Path Related
// Status, §4.2.3.2.4) without DNR; or no NVMe status and a transport error.
bool is_path_error(int result, uint16_t nvme_status);

struct MultipathPath {
  std::shared_ptr<Controller> ctrl;
  std::shared_ptr<Namespace> ns;  // this namespace as seen through ctrl
};

class MultipathNamespace final : public Namespace {
 public:
  // paths: at least one, all the same namespace (same NSID in one subsystem).
  // Every path starts Optimized. on_ana_error(path) is called (on a completion
  // thread, must not block) when a path answers with an ANA status, so the
  // owner can re-read that controller's ANA log.
  MultipathNamespace(std::vector<MultipathPath> paths, IoPolicy policy,
                     std::function<void(size_t path)> on_ana_error = {});
  ~MultipathNamespace() override;  // held requests fail with -ENOTCONN

  const BlockDeviceInfo& info() const override { return paths_[0]->ref.ns->info(); }
  void submit(IoRequest* req) override;
  uint32_t nsid() const override { return paths_[0]->ref.ns->nsid(); }
  const nvme_id_ns& id() const override { return paths_[0]->ref.ns->id(); }
  uint64_t nsze() const override { return paths_[0]->ref.ns->nsze(); }

  size_t path_count() const { return paths_.size(); }
  const MultipathPath& path(size_t i) const { return paths_[i]->ref; }
  AnaState ana_state(size_t i) const { return paths_[i]->ana.load(std::memory_order_relaxed); }
  uint32_t outstanding(size_t i) const { return paths_[i]->outstanding.load(std::memory_order_relaxed); }
  size_t held() const;

  // A path's ANA state changed (from the ANA log): may release held requests.
  void set_ana_state(size_t i, AnaState s);
  // A path's controller changed state: re-sends held requests when a path is
  // usable again, fails them with -EIO when every path is dead.
  void paths_changed();

 private:
  struct Path {
    MultipathPath ref;
    std::atomic<AnaState> ana{AnaState::Optimized};
    std::atomic<uint32_t> outstanding{0};  // requests sent on this path and not completed
  };
  struct PathIo;

  bool usable(const Path& p) const;
  bool all_paths_dead() const;
  int select_path(int avoid) const;
  void dispatch(PathIo* io, int avoid);
  static void path_done(IoRequest* child);
  void finish(PathIo* io, int result, uint16_t status);
  PathIo* get_io();
  void put_io(PathIo* io);

  std::vector<std::unique_ptr<Path>> paths_;
  const IoPolicy policy_;
  const std::function<void(size_t)> on_ana_error_;
  const uint32_t max_tries_;  // submissions of one request before its path error is returned
  mutable std::atomic<size_t> last_{0};  // round-robin: the path used last

  mutable std::mutex hold_mu_;  // held_; a usable path is re-checked under it before holding
  std::vector<PathIo*> held_;

  std::mutex free_mu_;  // recycled request contexts
  std::vector<PathIo*> free_;
};

// Connects to every transport address in `paths` (the same subsystem:
// base.target.subnqn when a path's subnqn is empty) with `base`'s options,
// and returns a Controller whose namespaces() are MultipathNamespaces.
// Per-path controllers fail parked I/O at once when their connection drops
// (fast_io_fail_tmo = 0), so that I/O fails over instead of waiting.
// info()/options()/admin_command() use the first live path; state() is the
// best of the paths' states. Throws nvmefs::Error when no path connects or
// the paths lead to different subsystems; a path that does not connect is
// skipped with a warning.
std::unique_ptr<Controller> connect_multipath(const ConnectOptions& base, const std::vector<TransportId>& paths,
                                              IoPolicy policy = IoPolicy::RoundRobin);

// Builds the multipath controller from controllers already connected (tests).
std::unique_ptr<Controller> make_multipath_controller(std::vector<std::shared_ptr<Controller>> paths,
                                                      IoPolicy policy);

}  // namespace nvmefs::host
