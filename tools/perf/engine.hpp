// The benchmark engine: runs one phase of I/O against any BlockDevice with
// exactly `qd` requests in flight. Requests and their (4 KiB-aligned) buffers
// are allocated once per phase; each completion callback records the latency,
// picks the next offset and resubmits the same request, so the hot path does
// no allocation and takes no lock (shared state: one atomic cursor for
// sequential workloads and the atomic histogram). Devices that complete inside
// submit() are run through a per-thread trampoline instead of recursing.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "nvmefs/common/histogram.hpp"
#include "nvmefs/block_device.hpp"
#include "pattern.hpp"

namespace nvmefs::perf {

enum class Workload { Read, Write, RandRead, RandWrite, RandRW };
const char* workload_name(Workload w);
std::optional<Workload> parse_workload(std::string_view name);

struct PhaseSpec {
  Workload workload = Workload::RandRead;
  uint32_t rwmixread = 50;  // RandRW: percentage of reads
  uint32_t bs = 4096;       // bytes per request, a multiple of the device block size
  uint32_t qd = 1;          // requests kept in flight
  uint64_t region_offset = 0, region_bytes = 0;  // device bytes used; region_bytes >= bs
  // Stop conditions; at least one must be set. The phase ends at the first
  // that hits; requests in flight then complete without being replaced.
  std::chrono::nanoseconds duration{0};  // 0 = no time limit
  uint64_t max_ios = 0;                  // 0 = no limit
  bool single_pass = false;              // sequential workloads: stop at the region's end instead of wrapping
  // Write the --verify pattern and check it on every read.
  bool verify = false;
  uint32_t seed = 0;
};

struct PhaseResult {
  uint64_t ios = 0, reads = 0, writes = 0, bytes = 0;  // successful requests
  uint64_t errors = 0;
  int first_error = 0;          // -errno of the first failed request
  std::chrono::nanoseconds elapsed{0};
  std::unique_ptr<LatencyHistogram> latency_ns = std::make_unique<LatencyHistogram>();  // every completion
  uint64_t verified_blocks = 0;   // device blocks checked against the pattern
  uint64_t mismatched_blocks = 0;
  std::vector<PatternMismatch> first_mismatches;  // up to kKeptMismatches

  static constexpr size_t kKeptMismatches = 8;
  double seconds() const { return std::chrono::duration<double>(elapsed).count(); }
  double iops() const { return seconds() > 0 ? static_cast<double>(ios) / seconds() : 0.0; }
  double mib_per_s() const { return seconds() > 0 ? static_cast<double>(bytes) / seconds() / (1 << 20) : 0.0; }
};

// Runs the phase and returns when every request has completed. Throws
// nvmefs::Error for a spec the device cannot take (misaligned bs, region out of
// range, no stop condition). I/O errors are counted, not thrown.
PhaseResult run_phase(BlockDevice& dev, const PhaseSpec& spec);

}  // namespace nvmefs::perf
