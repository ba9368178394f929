#include <doctest/doctest.h>

#include "report.hpp"

using namespace nvmefs::perf;

namespace {
PhaseReport phase(const char* name, Workload w, uint64_t ios, uint64_t errors) {
  PhaseReport p;
  p.name = name;
  p.spec.workload = w;
  p.spec.bs = 4096;
  p.spec.qd = 8;
  p.result.ios = ios;
  p.result.bytes = ios * 4096;
  p.result.errors = errors;
  p.result.first_error = errors ? -EIO : 0;
  p.result.elapsed = std::chrono::seconds(2);
  for (uint64_t i = 1; i <= ios; i++) p.result.latency_ns->record(i * 1000);
  return p;
}
}  // namespace

TEST_CASE("JSON carries the workload's figures at top level and every phase") {
  RunReport r;
  r.queues = 2;
  r.seed = 5;
  r.verify = true;
  r.phases.push_back(phase("fill", Workload::Write, 100, 0));
  r.phases.push_back(phase("workload", Workload::RandRW, 1000, 0));
  r.phases.back().result.verified_blocks = 40;
  std::string j = format_json(r);
  CHECK(j.starts_with(R"({"rw": "randrw", "bs": 4096, "qd": 8, "queues": 2, "time_s": 2.000, "ios": 1000, )"
                      R"("iops": 500.0, )"));
  CHECK(j.find(R"("mib_s": 1.95)") != std::string::npos);
  CHECK(j.find(R"("lat_us": {"mean": 500.50, "p50": 50)") != std::string::npos);
  CHECK(j.find(R"("max": 1000.00})") != std::string::npos);
  CHECK(j.find(R"("errors": 0, "verify": {"blocks": 40, "mismatches": 0}, "seed": 5, )"
               R"("phases": [{"phase": "fill", "rw": "write")") != std::string::npos);
  CHECK(j.ends_with(R"("errors": 0}]})"));
  CHECK(failure_lines(r).empty());
}

TEST_CASE("failures are summed over phases and described one per line") {
  RunReport r;
  r.phases.push_back(phase("fill", Workload::Write, 10, 3));
  PhaseReport check = phase("check", Workload::Read, 10, 0);
  check.result.mismatched_blocks = 1;
  check.result.first_mismatches.push_back(PatternMismatch{0x200, {}, {}});
  r.phases.push_back(std::move(check));
  CHECK(r.errors() == 3);
  CHECK(r.mismatched_blocks() == 1);
  CHECK(r.main_phase()->name == "check");  // no timed workload: the last pass
  auto lines = failure_lines(r);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "fill: 3 I/O error(s), the first: Input/output error");
  CHECK(lines[1] == "check: 1 block(s) do not hold the pattern written");
  CHECK(lines[2].starts_with("check: mismatch at offset 0x200: expected 0000"));
  CHECK(format_table(r).find("\ncheck     read") != std::string::npos);
}
