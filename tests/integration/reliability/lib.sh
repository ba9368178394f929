# Shared by the reliability scripts: start/stop the bundled target on a
# file-backed namespace (data survives restarts) and clean up on exit.
: "${NVMEFS_BUILD:?}"
TARGET=$NVMEFS_BUILD/tools/target/nvmefs-target
CHECK=$NVMEFS_BUILD/tests/integration/reliability/reliability_check
NQN=nqn.2024-01.io.nvmefs:itest-rel
for exe in "$TARGET" "$CHECK"; do
  [[ -x $exe ]] || { echo "FAIL $exe is not built"; exit 1; }
done
TMP=$(mktemp -d)
target_pid=
check_pid=
cleanup() {
  [[ -n $check_pid ]] && kill -9 "$check_pid" 2>/dev/null
  [[ -n $target_pid ]] && kill -9 "$target_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# start_target PORT [fault options...]: returns once it listens.
start_target() {
  local port=$1
  shift
  "$TARGET" --listen "127.0.0.1:$port" --nqn "$NQN" --ns "$TMP/disk:32M" "$@" >>"$TMP/target.log" 2>&1 &
  target_pid=$!
  for _ in $(seq 100); do
    grep -q "listening on 127.0.0.1:$port" "$TMP/target.log" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
      return 0
    sleep 0.05
  done
  echo "FAIL target did not start on port $port"
  tail -5 "$TMP/target.log"
  exit 1
}

kill_target() {
  kill -9 "$target_pid" 2>/dev/null
  wait "$target_pid" 2>/dev/null
  target_pid=
}
