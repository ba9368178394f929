// Follows a discovery controller's log over time: a persistent discovery
// controller (NVMe Base 2.0 §3.1.3, discovery controllers: one connected
// with a nonzero KATO and kept alive) reports changes of its log with the Discovery Log
// Page Change asynchronous event (NVMe Base 2.0 §5.2.1: type Notice 02h,
// information F0h, log page 70h; enabled by Asynchronous Event Configuration
// bit 31, §5.27.1.7). On each such event, and after every reconnect, the log
// is read again and the entries that appeared or disappeared are reported.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "nvmefs/host/options.hpp"
#include "nvmefs/wire/discovery_log.hpp"

namespace nvmefs::host {

// KATO of the persistent discovery controller when ConnectOptions has none
// (keep_alive_tmo 0): 30 s, as nvme-cli's persistent discovery
// (NVMF_DEF_DISC_TMO) and the Linux host (NVME_DEFAULT_KATO).
inline constexpr uint32_t kDiscoveryKeepAliveTmo = 30;

// Entries are the same entry when subnqn, trtype, traddr and trsvcid match.
struct DiscoveryDiff {
  std::vector<wire::DiscoveryEntry> added, removed;
};

class DiscoveryWatcher {
 public:
  // Connects a persistent discovery controller at opts.target (subnqn is
  // replaced by the discovery NQN, an empty trsvcid means 8009, KATO is
  // opts.keep_alive_tmo or kDiscoveryKeepAliveTmo) and reads the log once;
  // throws nvmefs::Error when either fails. Afterwards, on_change runs on the
  // watcher's own thread (never a receive thread), one call at a time, with
  // a non-empty diff, after each log change and after each reconnect that
  // found the log changed. When the connection is lost the watcher
  // reconnects every opts.reconnect_delay seconds for as long as it lives
  // (ctrl_loss_tmo does not apply: the log is only control information).
  // on_change must not destroy the watcher.
  DiscoveryWatcher(const ConnectOptions& opts, std::function<void(const DiscoveryDiff&)> on_change);
  // Disconnects; no on_change call is running or starts after it returns.
  // Waits for a reconnect attempt in progress (at most connect_timeout_ms).
  ~DiscoveryWatcher();
  DiscoveryWatcher(const DiscoveryWatcher&) = delete;
  DiscoveryWatcher& operator=(const DiscoveryWatcher&) = delete;

  // The log as last read (all entries: NVM subsystems, referrals, the current discovery subsystem).
  std::vector<wire::DiscoveryEntry> entries() const;
  // Connected to the discovery controller right now?
  bool connected() const;
  // Log reads after the first one (change notices and reconnects), and reconnects.
  uint64_t rereads() const;
  uint64_t reconnects() const;

  struct State;  // discovery_watcher.cpp

 private:
  std::shared_ptr<State> state_;
};

// The key DiscoveryWatcher compares entries by.
bool same_discovery_entry(const wire::DiscoveryEntry& a, const wire::DiscoveryEntry& b);
// What changed from `before` to `after`.
DiscoveryDiff diff_discovery_logs(const std::vector<wire::DiscoveryEntry>& before,
                                  const std::vector<wire::DiscoveryEntry>& after);

}  // namespace nvmefs::host
