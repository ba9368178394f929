#!/bin/bash
# The initiator, nvmefs-perf and the nvmefs daemon against a bundled target
# that misbehaves on purpose (nvmefs-target --fault-*). For every kind of
# fault: the client ends within a bound, with a clear one-line error (or
# succeeds where the fault is harmless), and never crashes (exit < 128, no
# sanitizer report). Under the ASan+UBSan build this also catches
# out-of-bounds copies of network data.
set -uo pipefail
BUILD=${NVMEFS_BUILD:?NVMEFS_BUILD not set}
TARGET=$BUILD/tools/target/nvmefs-target
PROBE=$BUILD/tests/integration/hardening/hostile_probe
PERF=$BUILD/tools/perf/nvmefs-perf
NVMEFS=$BUILD/src/daemon/nvmefs
for b in "$TARGET" "$PROBE" "$NVMEFS"; do [ -x "$b" ] || { echo "FAIL: $b is not built"; exit 1; }; done
NQN=nqn.2024-01.io.nvmefs:hardening
WORK=$(mktemp -d /tmp/nvmefs-hardening.XXXXXX)
MNT=$WORK/mnt
mkdir -p "$MNT"
TPID= DPID=
failures=0

stop_target() {
  [ -n "$TPID" ] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
  TPID=
}
cleanup() {
  grep -q " $MNT " /proc/mounts && { umount "$MNT" 2>/dev/null || umount -l "$MNT"; }
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
  stop_target
  rm -rf "$WORK"
}
trap cleanup EXIT

ok() { echo "ok   $*"; }
bad() {
  echo "FAIL $*"
  failures=$((failures + 1))
  for l in "$WORK"/target.log "$WORK"/client.out "$WORK"/daemon.log; do [ -f "$l" ] && tail -n 8 "$l" | sed "s|^|     $(basename "$l"): |"; done
}

# start_target ARGS...: a fresh target on a free port with a 16 MiB namespace.
start_target() {
  stop_target
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  : >"$WORK/target.log"  # emptied before the background start: the wait below must not read an old line
  "$TARGET" --listen "127.0.0.1:$PORT" --nqn "$NQN" --ns ram:16M "$@" >"$WORK/target.log" 2>&1 &
  TPID=$!
  for _ in $(seq 50); do grep -q listening "$WORK/target.log" && return 0; sleep 0.1; done
  echo "FAIL target did not start: $*"; cat "$WORK/target.log"; exit 1
}

# No crash: exit status below 128 (no signal, not killed by timeout), no sanitizer report.
crashed() {  # RC FILE
  [ "$1" -ge 124 ] || grep -qE "Sanitizer|runtime error:" "$2"
}

# expect NAME LIMIT_S EXPECT TARGET_ARGS -- PROBE_ARGS
# EXPECT is one of
#   ok            every step succeeds (a harmless fault)
#   recover:RE    the initiator detected the fault (its log matches RE), dropped
#                 the connection, reconnected and re-sent: every step succeeds
#                 and the data read back is what was written
#   fail:RE       exit 1 with one "error: STEP: ..." line; the output matches RE
expect() {
  local name=$1 limit=$2 want=$3; shift 3
  local targs=() pargs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do targs+=("$1"); shift; done
  shift
  pargs=("$@")
  start_target "${targs[@]}"
  local t0=$SECONDS rc=0
  timeout -k 5 90 "$PROBE" --traddr 127.0.0.1 --trsvcid "$PORT" --nqn "$NQN" \
    --io-timeout-ms 2000 --admin-timeout-ms 2000 --connect-timeout-ms 2000 "${pargs[@]}" >"$WORK/client.out" 2>&1 || rc=$?
  local took=$((SECONDS - t0)) re=${want#*:}
  local line
  line=$(grep -m1 '^error: ' "$WORK/client.out")
  if crashed "$rc" "$WORK/client.out"; then
    bad "$name: probe crashed or hung (exit $rc after ${took}s)"
  elif [ "$took" -gt "$limit" ]; then
    bad "$name: took ${took}s (limit ${limit}s)"
  elif [ "$want" = ok ]; then
    if [ "$rc" = 0 ]; then ok "$name: harmless, every step succeeded (${took}s)"; else bad "$name: expected success, exit $rc: $line"; fi
  elif [[ $want == recover:* ]]; then
    if [ "$rc" = 0 ] && grep -qE "$re" "$WORK/client.out" && grep -q "reconnected" "$WORK/client.out"; then
      ok "$name: detected, reconnected, data intact (${took}s): $(grep -m1 -oE "$re.{0,60}" "$WORK/client.out")"
    else
      bad "$name: expected recovery after /$re/, got exit $rc: ${line:-no error line}"
    fi
  elif [ "$rc" = 1 ] && grep -qE "$re" "$WORK/client.out" && [ "$(grep -c '^error: ' "$WORK/client.out")" = 1 ]; then
    ok "$name: ${took}s: $line"
  else
    bad "$name: expected exit 1 and /$re/, got exit $rc: ${line:-no error line}"
  fi
}

F=--fault-malformed
K=--fault-malformed-kind
W=(--write-bytes 256K)  # larger than the in-capsule size (16K): sent by R2T/H2CData
R=9  # the probe's 8 writes, then its reads: the fault hits the second read

# ---- PDUs on I/O queues (one-shot: the reconnect gets a sane target) ----
expect data-offset 15 'recover:outside the .*buffer' $F $R $K data-offset --
expect unknown-cid 15 'recover:C2HData for command id' $F $R $K unknown-cid --
expect huge-plen 15 'recover:bad incoming PDU \(invalid PLEN\)' $F $R $K huge-plen --
expect bad-plen 15 'recover:bad incoming PDU \(invalid PLEN\)' $F $R $K bad-plen --
expect truncated 15 'recover:closed the connection' $F $R $K truncated --
expect bad-hlen 15 'recover:bad incoming PDU \(invalid HLEN\)' $F $R $K bad-hlen --
expect bad-pdo 15 'recover:bad incoming PDU \(invalid PDO\)' $F $R $K bad-pdo --
expect bad-datal 15 'recover:bad C2HData PDU' $F $R $K bad-datal --
expect header-digest 15 'recover:header digest mismatch' $F $R $K header-digest -- --digests
expect header-digest-off 15 ok $F $R $K header-digest --
expect unknown-cid-resp 15 'recover:completion for unknown command id' $F $R $K unknown-cid-resp --
expect r2t-beyond 15 'recover:R2T asks for bytes' $F 16 $K r2t-beyond -- "${W[@]}"
expect close-after 15 'recover:closed the connection' --fault-close-after $R --
# A data digest error fails the command (not the connection): Data Transfer Error.
expect data-digest 15 'fail:^error: read 1: Input/output error' --fault-digest-error $R -- --digests
# A target that stops answering: every attempt times out (2 s), the command
# fails after its re-sends (kMaxResends = 5, like nvme_max_retries).
expect hang 40 'fail:^error: read 1: .*' $F $R $K hang --
expect delay 40 'fail:^error: write 0: .*' --fault-delay-ms 4000 --

# ---- ICResp ----
expect icresp-maxh2cdata-admin 10 'fail:bad ICResp' $F 0 $K icresp-maxh2cdata --
expect icresp-maxh2cdata-io 10 'fail:bad ICResp' $F 1 $K icresp-maxh2cdata --
expect icresp-pfv 10 'fail:bad ICResp' $F 0 $K icresp-pfv --

# ---- discovery log ----
expect discovery-numrec 15 'fail:Get Log Page failed' $F 0 $K discovery-numrec -- --discovery
expect discovery-genctr 15 'fail:discovery log kept changing' $F 0 $K discovery-genctr -- --discovery

# ---- Identify data ----
expect id-mdts-huge 10 ok $F 0 $K id-mdts-huge -- "${W[@]}"
expect id-nn-huge 10 ok $F 0 $K id-nn-huge -- "${W[@]}"
expect id-nsze-zero 10 'fail:no usable namespace' $F 0 $K id-nsze-zero --
expect id-lba-format 10 'fail:invalid LBA format index' $F 0 $K id-lba-format --
expect id-lbads 10 'fail:unsupported LBA data size 2\^63' $F 0 $K id-lbads --

# ---- nvmefs-perf --verify: the fault is detected, the run recovers, every read checks out ----
if [ -x "$PERF" ]; then
  for kind in data-offset huge-plen truncated unknown-cid-resp; do
    start_target $F 2100 $K $kind
    t0=$SECONDS rc=0
    timeout -k 5 90 "$PERF" --rw randread --qd 32 --time 2 --size 8M --verify "nvme+tcp://127.0.0.1:$PORT/$NQN" \
      >"$WORK/client.out" 2>&1 || rc=$?
    took=$((SECONDS - t0))
    if crashed "$rc" "$WORK/client.out"; then bad "perf $kind: crashed or hung (exit $rc)"
    elif [ "$rc" != 0 ]; then bad "perf $kind: exit $rc, expected a verified run after reconnecting"
    elif ! grep -qE "queue [0-9]+ failed .*; reconnecting" "$WORK/client.out"; then bad "perf $kind: the fault was not detected"
    elif ! grep -q "verify: .* 0 mismatched" "$WORK/client.out"; then bad "perf $kind: no clean verify line"
    elif [ "$took" -gt 40 ]; then bad "perf $kind: took ${took}s"
    else ok "perf $kind: verified run in ${took}s: $(grep -m1 -oE 'queue [0-9]+ failed.{0,80}' "$WORK/client.out")"; fi
  done
fi

# ---- the nvmefs daemon: the target misbehaves once, then dies mid-run ----
IOERR='Input/output error|Protocol error|Transport endpoint is not connected|Connection timed out|No such device'
start_target $F 300 $K data-offset
"$NVMEFS" "nvme+tcp://127.0.0.1:$PORT/$NQN" "$MNT" -f -o cache=none,ctrl_loss_tmo=3,reconnect_delay=1 \
  >"$WORK/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do grep -q " $MNT fuse.nvmefs " /proc/mounts && break; kill -0 $DPID 2>/dev/null || break; sleep 0.1; done
if ! grep -q " $MNT fuse.nvmefs " /proc/mounts; then
  bad "daemon: not mounted: $(tail -3 "$WORK/daemon.log")"
else
  # A broken C2HData on the 301st command: the daemon's initiator reconnects, the file reads right.
  head -c $((4 << 20)) /dev/urandom >"$WORK/rand"
  timeout -k 5 60 dd if="$WORK/rand" of="$MNT/ns1" bs=4k oflag=direct conv=notrunc status=none 2>"$WORK/client.out" ||
    bad "daemon: write failed: $(cat "$WORK/client.out")"
  if timeout -k 5 60 cmp <(dd if="$MNT/ns1" bs=4k count=1024 iflag=direct status=none) "$WORK/rand" &&
    grep -q "reconnected" "$WORK/daemon.log"; then
    ok "daemon: broken PDU mid-run: reconnected, 4 MiB read back intact"
  else
    bad "daemon: no clean recovery from the broken PDU"
  fi
  # The target dies: reads fail (ctrl_loss_tmo 3 s), nothing hangs.
  kill -9 "$TPID"; wait "$TPID" 2>/dev/null; TPID=
  t0=$SECONDS rc=0
  timeout -k 5 60 dd if="$MNT/ns1" of=/dev/null bs=4k count=1 skip=2048 iflag=direct status=none 2>"$WORK/client.out" || rc=$?
  took=$((SECONDS - t0))
  if [ "$rc" = 1 ] && grep -qE "$IOERR" "$WORK/client.out" && [ "$took" -le 20 ]; then
    ok "daemon: target gone: read fails in ${took}s: $(cat "$WORK/client.out")"
  else
    bad "daemon: target gone: dd exit $rc after ${took}s: $(cat "$WORK/client.out")"
  fi
  if timeout 15 umount "$MNT"; then ok "daemon: umount returns"; else bad "daemon: umount hangs or fails"; fi
  rc=0
  timeout 20 tail --pid=$DPID -f /dev/null || bad "daemon: did not exit after umount"
  wait $DPID || rc=$?
  DPID=
  if crashed "$rc" "$WORK/daemon.log"; then bad "daemon: crashed (exit $rc)"
  else ok "daemon: exited with status $rc"; fi
fi
stop_target

if [ "$failures" = 0 ]; then echo "PASS"; else echo "$failures check(s) FAILED"; fi
[ "$failures" = 0 ]
