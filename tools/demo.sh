#!/usr/bin/env bash
# The main job in one command, on a fresh Debian 12 machine with no NVMe-oF
# target at hand: installs the dependencies, builds, starts the bundled
# target (nvmefs-target) on 127.0.0.1 with a 1 GiB file-backed namespace and
# a 256 MiB RAM namespace, and mounts it with nvmefs.
#
#   tools/demo.sh [MOUNTPOINT]     mount (default /mnt/nvmefs-demo)
#   tools/demo.sh stop [MOUNTPOINT] unmount and stop the target
set -euo pipefail
cd "$(dirname "$0")/.."
state=/var/tmp/nvmefs-demo
port=${NVMEFS_DEMO_PORT:-4420}
nqn=nqn.2026-11.io.nvmefs:demo

if [ "${1:-}" = stop ]; then
  mnt=${2:-/mnt/nvmefs-demo}
  if mountpoint -q "$mnt"; then umount "$mnt"; fi
  if [ -f "$state/target.pid" ]; then kill "$(cat "$state/target.pid")" 2>/dev/null || true; rm -f "$state/target.pid"; fi
  echo "demo: unmounted $mnt and stopped the target (data kept in $state/ns1.img)"
  exit 0
fi
mnt=${1:-/mnt/nvmefs-demo}

tools/bootstrap.sh build >/dev/null
mkdir -p "$state" "$mnt"
if ! { [ -f "$state/target.pid" ] && kill -0 "$(cat "$state/target.pid")" 2>/dev/null; }; then
  build/tools/target/nvmefs-target --listen "127.0.0.1:$port" --nqn "$nqn" \
    --ns "$state/ns1.img:1G" --ns ram:256M >"$state/target.log" 2>&1 &
  echo $! >"$state/target.pid"
  for _ in $(seq 50); do grep -q listening "$state/target.log" && break; sleep 0.1; done
  grep -q listening "$state/target.log" || { cat "$state/target.log"; exit 1; }
fi
mountpoint -q "$mnt" && umount "$mnt"
build/src/daemon/nvmefs "nvme+tcp://127.0.0.1:$port/$nqn" "$mnt" -o cache=writethrough
echo "demo: nvme+tcp://127.0.0.1:$port/$nqn is mounted on $mnt"
ls -l "$mnt"
df -h "$mnt"
echo "try:  dd if=/dev/urandom of=$mnt/ns1 bs=1M count=16 oflag=direct conv=fsync"
echo "      getfattr -d -m - $mnt/ns1"
echo "stop: tools/demo.sh stop $mnt"
