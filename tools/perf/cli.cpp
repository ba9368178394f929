#include "cli.hpp"

#include <fmt/format.h>

#include <limits>
#include <optional>
#include <string_view>

#include "nvmefs/common/error.hpp"
#include "nvmefs/common/size_parse.hpp"

namespace nvmefs::perf {
namespace {

constexpr uint32_t kMaxQd = 4096;
constexpr uint32_t kMaxQueues = 128;
constexpr uint64_t kMaxBs = 64ull << 20;

Error bad(const std::string& what) { return Error(what, EINVAL); }

uint64_t number(std::string_view opt, std::string_view value, uint64_t lo, uint64_t hi, bool size_suffixes = false) {
  std::optional<uint64_t> v = size_suffixes ? parse_size(value) : parse_uint(value);
  if (!v) throw bad(fmt::format("{}: '{}' is not a {}", opt, value, size_suffixes ? "size (e.g. 4K, 1M)" : "number"));
  if (*v < lo || *v > hi) throw bad(fmt::format("{}: {} is out of range {}..{}", opt, value, lo, hi));
  return *v;
}

}  // namespace

const char* usage() {
  return R"(usage: nvmefs-perf [OPTIONS] nvme+tcp://HOST[:PORT]/SUBSYSNQN[/NSID]

Raw NVMe-oF benchmark: keeps QD requests in flight against one namespace and
reports IOPS, throughput and latency percentiles.

  --rw MODE          read, write, randread (default), randwrite, randrw
  --rwmixread PCT    randrw: percentage of reads (default 50)
  --bs SIZE          bytes per request, K/M/G suffixes (default 4K)
  --qd N             requests in flight (default 32)
  --queues N         I/O queues of the connection (default 1)
  --time SECONDS     length of the measured run (default 10; 0 with --verify: passes only)
  --ns NSID          namespace (default: the URI's, else the first active one)
  --size SIZE        use only the first SIZE bytes of the namespace (default all)
  --verify           write a pattern over the region, run the workload checking
                     every read, then read the whole region back and check it
  --verify-only      only read the region back and check the pattern that an
                     earlier --verify run with the same --seed wrote
  --seed N           pattern and random-offset seed (default: from the clock)
  --hdr-digest       enable the NVMe/TCP header digest
  --data-digest      enable the NVMe/TCP data digest
  --hostnqn NQN      host NQN (default /etc/nvme/hostnqn or generated)
  -o normal|json     output format (default normal)
  -h, --help         this text

Exit status: 0 success, 1 I/O errors or verify mismatches, 2 bad arguments or
connection failure.
)";
}

PerfOptions parse_args(std::span<const char* const> args) {
  PerfOptions o;
  bool have_uri = false, rwmix_given = false;
  for (size_t i = 0; i < args.size(); i++) {
    std::string_view arg = args[i];
    std::string_view opt = arg, value;
    bool inline_value = false;
    if (arg.starts_with("--")) {
      if (auto eq = arg.find('='); eq != std::string_view::npos) {
        opt = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        inline_value = true;
      }
    }
    auto take_value = [&]() -> std::string_view {
      if (inline_value) return value;
      if (i + 1 >= args.size()) throw bad(fmt::format("{} needs a value", opt));
      return args[++i];
    };
    auto flag = [&](bool& target) {
      if (inline_value) throw bad(fmt::format("{} takes no value", opt));
      target = true;
    };

    if (opt == "-h" || opt == "--help") flag(o.help);
    else if (opt == "--rw") {
      std::string_view v = take_value();
      auto w = parse_workload(v);
      if (!w) throw bad(fmt::format("--rw: unknown mode '{}' (read, write, randread, randwrite, randrw)", v));
      o.workload = *w;
    } else if (opt == "--rwmixread") {
      o.rwmixread = static_cast<uint32_t>(number(opt, take_value(), 0, 100));
      rwmix_given = true;
    } else if (opt == "--bs") o.bs = static_cast<uint32_t>(number(opt, take_value(), 512, kMaxBs, true));
    else if (opt == "--qd") o.qd = static_cast<uint32_t>(number(opt, take_value(), 1, kMaxQd));
    else if (opt == "--queues") o.queues = static_cast<uint32_t>(number(opt, take_value(), 1, kMaxQueues));
    else if (opt == "--time") o.time_s = static_cast<uint32_t>(number(opt, take_value(), 0, 86400));
    else if (opt == "--ns") o.nsid = static_cast<uint32_t>(number(opt, take_value(), 1, 0xfffffffe));
    else if (opt == "--size") o.size = number(opt, take_value(), 512, std::numeric_limits<uint64_t>::max(), true);
    else if (opt == "--verify") flag(o.verify);
    else if (opt == "--verify-only") flag(o.verify_only);
    else if (opt == "--seed") {
      o.seed = static_cast<uint32_t>(number(opt, take_value(), 0, std::numeric_limits<uint32_t>::max()));
      o.seed_given = true;
    } else if (opt == "--hdr-digest") flag(o.hdr_digest);
    else if (opt == "--data-digest") flag(o.data_digest);
    else if (opt == "--hostnqn") {
      o.hostnqn = take_value();
      // NVMe Base 2.0 §4.5: an NQN is at most 223 bytes.
      if (o.hostnqn.empty() || o.hostnqn.size() > 223) throw bad("--hostnqn: an NQN is 1..223 bytes");
    } else if (opt == "-o" || opt == "--output") {
      std::string_view v = take_value();
      if (v == "normal") o.output = OutputFormat::Normal;
      else if (v == "json") o.output = OutputFormat::Json;
      else throw bad(fmt::format("-o: unknown format '{}' (normal, json)", v));
    } else if (arg.starts_with("-")) {
      throw bad(fmt::format("unknown option '{}' (see --help)", arg));
    } else {
      if (have_uri) throw bad(fmt::format("unexpected argument '{}': only one URI", arg));
      std::string error;
      auto uri = parse_nvme_uri(arg, error);
      if (!uri) throw bad(error);
      if (uri->discovery) throw bad(fmt::format("'{}' names a discovery controller; give the subsystem NQN", arg));
      o.uri = *uri;
      have_uri = true;
    }
  }
  if (o.help) return o;
  if (!have_uri) throw bad("missing URI nvme+tcp://HOST[:PORT]/SUBSYSNQN (see --help)");
  if (o.nsid && o.uri.nsid && o.nsid != o.uri.nsid)
    throw bad(fmt::format("--ns {} contradicts namespace {} in the URI", o.nsid, o.uri.nsid));
  if (!o.nsid) o.nsid = o.uri.nsid;
  if (rwmix_given && o.workload != Workload::RandRW) throw bad("--rwmixread applies to --rw randrw only");
  if (o.verify_only) {
    if (!o.seed_given) throw bad("--verify-only needs the --seed of the run that wrote the data");
    o.verify = true;
  }
  if (o.time_s == 0 && !o.verify) throw bad("--time 0 runs nothing (allowed with --verify only)");
  if (o.size && o.size < o.bs) throw bad(fmt::format("--size {} is smaller than --bs {}", o.size, o.bs));
  return o;
}

}  // namespace nvmefs::perf
