#!/bin/bash
# nvmefs-perf against the bundled target on a free loopback port: --verify at
# qd 1 and 32 with 4K and 128K requests, a timed randrw run with JSON output,
# --verify-only across a target restart and after corrupting the backing
# file, an I/O error mid-run (exit 1, no hang), bad arguments and connection
# failures (exit 2, one line).
#   perf_bundled.sh PATH/TO/nvmefs-perf PATH/TO/nvmefs-target
set -euo pipefail
PERF=${1:?usage: perf_bundled.sh NVMEFS_PERF NVMEFS_TARGET}
TARGET=${2:?usage: perf_bundled.sh NVMEFS_PERF NVMEFS_TARGET}
NQN=nqn.2024-01.io.nvmefs:perf-test
WORK=$(mktemp -d /tmp/nvmefs-perf.XXXXXX)
TPID=
PORT=
URI=

cleanup() {
  if [ -n "$TPID" ]; then kill "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -f "$WORK/target.log" ] && sed 's/^/  target: /' "$WORK/target.log" >&2; exit 1; }
ok() { echo "ok - $*"; }

# start_target --ns SPEC [TARGET OPTIONS...] : on a free port; sets PORT and URI.
start_target() {
  : >"$WORK/target.log"  # emptied before the background start: the wait below must not read an old line
  "$TARGET" --listen 127.0.0.1:0 --nqn "$NQN" "$@" >"$WORK/target.log" 2>&1 &
  TPID=$!
  for _ in $(seq 100); do
    PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]\+\).*/\1/p' "$WORK/target.log" | head -1)
    URI=nvme+tcp://127.0.0.1:$PORT/$NQN
    [ -n "$PORT" ] && return 0
    kill -0 "$TPID" 2>/dev/null || fail "nvmefs-target exited before listening"
    sleep 0.1
  done
  fail "nvmefs-target not listening after 10 s"
}

stop_target() {
  kill "$TPID"
  wait "$TPID" 2>/dev/null || true
  TPID=
}

# perf ARGS... : runs nvmefs-perf (bounded), stdout to $WORK/out, stderr to $WORK/err, sets RC.
perf() {
  RC=0
  timeout 120 "$PERF" "$@" >"$WORK/out" 2>"$WORK/err" || RC=$?
  [ "$RC" != 124 ] || fail "nvmefs-perf $* did not finish in 120 s"
}

# json_check PYTHON_EXPR : evaluates EXPR with j = the JSON object in $WORK/out.
json_check() {
  python3 - "$WORK/out" "$1" <<'PY' || fail "JSON check '$1' on: $(cat "$WORK/out")"
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

# json_show PYTHON_EXPR : prints EXPR evaluated with j = the JSON object in $WORK/out.
json_show() {
  python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/out" "$1"
}

# expect_one_line_error EXIT_CODE ARGS... : fails with EXIT_CODE, one line on stderr, nothing on stdout.
expect_one_line_error() {
  local want=$1; shift
  perf "$@"
  [ "$RC" = "$want" ] || fail "nvmefs-perf $* exited $RC, want $want (stderr: $(cat "$WORK/err"))"
  [ "$(wc -l <"$WORK/err")" = 1 ] || fail "nvmefs-perf $* wrote $(wc -l <"$WORK/err") stderr lines: $(cat "$WORK/err")"
  [ ! -s "$WORK/out" ] || fail "nvmefs-perf $* wrote to stdout: $(cat "$WORK/out")"
  grep -q '^nvmefs-perf: ' "$WORK/err" || fail "error line lacks the program name: $(cat "$WORK/err")"
}

# ---------------------------------------------------------------------------
start_target --ns ram:256M

REGION=$((32 << 20))
for qd in 1 32; do
  for bs in 4K 128K; do
    perf --verify --rw randrw --time 1 --size 32M --qd $qd --bs $bs --seed 7 -o json "$URI"
    [ "$RC" = 0 ] || fail "--verify qd $qd bs $bs exited $RC: $(cat "$WORK/err")"
    json_check "j['errors'] == 0 and j['verify']['mismatches'] == 0"
    # the check pass alone reads every 512-byte block of the region once
    json_check "j['verify']['blocks'] >= $REGION // 512"
    json_check "[p['phase'] for p in j['phases']] == ['fill', 'workload', 'check']"
    json_check "j['qd'] == $qd and j['ios'] > 0 and j['seed'] == 7"
    ok "--verify qd $qd bs $bs: $(json_show "f\"{j['iops']:.0f} IOPS, {j['verify']['blocks']} blocks verified\"")"
  done
done

perf --rw randrw --rwmixread 70 --time 5 --qd 32 --bs 4K --queues 2 -o json "$URI"
[ "$RC" = 0 ] || fail "randrw exited $RC: $(cat "$WORK/err")"
json_check "j['rw'] == 'randrw' and j['bs'] == 4096 and j['qd'] == 32 and j['queues'] == 2"
json_check "j['iops'] > 0 and j['errors'] == 0 and j['ios'] > 0 and j['mib_s'] > 0"
json_check "4.9 <= j['time_s'] < 8"
json_check "0 < j['lat_us']['p50'] <= j['lat_us']['p99'] <= j['lat_us']['p99_9'] <= j['lat_us']['max']"
json_check "j['lat_us']['mean'] > 0 and j['verify'] == {'blocks': 0, 'mismatches': 0}"
ok "randrw 5 s: $(json_show "f\"{j['iops']:.0f} IOPS, {j['mib_s']} MiB/s, p50 {j['lat_us']['p50']} us\"")"

perf --rw read --bs 128K --qd 8 --time 1 --hdr-digest --data-digest "$URI"
[ "$RC" = 0 ] || fail "sequential read with digests exited $RC: $(cat "$WORK/err")"
grep -qE '^workload +read +131072 +8 ' "$WORK/out" || fail "table lacks the workload row: $(cat "$WORK/out")"
ok "sequential read with header and data digests, table output"

expect_one_line_error 2 --qd 0 "$URI"
expect_one_line_error 2 --rw sideways "$URI"
expect_one_line_error 2 --bs 4Q "$URI"
expect_one_line_error 2 --bs 1000 "$URI"                  # not a multiple of the LBA size
expect_one_line_error 2 --size 1G "$URI"                  # larger than the namespace
expect_one_line_error 2 "http://127.0.0.1:$PORT/$NQN"
expect_one_line_error 2 "nvme+tcp://127.0.0.1:$PORT/nqn.2024-01.io.nvmefs:nobody"
expect_one_line_error 2 --ns 5 "$URI"
expect_one_line_error 2
ok "bad arguments and unknown subsystem/namespace: exit 2, one line"
stop_target

expect_one_line_error 2 --time 1 "$URI"  # nobody listens any more
ok "connection refused: exit 2, one line"

# Data changed behind the initiator's back is caught: a file-backed namespace
# is filled, checked again after a target restart, then corrupted on disk.
NSFILE=$WORK/ns.img
start_target --ns "$NSFILE:16M"
perf --verify --time 0 --seed 11 --bs 64K --qd 8 -o json "$URI"
[ "$RC" = 0 ] || fail "fill of the file namespace exited $RC: $(cat "$WORK/err")"
json_check "[p['phase'] for p in j['phases']] == ['fill', 'check'] and j['verify']['blocks'] == 32768"
stop_target
start_target --ns "$NSFILE:16M"
perf --verify-only --seed 11 --qd 4 -o json "$URI"
[ "$RC" = 0 ] || fail "--verify-only after a restart exited $RC: $(cat "$WORK/err")"
json_check "[p['phase'] for p in j['phases']] == ['check'] and j['verify'] == {'blocks': 32768, 'mismatches': 0}"
perf --verify-only --seed 12 --qd 4 -o json "$URI"
[ "$RC" = 1 ] || fail "--verify-only with another seed exited $RC, want 1"
json_check "j['verify']['mismatches'] == 32768"
ok "--verify-only: the pattern survives a target restart; another seed's check fails"
stop_target
printf '\xff' | dd of="$NSFILE" bs=1 seek=$((5000 * 512 + 77)) conv=notrunc status=none
dd if="$NSFILE" of="$NSFILE" bs=512 skip=10 seek=9000 count=1 conv=notrunc status=none
start_target --ns "$NSFILE:16M"
perf --verify-only --seed 11 --qd 4 -o json "$URI"
[ "$RC" = 1 ] || fail "--verify-only over corrupted data exited $RC, want 1"
json_check "j['verify'] == {'blocks': 32768, 'mismatches': 2} and j['errors'] == 0"
grep -q "mismatch at offset $(printf '%#x' $((5000 * 512 + 64))): " "$WORK/err" ||
  fail "flipped byte not reported: $(cat "$WORK/err")"
grep -q "mismatch at offset $(printf '%#x' $((9000 * 512))): .*intact pattern word of offset 0x1400, seed 11" \
  "$WORK/err" || fail "misplaced block not reported: $(cat "$WORK/err")"
ok "--verify-only finds a flipped byte and a misplaced block in the backing file"
stop_target

# An I/O queue connection dies mid-run: the initiator reconnects and re-sends
# what was in flight, so the run completes with no error and intact data.
start_target --ns ram:256M --fault-close-after 2000
perf --rw randrw --time 5 --qd 16 --verify --size 64M -o json "$URI"
[ "$RC" = 0 ] || fail "run with a dropped connection exited $RC, want 0 (stderr: $(cat "$WORK/err"))"
json_check "j['errors'] == 0 and j['verify']['mismatches'] == 0"
grep -q 'reconnecting' "$WORK/err" || fail "no reconnect logged: $(cat "$WORK/err")"
ok "dropped connection: reconnected, $(json_show "j['ios']") I/Os, no errors, 0 mismatches"
stop_target

perf --help
[ "$RC" = 0 ] && grep -q -- '--rwmixread' "$WORK/out" || fail "--help"
ok "--help"
