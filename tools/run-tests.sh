#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds, runs
# every suite (unit, integration with real FUSE mounts against the bundled
# target, vm against the Linux kernel target/host in QEMU), then the unit and
# integration suites again under AddressSanitizer + UndefinedBehaviorSanitizer,
# then the unit suite under ThreadSanitizer, then each fuzz target for a short
# bounded time. Exits non-zero if anything fails.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
passed=0
failed=0

run_suite() {  # NAME BUILD_DIR MESON_TEST_ARGS...
  local name=$1 dir=$2; shift 2
  echo "=== $name ==="
  if meson test -C "$dir" --print-errorlogs "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); fail=1
  fi
}

tools/bootstrap.sh build || exit 1
run_suite "tests (unit, integration, vm)" build --num-processes 1

if [ "${NVMEFS_SKIP_SANITIZERS:-0}" != 1 ]; then
  tools/bootstrap.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug || exit 1
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite "tests under ASan+UBSan (unit, integration)" build-asan --suite unit --suite integration --num-processes 1
fi

# ThreadSanitizer over the unit tests: the concurrent parts (block cache
# shards and write-back, host queues and the TCP receive thread, the perf
# engine) run there with real threads. About 6 minutes on 2 cores (build
# included). Any report fails the run (halt_on_error).
if [ "${NVMEFS_SKIP_TSAN:-0}" != 1 ]; then
  tools/bootstrap.sh build-tsan -Db_sanitize=thread -Db_lundef=false || exit 1
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
    run_suite "unit tests under ThreadSanitizer" build-tsan --suite unit --num-processes 1
fi

if [ "${NVMEFS_SKIP_FUZZ:-0}" != 1 ]; then
  echo "=== fuzz targets (bounded) ==="
  if CXX=clang++ tools/bootstrap.sh build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dtests=false >/dev/null; then
    if tools/run-fuzzers.sh build-fuzz "${NVMEFS_FUZZ_SECONDS:-20}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fail=1; fi
  else
    echo "fuzz build failed"; failed=$((failed + 1)); fail=1
  fi
fi

echo "test runs: $passed passed, $failed failed"
exit $fail
