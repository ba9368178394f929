// Command line of nvmefs-perf.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "engine.hpp"
#include "nvmefs/common/uri.hpp"

namespace nvmefs::perf {

enum class OutputFormat { Normal, Json };

struct PerfOptions {
  NvmeUri uri;
  Workload workload = Workload::RandRead;
  uint32_t rwmixread = 50;
  uint32_t bs = 4096;
  uint32_t qd = 32;
  uint32_t queues = 1;  // nr_io_queues of the connection
  uint32_t time_s = 10;
  uint32_t nsid = 0;         // 0: the URI's, else the first active namespace
  uint64_t size = 0;         // bytes of the namespace to use from offset 0; 0 = all
  bool verify = false;       // fill, verified workload, check (or with verify_only: check only)
  bool verify_only = false;  // check the pattern an earlier --verify run with the same seed left
  uint32_t seed = 0;
  bool seed_given = false;
  bool hdr_digest = false, data_digest = false;
  std::string hostnqn;
  OutputFormat output = OutputFormat::Normal;
  bool help = false;
};

// Parses the arguments after the program name. Throws nvmefs::Error with one
// line naming the bad argument.
PerfOptions parse_args(std::span<const char* const> args);

// The --help text.
const char* usage();

}  // namespace nvmefs::perf
