#!/bin/bash
# The real mount under a verifying workload while the bundled target is
# SIGKILLed and restarted (same backing file) KILLS times and, after that,
# has a connection cut CUTS times (each incarnation started with
# --fault-close-after: it closes one I/O connection after 50 more I/O
# commands). ctrl_loss_tmo is large (600 s), reconnect_delay 1 s.
#   mount_faults.sh fio|exerciser CACHE_MODE PORT EXERCISER
# Workloads, run in rounds until the faults are over:
#   fio        randwrite 16 MiB (bs 4k or 32k, QD16, libaio, O_DIRECT) + crc32c verify
#   exerciser  4 threads of random reads/writes/O_DSYNC writes/hole punches/fsyncs
#              checked against its model
# Asserts: no I/O or verify error, every round's model matches; after unmount
# the target's backing file holds what the last round wrote (fio --verify_only
# on it, or cmp with the exerciser's model); no file operation took longer than
# MAX_BLOCK_MS (fio's max completion latency and the daemon's file-layer
# maximum); every restart and every cut ends in a reconnect. Reports the
# recovery times.
WORKLOAD=${1:?usage: mount_faults.sh fio|exerciser CACHE_MODE PORT EXERCISER}
MODE=${2:?cache mode}
PORT=${3:?port}
EXERCISER=${4:-}
. "$(dirname "$0")/mount_lib.sh"
KILLS=${KILLS:-10}
CUTS=${CUTS:-10}
# A blocked operation waits for the outage (1 s) plus the reconnect attempts
# (reconnect_delay 1 s each): 10 attempts and a 5 s margin bound it.
MAX_BLOCK_MS=${MAX_BLOCK_MS:-15000}
case $WORKLOAD in
  fio) command -v fio >/dev/null || fail "fio is not installed" ;;
  exerciser) [ -x "$EXERCISER" ] || fail "no exerciser at '$EXERCISER'" ;;
  *) fail "unknown workload '$WORKLOAD'" ;;
esac

start_target_on "$PORT"
mount_fg -o "cache=$MODE,ctrl_loss_tmo=600,reconnect_delay=1"
[ "$WORKLOAD" = exerciser ] &&  # random start contents: zeros read from a hole are the cache's or target's doing
  head -c $((32 << 20)) /dev/urandom | dd of="$MNT/ns1" bs=1M iflag=fullblock conv=notrunc status=none

# ---- the workload, in rounds, until $WORK/stop exists ----
fio_round() {  # N: one randwrite + verify pass; its JSON in $WORK/fio-N.json
  local bs=4k
  [ $(($1 % 2)) = 1 ] && bs=32k
  echo "$bs" >"$WORK/fio-$1.bs"
  timeout 120 fio --name=rel --filename="$MNT/ns1" --size=16M --bs=$bs --rw=randwrite --ioengine=libaio \
    --iodepth=16 --direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 --randseed="$1" \
    --output-format=json --output="$WORK/fio-$1.json" >"$WORK/fio-$1.out" 2>&1
}
exerciser_round() {  # N: one exerciser run (its model dumped to $WORK/model)
  timeout 120 "$EXERCISER" "$MNT/ns1" --seed "$((SEED + $1))" --threads 4 --ops 200 --max-len 256K \
    --dump "$WORK/model" >"$WORK/exerciser-$1.out" 2>&1
}
SEED=$((RANDOM * 32768 + RANDOM))
workload() {
  local n=0
  while [ ! -e "$WORK/stop" ] || [ $n = 0 ]; do
    n=$((n + 1))
    echo "$n" >"$WORK/rounds"
    "${WORKLOAD}_round" $n || { echo "round $n failed (exit $?)" >"$WORK/workload.failed"; return 1; }
  done
}
workload &
WPID=$!
EXTRA_CLEANUP="kill $WPID 2>/dev/null; pkill -P $WPID 2>/dev/null; $EXTRA_CLEANUP"
for _ in $(seq 100); do [ -e "$WORK/rounds" ] && break; sleep 0.1; done

alive() { kill -0 "$WPID" 2>/dev/null || fail "the workload stopped: $(cat "$WORK/workload.failed" 2>/dev/null)"; }

# ---- faults ----
restart_ms=()   # restart -> live again
loss_ms=()      # the daemon's own figure: connection lost -> live again (last_recovery_ms)
reconnects=0
# record_recovery START_MS WANT: waits until the controller is live after
# WANT reconnects in all; START_MS -> live goes to restart_ms, the daemon's
# loss -> live to the array named by $3.
record_recovery() {
  local got s
  local -n into=$3
  got=$(wait_reconnects "$2" 60) || fail "reconnect $2 did not come within 60 s (state: $(ctl_state))"
  [ -n "$1" ] && restart_ms+=($(($(now_ms) - $1)))
  reconnects=$got
  read -r -a s <<<"$(ctl_state)"
  into+=("${s[2]}")
}
started=$SECONDS
for i in $(seq "$KILLS"); do
  sleep 0.5     # I/O flows
  alive
  kill_target
  sleep 1       # the target is gone for 1 s
  start_target_on "$PORT"
  record_recovery "$(now_ms)" $((reconnects + 1)) loss_ms
done
kill_secs=$((SECONDS - started))
cut_ms=()
for i in $(seq "$CUTS"); do
  alive
  before=$reconnects
  kill_target
  start_target_on "$PORT" --fault-close-after 50
  record_recovery "$(now_ms)" $((before + 1)) loss_ms
  # The cut: one I/O connection closed after 50 I/O commands of this incarnation.
  record_recovery "" $((before + 2)) cut_ms
done
fault_secs=$((SECONDS - started))
touch "$WORK/stop"
rc=0
timeout 180 tail --pid=$WPID -f /dev/null || fail "the workload did not finish within 180 s of the last fault"
wait $WPID || rc=$?
[ $rc = 0 ] || fail "workload: $(cat "$WORK/workload.failed" 2>/dev/null)"
rounds=$(cat "$WORK/rounds")

# ---- per-round results ----
read -r -a s <<<"$(ctl_state)"
[ "${s[0]:-}" = live ] || fail "controller not live at the end: ${s[*]:-no answer}"
file_max_us=${s[3]}
if [ "$WORKLOAD" = fio ]; then
  fio_max_us=$(python3 - "$WORK" "$rounds" <<'PY'
import json, sys
work, rounds = sys.argv[1], int(sys.argv[2])
worst = 0
for n in range(1, rounds + 1):
    job = json.load(open(f"{work}/fio-{n}.json"))["jobs"][0]
    assert job["error"] == 0, f"round {n}: fio error {job['error']}"
    assert job["write"]["io_bytes"] == 16 << 20, f"round {n}: wrote {job['write']['io_bytes']}"
    assert job["read"]["io_bytes"] == 16 << 20, f"round {n}: verified {job['read']['io_bytes']}"
    worst = max(worst, job["write"]["clat_ns"]["max"], job["read"]["clat_ns"]["max"])
print(worst // 1000)
PY
  ) || fail "fio results"
  ((fio_max_us <= MAX_BLOCK_MS * 1000)) || fail "a fio I/O took ${fio_max_us} us (limit ${MAX_BLOCK_MS} ms)"
  detail="fio max clat ${fio_max_us} us"
else
  grep -h "^exerciser:" "$WORK"/exerciser-*.out | tail -n 1 >"$WORK/last.summary" || true
  detail="exerciser seed base $SEED"
fi
((file_max_us <= MAX_BLOCK_MS * 1000)) || fail "a file operation took ${file_max_us} us (limit ${MAX_BLOCK_MS} ms)"

# ---- after unmount (final write-back) the backing file holds the last round ----
unmount_fg
if [ "$WORKLOAD" = fio ]; then
  timeout 120 fio --name=rel --filename="$DISK" --size=16M --bs="$(cat "$WORK/fio-$rounds.bs")" --rw=randwrite \
    --ioengine=psync --verify=crc32c --verify_only=1 --verify_fatal=1 --verify_state_save=0 --randseed="$rounds" \
    --output-format=json --output="$WORK/backing.json" >"$WORK/backing.out" 2>&1 ||
    fail "fio --verify_only on the backing file: $(tail -n 5 "$WORK/backing.out")"
  python3 -c "
import json, sys
job = json.load(open('$WORK/backing.json'))['jobs'][0]
assert job['error'] == 0 and job['read']['io_bytes'] == 16 << 20, (job['error'], job['read']['io_bytes'])" ||
    fail "the backing file does not verify"
else
  cmp "$DISK" "$WORK/model" || fail "the target's backing file differs from the exerciser's model after unmount"
fi
echo "faults: $KILLS restarts + $CUTS cuts in ${fault_secs} s (restarts ${kill_secs} s), $reconnects reconnects, $rounds $WORKLOAD rounds, cache=$MODE"
echo "recovery restart->live ms: $(stats_line "${restart_ms[@]}")"
echo "recovery loss->live ms (daemon last_recovery_ms, restarts): $(stats_line "${loss_ms[@]}")"
echo "recovery loss->live ms (daemon last_recovery_ms, cuts): $(stats_line "${cut_ms[@]}")"
echo "longest file operation ${file_max_us} us (daemon), $detail; limit ${MAX_BLOCK_MS} ms"
ok "$WORKLOAD cache=$MODE: no errors, backing file verified after unmount"
