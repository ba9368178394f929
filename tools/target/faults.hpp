// Fault injection for tests: each fault is off unless its option is given.
// Counters are shared by all queues of the target; every one-shot fault
// fires once, on the first I/O command past its threshold.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace nvmefs::target {

// What --fault-malformed N sends (--fault-malformed-kind). The table in
// faults.cpp names and documents each kind; `when` says what N counts.
enum class MalformedKind : uint8_t {
  // One PDU in reply to the (N+1)-th I/O command (a read for the C2HData
  // kinds, a write of more than the in-capsule size for r2t-beyond).
  DataOffset,      // C2HData whose DATAO lies past the command's data
  UnknownCid,      // C2HData for a command identifier nothing uses
  HugePlen,        // a CapsuleResp header whose PLEN claims 4 GiB
  Truncated,       // half a C2HData header, then the connection closes
  BadHlen,         // C2HData with HLEN 0x20 (must be 24)
  BadPdo,          // C2HData with PDO inside the header
  BadDatal,        // C2HData whose DATAL is 4 more than PLEN leaves for data
  BadPlen,         // CapsuleResp whose PLEN (8) is shorter than its header
  HeaderDigest,    // CapsuleResp with a wrong header digest (needs header digests)
  UnknownCidResp,  // CapsuleResp for a command identifier nothing uses
  R2tBeyond,       // R2T asking for 4 KiB more than the write carries
  // From the (N+1)-th I/O command on: I/O commands are read, never answered.
  Hang,
  // The ICResp of the (N+1)-th connection (admin queues count too).
  IcRespMaxH2cData,  // MAXH2CDATA 1000 (TCP §3.6.2.3: at least 4096)
  IcRespPfv,         // PFV 1 (only 0 is defined)
  // Every discovery log page (N ignored).
  DiscoveryNumrec,  // NUMREC claims 1000 more records than the log holds
  DiscoveryGenctr,  // GENCTR changes on every read
  // Every Identify answer of an I/O controller (N ignored).
  IdMdtsHuge,    // Identify Controller MDTS 255
  IdNnHuge,      // Identify Controller NN 0xFFFFFFFF
  IdNszeZero,    // Identify Namespace NSZE/NCAP/NUSE 0
  IdLbaFormat,   // Identify Namespace FLBAS 5 with NLBAF 0 (format index out of range)
  IdLbaDs,       // Identify Namespace LBADS 63 (2^63-byte blocks)
};
std::optional<MalformedKind> parse_malformed_kind(std::string_view s);
std::string_view malformed_kind_name(MalformedKind k);
// One line per kind ("  name  description"), for --help.
std::string_view malformed_kinds_help();

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

  // True if the malformed kind is `k` (whether or not it fired yet).
  bool is(MalformedKind k) const { return opts_.malformed_after && opts_.malformed_kind == k; }
  // The one-shot kind `k` fires for I/O command `n`.
  bool fire(MalformedKind k, uint64_t n) { return is(k) && should_send_malformed(n); }
  // Hang: I/O command `n` must never be answered.
  bool should_swallow(uint64_t n) const { return is(MalformedKind::Hang) && n > *opts_.malformed_after; }
  // Counts one connection (ICReq); true if its ICResp must be malformed.
  bool should_malform_icresp() {
    const uint64_t n = connections_.fetch_add(1, std::memory_order_relaxed) + 1;
    return (is(MalformedKind::IcRespMaxH2cData) || is(MalformedKind::IcRespPfv)) && should_send_malformed(n);
  }
  // Applies the discovery kinds to a discovery log page built for one read.
  void corrupt_discovery_log(std::span<uint8_t> log);
  // Applies the Identify kinds to the data of Identify CNS `cns`.
  void corrupt_identify(uint8_t cns, std::span<uint8_t> data) const;

 private:
  static bool fire_once(const std::optional<uint64_t>& after, uint64_t n, std::atomic<bool>& fired) {
    return after && n > *after && !fired.exchange(true);
  }
  FaultOptions opts_;
  std::atomic<uint64_t> io_commands_{0};
  std::atomic<uint64_t> connects_refused_{0};
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> genctr_{1};
  std::atomic<bool> closed_{false}, malformed_sent_{false}, digest_corrupted_{false};
};

}  // namespace nvmefs::target
