// nvmefs-perf: raw NVMe-oF benchmark in the spirit of spdk_nvme_perf. Connects
// one controller with the initiator, runs the engine against one namespace and
// prints the figures. Exit status: 0 ok, 1 I/O errors or verify mismatches,
// 2 bad arguments or connection failure.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

#include "cli.hpp"
#include "engine.hpp"
#include "nvmefs/common/error.hpp"
#include "nvmefs/common/log.hpp"
#include "nvmefs/host/controller.hpp"
#include "report.hpp"

namespace nvmefs::perf {
namespace {

constexpr int kExitIoFailed = 1;
constexpr int kExitSetupFailed = 2;

host::ConnectOptions connect_options(const PerfOptions& o) {
  host::ConnectOptions c;
  c.target = o.uri.tid;
  c.hostnqn = o.hostnqn;
  c.nr_io_queues = o.queues;
  // Room for this queue's share of qd plus one, so no request waits for a
  // free submission queue entry (NVMe Base 2.0 §3.3.1: a queue of N entries holds N-1).
  uint32_t per_queue = (o.qd + o.queues - 1) / o.queues + 1;
  c.queue_size = std::clamp<uint32_t>(per_queue, c.queue_size, 1024);
  c.hdr_digest = o.hdr_digest;
  c.data_digest = o.data_digest;
  return c;
}

std::shared_ptr<host::Namespace> pick_namespace(const host::Controller& ctrl, uint32_t nsid) {
  if (nsid) {
    auto ns = ctrl.ns(nsid);
    if (!ns) throw Error(fmt::format("namespace {} is not active on {}", nsid, ctrl.info().subnqn), ENODEV);
    return ns;
  }
  auto all = ctrl.namespaces();
  if (all.empty()) throw Error(fmt::format("{} has no active namespace", ctrl.info().subnqn), ENODEV);
  return all.front();
}

struct PlannedPhase {
  const char* name;
  PhaseSpec spec;
};

// --verify: fill, workload, check; --verify-only: check; else the workload.
std::vector<PlannedPhase> plan(const PerfOptions& o, uint64_t region_bytes, uint32_t seed) {
  PhaseSpec base;
  base.bs = o.bs;
  base.qd = o.qd;
  base.region_bytes = region_bytes;
  base.verify = o.verify;
  base.seed = seed;

  PhaseSpec workload = base, fill = base, check = base;
  workload.workload = o.workload;
  workload.rwmixread = o.rwmixread;
  workload.duration = std::chrono::seconds(o.time_s);
  fill.workload = Workload::Write;
  check.workload = Workload::Read;
  fill.single_pass = check.single_pass = true;

  if (o.verify_only) return {{"check", check}};
  if (!o.verify) return {{"workload", workload}};
  std::vector<PlannedPhase> phases{{"fill", fill}};
  if (o.time_s) phases.push_back({"workload", workload});
  phases.push_back({"check", check});
  return phases;
}

bool writes(const PerfOptions& o) {
  if (o.verify_only) return false;
  return o.verify || (o.workload != Workload::Read && o.workload != Workload::RandRead);
}

int run(const PerfOptions& o) {
  uint32_t seed = o.seed_given ? o.seed : static_cast<uint32_t>(time(nullptr) ^ static_cast<uint32_t>(clock()));
  std::unique_ptr<host::Controller> ctrl;
  std::shared_ptr<host::Namespace> ns;
  uint64_t region;
  try {
    ctrl = host::Controller::connect(connect_options(o));
    ns = pick_namespace(*ctrl, o.nsid);
    const BlockDeviceInfo& info = ns->info();
    if (o.bs % info.block_size)
      throw Error(fmt::format("--bs {} is not a multiple of the namespace's {}-byte blocks", o.bs, info.block_size),
                  EINVAL);
    if (o.size > info.size_bytes.load())
      throw Error(fmt::format("--size {} exceeds the namespace's {} bytes", o.size, info.size_bytes.load()), EINVAL);
    region = (o.size ? o.size : info.size_bytes.load()) / o.bs * o.bs;
    if (region == 0)
      throw Error(fmt::format("namespace of {} bytes is smaller than --bs {}", info.size_bytes.load(), o.bs), EINVAL);
    if (info.read_only && writes(o))
      throw Error(fmt::format("namespace {} is read-only", ns->nsid()), EROFS);
  } catch (const Error& e) {
    std::fprintf(stderr, "nvmefs-perf: %s\n", e.what());
    return kExitSetupFailed;
  }

  RunReport report;
  report.target = format_nvme_uri(o.uri.tid);
  report.nsid = ns->nsid();
  report.block_size = ns->info().block_size;
  report.region_bytes = region;
  report.queues = ctrl->info().nr_io_queues;
  report.verify = o.verify;
  report.seed = seed;
  for (const PlannedPhase& phase : plan(o, region, seed)) {
    PhaseResult result = run_phase(*ns, phase.spec);
    bool failed = result.errors || result.mismatched_blocks;
    report.phases.push_back({phase.name, phase.spec, std::move(result)});
    if (failed) break;  // checking data after a failed pass proves nothing new
  }
  ctrl->disconnect();

  if (o.output == OutputFormat::Json) std::printf("%s\n", format_json(report).c_str());
  else std::fputs(format_table(report).c_str(), stdout);
  for (const std::string& line : failure_lines(report)) std::fprintf(stderr, "nvmefs-perf: %s\n", line.c_str());
  return report.errors() || report.mismatched_blocks() ? kExitIoFailed : 0;
}

}  // namespace
}  // namespace nvmefs::perf

int main(int argc, char** argv) {
  using namespace nvmefs::perf;
  nvmefs::log::set_level(nvmefs::log::Level::Warn);  // the report is the output; no connect chatter
  PerfOptions opts;
  try {
    opts = parse_args({argv + 1, static_cast<size_t>(argc > 0 ? argc - 1 : 0)});
  } catch (const nvmefs::Error& e) {
    std::fprintf(stderr, "nvmefs-perf: %s\n", e.what());
    return kExitSetupFailed;
  }
  if (opts.help) {
    std::fputs(usage(), stdout);
    return 0;
  }
  try {
    return run(opts);
  } catch (const nvmefs::Error& e) {
    std::fprintf(stderr, "nvmefs-perf: %s\n", e.what());
    return kExitIoFailed;
  }
}
