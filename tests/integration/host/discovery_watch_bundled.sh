#!/bin/bash
# host::DiscoveryWatcher against the bundled target (suite 'integration'):
# subsystems are added/removed at run time through `nvmefs-target --control`
# (the target sends the Discovery Log Page Change AEN), then the target is
# restarted without the second subsystem (the watcher must reconnect and find
# the removal by re-reading the log).
set -euo pipefail
: "${NVMEFS_BUILD:?}"
TARGET=$NVMEFS_BUILD/tools/target/nvmefs-target
CHECK=$NVMEFS_BUILD/tests/integration/host/discovery_watch_check
PORT=4562
NQN=nqn.2024-01.io.nvmefs:itest-discw
NQN2=$NQN-two
if [[ ! -x $TARGET ]]; then
  echo "FAIL $TARGET is not built"
  exit 1
fi
TMP=$(mktemp -d)
SOCK=$TMP/control.sock
cleanup() {
  local pid
  pid=$(cat "$TMP/pid" 2>/dev/null) && kill "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -rf "$TMP"
}
trap cleanup EXIT

start_target() {  # in the background; its pid in $TMP/pid
  "$TARGET" --listen "127.0.0.1:$PORT" --nqn "$NQN" --ns ram:16M --control "$SOCK" >>"$TMP/target.log" 2>&1 &
  echo $! >"$TMP/pid"
  for _ in $(seq 50); do
    [[ -S $SOCK ]] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "FAIL target did not come up"; tail -20 "$TMP/target.log"; return 1
}
start_target

ctl="$(printf '%q ' "$TARGET" --control "$SOCK" ctl)"
# Kill the target, wait until it is gone, start it again (only $NQN).
{
  declare -f start_target
  echo "TARGET=$TARGET PORT=$PORT NQN=$NQN SOCK=$SOCK TMP=$TMP"
  echo 'pid=$(cat "$TMP/pid"); kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done'
  echo 'rm -f "$SOCK"; start_target'
} >"$TMP/restart.sh"

status=0
timeout 120 "$CHECK" --traddr 127.0.0.1 --trsvcid "$PORT" --kato 2 --reconnect-delay 1 --within 20 \
  --present "$NQN" --absent "$NQN2" --idle 5 \
  --step add "$NQN2" "$ctl subsys-add $NQN2 --ns ram:1M" \
  --step remove "$NQN2" "$ctl subsys-remove $NQN2" \
  --step add "$NQN2" "$ctl subsys-add $NQN2 --ns ram:1M" \
  --step remove "$NQN2" "bash $TMP/restart.sh" \
  --min-reconnects 1 || status=1
if [[ $status != 0 ]]; then
  echo "--- target log"
  tail -30 "$TMP/target.log"
fi
exit $status
