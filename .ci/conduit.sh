#!/usr/bin/env bash
# The RealWorld (Conduit) conformance run: examples/conduit against a fresh database
# of one backend, then ../shared/realworld/run-api-tests.sh (newman) with no delay.
#
#   .ci/conduit.sh sqlite|postgres|mysql
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
  postgres)
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

# One binary for the three backends: DATABASE_URL picks the driver.
cargo build -q -p example-conduit --features postgres,mysql --locked
bin="$CARGO_TARGET_DIR/debug/conduit-all"
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
echo "conduit ($backend): $(tail -1 "${TMPDIR:-/tmp}/conduit-newman-$backend.log")"
