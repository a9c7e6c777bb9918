#!/usr/bin/env bash
# Side-by-side TechEmpower-style load run of examples/tfb against the axum, actix and
# hyper peers of ../shared/bench, repeated, with medians written to benches/RESULTS.md.
#
#   benches/tfb.sh                          # 3 runs of all seven tests (~35 min), then memory and start-up
#   benches/tfb.sh --runs 5 --tests json    # more runs, one test
#
# Needs ../shared/bench/db/setup.sh to have run once (root: PostgreSQL, wrk).
# The harness writes into its own folder, so it runs from a copy under
# $KEEL_BENCH_DIR (default ~/.cache/keel-bench); peer builds are kept there.
# Entries: keel = examples/tfb as configured (see examples/tfb/README.md);
# keel-default = the same binary with every default layer switched back on.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${KEEL_SHARED:-$root/../shared}
work=${KEEL_BENCH_DIR:-$HOME/.cache/keel-bench}
runs=3
tests=plaintext,json,db,queries,fortunes,updates,cached-queries
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --tests) tests=$2; shift 2 ;;
    *) extra+=("$1"); shift ;;
  esac
done
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$work"
rsync -a --delete --exclude results --exclude 'peers/target' "$shared/bench/" "$work/bench/"
chmod -R u+w "$work/bench"
mkdir -p "$work/bench/results"
(cd "$root" && cargo build --profile bench-release -p example-tfb --features pipeline)
bin="$target/bench-release/tfb"
# Served as in production (KEEL_ENV=production: templates from the binary, no
# development reloading), which requires a secret key; a fresh one per run.
export KEEL_ENV=production
KEEL__APP__SECRET_KEY=$(head -c 48 /dev/urandom | base64 -w0)
export KEEL__APP__SECRET_KEY
on="KEEL__MIDDLEWARE__REQUEST_ID=true KEEL__MIDDLEWARE__TRACE=true KEEL__OBSERVABILITY__METRICS=true KEEL__MIDDLEWARE__SECURITY_HEADERS=true"
nice=()
[ "$(id -u)" = 0 ] && nice=(--nice -10)
stamp=$(date -u +%Y%m%d-%H%M)
outdir="$work/runs/$stamp"
mkdir -p "$outdir"
for i in $(seq 1 "$runs"); do
  echo "== run $i of $runs"
  before=$(ls "$work/bench/results/logs" 2>/dev/null || true)
  (cd "$work/bench" && ./run.sh "${nice[@]}" --tests "$tests" --out "$outdir/run-$i.md" "${extra[@]}" \
    axum=peers/axum/run.sh actix=peers/actix/run.sh hyper=peers/hyper/run.sh \
    keel="cd $root/examples/tfb && exec $bin" \
    keel-default="cd $root/examples/tfb && $on exec $bin")
  after=$(ls "$work/bench/results/logs")
  newest=$(comm -13 <(echo "$before" | sort) <(echo "$after" | sort) | tail -1)
  cp "$work/bench/results/logs/$newest/results.json" "$outdir/run-$i.json"
done
python3 "$root/benches/aggregate.py" --machine "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" \
  "$outdir"/run-*.json > "$root/benches/RESULTS.md"
# Memory and start-up, binaries started directly (no build step in the timing).
peers="${CARGO_TARGET_DIR:-$work/bench/peers/target}/release"
{
  printf '\n## Memory and start-up\n\n'
  python3 "$root/benches/memory.py" --runs 3 \
    keel="cd $root/examples/tfb && exec $bin" \
    axum="exec $peers/peer-axum" \
    actix="exec $peers/peer-actix"
} | tee "$outdir/memory.md" >> "$root/benches/RESULTS.md"
echo "wrote benches/RESULTS.md (per-run reports in $outdir)"
