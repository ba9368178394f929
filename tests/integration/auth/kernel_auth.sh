#!/bin/bash
# In-band authentication (DH-HMAC-CHAP) of the initiator against the Linux
# kernel target in a VM (suite 'vm'). One VM boot; the host's DH-HMAC-CHAP
# settings are rewritten in configfs between cases. For each hash (SHA-256,
# -384, -512) with ffdhe2048 and with the NULL DH group: connect + write/read
# verify, unidirectional and bidirectional, with keys from nvmefs's generator
# (transformed with the hash) and from an independent encoder (Python, no
# transform). Then a wrong host key, a wrong controller key and no key must each
# fail with one "authentication failed: ..." line.
set -euo pipefail
: "${NVMEFS_BUILD:?}" "${NVMET_VM:?}"
NAME=itest-auth
PORT=4491
NQN=nqn.2014-08.org.nvmexpress:nvmet-vm:$NAME
HOST=nqn.2014-08.org.nvmexpress:uuid:6d1f3a2e-8b4c-4e7a-9f10-2a3b4c5d6e7f
CHECK=$NVMEFS_BUILD/tests/integration/host/initiator_check
cleanup() { "$NVMET_VM" stop --name "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT

# A random untransformed secret, encoded by Python (zlib CRC-32, base64), not by nvmefs.
py_key() {
  python3 -c 'import os,zlib,base64,struct;k=os.urandom(32);print("DHHC-1:00:%s:"%base64.b64encode(k+struct.pack("<I",zlib.crc32(k))).decode())'
}
# Secrets never go on a command line that the VM log could show: configfs is written through ctl, which is not logged.
target_auth() {  # HASH DHGROUP HOSTKEY CTRLKEY
  "$NVMET_VM" ctl --name "$NAME" "H=\$CFG/hosts/$HOST; echo '$1' >\$H/dhchap_hash && echo '$2' >\$H/dhchap_dhgroup &&
    echo '$3' >\$H/dhchap_key && echo '$4' >\$H/dhchap_ctrl_key" >/dev/null
}

failures=0
run_check() {  # DESCRIPTION EXPECTED-OUTPUT ARGS...
  local what=$1 expect=$2; shift 2
  if out=$(timeout 60 "$CHECK" --traddr 127.0.0.1 --trsvcid "$PORT" --nqn "$NQN" --hostnqn "$HOST" "$@" 2>&1) &&
     grep -qF -- "$expect" <<<"$out"; then
    echo "ok   $what"; grep -F -- "$expect" <<<"$out" | head -1 | sed 's/^/     /'
  else
    echo "FAIL $what"; echo "$out" | sed 's/^/     /'; failures=$((failures + 1))
  fi
  if grep -q 'DHHC-1:' <<<"$out"; then echo "FAIL $what: a secret was printed"; failures=$((failures + 1)); fi
}

KEY=$(py_key)
CKEY=$(py_key)
"$NVMET_VM" start --name "$NAME" --port "$PORT" --fresh --ns 1:16M --allow-host "$HOST" \
  --dhchap-key "$KEY" --dhchap-ctrl-key "$CKEY" --dhchap-hash 'hmac(sha256)' --dhchap-dhgroup ffdhe2048

io=(--total 1M)
for t in 1 2 3; do
  hash=$(echo "hmac(sha256) hmac(sha384) hmac(sha512)" | cut -d' ' -f$t)
  for dhgroup in ffdhe2048 null; do
    # Transformed keys from our generator (as nvme gen-dhchap-key --hmac=$t).
    key=$("$CHECK" --gen-dhchap-key "$t" --hostnqn "$HOST")
    ckey=$("$CHECK" --gen-dhchap-key "$t" --hostnqn "$NQN")
    target_auth "$hash" "$dhgroup" "$key" "$ckey"
    got="qid 0: authenticated with $hash dhgroup $dhgroup"
    run_check "$hash $dhgroup unidirectional (DHHC-1:0$t key)" "$got" "${io[@]}" --dhchap-secret "$key"
    if grep -q "controller authenticated" <<<"$out"; then echo "FAIL unidirectional run authenticated the controller"; failures=$((failures + 1)); fi
    run_check "$hash $dhgroup bidirectional (DHHC-1:0$t keys)" "$got, controller authenticated" "${io[@]}" \
      --dhchap-secret "$key" --dhchap-ctrl-secret "$ckey"
  done
done
# Untransformed keys from the independent encoder, the group the kernel host uses by default.
target_auth 'hmac(sha512)' ffdhe3072 "$KEY" "$CKEY"
run_check "hmac(sha512) ffdhe3072 bidirectional (DHHC-1:00 keys from Python)" \
  "authenticated with hmac(sha512) dhgroup ffdhe3072, controller authenticated" "${io[@]}" \
  --dhchap-secret "$KEY" --dhchap-ctrl-secret "$CKEY"

run_check "wrong host key is refused" "authentication failed" --dhchap-secret "$(py_key)" --expect-auth-failure "rejected the host's response"
run_check "wrong controller key is refused" "authentication failed" --dhchap-secret "$KEY" --dhchap-ctrl-secret "$(py_key)" \
  --expect-auth-failure "does not match dhchap_ctrl_secret"
run_check "no key is refused" "authentication failed" --expect-auth-failure "no dhchap_secret is set"

if ((failures)); then echo "$failures case(s) FAILED"; exit 1; fi
echo PASS
