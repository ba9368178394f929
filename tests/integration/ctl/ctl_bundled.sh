#!/bin/bash
# mount(8) integration and nvmefs-ctl against the bundled target:
# mount -t fuse.nvmefs, mount -t nvmefs, mount -a -T FSTAB; every
# nvmefs-ctl verb on a live mount (JSON parsed by python3); bad inputs of
# both programs (one line on stderr, non-zero, nothing left mounted).
set -euo pipefail
BUILD=${NVMEFS_BUILD:?NVMEFS_BUILD not set}
SRC=${NVMEFS_SRC:?NVMEFS_SRC not set}
TARGET=$BUILD/tools/target/nvmefs-target
for f in "$BUILD/src/daemon/nvmefs" "$BUILD/tools/ctl/nvmefs-ctl" "$TARGET"; do
  [ -x "$f" ] || { echo "FAIL: build $f first" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root (mount -t, /sbin/mount.nvmefs)" >&2; exit 1; }
NQN1=nqn.2024-01.io.nvmefs:ctl-one
NQN2=nqn.2024-01.io.nvmefs:ctl-two
WORK=$(mktemp -d /tmp/nvmefs-ctl.XXXXXX)
MNT=$WORK/mnt MNT2=$WORK/mnt2 MNT3=$WORK/mnt3
mkdir -p "$MNT" "$MNT2" "$MNT3" "$WORK/bin"
T1= T2= HOLD= SBIN_LINK= BIN_LINK=

cleanup() {
  set +e
  [ -n "$HOLD" ] && kill "$HOLD" 2>/dev/null
  for m in "$MNT" "$MNT2" "$MNT3"; do grep -q " $m " /proc/mounts && umount -l "$m"; done
  [ -n "$SBIN_LINK" ] && rm -f "$SBIN_LINK"
  [ -n "$BIN_LINK" ] && rm -f "$BIN_LINK"
  [ -n "$T1" ] && kill "$T1" 2>/dev/null && wait "$T1" 2>/dev/null
  [ -n "$T2" ] && kill "$T2" 2>/dev/null && wait "$T2" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for l in "$WORK"/*.log; do [ -f "$l" ] && tail -n 5 "$l" | sed "s|^|  $(basename "$l"): |" >&2; done; exit 1; }
ok() { echo "ok - $*"; }

# mount.fuse3 and mount.nvmefs run "nvmefs" by name, and mount(8) gives
# helpers the default PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:...),
# not ours: link the built daemon into /usr/local/bin for the test (unless
# an nvmefs is installed there), and remove the link on exit.
if [ ! -e /usr/local/bin/nvmefs ]; then BIN_LINK=/usr/local/bin/nvmefs; ln -s "$BUILD/src/daemon/nvmefs" "$BIN_LINK"; fi
[ "$(readlink -f /usr/local/bin/nvmefs)" = "$(readlink -f "$BUILD/src/daemon/nvmefs")" ] ||
  echo "note: /usr/local/bin/nvmefs is not this build's daemon; mount -t tests use it" >&2
# Our own commands run through a directory of symlinks first in PATH.
ln -s "$BUILD/src/daemon/nvmefs" "$BUILD/tools/ctl/nvmefs-ctl" "$SRC/tools/mount.nvmefs" "$WORK/bin/"
[ -x "$BUILD/tools/perf/nvmefs-perf" ] && ln -s "$BUILD/tools/perf/nvmefs-perf" "$WORK/bin/"
export PATH=$WORK/bin:$PATH
CTL=nvmefs-ctl

"$TARGET" --listen 127.0.0.1:0 --nqn $NQN1 --ns ram:64M --ns "$WORK/ns2.img:32M" >"$WORK/target1.log" 2>&1 &
T1=$!
"$TARGET" --listen 127.0.0.1:0 --nqn $NQN2 --ns ram:16M >"$WORK/target2.log" 2>&1 &
T2=$!
port_of() {  # LOG: the port a target prints once it listens
  for _ in $(seq 50); do grep -q listening "$1" && break; sleep 0.1; done
  grep -o 'listening on 127.0.0.1:[0-9]*' "$1" | cut -d: -f2
}
T1_PORT=$(port_of "$WORK/target1.log")
T2_PORT=$(port_of "$WORK/target2.log")
[ -n "$T1_PORT" ] && [ -n "$T2_PORT" ] || fail "targets did not start"
URI1=nvme+tcp://127.0.0.1:$T1_PORT/$NQN1
URI2=nvme+tcp://127.0.0.1:$T2_PORT/$NQN2

mounted() { grep -q " $1 fuse.nvmefs " /proc/mounts; }
socket_of() { echo "/run/nvmefs/ctl/$(systemd-escape --path "$1").sock"; }
# umount returns before the background daemon's final write-back; it removes its socket when done.
unmount() {
  umount "$1" || fail "umount $1"
  ! mounted "$1" || fail "$1 still mounted"
  for _ in $(seq 100); do [ -e "$(socket_of "$1")" ] || return 0; sleep 0.1; done
  fail "control socket of $1 not removed after unmount"
}

# ---- mount -t fuse.nvmefs (mount.fuse3 runs nvmefs from PATH) ----
mount -t fuse.nvmefs "$URI1" "$MNT" -o cache=writeback,_netdev 2>"$WORK/err" || fail "mount -t fuse.nvmefs: $(cat "$WORK/err")"
mounted "$MNT" || fail "mount -t fuse.nvmefs: not in /proc/mounts"
[ "$(stat -c %s "$MNT/ns1")" = $((64 << 20)) ] || fail "ns1 size via mount -t fuse.nvmefs"
[ -S "$(socket_of "$MNT")" ] && [ "$(stat -c %a "$(socket_of "$MNT")")" = 600 ] || fail "control socket missing or not 0600"
unmount "$MNT"
ok "mount -t fuse.nvmefs / umount (socket 0600, removed on exit)"

# ---- mount -t nvmefs (mount(8) runs /sbin/mount.nvmefs) ----
if [ ! -e /sbin/mount.nvmefs ]; then SBIN_LINK=/sbin/mount.nvmefs; ln -s "$SRC/tools/mount.nvmefs" "$SBIN_LINK"; fi
mount -t nvmefs "$URI2" "$MNT2" -o cache=writethrough 2>"$WORK/err" || fail "mount -t nvmefs: $(cat "$WORK/err")"
mounted "$MNT2" || fail "mount -t nvmefs: not mounted"
[ "$(stat -c %s "$MNT2/ns1")" = $((16 << 20)) ] || fail "ns1 size via mount -t nvmefs"
unmount "$MNT2"
mount -f -t nvmefs "$URI2" "$MNT2" || fail "mount -f (fake) failed"
! mounted "$MNT2" || fail "mount -f mounted something"
ok "mount -t nvmefs / umount; mount -f mounts nothing"

# ---- fstab: mount -a -T ----
cat >"$WORK/fstab" <<FSTAB
# nvmefs test fstab
$URI1  $MNT   fuse.nvmefs  _netdev,nofail,x-systemd.automount,x-systemd.mount-timeout=30,cache=writeback  0 0
$URI2  $MNT2  nvmefs       _netdev,users,auto,cache=none  0 0
$URI2  $MNT3  nvmefs       noauto,_netdev  0 0
FSTAB
mount -a -T "$WORK/fstab" 2>"$WORK/err" || fail "mount -a -T: $(cat "$WORK/err")"
mounted "$MNT" && mounted "$MNT2" || fail "mount -a -T did not mount both auto lines"
! mounted "$MNT3" || fail "mount -a -T mounted a noauto line"
unmount "$MNT2"
ok "mount -a -T FSTAB (_netdev, nofail, x-systemd.*, users, noauto)"

# ---- nvmefs-ctl verbs on the live mount $MNT (cache=writeback) ----
py() { python3 -c "$1" "${@:2}" || fail "check failed: $1"; }
$CTL discover -t tcp -a 127.0.0.1 -s "$T1_PORT" -o json >"$WORK/disc.json" || fail "discover"
py '
import json, sys; d = json.load(open(sys.argv[1])); nqn, port = sys.argv[2:]
r = [e for e in d["records"] if e["subnqn"] == nqn]
assert r, d
e = r[0]
assert e["trtype"] == "tcp" and e["adrfam"] == "ipv4" and e["subtype"] == "nvme subsystem", e
assert e["trsvcid"] == port and e["traddr"], e
for k in ("treq", "portid", "eflags", "sectype"): assert k in e, k' "$WORK/disc.json" $NQN1 "$T1_PORT"
$CTL discover "nvme+tcp://127.0.0.1:$T1_PORT" | grep -q "subnqn *: $NQN1" || fail "discover URI form / table"
ok "discover (options and URI form; JSON fields of nvme-cli)"

$CTL identify "$URI1" -o json >"$WORK/id.json" || fail "identify"
py '
import json, sys; d = json.load(open(sys.argv[1])); nqn = sys.argv[2]
c = d["controller"]
assert c["subnqn"] == nqn and c["mn"] and c["sn"] and c["fr"], c
for k in ("vid", "mdts", "cntlid", "ver", "oncs", "vwc", "sgls", "ioccsz"): assert k in c, k
n = {x["nsid"]: x for x in d["namespaces"]}
assert set(n) == {1, 2}, n
assert n[1]["nsze"] * 512 == 64 << 20 and n[2]["nsze"] * 512 == 32 << 20, n
assert n[1]["ncap"] == n[1]["nsze"] and any(f["in_use"] and f["ds"] == 9 for f in n[1]["lbafs"]), n[1]
assert len(n[1]["nguid"]) == 32 and len(n[1]["eui64"]) == 16' "$WORK/id.json" $NQN1
$CTL identify "$URI1" --ns 2 | grep -q "^Identify Namespace 2:" || fail "identify --ns 2"
ok "identify (controller + namespaces decoded, --ns)"

$CTL list -o json >"$WORK/list.json" || fail "list"
py '
import json, sys; d = json.load(open(sys.argv[1])); mnt, uri, nqn = sys.argv[2:]
m = [x for x in d["mounts"] if x["mountpoint"] == mnt]
assert len(m) == 1, d
m = m[0]
assert m["source"] == uri and m["cache_mode"] == "writeback", m
c = m["controllers"][0]
assert c["state"] == "live" and c["subnqn"] == nqn and c["reconnects"] == 0 and c["down_ms"] == 0, m
assert {n["path"]: n["size_bytes"] for n in m["namespaces"]} == {"ns1": 64 << 20, "ns2": 32 << 20}, m' \
  "$WORK/list.json" "$MNT" "$URI1" $NQN1
$CTL list | grep -q "^$MNT  $URI1  cache=writeback" || fail "list table"
ok "list (mount, source, controller state, namespace sizes, cache mode)"

stats() { $CTL stats "$MNT" -o json >"$WORK/$1.json" || fail "stats"; }
stats s0
# Hold a file open with dirty data so that flush has something to write back.
python3 -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, os.urandom(1 << 20), 1 << 20)
assert len(os.pread(fd, 4096, 0)) == 4096
open(sys.argv[2], "w").close()
time.sleep(60)' "$MNT/ns1" "$WORK/written" &
HOLD=$!
for _ in $(seq 100); do [ -e "$WORK/written" ] && break; sleep 0.1; done
stats s1
py '
import json, sys; a, b = (json.load(open(p))["namespaces"][0] for p in sys.argv[1:3])
assert b["path"] == "ns1" and b["file"]["writes"] > a["file"]["writes"], b["file"]
assert b["file"]["write_bytes"] - a["file"]["write_bytes"] >= 1 << 20, b["file"]
assert b["file"]["reads"] > a["file"]["reads"] and b["file"]["write_latency_us"]["p99"] > 0, b["file"]
assert b["network"]["reads"] > a["network"]["reads"], b["network"]
assert b["cache"]["dirty_bytes"] > 0 and b["reconnects"] == 0 and b["file"]["errors"] == 0, b
assert b["file"]["write_iops"] > 0' "$WORK/s0.json" "$WORK/s1.json"
$CTL flush "$MNT" -o json >"$WORK/flush.json" || fail "flush"
stats s2
py '
import json, sys; f = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))["namespaces"][0]
assert f["namespaces"] == 2 and f["written_back_bytes"] >= 1 << 20, f
assert s["cache"]["dirty_bytes"] == 0 and s["network"]["flushes"] > 0, s
assert s["network"]["write_bytes"] >= 1 << 20, s' "$WORK/flush.json" "$WORK/s2.json"
kill $HOLD; wait $HOLD 2>/dev/null || true; HOLD=
$CTL flush "$MNT" | grep -q "^flushed 2 namespace(s) of $MNT" || fail "flush text"
ok "stats counters move after I/O; flush writes back (dirty -> 0) and flushes"

$CTL stats "$MNT" --prometheus >"$WORK/prom.txt" || fail "stats --prometheus"
py '
import re, sys; mnt = sys.argv[2]; lines = open(sys.argv[1]).read().splitlines()
sample = re.compile(r"^([a-z_]+)\{([^}]*)\} (-?[0-9.e+]+)$")
names = set()
for l in lines:
    if l.startswith("#"): assert re.match(r"^# (HELP|TYPE) nvmefs_[a-z_]+ ", l), l; continue
    m = sample.match(l); assert m, l
    assert f"mountpoint=\"{mnt}\"" in m.group(2) and "nsid=\"" in m.group(2), l
    names.add(m.group(1))
for n in ("nvmefs_reads_total", "nvmefs_written_bytes_total", "nvmefs_cache_hits_total", "nvmefs_cache_dirty_bytes",
          "nvmefs_reconnects_total", "nvmefs_write_latency_seconds", "nvmefs_write_latency_seconds_count"): assert n in names, n
w = [l for l in lines if l.startswith("nvmefs_written_bytes_total{") and "nsid=\"1\"" in l and "layer=\"file\"" in l]
assert float(w[0].split()[-1]) >= 1 << 20, w' "$WORK/prom.txt" "$MNT"
timeout 2 $CTL stats "$MNT" --watch 0.5 -o json >"$WORK/watch.json" || [ $? = 124 ] || fail "stats --watch"
[ "$(wc -l <"$WORK/watch.json")" -ge 2 ] || fail "stats --watch printed $(wc -l <"$WORK/watch.json") samples"
$CTL stats "$MNT" | grep -q "^  network " || fail "stats table"
ok "stats --prometheus (exposition format, labels), --watch, table"

$CTL drop-cache "$MNT" -o json >"$WORK/drop.json" || fail "drop-cache"
stats s3
py '
import json, sys; d = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
assert d["dropped_bytes"] > 0, d
assert all(n["cache"]["cached_bytes"] == 0 for n in s["namespaces"]), s' "$WORK/drop.json" "$WORK/s3.json"
ok "drop-cache empties the cache"

$CTL reconnect "$MNT" >"$WORK/out" || fail "reconnect of a live mount"
grep -q "^$MNT: all controllers live" "$WORK/out" && grep -q "  controller .*  live  .*reconnects 0" "$WORK/out" ||
  fail "reconnect output: $(cat "$WORK/out")"
ok "reconnect of a live mount: nothing to do, controllers shown live (dead/reconnect: ctl_reconnect.sh)"

$CTL gen-hostnqn | grep -Eq '^nqn\.2014-08\.org\.nvmexpress:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' || fail "gen-hostnqn"
for spec in "0 32" "1 32" "2 48" "3 64" "0 64"; do
  set -- $spec
  key=$($CTL gen-dhchap-key --hmac $1 --key-length $2 --nqn nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001) || fail "gen-dhchap-key $spec"
  py '
import base64, sys, zlib; key, hmac, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
p = key.split(":"); assert len(p) == 4 and p[0] == "DHHC-1" and p[1] == "%02d" % hmac and p[3] == "", key
raw = base64.b64decode(p[2]); assert len(raw) == n + 4, len(raw)
assert zlib.crc32(raw[:n]).to_bytes(4, "little") == raw[n:], "crc"' "$key" "$1" "$2"
done
ok "gen-hostnqn, gen-dhchap-key (DHHC-1 format, CRC-32, lengths)"

if [ -e "$WORK/bin/nvmefs-perf" ]; then
  $CTL bench --help >"$WORK/bench.out" 2>&1 || fail "bench --help: $(cat "$WORK/bench.out")"
  grep -qi "usage" "$WORK/bench.out" || fail "bench did not run nvmefs-perf"
  ok "bench runs nvmefs-perf"
fi
for v in discover identify list stats flush drop-cache reconnect gen-hostnqn gen-dhchap-key; do
  $CTL $v --help | grep -q "^usage: nvmefs-ctl $v" || fail "$v --help"
done
ok "--help on every verb"

# ---- garbage on the control socket: an error reply, the daemon keeps serving ----
python3 - "$(socket_of "$MNT")" <<'PY' || fail "garbage on the control socket"
import json, socket, sys
def ask(data):
    s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1]); s.sendall(data)
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk: break
        buf += chunk
    return json.loads(buf.splitlines()[0])
assert "error" in ask(b"\x00\xffgarbage\n")
assert "error" in ask(b'{"cmd":42}\n')
assert "unknown command" in ask(b'{"cmd":"format-disk"}\n')["error"]
assert "error" in ask(b"[" * 100 + b"\n")
assert "longer than" in ask(b"x" * 10000)["error"]
assert ask(b'{"cmd":"ping"}\n')["ok"] is True
PY
$CTL stats "$MNT" -o json >/dev/null || fail "daemon stopped serving after garbage"
ok "garbage on the control socket: {\"error\":...}, daemon keeps serving"
unmount "$MNT"

# ---- bad inputs: one line on stderr, non-zero exit, nothing mounted ----
expect_failure() {  # PATTERN COMMAND...
  local pattern=$1 rc=0; shift
  "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  [ $rc != 0 ] || fail "$*: exit 0"
  [ "$(wc -l <"$WORK/err")" = 1 ] || fail "$*: expected one line on stderr, got: $(cat "$WORK/err")"
  grep -q -- "$pattern" "$WORK/err" || fail "$*: '$(cat "$WORK/err")' does not match '$pattern'"
  for m in "$MNT" "$MNT2" "$MNT3"; do ! mounted "$m" || fail "$*: left $m mounted"; done
}
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'DHHC-1:00:%s:\n' "$(head -c 36 /dev/urandom | base64 -w0)" >"$WORK/key.open"; chmod 644 "$WORK/key.open"
STALE=$WORK/stale; mkdir -p "$STALE"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$(socket_of "$STALE")"
expect_failure "unknown verb 'frobnicate'" $CTL frobnicate
expect_failure "unknown option '--bogus'" $CTL stats "$MNT" --bogus
expect_failure "unsupported URI scheme" $CTL identify "http://127.0.0.1/$NQN1"
expect_failure "invalid output format" $CTL list -o yaml
expect_failure "invalid --watch" $CTL stats "$MNT" --watch soon
expect_failure "invalid --hmac" $CTL gen-dhchap-key --hmac 7
expect_failure "127.0.0.1" $CTL discover -a 127.0.0.1 -s "$DEAD"
expect_failure "nqn.2024-01.io.nvmefs:nope" $CTL identify "nvme+tcp://127.0.0.1:$T1_PORT/nqn.2024-01.io.nvmefs:nope"
expect_failure "is not an nvmefs mount" $CTL stats "$WORK"
expect_failure "no nvmefs daemon answers at .* (stale socket?)" $CTL stats "$STALE"
rm -f "$(socket_of "$STALE")"
expect_failure "invalid value '12Q'" nvmefs "$URI1" "$MNT" -o cache_size=12Q
expect_failure "unsupported URI scheme" nvmefs "http://127.0.0.1/$NQN1" "$MNT"
expect_failure "unknown option 'bogus'" nvmefs "$URI1" "$MNT" -o bogus
expect_failure "$WORK/missing.key" nvmefs "$URI1" "$MNT" -o dhchap_secret_file="$WORK/missing.key"
expect_failure "readable by group or others" nvmefs "$URI1" "$MNT" -o dhchap_secret_file="$WORK/key.open"
expect_failure "127.0.0.1" nvmefs "nvme+tcp://127.0.0.1:$DEAD/$NQN1" "$MNT"
expect_failure "nqn.2024-01.io.nvmefs:nope" nvmefs "nvme+tcp://127.0.0.1:$T1_PORT/nqn.2024-01.io.nvmefs:nope" "$MNT"
grep -q "^[[:space:]]*user_allow_other" /etc/fuse.conf 2>/dev/null || {
  chmod 755 "$WORK"; chmod 777 "$MNT3"
  expect_failure "user_allow_other" setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$BUILD/src/daemon/nvmefs" "$URI2" "$MNT3" -o allow_other
}
rc=0; mount -t fuse.nvmefs "$URI1" "$MNT" -o cache=sometimes 2>"$WORK/err" || rc=$?
[ $rc != 0 ] && grep -q "invalid value 'sometimes'" "$WORK/err" && ! mounted "$MNT" || fail "mount -t with a bad option: rc $rc"
ok "bad inputs of nvmefs-ctl and nvmefs: one line, non-zero, nothing mounted"
echo "all nvmefs-ctl and mount tests passed"
