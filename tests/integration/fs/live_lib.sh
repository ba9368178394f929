# Sourced after e2e_lib.sh by the scripts that change a target under a
# mount (fs/live_namespaces.sh, e2e_vm/live_namespaces.sh): polling with a
# bound, and one descriptor held open across the changes
# (handle_across_changes.py), driven one command at a time.
HOLDER=$NVMEFS_SRC/tests/integration/fs/handle_across_changes.py
HOLD_PID=
EXTRA_CLEANUP='[ -n "${HOLD_PID:-}" ] && kill $HOLD_PID 2>/dev/null; '"$EXTRA_CLEANUP"

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
  local secs=$1 what=$2; shift 2
  local t0=$SECONDS
  until "$@"; do ((SECONDS - t0 < secs)) || fail "$what: not within $secs s"; sleep 0.1; done
}
size_is() { [ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ]; }
absent() { ! stat "$1" >/dev/null 2>&1; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# hold_open FILE: opens FILE in the holder process (HIN/HOUT: its pipes).
hold_open() {
  coproc HOLD { exec python3 "$HOLDER" "$1"; }
  HIN=${HOLD[1]} HOUT=${HOLD[0]}
  read -r -t 10 -u "$HOUT" REPLY && [ "$REPLY" = open ] || fail "holder could not open $1"
}
# ask COMMAND: one command to the holder, its one-line answer in $REPLY.
ask() { echo "$*" >&"$HIN"; read -r -t 30 -u "$HOUT" REPLY || fail "holder did not answer '$*'"; }
# hold_close: closes the descriptor and waits for the holder.
hold_close() {
  exec {HIN}>&-
  [ -z "${HOLD_PID:-}" ] || wait "$HOLD_PID" 2>/dev/null || true
  HOLD_PID=
}
