// Output of nvmefs-perf: a table for people, one JSON object for scripts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine.hpp"

namespace nvmefs::perf {

struct PhaseReport {
  std::string name;  // "fill", "workload", "check"
  PhaseSpec spec;
  PhaseResult result;
};

struct RunReport {
  std::string target;   // URI
  uint32_t nsid = 0;
  uint32_t block_size = 0;
  uint64_t region_bytes = 0;
  uint32_t queues = 0;  // I/O queues actually connected
  bool verify = false;
  uint32_t seed = 0;
  std::vector<PhaseReport> phases;

  // The phase the headline figures describe: the timed "workload", else
  // (--verify --time 0) the last pass; null without phases.
  const PhaseReport* main_phase() const;
  uint64_t errors() const;
  uint64_t verified_blocks() const;
  uint64_t mismatched_blocks() const;
};

std::string format_table(const RunReport& r);
// One JSON object: main_phase()'s rw, bs, qd, queues, time_s, ios, iops,
// mib_s, lat_us {mean, p50, p99, p99_9, max}; errors and verify {blocks,
// mismatches} over all phases; seed; and every phase in "phases" (each with
// its own figures and errors).
std::string format_json(const RunReport& r);
// What went wrong, for stderr: per failed phase its I/O error count and the
// first error, its mismatch count and the first mismatches. Empty on success.
std::vector<std::string> failure_lines(const RunReport& r);

}  // namespace nvmefs::perf
