# Shared helpers for the nvmefs-target integration tests (sourced).
# Needs NVMEFS_BUILD; sets TARGET (the binary) and WORK (a scratch dir removed on exit).
set -euo pipefail

TARGET="${NVMEFS_BUILD:?NVMEFS_BUILD must point at the build directory}/tools/target/nvmefs-target"
[[ -x "$TARGET" ]] || { echo "FAIL: $TARGET not built" >&2; exit 1; }
WORK="$(mktemp -d /tmp/nvmefs-target-test.XXXXXX)"
TARGET_PID=""

cleanup() {
  if [[ -n "$TARGET_PID" ]] && kill -0 "$TARGET_PID" 2>/dev/null; then
    kill -KILL "$TARGET_PID" 2>/dev/null || true
    wait "$TARGET_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [[ -f "$WORK/target.err" ]] && tail -20 "$WORK/target.err" >&2; exit 1; }

# start_target ARGS...: runs the target on 127.0.0.1, port chosen by the
# kernel, in the background; waits (10 s at most) for "listening on" and sets
# TARGET_PID and TARGET_PORT.
start_target() {
  # Emptied first: the background shell opens (and truncates) these files only
  # after the loop below may have read the previous target's "listening on".
  : >"$WORK/target.out"
  : >"$WORK/target.err"
  "$TARGET" --listen 127.0.0.1:0 "$@" >"$WORK/target.out" 2>"$WORK/target.err" &
  TARGET_PID=$!
  for _ in $(seq 100); do
    if grep -q '^listening on ' "$WORK/target.out"; then
      TARGET_PORT="$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/target.out")"
      [[ -n "$TARGET_PORT" ]] || fail "unexpected ready line: $(cat "$WORK/target.out")"
      return 0
    fi
    kill -0 "$TARGET_PID" 2>/dev/null || fail "target exited before listening"
    sleep 0.1
  done
  fail "target did not print 'listening on' within 10 s"
}

# stop_target [SIGNAL]: signals the target and expects exit status 0 within 10 s.
stop_target() {
  kill -"${1:-TERM}" "$TARGET_PID"
  for _ in $(seq 100); do
    kill -0 "$TARGET_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$TARGET_PID" 2>/dev/null && fail "target still running 10 s after SIG${1:-TERM}"
  local rc=0
  wait "$TARGET_PID" || rc=$?
  TARGET_PID=""
  [[ $rc -eq 0 ]] || fail "target exited with $rc after SIG${1:-TERM}"
}
