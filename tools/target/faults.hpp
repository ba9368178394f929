// Fault injection for tests: each fault is off unless its option is given.
// Counters are shared by all queues of the target; every one-shot fault
// fires once, on the first I/O command past its threshold.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>

namespace nvmefs::target {

enum class MalformedKind : uint8_t {
  DataOffset,  // C2HData whose DATAO lies past the command's data
  UnknownCid,  // C2HData for a command identifier nothing uses
  HugePlen,    // a CapsuleResp header whose PLEN claims 4 GiB
};
std::optional<MalformedKind> parse_malformed_kind(std::string_view s);
std::string_view malformed_kind_name(MalformedKind k);

struct FaultOptions {
  std::optional<uint64_t> close_after;      // close an I/O queue connection after N I/O commands (once)
  uint32_t delay_ms = 0;                    // delay every I/O completion
  std::optional<uint64_t> refuse_connect;   // refuse this many Connects (UINT64_MAX = all) with 0x181
  std::optional<uint64_t> malformed_after;  // send a malformed PDU after N I/O commands (once)
  MalformedKind malformed_kind = MalformedKind::DataOffset;
  std::optional<uint64_t> digest_error_after;  // corrupt the data digest of a C2HData after N I/O commands (once)
};

// The faults' shared state. One instance per target.
class FaultInjector {
 public:
  explicit FaultInjector(const FaultOptions& o) : opts_(o) {}
  const FaultOptions& options() const { return opts_; }

  // Counts one I/O command; returns its 1-based number.
  uint64_t count_io_command() { return io_commands_.fetch_add(1, std::memory_order_relaxed) + 1; }
  // Each returns true exactly once. should_close is asked after command `n`
  // completed (true when n >= N); the other two while sending data for
  // command `n` (true when n > N).
  bool should_close(uint64_t n) { return fire_once(opts_.close_after, n + 1, closed_); }
  bool should_send_malformed(uint64_t n) { return fire_once(opts_.malformed_after, n, malformed_sent_); }
  bool should_corrupt_digest(uint64_t n) { return fire_once(opts_.digest_error_after, n, digest_corrupted_); }
  // True if this Connect must be refused (controller busy).
  bool should_refuse_connect() {
    if (!opts_.refuse_connect) return false;
    return connects_refused_.fetch_add(1, std::memory_order_relaxed) < *opts_.refuse_connect;
  }

 private:
  static bool fire_once(const std::optional<uint64_t>& after, uint64_t n, std::atomic<bool>& fired) {
    return after && n > *after && !fired.exchange(true);
  }
  FaultOptions opts_;
  std::atomic<uint64_t> io_commands_{0};
  std::atomic<uint64_t> connects_refused_{0};
  std::atomic<bool> closed_{false}, malformed_sent_{false}, digest_corrupted_{false};
};

}  // namespace nvmefs::target
