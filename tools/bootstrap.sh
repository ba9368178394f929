#!/usr/bin/env bash
# Installs the build dependencies from Debian 12 packages and builds nvmefs
# into ./build (release-ish: -O2 -g). Idempotent; run as root (or with sudo
# available) on a fresh machine. Usage: tools/bootstrap.sh [BUILD_DIR [MESON_ARGS...]]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential meson ninja-build pkg-config python3
  libfuse3-dev fuse3 libnvme-dev libjson-c-dev libssl-dev libfmt-dev doctest-dev
  librdmacm-dev libibverbs-dev
  # used by the tests: fio, e2fsprogs (mkfs/fsck), attr (getfattr), util-linux (losetup),
  # iproute2 (network namespaces), clang + runtime (fuzzers), groff (man page check)
  fio e2fsprogs attr util-linux iproute2 clang libclang-rt-14-dev
  groff
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "bootstrap: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${1:-build}
shift || true
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$@" >/dev/null
fi
ninja -C "$build"
echo "bootstrap: built into $build/"
