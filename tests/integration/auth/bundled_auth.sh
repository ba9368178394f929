#!/bin/bash
# In-band authentication (DH-HMAC-CHAP) between the initiator and the bundled
# target over loopback (suite 'integration'). For each hash (SHA-256, -384,
# -512) with ffdhe2048 and with the NULL DH group, a target started with
# --dhchap-* must let the host connect and move data, unidirectionally and
# bidirectionally (keys from nvmefs's generator, transformed with the hash,
# and once untransformed keys from an independent encoder, Python). Then a
# wrong host key, a wrong controller key and no key must each fail with
# "authentication failed" without a byte of the namespace changing.
set -euo pipefail
: "${NVMEFS_BUILD:?}"
TARGET=$NVMEFS_BUILD/tools/target/nvmefs-target
CHECK=$NVMEFS_BUILD/tests/integration/host/initiator_check
NQN=nqn.2024-01.io.nvmefs:itest-auth
HOST=nqn.2014-08.org.nvmexpress:uuid:0b6c4b1e-9a7d-4f3e-8c21-5d4e3f2a1b0c
for exe in "$TARGET" "$CHECK"; do
  if [[ ! -x $exe ]]; then echo "FAIL $exe is not built"; exit 1; fi
done
TMP=$(mktemp -d)
pid=
stop_target() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  pid=
}
cleanup() { stop_target; rm -rf "$TMP"; }
trap cleanup EXIT

# A random untransformed secret, encoded by Python (zlib CRC-32, base64), not by nvmefs.
py_key() {
  python3 -c 'import os,zlib,base64,struct;k=os.urandom(32);print("DHHC-1:00:%s:"%base64.b64encode(k+struct.pack("<I",zlib.crc32(k))).decode())'
}

PORT=
start_target() {  # TARGET-OPTIONS...
  stop_target
  : >"$TMP/target.log"
  "$TARGET" --listen 127.0.0.1:0 --nqn "$NQN" --ns "$TMP/ns.img:16M" --allow-host "$HOST" "$@" \
    >"$TMP/target.log" 2>&1 &
  pid=$!
  PORT=
  for _ in $(seq 100); do
    PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/target.log" | head -1)
    [[ -n $PORT ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL target did not start:"; sed 's/^/     /' "$TMP/target.log"
  exit 1
}

failures=0
out=
run_check() {  # DESCRIPTION EXPECTED-OUTPUT ARGS...
  local what=$1 expect=$2; shift 2
  if out=$(timeout 60 "$CHECK" --traddr 127.0.0.1 --trsvcid "$PORT" --nqn "$NQN" --hostnqn "$HOST" "$@" 2>&1) &&
     grep -qF -- "$expect" <<<"$out"; then
    echo "ok   $what"; grep -F -- "$expect" <<<"$out" | head -1 | sed 's/^/     /'
  else
    echo "FAIL $what"; echo "$out" | sed 's/^/     /'
    echo "     --- target log"; tail -5 "$TMP/target.log" | sed 's/^/     /'
    failures=$((failures + 1))
  fi
  if grep -q 'DHHC-1:' <<<"$out"; then echo "FAIL $what: a secret was printed"; failures=$((failures + 1)); fi
}
# The target log must show (or not show) TEXT.
target_says() {  # DESCRIPTION TEXT
  if grep -qF -- "$2" "$TMP/target.log"; then echo "ok   $1"; else
    echo "FAIL $1: no '$2' in the target log"; sed 's/^/     /' "$TMP/target.log"; failures=$((failures + 1))
  fi
}

io=(--total 1M)
for t in 1 2 3; do
  hash=$(echo "sha256 sha384 sha512" | cut -d' ' -f$t)
  for dhgroup in ffdhe2048 null; do
    key=$("$CHECK" --gen-dhchap-key "$t" --hostnqn "$HOST")
    ckey=$("$CHECK" --gen-dhchap-key "$t" --hostnqn "$NQN")
    start_target --dhchap-key "$key" --dhchap-ctrl-key "$ckey" --dhchap-hash "$hash" --dhchap-dhgroup "$dhgroup"
    got="qid 0: authenticated with hmac($hash) dhgroup $dhgroup"
    run_check "$hash $dhgroup unidirectional (DHHC-1:0$t key)" "$got" "${io[@]}" --dhchap-secret "$key"
    if grep -q "controller authenticated" <<<"$out"; then
      echo "FAIL unidirectional run authenticated the controller"; failures=$((failures + 1))
    fi
    run_check "$hash $dhgroup bidirectional (DHHC-1:0$t keys)" "$got, controller authenticated" "${io[@]}" \
      --dhchap-secret "$key" --dhchap-ctrl-secret "$ckey"
  done
done
target_says "the target authenticated I/O queues too" "qid 1 of $NQN for $HOST: authenticated"

# Untransformed keys from the independent encoder, the default hash and group.
KEY=$(py_key)
CKEY=$(py_key)
start_target --dhchap-key "$KEY" --dhchap-ctrl-key "$CKEY"
run_check "default (sha256 ffdhe2048) bidirectional (DHHC-1:00 keys from Python)" \
  "authenticated with hmac(sha256) dhgroup ffdhe2048, controller authenticated" "${io[@]}" \
  --dhchap-secret "$KEY" --dhchap-ctrl-secret "$CKEY"

# Refusals: nothing may reach the namespace.
before=$(sha256sum <"$TMP/ns.img")
run_check "wrong host key is refused" "authentication failed" --dhchap-secret "$(py_key)" \
  --expect-auth-failure "rejected the host's response"
target_says "the target refused the wrong host key" "authentication failed: the host's response does not match"
run_check "wrong controller key is refused" "authentication failed" --dhchap-secret "$KEY" \
  --dhchap-ctrl-secret "$(py_key)" --expect-auth-failure "does not match dhchap_ctrl_secret"
target_says "the target saw the host reject it" "the host rejected the controller (Failure2)"
run_check "no key is refused" "authentication failed" --expect-auth-failure "no dhchap_secret is set"
if [[ $(sha256sum <"$TMP/ns.img") == "$before" ]]; then echo "ok   refused hosts changed no data"; else
  echo "FAIL the namespace changed during refused connects"; failures=$((failures + 1))
fi

# The target without a controller key cannot satisfy a host that wants the controller authenticated.
start_target --dhchap-key "$KEY" --dhchap-hash sha512 --dhchap-dhgroup null
run_check "host wants the controller authenticated, target has no controller key" "authentication failed" \
  --dhchap-secret "$KEY" --dhchap-ctrl-secret "$CKEY" --expect-auth-failure "did not answer our challenge"

# The controller side alone, from a raw NVMe/TCP client: commands wait for authentication,
# and a host offering only SHA-512 to a SHA-256 target gets Failure1 (hash function not usable).
start_target --dhchap-key "$KEY"
if timeout 30 python3 "$(dirname "$0")/raw_auth_client.py" "$PORT" "$NQN" "$HOST" 3 >"$TMP/raw.out" 2>&1; then
  sed 's/^/     /' "$TMP/raw.out"; echo "ok   raw client checks"
else
  echo "FAIL raw client checks"; sed 's/^/     /' "$TMP/raw.out"; failures=$((failures + 1))
fi

# Option errors: one line, and the secret never echoed.
bad_option() {  # DESCRIPTION EXPECTED-TEXT OPTIONS...
  local what=$1 expect=$2 msg; shift 2
  if msg=$("$TARGET" --listen 127.0.0.1:0 --nqn "$NQN" --ns ram:1M "$@" 2>&1); then
    echo "FAIL $what: the target started"; failures=$((failures + 1))
  elif grep -qF -- "$expect" <<<"$msg" && ! grep -q 'DHHC-1:' <<<"$msg"; then
    echo "ok   $what"; echo "     $msg"
  else
    echo "FAIL $what: $msg"; failures=$((failures + 1))
  fi
}
bad_option "--dhchap-key without --allow-host" "needs --allow-host" --dhchap-key "$KEY"
bad_option "malformed --dhchap-key" "--dhchap-key:" --allow-host "$HOST" --dhchap-key "${KEY%?????}xx:"
bad_option "unknown --dhchap-hash" "--dhchap-hash: 'md5'" --allow-host "$HOST" --dhchap-key "$KEY" --dhchap-hash md5

if ((failures)); then echo "$failures case(s) FAILED"; exit 1; fi
echo PASS
