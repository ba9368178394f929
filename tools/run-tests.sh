#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds, and
# runs every suite once:
#   unit + vm (the Linux kernel target/host in QEMU)        plain build
#   unit + integration (bundled target, real FUSE mounts)   AddressSanitizer + UBSan build
#   unit + concurrency (integration tests with threads)     ThreadSanitizer build
#   each libFuzzer target for a short bounded time          clang fuzz build
# The integration suite runs only in the sanitizer build: it is the one that
# feeds untrusted bytes through every layer, and CI has 90 minutes on 2 cores.
# NVMEFS_FULL=1 also runs it in the plain build. Exits non-zero if anything fails.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
passed=0
failed=0

run_suite() {  # NAME BUILD_DIR MESON_TEST_ARGS...
  local name=$1 dir=$2; shift 2
  echo "=== $name ($(date +%T)) ==="
  if meson test -C "$dir" --print-errorlogs "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); fail=1
  fi
}

tools/bootstrap.sh build || exit 1
if [ "${NVMEFS_FULL:-0}" = 1 ]; then
  run_suite "tests (unit, integration, vm)" build --num-processes 1
else
  run_suite "tests (unit, vm)" build --suite unit --suite vm --num-processes 1
fi

if [ "${NVMEFS_SKIP_SANITIZERS:-0}" != 1 ]; then
  tools/bootstrap.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false || exit 1
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite "tests under ASan+UBSan (unit, integration)" build-asan --suite unit --suite integration \
    --num-processes 1 --timeout-multiplier 3
fi

# ThreadSanitizer over the unit tests and the integration tests tagged
# 'concurrency': the concurrent parts (block cache shards and write-back, host
# queues and the TCP receive thread, reconnects under load, the FUSE tree
# changing while it is read, the perf engine) run there with real threads.
# Any report fails the run (halt_on_error).
if [ "${NVMEFS_SKIP_TSAN:-0}" != 1 ]; then
  tools/bootstrap.sh build-tsan -Db_sanitize=thread -Db_lundef=false || exit 1
  # intercept_send=0: TSan marks a sendmsg() buffer as read only after the
  # call returns; by then the target may have answered and the completion
  # thread handed the buffer back to its owner, which writes it. The kernel
  # had copied the bytes long before (a false report, seen in reliability-restart).
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:intercept_send=0" \
    run_suite "tests under ThreadSanitizer (unit, concurrency)" build-tsan --suite unit --suite concurrency \
    --num-processes 1 --timeout-multiplier 3
fi

if [ "${NVMEFS_SKIP_FUZZ:-0}" != 1 ]; then
  echo "=== fuzz targets (bounded) ==="
  # Only the fuzz executables are built here (they need just the wire, host
  # parsing and option code), not the whole project again.
  [ -f build-fuzz/build.ninja ] ||
    CXX=clang++ meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dtests=false >/dev/null
  fuzz_targets=$(cd build-fuzz && meson introspect --targets |
    python3 -c 'import json,os,sys; print(" ".join(os.path.relpath(f) for t in json.load(sys.stdin) if t["name"].startswith("fuzz_") and t["type"] == "executable" for f in t["filename"]))')
  if [ -n "$fuzz_targets" ] && ninja -C build-fuzz $fuzz_targets >/dev/null; then
    if tools/run-fuzzers.sh build-fuzz "${NVMEFS_FUZZ_SECONDS:-20}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fail=1; fi
  else
    echo "fuzz build failed"; failed=$((failed + 1)); fail=1
  fi
fi

echo "finished at $(date +%T)"
echo "stages: $passed passed, $failed failed"
exit $fail
