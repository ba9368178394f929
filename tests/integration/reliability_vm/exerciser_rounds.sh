#!/bin/bash
# Exerciser rounds on a mounted namespace file until STATE/stop exists. Each
# round starts from the file's contents, ends with a whole-file compare, and
# dumps its model to STATE/model (the file's expected contents). A failing
# round writes STATE/exerciser.fail and ends the loop; STATE/exerciser.exit
# gets the loop's exit status. --max-len stays 256K: the exerciser's shared
# reads are up to 256 KiB long, into a buffer of --max-len bytes.
#   exerciser_rounds.sh EXERCISER FILE STATE
set -uo pipefail
EXERCISER=$1 FILE=$2 STATE=$3
trap 'echo $? >"$STATE/exerciser.exit"' EXIT
r=0
while [ ! -e "$STATE/stop" ]; do
  r=$((r + 1))
  seed=$((RANDOM * 32768 + RANDOM))
  # --foreground: the exerciser stays in this process group, which the caller kills.
  timeout --foreground -k 10 300 "$EXERCISER" "$FILE" --seed $seed --threads 2 --ops 150 --max-len 256K --shared 1M \
    --dump "$STATE/model.new" >"$STATE/exerciser-round.out" 2>&1
  rc=$?
  if [ $rc != 0 ]; then
    echo "round $r (seed $seed): exit status $rc: $(tail -n 12 "$STATE/exerciser-round.out" | tr '\n' ' ')" >"$STATE/exerciser.fail"
    exit 1
  fi
  mv "$STATE/model.new" "$STATE/model"
  echo "$r" >"$STATE/exerciser.rounds"
  echo "round $r (seed $seed): $(tail -n 1 "$STATE/exerciser-round.out")"
done
