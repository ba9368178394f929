#!/usr/bin/env bash
# nvmefs performance goals, measured in one run on this machine (BENCHMARKS.md).
#
#   tools/bench.sh [OUTPUT.md]
#
# Starts a RAM-backed nvmefs-target on 127.0.0.1, mounts it with nvmefs, and
# compares fio on the mounted file with nvmefs-perf on the same target (raw
# initiator), fio on cache hits with fio on libfuse's passthrough_ll over a
# tmpfs file (the FUSE ceiling), and the daemon's peak RSS with cache_size.
# Each pair runs back to back, so the ratios hold even on a noisy machine.
# Prints a markdown table; also writes it to OUTPUT.md when given.
#
# Environment: BUILD (meson build dir, default <repo>/build-bench), RUNTIME
# (seconds per figure and side: two runs of half, default 10), REGION (bytes of the file used, default
# 256M), CACHE_SIZE (cache-hit mount, default 320M), QUEUES (I/O queues of
# both initiators, default nproc), NVMEFS_BIN (the daemon to measure, for A/B
# runs; default $BUILD/src/daemon/nvmefs), KEEP_WORK=1 (keep the JSON files).
# Needs root (FUSE and tmpfs mounts), fio, python3, gcc, pkg-config fuse3.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$repo/build-bench}
RUNTIME=${RUNTIME:-10}
REGION=${REGION:-256M}
CACHE_SIZE=${CACHE_SIZE:-320M}
QUEUES=${QUEUES:-$(nproc)}
out_file=${1:-}
nqn=nqn.2024-01.io.nvmefs:bench

target_bin=$BUILD/tools/target/nvmefs-target
perf_bin=$BUILD/tools/perf/nvmefs-perf
daemon_bin=${NVMEFS_BIN:-$BUILD/src/daemon/nvmefs}
passthrough_src=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c
passthrough_bin=$BUILD/bench/passthrough_ll

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

for b in "$target_bin" "$perf_bin" "$daemon_bin"; do
  [[ -x $b ]] || die "$b not built (meson setup $BUILD --buildtype=release && ninja -C $BUILD)"
done
for t in fio python3 gcc pkg-config; do command -v "$t" >/dev/null || die "$t not installed"; done
[[ $(id -u) == 0 ]] || die "needs root (FUSE and tmpfs mounts)"

work=$(mktemp -d /tmp/nvmefs-bench.XXXXXX)
target_pid='' nocache_pid='' cached_pid='' pt_pid=''
nocache_mnt=$work/mnt-none cached_mnt=$work/mnt-cached pt_mnt=$work/mnt-passthrough tmpfs_dir=$work/tmpfs

stop_pid() {  # pid: TERM, wait up to 10 s, then KILL
  local pid=$1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  for m in "$nocache_mnt" "$cached_mnt" "$pt_mnt"; do
    mountpoint -q "$m" 2>/dev/null && { umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }
  done
  stop_pid "$nocache_pid"; stop_pid "$cached_pid"; stop_pid "$pt_pid"; stop_pid "$target_pid"
  mountpoint -q "$tmpfs_dir" 2>/dev/null && umount "$tmpfs_dir"
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "results kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() {  # seconds, command...: polls every 0.1 s
  local tries=$(($1 * 10)); shift
  for _ in $(seq "$tries"); do "$@" && return 0; sleep 0.1; done
  return 1
}

# ---- the FUSE ceiling: passthrough_ll over a tmpfs file --------------------
if [[ ! -x $passthrough_bin || $passthrough_src -nt $passthrough_bin ]]; then
  mkdir -p "$(dirname "$passthrough_bin")"
  # shellcheck disable=SC2046  # pkg-config prints several words
  gcc -O2 -o "$passthrough_bin" "$passthrough_src" $(pkg-config --cflags --libs fuse3) ||
    die "cannot build passthrough_ll"
fi
mkdir -p "$nocache_mnt" "$cached_mnt" "$pt_mnt" "$tmpfs_dir"
region_bytes=$(numfmt --from=iec "$REGION")
mount -t tmpfs -o size=$((region_bytes + (16 << 20))) nvmefs-bench "$tmpfs_dir"
head -c "$region_bytes" /dev/urandom >"$tmpfs_dir/file"
# The example mallocs a buffer per request: keep glibc from mmap/munmap-ing
# (and trimming) those, or its TLB shootdowns, not FUSE, set the ceiling.
GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4194304:glibc.malloc.trim_threshold=268435456 \
  "$passthrough_bin" -f -o source="$tmpfs_dir",cache=never "$pt_mnt" 2>"$work/passthrough.log" &
pt_pid=$!
wait_for 10 test -f "$pt_mnt/file" || die "passthrough_ll did not mount: $(cat "$work/passthrough.log")"

# ---- target and mounts -----------------------------------------------------
"$target_bin" --listen 127.0.0.1:0 --nqn "$nqn" --ns ram:1G --max-queues 8 >"$work/target.log" 2>&1 &
target_pid=$!
wait_for 10 grep -q 'listening on' "$work/target.log" || die "target did not start: $(cat "$work/target.log")"
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/target.log" | head -n1)
uri=nvme+tcp://127.0.0.1:$port/$nqn
# Write the region once so that no run pays for the target's first touch of its RAM.
"$perf_bin" --rw write --bs 1M --qd 8 --verify --time 0 --size "$REGION" -o json "$uri" >"$work/prefill.json" 2>&1 ||
  die "prefill failed: $(cat "$work/prefill.json")"

mount_nvmefs() {  # mountpoint options -> sets mounted_pid
  "$daemon_bin" "$uri" "$1" -f -o "nr_io_queues=$QUEUES,$2" 2>"$1.log" &
  mounted_pid=$!
  wait_for 20 test -f "$1/ns1" || die "nvmefs did not mount on $1: $(cat "$1.log")"
}
unmount_nvmefs() {  # mountpoint pid: the daemon holds the namespace lock until it exits
  umount "$1"
  wait_for 30 eval "! kill -0 $2 2>/dev/null" || die "nvmefs on $1 did not exit after unmount"
}

# ---- runs --------------------------------------------------------------------
# Each figure is the mean of two runs of RUNTIME/2 seconds; the pairs run in
# the order A B B A, so a load change on the machine hits both sides alike.
half=$(( (RUNTIME + 1) / 2 ))
run_fio() {  # name file rw bs qd engine [extra fio args]
  local name=$1.$round file=$2 rw=$3 bs=$4 qd=$5 engine=$6; shift 6
  log "fio $name ($rw bs=$bs qd=$qd on $file)"
  fio --name="$name" --filename="$file" --rw="$rw" --bs="$bs" --iodepth="$qd" --ioengine="$engine" \
    --direct=1 --size="$REGION" --time_based --runtime="$half" --norandommap --randrepeat=0 \
    --lat_percentiles=1 --output-format=json "$@" >"$work/$name.json" 2>"$work/$name.err" ||
    die "fio $name failed: $(cat "$work/$name.err")"
}
run_perf() {  # name rw bs qd
  local name=$1.$round
  log "nvmefs-perf $name ($2 bs=$3 qd=$4)"
  "$perf_bin" --rw "$2" --bs "$3" --qd "$4" --queues "$QUEUES" --time "$half" --size "$REGION" -o json "$uri" \
    >"$work/$name.json" 2>"$work/$name.err" || die "nvmefs-perf $name failed: $(cat "$work/$name.err")"
}
abba() {  # "command A" "command B": A B, then B A
  round=1; eval "$1"; eval "$2"
  round=2; eval "$2"; eval "$1"
}

# 1, 2, 4: the FUSE file (cache=none) vs the raw initiator.
mount_nvmefs "$nocache_mnt" cache=none; nocache_pid=$mounted_pid
abba 'run_fio fs_seq "$nocache_mnt/ns1" read 128k 16 libaio' 'run_perf raw_seq read 128K 16'
abba 'run_fio fs_rand "$nocache_mnt/ns1" randread 4k 32 libaio' 'run_perf raw_rand randread 4K 32'
abba 'run_fio fs_qd1 "$nocache_mnt/ns1" randread 4k 1 psync' 'run_perf raw_qd1 randread 4K 1'
unmount_nvmefs "$nocache_mnt" "$nocache_pid"

# 3: cache hits vs passthrough_ll; 5: the daemon's peak RSS meanwhile.
mount_nvmefs "$cached_mnt" "cache=writethrough,cache_size=$CACHE_SIZE"; cached_pid=$mounted_pid
log "warming the cache ($REGION, one sequential pass)"
fio --name=warm --filename="$cached_mnt/ns1" --rw=read --bs=1M --iodepth=8 --ioengine=libaio --direct=1 \
  --size="$REGION" --output-format=json >"$work/warm.json" 2>"$work/warm.err" || die "warm-up failed: $(cat "$work/warm.err")"
abba 'run_fio hit_rand "$cached_mnt/ns1" randread 4k 32 libaio' 'run_fio pt_rand "$pt_mnt/file" randread 4k 32 libaio'
abba 'run_fio hit_seq "$cached_mnt/ns1" read 128k 16 libaio' 'run_fio pt_seq "$pt_mnt/file" read 128k 16 libaio'
# Context for 4: what one FUSE round trip costs on this machine without any network.
abba 'run_fio pt_qd1 "$pt_mnt/file" randread 4k 1 psync' 'run_fio tmpfs_qd1 "$tmpfs_dir/file" randread 4k 1 psync'
awk '/^VmHWM:/ {print $2 * 1024}' "/proc/$cached_pid/status" >"$work/rss_bytes"
numfmt --from=iec "$CACHE_SIZE" >"$work/cache_bytes"

# ---- the table -----------------------------------------------------------------
table=$(python3 - "$work" "$half" "$QUEUES" <<'EOF'
import glob, json, statistics, sys
work, seconds, queues = sys.argv[1], sys.argv[2], sys.argv[3]

def load(name):  # the runs of one figure (name.1.json, name.2.json)
    runs = []
    for path in sorted(glob.glob(f"{work}/{name}.[0-9].json")):
        with open(path) as f:
            runs.append(json.load(f))
    if not runs:
        sys.exit(f"no results for {name}")
    return runs

def fio_one(job, what):
    if job.get("error"):
        sys.exit(f"fio {job['jobname']}: error {job['error']}")
    r = job["read"]
    return {"mib_s": r["bw_bytes"] / 2**20, "iops": r["iops"],
            "p50_us": r["lat_ns"]["percentile"]["50.000000"] / 1000}[what]

def perf_one(r, what):
    if r["errors"]:
        sys.exit(f"nvmefs-perf: {r['errors']} errors")
    return {"mib_s": r["mib_s"], "iops": r["iops"], "p50_us": r["lat_us"]["p50"]}[what]

def fio(name, what):
    return statistics.mean(fio_one(run["jobs"][0], what) for run in load(name))

def perf(name, what):
    return statistics.mean(perf_one(run, what) for run in load(name))

rows = []
def ratio_row(label, ours, ref, unit, goal):
    r = ours / ref if ref else 0.0
    rows.append((label, f"{ours:,.0f} {unit}", f"{ref:,.0f} {unit}", f"{r:.2f}", f"≥ {goal}", r >= goal))

ratio_row("1. 128K seq read QD16: fio on file (cache=none) / nvmefs-perf",
          fio("fs_seq", "mib_s"), perf("raw_seq", "mib_s"), "MiB/s", 0.85)
ratio_row("2. 4K rand read QD32: fio on file (cache=none) / nvmefs-perf",
          fio("fs_rand", "iops"), perf("raw_rand", "iops"), "IOPS", 0.6)
ratio_row("3a. cache hits, 4K rand read QD32: nvmefs / passthrough_ll on tmpfs",
          fio("hit_rand", "iops"), fio("pt_rand", "iops"), "IOPS", 0.9)
ratio_row("3b. cache hits, 128K seq read QD16: nvmefs / passthrough_ll on tmpfs",
          fio("hit_seq", "mib_s"), fio("pt_seq", "mib_s"), "MiB/s", 0.9)
ours, ref = fio("fs_qd1", "p50_us"), perf("raw_qd1", "p50_us")
rows.append(("4. 4K rand read QD1 p50 latency: fio psync on file (cache=none) vs nvmefs-perf",
             f"{ours:.1f} µs", f"{ref:.1f} µs", f"{ours - ref:+.1f} µs", "≤ +20 µs", ours - ref <= 20))
ours, ref = fio("pt_qd1", "p50_us"), fio("tmpfs_qd1", "p50_us")
rows.append(("4b. context for 4, no goal: the same fio job on passthrough_ll vs on the tmpfs file itself",
             f"{ours:.1f} µs", f"{ref:.1f} µs", f"{ours - ref:+.1f} µs", "—", None))
rss = int(open(f"{work}/rss_bytes").read()) / 2**20
cache = int(open(f"{work}/cache_bytes").read()) / 2**20
rows.append(("5. daemon peak RSS (VmHWM) during 3 vs cache_size",
             f"{rss:,.0f} MiB", f"{cache:,.0f} MiB", f"{rss - cache:+,.0f} MiB", "≤ +32 MiB", rss - cache <= 32))

print(f"mean of 2 runs of {seconds} s each (order A B B A), {queues} I/O queue(s) per initiator, fio libaio --direct=1 unless noted\n")
print("| figure | nvmefs | reference | ratio / difference | goal | met |")
print("|---|---:|---:|---:|---|---|")
for label, ours, ref, r, goal, met in rows:
    print(f"| {label} | {ours} | {ref} | {r} | {goal} | {'—' if met is None else 'yes' if met else '**no**'} |")
EOF
) || die "cannot build the table"

echo "$table"
[[ -z $out_file ]] || echo "$table" >"$out_file"
