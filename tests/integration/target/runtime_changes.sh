#!/bin/bash
# Runtime changes of nvmefs-target (--control SOCKET, `ctl` commands) seen
# by the real initiator (runtime_check: NamespaceChange events, I/O on new
# namespaces, host::discover) and at the wire level (aen_check.py:
# Namespace Attribute Changed / Discovery Log Page Change events, their
# masking until the log is read with RAE=0, GENCTR). Then the ctl errors.
source "$(dirname "$0")/lib.sh"

CHECK="$NVMEFS_BUILD/tests/integration/target/runtime_check"
[[ -x "$CHECK" ]] || fail "$CHECK not built"
NQN=nqn.2024-01.io.nvmefs:runtime
SOCK="$WORK/control.sock"
PORT=4570

"$TARGET" --listen 127.0.0.1:$PORT --nqn $NQN --ns ram:8M --control "$SOCK" >"$WORK/target.out" 2>"$WORK/target.err" &
TARGET_PID=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$WORK/target.out" && break
  kill -0 "$TARGET_PID" 2>/dev/null || fail "target exited before listening"
  sleep 0.1
done
grep -q '^listening on ' "$WORK/target.out" || fail "target did not print 'listening on' within 10 s"
[[ -S "$SOCK" ]] || fail "control socket $SOCK not created"

start=$(date +%s%N)
timeout 60 "$CHECK" "$TARGET" "$SOCK" $PORT $NQN "$WORK" || fail "runtime_check failed"
timeout 60 python3 "$(dirname "$0")/aen_check.py" "$TARGET" "$SOCK" $PORT $NQN || fail "aen_check.py failed"

# ctl errors: non-zero exit, exactly one line on stderr, nothing on stdout.
expect_error() {  # expect_error PATTERN ARGS...
  local pattern="$1"; shift
  local rc=0
  timeout 10 "$TARGET" "$@" >"$WORK/ctl.out" 2>"$WORK/ctl.err" || rc=$?
  [[ $rc -ne 0 ]] || fail "'$*' exited 0"
  [[ $rc -ne 124 ]] || fail "'$*' timed out"
  [[ $(wc -l <"$WORK/ctl.err") -eq 1 ]] || fail "'$*': not one error line: $(cat "$WORK/ctl.err")"
  [[ ! -s "$WORK/ctl.out" ]] || fail "'$*' printed on stdout: $(cat "$WORK/ctl.out")"
  grep -q -- "$pattern" "$WORK/ctl.err" || fail "'$*': error '$(cat "$WORK/ctl.err")' lacks '$pattern'"
}
expect_error "no namespace 9" --control "$SOCK" ctl ns-remove 9
expect_error "no namespace 9" --control "$SOCK" ctl ns-resize 9 1M
expect_error "namespace 1 exists" --control "$SOCK" ctl ns-add 1 ram:1M
expect_error "size must not be 0" --control "$SOCK" ctl ns-add 2 ram:0
expect_error "needs a size" --control "$SOCK" ctl ns-add 2 ram
expect_error "not an NSID" --control "$SOCK" ctl ns-add 0 ram:1M
expect_error "No such file" --control "$SOCK" ctl ns-add 2 "$WORK/missing.img"
expect_error "cannot grow" --control "$SOCK" ctl ns-resize 1 16M
expect_error "no subsystem nqn.2024-01.io.nvmefs:nope" --control "$SOCK" ctl ns-add --nqn nqn.2024-01.io.nvmefs:nope 2 ram:1M
expect_error "subsystem $NQN exists" --control "$SOCK" ctl subsys-add $NQN
expect_error "does not start with 'nqn.'" --control "$SOCK" ctl subsys-add bogus
expect_error "no subsystem" --control "$SOCK" ctl subsys-remove nqn.2024-01.io.nvmefs:nope
expect_error "unknown command 'frobnicate'" --control "$SOCK" ctl frobnicate
expect_error "usage: ns-remove" --control "$SOCK" ctl ns-remove
expect_error "cannot reach control socket" --control "$WORK/no.sock" ctl ns-remove 1
echo "ok: ctl errors exit non-zero with one line"

# The socket belongs to this target: a second one refuses it, and it goes at exit.
rc=0
timeout 10 "$TARGET" --listen 127.0.0.1:0 --nqn $NQN --ns ram:1M --control "$SOCK" >/dev/null 2>"$WORK/second.err" || rc=$?
[[ $rc -ne 0 ]] && grep -q "another target" "$WORK/second.err" || fail "a second target took the live control socket"
stop_target
[[ ! -e "$SOCK" ]] || fail "control socket left behind at exit"
echo "ok: control socket exclusive and removed at exit ($(( ($(date +%s%N) - start) / 1000000 )) ms in all)"
echo PASS
