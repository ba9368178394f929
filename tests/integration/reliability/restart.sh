#!/bin/bash
# The initiator under a verify workload while the bundled target is killed
# (SIGKILL) and restarted 10 times, then while its connections are cut 10
# times (--fault-close-after: the target closes an I/O connection mid-run,
# each incarnation once). With ctrl_loss_tmo 60 s: no I/O error may reach
# the application, every block must read back as last written, and every
# outage must end. Reports the time from each restart to the reconnect.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
PORT=4601

start_target $PORT
"$CHECK" --traddr 127.0.0.1 --trsvcid $PORT --nqn "$NQN" --seconds 70 --size $((8 << 20)) --qd 16 \
  --ctrl-loss-tmo 60 --reconnect-delay 1 >"$TMP/check.out" 2>"$TMP/check.err" &
check_pid=$!
for _ in $(seq 200); do grep -q filled "$TMP/check.out" && break; sleep 0.1; done

restarts=()
for i in $(seq 10); do  # crashes: the target is gone for 1 s each time
  sleep 1.5
  kill_target
  sleep 1
  start_target $PORT
  restarts+=("$(now_ms)")
done
for i in $(seq 10); do  # cuts: each incarnation closes one I/O connection after 300 more I/Os
  sleep 1
  kill_target
  start_target $PORT --fault-close-after 300
  restarts+=("$(now_ms)")
  sleep 1.5
done

wait "$check_pid"
rc=$?
check_pid=
cat "$TMP/check.out"
# Recovery time: from each restart to the next "live" of the initiator.
mapfile -t lives < <(sed -n 's/.*live_at_ms=\([0-9]*\).*/\1/p' "$TMP/check.out")
worst=0
total=0
n=0
for r in "${restarts[@]}"; do
  for l in "${lives[@]}"; do
    if ((l >= r)); then
      d=$((l - r))
      ((d > worst)) && worst=$d
      total=$((total + d))
      n=$((n + 1))
      break
    fi
  done
done
outages=${#lives[@]}
echo "restarts=${#restarts[@]} outages_recovered=$outages recovery_after_restart_ms: worst=$worst mean=$((n ? total / n : 0)) (n=$n)"
status=0
if [[ $rc != 0 ]]; then
  echo "FAIL the verify workload failed (exit $rc)"
  tail -20 "$TMP/check.err"
  status=1
fi
grep -q "io_errors=0 mismatches=0" "$TMP/check.out" || { echo "FAIL I/O errors or mismatches"; status=1; }
grep -q "state=live" "$TMP/check.out" || { echo "FAIL controller not live at the end"; status=1; }
# Every kill/restart and every cut must have caused an outage that ended.
if ((outages < 20)); then
  echo "FAIL only $outages recovered outages for 20 restarts/cuts"
  status=1
fi
[[ $status == 0 ]] && echo "PASS"
exit $status
