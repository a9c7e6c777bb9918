#!/usr/bin/env bash
# The blog in headless Chromium: sign up, log in, write a post with an image, see it
# listed, log out (e2e/blog.mjs). Installs Debian's chromium and playwright-core (no
# browser download) when missing. Screenshots go to target/e2e/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
: "${CARGO_TARGET_DIR:=$root/target}"

. "$root/.ci/chromium.sh"

cargo build -p example-blog --locked
data=$(mktemp -d)
port=18191
# Development settings (migrated and seeded on start), on a fresh database.
(cd examples/blog && KEEL_ENV=development PORT=$port KEEL__LOG__LEVEL=warn \
  DATABASE_URL="sqlite://$data/blog.db?mode=rwc" KEEL__UPLOADS__DIR="$data/media" \
  exec "$CARGO_TARGET_DIR/debug/blog") &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 150); do
  if curl -fs "http://127.0.0.1:$port/_health" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
mkdir -p target/e2e
BASE_URL="http://127.0.0.1:$port" SCREENSHOTS="$root/target/e2e" node e2e/blog.mjs
