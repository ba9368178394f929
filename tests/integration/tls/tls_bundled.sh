#!/bin/bash
# NVMe/TCP over TLS 1.3 (PSK) against the bundled target (suite 'integration'):
# write/read verify with SHA-256 and SHA-384 keys, discovery asks for TLS,
# and the failures that must be clear and fast: wrong key, plain host on the
# TLS port, TLS host on a plain port, a key file others can read.
set -euo pipefail
: "${NVMEFS_BUILD:?}"
TARGET=$NVMEFS_BUILD/tools/target/nvmefs-target
CHECK=$NVMEFS_BUILD/tests/integration/tls/tls_check
TLS_PORT=4481
PLAIN_PORT=4482
NQN=nqn.2024-01.io.nvmefs:tls-test
HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:5b0bc2d5-7d0e-4c4b-9ba0-6c0f1e7d2a11
for f in "$TARGET" "$CHECK"; do
  [[ -x $f ]] || { echo "FAIL $f is not built"; exit 1; }
done
TMP=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT

# A configured PSK in interchange format: random key || CRC-32 (LE), base64
# (made by Python's zlib/base64, independently of the C++ code).
make_key() {  # HH LEN
  python3 -c 'import base64,os,sys,zlib
k=os.urandom(int(sys.argv[2]))
print("NVMeTLSkey-1:%s:%s:" % (sys.argv[1], base64.b64encode(k+zlib.crc32(k).to_bytes(4,"little")).decode()))' "$1" "$2"
}

wait_port() {
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "FAIL nothing listens on port $1"; exit 1
}

start_target() {  # LOG PORT ARGS...
  local log=$1 port=$2
  shift 2
  "$TARGET" --listen "127.0.0.1:$port" --nqn "$NQN" --ns ram:32M "$@" >"$log" 2>&1 &
  pids+=($!)
  wait_port "$port"
}

stop_targets() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  pids=()
}

status=0
fail() { echo "FAIL $*"; status=1; }
ok() { echo "ok   $*"; }
common=(--traddr 127.0.0.1 --nqn "$NQN" --hostnqn "$HOSTNQN")

# Timed run of tls_check; elapsed milliseconds land in $elapsed_ms.
run_check() {
  local t0=$(date +%s%3N)
  timeout 120 "$CHECK" "$@" || status=1
  elapsed_ms=$(( $(date +%s%3N) - t0 ))
}
assert_fast() {  # WHAT
  if (( elapsed_ms < 5000 )); then ok "$1 took ${elapsed_ms} ms"; else fail "$1 took ${elapsed_ms} ms (>= 5 s)"; fi
}

# --- key file permissions are enforced
KEY=$(make_key 01 32)
printf '%s\n' "$KEY" >"$TMP/key"
chmod 644 "$TMP/key"
if out=$("$TARGET" --listen 127.0.0.1:0 --nqn "$NQN" --ns ram:1M --tls --tls-key-file "$TMP/key" 2>&1); then
  fail "target accepted a world-readable key file"
elif [[ $out == *"readable by group or others"* ]]; then ok "world-readable key file refused: $out"
else fail "unexpected error for a world-readable key file: $out"; fi
chmod 600 "$TMP/key"

# --- SHA-256 key: TLS port (key from a file) and a plain port
start_target "$TMP/tls.log" "$TLS_PORT" --tls --tls-key-file "$TMP/key"
start_target "$TMP/plain.log" "$PLAIN_PORT"

run_check "${common[@]}" --trsvcid "$TLS_PORT" --tls-key "$KEY"
run_check "${common[@]}" --trsvcid "$TLS_PORT" --tls-key "$KEY" --discovery

run_check "${common[@]}" --trsvcid "$TLS_PORT" --tls-key "$(make_key 01 32)" --expect-fail "TLS handshake failed"
assert_fast "wrong key"
grep -q "no PSK for identity 'NVMe1R01 $HOSTNQN $NQN'" "$TMP/tls.log" && ok "target logged the unknown identity" \
  || fail "target did not log the unknown identity"
if grep -q "$(echo "$KEY" | cut -d: -f3)" "$TMP/tls.log"; then fail "key bytes in the target log"; else ok "no key in the target log"; fi

run_check "${common[@]}" --trsvcid "$TLS_PORT" --plain --expect-fail "connection closed during ICReq/ICResp"
assert_fast "plain host on the TLS port"
grep -q "not a TLS ClientHello (first byte 0x00: a plain NVMe/TCP ICReq) on a TLS-only port" "$TMP/tls.log" \
  && ok "target logged the plain ICReq" || fail "target did not log the plain ICReq"

run_check "${common[@]}" --trsvcid "$PLAIN_PORT" --tls-key "$KEY" --expect-fail "peer is not speaking TLS"
assert_fast "TLS host on a plain port"
stop_targets

# --- SHA-384 key (TLS_AES_256_GCM_SHA384), key on the command line
KEY384=$(make_key 02 48)
start_target "$TMP/tls384.log" "$TLS_PORT" --tls --tls-key "$KEY384" -v
run_check "${common[@]}" --trsvcid "$TLS_PORT" --tls-key "$KEY384"
grep -q "TLS_AES_256_GCM_SHA384" "$TMP/tls384.log" && ok "SHA-384 key negotiated TLS_AES_256_GCM_SHA384" \
  || fail "TLS_AES_256_GCM_SHA384 not in the target log"
stop_targets

if [[ $status != 0 ]]; then
  for f in "$TMP"/*.log; do echo "--- $f"; tail -20 "$f"; done
fi
exit $status
