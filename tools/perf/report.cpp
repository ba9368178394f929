#include "report.hpp"

#include <fmt/format.h>

#include <cstring>

namespace nvmefs::perf {
namespace {

struct LatencyUs {
  double mean, p50, p99, p99_9, max;
};

LatencyUs latency_us(const PhaseResult& r) {
  const LatencyHistogram& h = *r.latency_ns;
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  return {h.mean() / 1000.0, us(h.percentile(50)), us(h.percentile(99)), us(h.percentile(99.9)), us(h.max())};
}

// The fields describing one phase's figures, without braces.
std::string phase_fields(const PhaseReport& p, uint32_t queues) {
  const PhaseResult& r = p.result;
  LatencyUs l = latency_us(r);
  return fmt::format(
      R"("rw": "{}", "bs": {}, "qd": {}, "queues": {}, "time_s": {:.3f}, "ios": {}, "iops": {:.1f}, "mib_s": {:.2f}, )"
      R"("lat_us": {{"mean": {:.2f}, "p50": {:.2f}, "p99": {:.2f}, "p99_9": {:.2f}, "max": {:.2f}}})",
      workload_name(p.spec.workload), p.spec.bs, p.spec.qd, queues, r.seconds(), r.ios, r.iops(), r.mib_per_s(),
      l.mean, l.p50, l.p99, l.p99_9, l.max);
}

}  // namespace

const PhaseReport* RunReport::main_phase() const {
  for (const PhaseReport& p : phases)
    if (p.name == "workload") return &p;
  return phases.empty() ? nullptr : &phases.back();
}

uint64_t RunReport::errors() const {
  uint64_t n = 0;
  for (const PhaseReport& p : phases) n += p.result.errors;
  return n;
}

uint64_t RunReport::verified_blocks() const {
  uint64_t n = 0;
  for (const PhaseReport& p : phases) n += p.result.verified_blocks;
  return n;
}

uint64_t RunReport::mismatched_blocks() const {
  uint64_t n = 0;
  for (const PhaseReport& p : phases) n += p.result.mismatched_blocks;
  return n;
}

std::string format_table(const RunReport& r) {
  std::string out = fmt::format("target {} nsid {}: {:g} MiB region, {}-byte blocks, {} I/O queue(s){}\n", r.target,
                                r.nsid, static_cast<double>(r.region_bytes) / (1 << 20), r.block_size, r.queues,
                                r.verify ? fmt::format(", verify seed {}", r.seed) : "");
  out += fmt::format("{:<9} {:<9} {:>8} {:>5} {:>7} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6}\n", "phase",
                     "rw", "bs", "qd", "time_s", "ios", "IOPS", "MiB/s", "mean_us", "p50_us", "p99_us", "p99.9_us",
                     "max_us", "errors");
  for (const PhaseReport& p : r.phases) {
    LatencyUs l = latency_us(p.result);
    out += fmt::format("{:<9} {:<9} {:>8} {:>5} {:>7.2f} {:>10} {:>10.0f} {:>9.1f} "
                       "{:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>6}\n",
                       p.name, workload_name(p.spec.workload), p.spec.bs, p.spec.qd, p.result.seconds(), p.result.ios,
                       p.result.iops(), p.result.mib_per_s(), l.mean, l.p50, l.p99, l.p99_9, l.max, p.result.errors);
  }
  if (r.verify)
    out += fmt::format("verify: {} blocks checked, {} mismatched\n", r.verified_blocks(), r.mismatched_blocks());
  return out;
}

std::string format_json(const RunReport& r) {
  std::string out = "{";
  if (const PhaseReport* main = r.main_phase()) out += phase_fields(*main, r.queues) + ", ";
  out += fmt::format(R"("errors": {}, "verify": {{"blocks": {}, "mismatches": {}}}, "seed": {}, "phases": [)",
                     r.errors(), r.verified_blocks(), r.mismatched_blocks(), r.seed);
  for (size_t i = 0; i < r.phases.size(); i++) {
    const PhaseReport& p = r.phases[i];
    out += fmt::format(R"({}{{"phase": "{}", {}, "errors": {}}})", i ? ", " : "", p.name, phase_fields(p, r.queues),
                       p.result.errors);
  }
  out += "]}";
  return out;
}

std::vector<std::string> failure_lines(const RunReport& r) {
  std::vector<std::string> lines;
  for (const PhaseReport& p : r.phases) {
    if (p.result.errors)
      lines.push_back(fmt::format("{}: {} I/O error(s), the first: {}", p.name, p.result.errors,
                                  std::strerror(-p.result.first_error)));
    if (p.result.mismatched_blocks)
      lines.push_back(
          fmt::format("{}: {} block(s) do not hold the pattern written", p.name, p.result.mismatched_blocks));
    for (const PatternMismatch& m : p.result.first_mismatches) lines.push_back(p.name + ": mismatch at " + describe(m));
  }
  return lines;
}

}  // namespace nvmefs::perf
