#!/bin/bash
# nvmefs-target command line: bad arguments give one clear line and exit 1,
# a busy port is reported, SIGTERM/SIGINT end it cleanly (exit 0).
source "$(dirname "$0")/lib.sh"

NQN=nqn.2024-01.io.nvmefs:cli

# expect_error "TEXT" ARGS...: exit 1, nothing on stdout, exactly one stderr line containing TEXT.
expect_error() {
  local text="$1"; shift
  local rc=0
  timeout 10 "$TARGET" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  [[ $rc -eq 1 ]] || fail "'$*': exit status $rc, expected 1"
  [[ ! -s "$WORK/out" ]] || fail "'$*': printed on stdout: $(cat "$WORK/out")"
  [[ $(wc -l <"$WORK/err") -eq 1 ]] || fail "'$*': expected one line on stderr, got: $(cat "$WORK/err")"
  grep -q -- "^nvmefs-target: .*$text" "$WORK/err" || fail "'$*': stderr lacks '$text': $(cat "$WORK/err")"
  echo "ok: $* -> $(cat "$WORK/err")"
}

expect_error "no subsystem"
expect_error "unknown option '--bogus'" --bogus
expect_error "needs a value" --nqn
expect_error "must follow the --nqn" --ns ram:1M
expect_error "has no --ns" --nqn $NQN
expect_error "does not start with 'nqn.'" --nqn foo --ns ram:1M
expect_error "ram needs a size" --nqn $NQN --ns ram
expect_error "not HOST:PORT" --listen nowhere --nqn $NQN --ns ram:1M
expect_error "not HOST:PORT" --listen 127.0.0.1:99999 --nqn $NQN --ns ram:1M
expect_error "power of two" --mdts 5000 --nqn $NQN --ns ram:1M
expect_error "512 or 4096" --lba-size 1024 --nqn $NQN --ns ram:1M
expect_error "not a number" --queue-size 0 --nqn $NQN --ns ram:1M
expect_error "is not data-offset" --fault-malformed-kind bogus --nqn $NQN --ns ram:1M
expect_error "given twice" --nqn $NQN --ns ram:1M --nqn $NQN --ns ram:1M
expect_error "discovery NQN" --nqn nqn.2014-08.org.nvmexpress.discovery --ns ram:1M
expect_error "No such file" --nqn $NQN --ns "$WORK/missing/ns.img"
: >"$WORK/empty.img"
expect_error "empty (give a size" --nqn $NQN --ns "$WORK/empty.img"
expect_error "not a regular file" --nqn $NQN --ns /dev/null
expect_error "unexpected argument 'extra'" --nqn $NQN --ns ram:1M extra

"$TARGET" --help >"$WORK/help" || fail "--help exited non-zero"
grep -q -- '--fault-close-after' "$WORK/help" || fail "--help does not document the fault options"

# A file namespace is created with the given size; the port answers.
start_target --nqn $NQN --ns "$WORK/ns1.img:8M" --ns ram:4M
[[ $(stat -c %s "$WORK/ns1.img") -eq $((8 << 20)) ]] || fail "ns1.img not created with 8 MiB"
exec 3<>"/dev/tcp/127.0.0.1/$TARGET_PORT" || fail "cannot connect to port $TARGET_PORT"
exec 3>&-

# Busy port: a second target on the same port fails with one line.
expect_error "cannot listen on 127.0.0.1:$TARGET_PORT: Address already in use" \
  --listen "127.0.0.1:$TARGET_PORT" --nqn $NQN --ns ram:1M

stop_target TERM
echo "ok: SIGTERM -> exit 0"
start_target --nqn $NQN --ns "$WORK/ns1.img"   # existing file, size taken from it
stop_target INT
echo "ok: SIGINT -> exit 0"
echo PASS
