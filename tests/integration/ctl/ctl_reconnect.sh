#!/bin/bash
# Reconnect through the control socket: a mount of the bundled target
# (file-backed namespace, ctrl_loss_tmo=3, reconnect_delay=1) loses its
# target; nvmefs-ctl list/stats follow the controller to "dead"; reads fail
# with EIO at once while ls/stat keep working; the target comes back on the
# same port; nvmefs-ctl reconnect brings the controller back to "live", the
# data written before is intact, and the reconnect counters say so (JSON and
# Prometheus).
set -euo pipefail
BUILD=${NVMEFS_BUILD:?NVMEFS_BUILD not set}
TARGET=$BUILD/tools/target/nvmefs-target
DAEMON=$BUILD/src/daemon/nvmefs
CTL=$BUILD/tools/ctl/nvmefs-ctl
for f in "$DAEMON" "$CTL" "$TARGET"; do
  [ -x "$f" ] || { echo "FAIL: build $f first" >&2; exit 1; }
done
[ -e /dev/fuse ] || { echo "FAIL: no /dev/fuse" >&2; exit 1; }
NQN=nqn.2024-01.io.nvmefs:ctl-reconnect
WORK=$(mktemp -d /tmp/nvmefs-reconnect.XXXXXX)
MNT=$WORK/mnt
IMG=$WORK/ns1.img
mkdir -p "$MNT"
TGT= DAEMON_PID=

cleanup() {
  set +e
  grep -q " $MNT " /proc/mounts && { fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"; }
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  [ -n "$TGT" ] && kill -9 "$TGT" 2>/dev/null && wait "$TGT" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for l in "$WORK"/*.log; do [ -f "$l" ] && tail -n 8 "$l" | sed "s|^|  $(basename "$l"): |" >&2; done
  exit 1
}
ok() { echo "ok - $*"; }
py() { python3 -c "$1" "${@:2}" || fail "check failed: $1"; }

start_target() {  # LISTEN LOG
  "$TARGET" --listen "$1" --nqn $NQN --ns "$IMG:16M" >"$2" 2>&1 &
  TGT=$!
  for _ in $(seq 50); do grep -q 'listening on' "$2" && return 0; sleep 0.1; done
  fail "target did not start on $1"
}
# wait_state STATE SECONDS: until list -o json shows the mount's controller in STATE.
wait_state() {
  local deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    "$CTL" list -o json >"$WORK/list.json" 2>/dev/null &&
      python3 -c '
import json, sys; d = json.load(open(sys.argv[1]))
m = [x for x in d["mounts"] if x["mountpoint"] == sys.argv[2]]
sys.exit(0 if m and m[0].get("controllers") and m[0]["controllers"][0]["state"] == sys.argv[3] else 1)' \
        "$WORK/list.json" "$MNT" "$1" && return 0
    sleep 0.2
  done
  fail "controller not $1 after $2 s: $(cat "$WORK/list.json" 2>/dev/null)"
}
# read_at OFFSET LEN OUT: pread from the file (direct I/O through FUSE); prints
# "ok" or the errno name, and how long it took.
read_at() {
  python3 -c '
import errno, os, sys, time
path, off, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
fd = os.open(path, os.O_RDONLY)
t = time.monotonic()
try:
    data = os.pread(fd, n, off)
    open(out, "wb").write(data)
    res = "ok"
except OSError as e:
    res = errno.errorcode.get(e.errno, str(e.errno))
print(res, round(time.monotonic() - t, 3))' "$MNT/ns1" "$1" "$2" "$3"
}

start_target 127.0.0.1:0 "$WORK/target1.log"
PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$WORK/target1.log" | cut -d: -f2)
URI=nvme+tcp://127.0.0.1:$PORT/$NQN
"$DAEMON" "$URI" "$MNT" -f -o ctrl_loss_tmo=3,reconnect_delay=1 >"$WORK/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do grep -q " $MNT " /proc/mounts && break; sleep 0.1; done
grep -q " $MNT " /proc/mounts || fail "daemon did not mount"
wait_state live 10
ok "mounted $URI with ctrl_loss_tmo=3,reconnect_delay=1"

# 1 MiB of random data at an odd offset, written back and flushed to the
# target's file, then dropped from the daemon's cache: later reads hit the network.
OFF=$((3 << 20 | 4097))
head -c $((1 << 20)) /dev/urandom >"$WORK/pattern"
dd if="$WORK/pattern" of="$MNT/ns1" bs=64K seek=$OFF oflag=seek_bytes conv=notrunc,fsync status=none || fail "write"
"$CTL" flush "$MNT" >/dev/null || fail "flush"
"$CTL" drop-cache "$MNT" >/dev/null || fail "drop-cache"
cmp -s -i 0:$OFF -n $((1 << 20)) "$WORK/pattern" "$IMG" || fail "pattern not in the target's file after flush"
ok "1 MiB written at offset $OFF and flushed to the target's file"

# ---- the target dies: connecting, then dead after ctrl_loss_tmo ----
kill -9 "$TGT"; wait "$TGT" 2>/dev/null || true; TGT=
wait_state dead 20
"$CTL" stats "$MNT" -o json >"$WORK/dead.json" || fail "stats while dead"
py '
import json, sys; n = json.load(open(sys.argv[1]))["namespaces"][0]
assert n["controller_state"] == "dead", n
assert n["down_ms"] >= 2000 and n["last_error"] and n["reconnect_attempts"] >= 1 and n["reconnects"] == 0, n' "$WORK/dead.json"
"$CTL" list | grep -q "  dead  .*reconnects 0  down [0-9.]* s: ." || fail "list table while dead: $("$CTL" list)"
ok "target killed: list/stats show dead, down_ms, last_error, attempts"

set -- $(read_at $((OFF + 8192)) 65536 "$WORK/r0")
[ "$1" = EIO ] || fail "read while dead gave $1, not EIO"
py 'import sys; assert float(sys.argv[1]) < 2, sys.argv[1]' "$2"
ls -l "$MNT" | grep -q " ns1$" || fail "ls while dead"
[ "$(stat -c %s "$MNT/ns1")" = $((16 << 20)) ] || fail "stat while dead"
ok "while dead: read fails with EIO in $2 s; ls and stat work"

# reconnect with the target still gone: new attempts, not live, exit status 2.
rc=0
"$CTL" reconnect "$MNT" >"$WORK/still-dead.out" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "not every controller is live yet" "$WORK/still-dead.out" &&
  grep -Eq "  (connecting|dead)  .*down [0-9.]* s: ." "$WORK/still-dead.out" ||
  fail "reconnect without a target: rc $rc: $(cat "$WORK/still-dead.out")"
"$CTL" stats "$MNT" -o json >"$WORK/retried.json" || fail "stats after a failed reconnect"
py '
import json, sys; a, b = (json.load(open(p))["namespaces"][0] for p in sys.argv[1:3])
assert b["reconnect_attempts"] > a["reconnect_attempts"] and b["reconnects"] == 0, (a, b)' "$WORK/dead.json" "$WORK/retried.json"
ok "reconnect without a target: rc 2, $(grep -Eo "  (connecting|dead)  " "$WORK/still-dead.out" | tr -d ' '), more attempts"

# ---- the target is back on the same port; reconnect ----
start_target "127.0.0.1:$PORT" "$WORK/target2.log"
rc=0
"$CTL" reconnect "$MNT" >"$WORK/reconnect.out" 2>&1 || rc=$?
[ $rc = 0 ] || [ $rc = 2 ] || fail "reconnect: rc $rc: $(cat "$WORK/reconnect.out")"
[ $rc != 0 ] || grep -q "all controllers live" "$WORK/reconnect.out" || fail "reconnect output: $(cat "$WORK/reconnect.out")"
wait_state live 15
ok "reconnect (rc $rc): $(head -1 "$WORK/reconnect.out")"

set -- $(read_at $OFF $((1 << 20)) "$WORK/r1")
[ "$1" = ok ] || fail "read after reconnect gave $1"
cmp -s "$WORK/pattern" "$WORK/r1" || fail "data after reconnect differs from what was written"
"$CTL" reconnect "$MNT" -o json >"$WORK/reconnect.json" || fail "reconnect of a live mount"
"$CTL" stats "$MNT" -o json >"$WORK/live.json" || fail "stats after reconnect"
py '
import json, sys; r = json.load(open(sys.argv[1])); n = json.load(open(sys.argv[2]))["namespaces"][0]
assert [c["state"] for c in r["controllers"]] == ["live"], r
assert n["controller_state"] == "live" and n["reconnects"] >= 1 and n["down_ms"] == 0, n
assert n["reconnect_attempts"] >= n["reconnects"] and n["last_recovery_ms"] > 0, n
assert n["network"]["errors"] >= 1, n["network"]' "$WORK/reconnect.json" "$WORK/live.json"
"$CTL" stats "$MNT" --prometheus >"$WORK/prom.txt" || fail "stats --prometheus"
py '
import re, sys; t = open(sys.argv[1]).read()
v = lambda pat: [float(x) for x in re.findall(r"^" + pat + r" (\S+)$", t, re.M)]
assert v(r"nvmefs_reconnects_total\{[^}]*\}")[0] >= 1, t
assert v(r"nvmefs_reconnect_attempts_total\{[^}]*\}")[0] >= 1, t
assert v(r"nvmefs_controller_state\{[^}]*state=\"live\"\}") == [1.0], t
assert v(r"nvmefs_controller_state\{[^}]*state=\"dead\"\}") == [0.0], t
assert v(r"nvmefs_controller_down_seconds\{[^}]*\}") == [0.0], t' "$WORK/prom.txt"
ok "after reconnect: data intact, reconnects >= 1 in JSON and Prometheus, live mount reconnect is a no-op"

fusermount3 -u "$MNT" || fail "unmount"
wait "$DAEMON_PID" || fail "daemon exit status $?"
DAEMON_PID=
echo "all reconnect tests passed"
