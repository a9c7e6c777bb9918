#!/usr/bin/env bash
# Whole-server instruction counts (callgrind), the same requests against each server,
# for finding where a TechEmpower test's time goes. Deterministic for a given binary
# and input, whatever else the machine is doing, unlike a load run.
#
#   benches/callgrind.sh [options] name=command ...
#     --path P         request path (default /plaintext)
#     --requests N     requests counted (default 2000)
#     --conns C        connections they are spread over (default 1)
#     --warm W         requests before counting starts, over 8 connections (default 2000)
#     --cache-sim      also count L1 instruction and data misses (about 3x slower)
#     --top K          functions listed per event (default 12)
#
# Each command must serve on 127.0.0.1:$PORT and answer GET /plaintext. Examples:
#   T=${CARGO_TARGET_DIR:-target}; B=~/.cache/keel-bench/bench/peers
#   benches/callgrind.sh --path '/cached-queries?count=100' --cache-sim \
#     keel="cd examples/tfb && exec $T/bench-release/tfb" \
#     actix="cd $B/actix && exec $T/release/peer-actix"
# (examples/tfb in production mode needs KEEL_ENV=production and KEEL__APP__SECRET_KEY;
# the peers are built by benches/tfb.sh or `peers/<name>/run.sh build`.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
path=/plaintext requests=2000 conns=1 warm=2000 top=12 sim=no
entries=()
while [ $# -gt 0 ]; do
  case "$1" in
    --path) path=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --warm) warm=$2; shift 2 ;;
    --top) top=$2; shift 2 ;;
    --cache-sim) sim=yes; shift ;;
    *=*) entries+=("$1"); shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ ${#entries[@]} -gt 0 ] || { echo "give at least one name=command" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export PORT=${PORT:-8099}
rows=()
for entry in "${entries[@]}"; do
  name=${entry%%=*} cmd=${entry#*=}
  valgrind --tool=callgrind --cache-sim=$sim --trace-children=yes --callgrind-out-file="$out/$name.out" \
    bash -c "$cmd" >"$out/$name.log" 2>&1 &
  server=$!
  up=no
  for _ in $(seq 1 240); do
    if curl -sf "127.0.0.1:$PORT/plaintext" >/dev/null; then up=yes; break; fi
    sleep 0.5
  done
  if [ $up = no ]; then
    kill "$server" 2>/dev/null || true
    echo "$name did not start; its output:" >&2; tail -20 "$out/$name.log" >&2; exit 1
  fi
  python3 "$here/profile/client.py" "$PORT" "$path" "$warm" 8
  callgrind_control -z >/dev/null 2>&1
  python3 "$here/profile/client.py" "$PORT" "$path" "$requests" "$conns"
  callgrind_control -d >/dev/null 2>&1
  sleep 1
  kill "$server" 2>/dev/null || true
  pkill -P "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  # The dump taken after zeroing is the numbered one.
  dump=$(ls "$out/$name.out".* | head -1)
  python3 "$here/profile/summary.py" "$dump" "$requests" "$name" "$top" >"$out/$name.txt"
  rows+=("$(grep '^ROW' "$out/$name.txt" | sed 's/^ROW //')")
done
echo "$path: $requests requests over $conns connection(s), after $warm"
echo
if [ $sim = yes ]; then
  echo "| server | instructions | L1i misses | L1d read misses | L1d write misses |"
  echo "|---|---:|---:|---:|---:|"
else
  echo "| server | instructions |"
  echo "|---|---:|"
fi
printf '%s\n' "${rows[@]}"
for entry in "${entries[@]}"; do
  grep -v '^ROW' "$out/${entry%%=*}.txt"
done
