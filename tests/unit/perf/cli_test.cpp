#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cli.hpp"
#include "nvmefs/common/error.hpp"

using namespace nvmefs::perf;

namespace {
PerfOptions parse(std::vector<const char*> args) { return parse_args(args); }
std::string error_of(std::vector<const char*> args) {
  try {
    parse_args(args);
  } catch (const nvmefs::Error& e) {
    return e.what();
  }
  return "";
}
constexpr const char* kUri = "nvme+tcp://127.0.0.1:4421/nqn.2024-01.io.nvmefs:perf";
}  // namespace

TEST_CASE("cli parses every option") {
  PerfOptions o = parse({"--rw", "randrw", "--rwmixread=70", "--bs", "128K", "--qd", "64", "--queues", "4",
                         "--time", "3", "--ns", "2", "--size", "64M", "--verify", "--seed", "9", "--hdr-digest",
                         "--data-digest", "--hostnqn", "nqn.2014-08.org.nvmexpress:uuid:1", "-o", "json", kUri});
  CHECK(o.workload == Workload::RandRW);
  CHECK(o.rwmixread == 70);
  CHECK(o.bs == 128 * 1024);
  CHECK(o.qd == 64);
  CHECK(o.queues == 4);
  CHECK(o.time_s == 3);
  CHECK(o.nsid == 2);
  CHECK(o.size == 64 << 20);
  CHECK(o.verify);
  CHECK(o.seed == 9);
  CHECK(o.seed_given);
  CHECK(o.hdr_digest);
  CHECK(o.data_digest);
  CHECK(o.hostnqn == "nqn.2014-08.org.nvmexpress:uuid:1");
  CHECK(o.output == OutputFormat::Json);
  CHECK(o.uri.tid.traddr == "127.0.0.1");
  CHECK(o.uri.tid.trsvcid == "4421");
  CHECK(o.uri.tid.subnqn == "nqn.2024-01.io.nvmefs:perf");
}

TEST_CASE("cli defaults and the URI's namespace") {
  PerfOptions o = parse({"nvme+tcp://10.0.0.1/nqn.a:b/3"});
  CHECK(o.workload == Workload::RandRead);
  CHECK(o.bs == 4096);
  CHECK(o.qd == 32);
  CHECK(o.time_s == 10);
  CHECK(o.nsid == 3);
  CHECK_FALSE(o.verify);
  CHECK(parse({"--help"}).help);
  PerfOptions check = parse({"--verify-only", "--seed", "3", "--time", "0", kUri});
  CHECK(check.verify_only);
  CHECK(check.verify);
}

TEST_CASE("cli rejects bad arguments with one line naming them") {
  CHECK(error_of({"--rw", "sideways", kUri}).find("sideways") != std::string::npos);
  CHECK(error_of({"--bs", "4Q", kUri}).find("--bs") != std::string::npos);
  CHECK(error_of({"--qd", "0", kUri}).find("out of range") != std::string::npos);
  CHECK(error_of({"--qd", kUri}).find("not a number") != std::string::npos);
  CHECK(error_of({"--time"}).find("needs a value") != std::string::npos);
  CHECK(error_of({"--bogus", kUri}).find("--bogus") != std::string::npos);
  CHECK(error_of({}).find("missing URI") != std::string::npos);
  CHECK(error_of({"http://x/y"}).find("scheme") != std::string::npos);
  CHECK(error_of({"nvme+tcp://10.0.0.1"}).find("discovery") != std::string::npos);
  CHECK(error_of({"--ns", "2", "nvme+tcp://10.0.0.1/nqn.a:b/3"}).find("contradicts") != std::string::npos);
  CHECK(error_of({"--rwmixread", "30", kUri}).find("randrw") != std::string::npos);
  CHECK(error_of({"--time", "0", kUri}).find("--verify") != std::string::npos);
  CHECK(error_of({"--verify=yes", kUri}).find("takes no value") != std::string::npos);
  CHECK(error_of({"-o", "xml", kUri}).find("xml") != std::string::npos);
  CHECK(error_of({"--verify-only", kUri}).find("--seed") != std::string::npos);
  for (auto* line : {"--rw", "--bogus"}) CHECK(error_of({line, kUri}).find('\n') == std::string::npos);
}
