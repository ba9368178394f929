// Asynchronous events of one controller (NVMe Base 2.0 §5.2): the held
// Asynchronous Event Request commands, the events waiting for one, and the
// masking rule: once a notice of a type is reported, no other of that type
// is until the host reads its log page with RAE cleared (§5.2.1, §5.16.1).
// Filled by the control thread, drained by the admin queue's event sender.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

namespace nvmefs::target {

// Completion DW0 of an AER (§5.2.1 Figure 146): type 2:0, information 15:8, log page 23:16.
inline constexpr uint32_t kAenNamespaceAttributeChanged = 0x2u | (0x00u << 8) | (0x04u << 16);  // Notice, log 04h
inline constexpr uint32_t kAenDiscoveryLogChanged = 0x2u | (0xF0u << 8) | (0x70u << 16);         // Notice, log 70h
// Changed Namespace List: 1024 NSIDs; FFFFFFFFh first when more changed (§5.16.1.5).
inline constexpr size_t kChangedNamespaceListLen = 4096;

class AsyncEvents {
 public:
  struct Completion {
    uint16_t cid;
    uint32_t dw0;
  };

  // An AER arrived: hold it. False when `limit` (AERL + 1) are already held.
  bool hold_request(uint16_t cid, uint32_t limit);
  // Control thread: namespace `nsid` changed. `enabled`: AEC bit 8 is set.
  void namespace_changed(uint32_t nsid, bool enabled);
  // Control thread: the discovery log changed. `enabled`: AEC bit 31 is set.
  void discovery_changed(bool enabled);
  // Get Log Page 04h; with `rae` false the list is cleared and the notice unmasked.
  std::vector<uint8_t> changed_namespace_log(bool rae);
  // Get Log Page 70h was read; with `rae` false the notice is unmasked.
  void discovery_log_read(bool rae);

  // Blocks until an event can complete a held request, or stop() (nullopt).
  std::optional<Completion> next();
  void stop();

 private:
  void raise(uint32_t dw0, bool& masked);
  void drop_pending(uint32_t dw0);

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<uint16_t> held_;     // CIDs of outstanding AERs
  std::deque<uint32_t> pending_;   // DW0 of events no AER has carried yet
  bool ns_masked_ = false;         // a Namespace Attribute Changed notice is pending or sent
  bool discovery_masked_ = false;  // likewise Discovery Log Page Change
  std::vector<uint32_t> changed_;  // sorted NSIDs since the last read
  bool changed_overflow_ = false;
  bool stopped_ = false;
};

}  // namespace nvmefs::target
