#!/bin/bash
# The initiator against the bundled target (tools/target) over loopback
# (suite 'integration'), digests off and on.
set -euo pipefail
: "${NVMEFS_BUILD:?}"
TARGET=$NVMEFS_BUILD/tools/target/nvmefs-target
CHECK=$NVMEFS_BUILD/tests/integration/host/initiator_check
PORT=4472
NQN=nqn.2024-01.io.nvmefs:itest-host
if [[ ! -x $TARGET ]]; then
  echo "FAIL $TARGET is not built"
  exit 1
fi
TMP=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

"$TARGET" --listen "127.0.0.1:$PORT" --nqn "$NQN" --ns ram:64M >"$TMP/target.log" 2>&1 &
pid=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done
common=(--traddr 127.0.0.1 --trsvcid "$PORT" --nqn "$NQN" --ns-size 64M)
status=0
timeout 300 "$CHECK" "${common[@]}" --negative || status=1
timeout 300 "$CHECK" "${common[@]}" --digests || status=1
if [[ $status != 0 ]]; then
  echo "--- target log"
  tail -20 "$TMP/target.log"
fi
exit $status
