#!/bin/bash
# The target goes away for good under a workload: with ctrl_loss_tmo 5 s
# every blocked request must return (EIO) within ctrl_loss_tmo + 5 s of the
# loss, the controller must be dead, and new I/O must fail at once with EIO.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
PORT=4602
CTRL_LOSS=5

start_target $PORT
"$CHECK" --gone --traddr 127.0.0.1 --trsvcid $PORT --nqn "$NQN" --seconds 60 --size $((4 << 20)) --qd 16 \
  --ctrl-loss-tmo $CTRL_LOSS --reconnect-delay 1 >"$TMP/check.out" 2>"$TMP/check.err" &
check_pid=$!
for _ in $(seq 200); do grep -q filled "$TMP/check.out" && break; sleep 0.1; done
sleep 1
kill_target
gone_at=$(now_ms)
wait "$check_pid"
rc=$?
check_pid=
cat "$TMP/check.out"
status=0
[[ $rc == 0 ]] || { echo "FAIL exit $rc (controller not dead, or new I/O did not fail at once with EIO)"; status=1; }
done_at=$(sed -n 's/.*last_blocked_done_ms=\([0-9]*\).*/\1/p' "$TMP/check.out")
if [[ -z $done_at ]]; then
  echo "FAIL no result line"
  status=1
else
  took=$((done_at - gone_at))
  echo "blocked requests returned ${took} ms after the target went away (limit $(((CTRL_LOSS + 5) * 1000)) ms)"
  ((took <= (CTRL_LOSS + 5) * 1000)) || { echo "FAIL too late"; status=1; }
fi
grep -q "first_error=-5" "$TMP/check.out" || { echo "FAIL blocked requests did not fail with EIO"; status=1; }
[[ $status == 0 ]] && echo "PASS"
exit $status
