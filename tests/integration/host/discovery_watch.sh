#!/bin/bash
# host::DiscoveryWatcher against the Linux kernel target in a VM (suite 'vm'):
# a second subsystem is linked to / unlinked from the port while the watcher
# runs (nvmet sends the Discovery Log Page Change AEN to persistent discovery
# controllers), then the port goes down and up again without it (the watcher
# must reconnect and find the removal by re-reading the log).
set -euo pipefail
: "${NVMEFS_BUILD:?}" "${NVMET_VM:?}"
NAME=itest-discw
PORT=4560
PORT2=4561
NQN=nqn.2014-08.org.nvmexpress:nvmet-vm:$NAME
NQN2=$NQN-two   # sorts after $NQN: port_down unlinks it last, which disables the port
CHECK=$NVMEFS_BUILD/tests/integration/host/discovery_watch_check
TMP=$(mktemp -d)
cleanup() {
  "$NVMET_VM" stop --name "$NAME" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# The second subsystem exists (no namespaces needed) but is not exported yet.
cat >"$TMP/guest.sh" <<GUEST
mkdir \$CFG/subsystems/$NQN2
echo 1 > \$CFG/subsystems/$NQN2/attr_allow_any_host
GUEST
"$NVMET_VM" start --name "$NAME" --port "$PORT" --port2 "$PORT2" --fresh --ns 1:16M --guest-script "$TMP/guest.sh"

ctl() { printf '%q ' "$NVMET_VM" ctl --name "$NAME" "$1"; }
link="ln -s \$CFG/subsystems/$NQN2 \$CFG/ports/1/subsystems/$NQN2"
unlink="rm \$CFG/ports/1/subsystems/$NQN2"

status=0
timeout 120 "$CHECK" --traddr 127.0.0.1 --trsvcid "$PORT" --kato 2 --reconnect-delay 1 --within 20 \
  --present "$NQN" --absent "$NQN2" --idle 5 \
  --step add "$NQN2" "$(ctl "$link")" \
  --step remove "$NQN2" "$(ctl "$unlink")" \
  --step add "$NQN2" "$(ctl "$link")" \
  --step remove "$NQN2" "$(ctl 'port_down 1; sleep 2; port_up 1')" \
  --min-reconnects 1 || status=1
if [[ $status != 0 ]]; then
  echo "--- guest nvmet log"
  "$NVMET_VM" ctl --name "$NAME" 'dmesg | grep nvmet | tail -20' || true
fi
exit $status
