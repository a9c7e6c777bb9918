#!/usr/bin/env bash
# The RealWorld (Conduit) conformance run: examples/conduit against a fresh database
# of one backend, then ../shared/realworld/run-api-tests.sh (newman) with no delay.
#
#   .ci/conduit.sh sqlite|postgres|mysql|postgres-pipeline
#
# postgres-pipeline: a build without SQLite and with keel-db's pipelining client,
# served by the per-core runtime (where worker connections and the pipeline live).
#
# Prints the runner's "<passed> passed, <failed> failed" line; fails on any failure.
set -euo pipefail
backend="${1:-sqlite}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="$(cd "$root/../shared" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/keel-ci-target}"
port="${CONDUIT_PORT:-3000}"

case "$backend" in
  sqlite)
    tmp="$(mktemp -d)"
    url="sqlite://$tmp/conduit.sqlite?mode=rwc"
    ;;
  postgres|postgres-pipeline)
    psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS conduit_ci" \
      -c "CREATE DATABASE conduit_ci" >/dev/null 2>&1
    url="postgres://postgres@127.0.0.1:5432/conduit_ci"
    ;;
  mysql)
    mariadb -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS conduit_ci; CREATE DATABASE conduit_ci"
    url="mysql://root@127.0.0.1:3306/conduit_ci"
    ;;
  *) echo "conduit.sh: unknown backend $backend" >&2; exit 2 ;;
esac

if [ "$backend" = postgres-pipeline ]; then
  cargo build -q -p example-conduit --no-default-features --features pipeline --locked
  bin="$CARGO_TARGET_DIR/debug/conduit-pipeline"
  export KEEL__SERVER__RUNTIME=per-core
else
  # One binary for the three backends: DATABASE_URL picks the driver.
  cargo build -q -p example-conduit --features postgres,mysql --locked
  bin="$CARGO_TARGET_DIR/debug/conduit-all"
fi
cp "$CARGO_TARGET_DIR/debug/conduit" "$bin"
cd "$root/examples/conduit"
export DATABASE_URL="$url" KEEL__SERVER__PORT="$port"
"$bin" db migrate >/dev/null 2>&1
"$bin" serve > "${TMPDIR:-/tmp}/conduit-$backend.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT

APIURL="http://127.0.0.1:$port/api" DELAY_REQUEST=0 WAIT_SECONDS=30 \
  "$shared/realworld/run-api-tests.sh" > "${TMPDIR:-/tmp}/conduit-newman-$backend.log" 2>&1 || {
    tail -60 "${TMPDIR:-/tmp}/conduit-newman-$backend.log"
    echo "--- server log:"; tail -30 "${TMPDIR:-/tmp}/conduit-$backend.log"
    echo "conduit ($backend): the RealWorld suite failed" >&2
    exit 1
  }
if [ "$backend" = postgres-pipeline ]; then
  # The suite went through the pipeline: its sessions are open and have run statements.
  piped=$(psql -h 127.0.0.1 -U postgres -d test -tAc \
    "SELECT count(*) FROM pg_stat_activity WHERE datname = 'conduit_ci' AND application_name = 'keel-pipeline' AND query <> ''")
  [ "$piped" -ge 1 ] || { echo "conduit ($backend): no pipelined session ran a statement" >&2; exit 1; }
  echo "conduit ($backend): $piped pipelined sessions served statements"
fi
echo "conduit ($backend): $(tail -1 "${TMPDIR:-/tmp}/conduit-newman-$backend.log")"
