#!/usr/bin/env bash
# Instructions per request (callgrind) for each configuration of benches/src/lib.rs.
# Deterministic: runs N and 2N requests and reports the difference / N, so start-up
# work cancels out. Usage: benches/instructions.sh [N=20000]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
cargo build -q --profile bench-release -p keel-benches --bin instructions
bin="${CARGO_TARGET_DIR:-target}/bench-release/instructions"
count() {
  local out
  out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" "$3" 2>&1 | grep -E "Collected : [0-9]+" | grep -oE "[0-9]+$")
  echo "$out"
}
printf '| test | config | instructions/request | vs axum |\n|---|---|---:|---:|\n'
for test in plaintext json; do
  base=""
  for config in axum keel-default keel-tfb keel-floor keel-tfb-views keel-session-views; do
    a=$(count "$config" "$test" "$n")
    b=$(count "$config" "$test" "$((2 * n))")
    per=$(( (b - a) / n ))
    [ -z "$base" ] && base=$per
    ratio=$(awk "BEGIN { printf \"%.2f\", $per / $base }")
    printf '| %s | %s | %d | %s |\n' "$test" "$config" "$per" "$ratio"
  done
done
