# Sourced by the reliability scripts that run the real mount (mount_faults.sh,
# daemon_kill.sh, mount_gone.sh). On top of ../fs/e2e_lib.sh (work dir, daemon
# in the foreground, fail/ok, one cleanup trap): the bundled target on a fixed
# port with a file-backed namespace, so it can be SIGKILLed and restarted on
# the same data; the controller state as nvmefs-ctl stats shows it; and an
# unmount of every mount stacked on $MNT (a killed daemon leaves its own).
. "$(dirname "${BASH_SOURCE[0]}")/../fs/e2e_lib.sh"
HERE=$(dirname "${BASH_SOURCE[0]}")
REL_NQN=nqn.2024-01.io.nvmefs:rel-mount
DISK=$WORK/ns1.img
[ -x "$CTL" ] || fail "build nvmefs-ctl first"
command -v python3 >/dev/null || fail "python3 is not installed"
# Dead mounts stack on $MNT when a daemon is killed: e2e_lib's cleanup removes one.
EXTRA_CLEANUP='for _ in 1 2 3 4 5 6 7 8; do grep -q " $MNT " /proc/mounts && umount -l "$MNT"; done'

now_ms() { date +%s%3N; }

# start_target_on PORT [target options...]: the target on 127.0.0.1:PORT
# serving $DISK (32 MiB, kept across restarts); returns once it listens.
TARGET_RUNS=0
start_target_on() {
  local port=$1
  shift
  TARGET_RUNS=$((TARGET_RUNS + 1))
  "$TARGET" --listen "127.0.0.1:$port" --nqn "$REL_NQN" --ns "$DISK:32M" "$@" >>"$WORK/target.log" 2>&1 &
  TPID=$!
  URI=nvme+tcp://127.0.0.1:$port/$REL_NQN
  for _ in $(seq 200); do
    [ "$(grep -c "listening on 127.0.0.1:$port" "$WORK/target.log")" -ge "$TARGET_RUNS" ] && return 0
    kill -0 "$TPID" 2>/dev/null || fail "target exited at start (port $port busy?)"
    sleep 0.05
  done
  fail "target did not listen on port $port within 10 s"
}

# kill_target: SIGKILL, as a crash; the namespace data stays in $DISK.
kill_target() {
  [ -n "$TPID" ] || return 0
  kill -9 "$TPID" 2>/dev/null
  wait "$TPID" 2>/dev/null || true
  TPID=
}

# ctl_state: "STATE RECONNECTS LAST_RECOVERY_MS FILE_MAX_LATENCY_US" of the
# first namespace of the mount (nvmefs-ctl stats -o json); empty if no answer.
ctl_state() {
  timeout 10 "$CTL" stats -o json "$MNT" 2>/dev/null | python3 -c '
import json, sys
n = json.load(sys.stdin)["namespaces"][0]
f = n["file"]
worst = max(f[k]["max"] for k in ("read_latency_us", "write_latency_us", "flush_latency_us"))
print(n["controller_state"], n["reconnects"], n["last_recovery_ms"], int(worst))' 2>/dev/null || true
}

# wait_reconnects N [SECONDS]: until the controller is live with at least N
# reconnects (default limit 60 s); prints the reconnect count reached.
wait_reconnects() {
  local want=$1 limit=${2:-60} deadline s
  deadline=$(($(now_ms) + limit * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    read -r -a s <<<"$(ctl_state)"
    if [ "${s[0]:-}" = live ] && [ "${s[1]:-0}" -ge "$want" ]; then
      echo "${s[1]}"
      return 0
    fi
    sleep 0.05
  done
  return 1
}

# stats_line VALUES...: "worst=W mean=M n=N" of integers.
stats_line() {
  [ $# -gt 0 ] || { echo "n=0"; return; }
  local worst=0 total=0 v
  for v in "$@"; do
    total=$((total + v))
    [ "$v" -gt "$worst" ] && worst=$v
  done
  echo "worst=$worst mean=$((total / $#)) n=$#"
}

# dead_mount: the mount point answers ENOTCONN (the daemon behind it is gone):
# stat fails so, or (the kernel may still hold the root's attributes) statfs
# and readdir do.
dead_mount() {
  python3 - "$MNT" <<'PY'
import errno, os, sys
def enotconn(f):
    try:
        f(sys.argv[1])
    except OSError as e:
        return e.errno == errno.ENOTCONN
    return False
sys.exit(0 if enotconn(os.stat) or (enotconn(os.statvfs) and enotconn(os.listdir)) else 1)
PY
}

# mount_fg [-o OPTS]: as e2e_lib's, but done only when statfs of $MNT and stat of $MNT/ns1 answer (a
# dead mount still listed on $MNT must not count as mounted).
mount_fg() {
  "$NVMEFS" "$URI" "$MNT" -f "$@" >>"$WORK/daemon.log" 2>&1 &
  DPID=$!
  for _ in $(seq 300); do
    mounted && stat -f "$MNT" >/dev/null 2>&1 && stat "$MNT/ns1" >/dev/null 2>&1 && return 0
    kill -0 "$DPID" 2>/dev/null || fail "daemon died"
    sleep 0.1
  done
  fail "not mounted after 30 s"
}
