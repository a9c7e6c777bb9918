#!/usr/bin/env bash
# Conduit's OpenAPI document: the served /openapi.json validated as OpenAPI 3.1 by
# openapi-spec-validator (PyPI, in a venv under ~/.cache), the committed snapshot
# checked with the app's `openapi --check`, and Swagger UI at /docs/ rendered in
# headless Chromium with the network cut off (e2e/docs.mjs, screenshot in target/e2e).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
: "${CARGO_TARGET_DIR:=$root/target}"

venv="$HOME/.cache/keel-ci-venv"
if [ ! -x "$venv/bin/openapi-spec-validator" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "openapi-spec-validator==0.7.2"
fi

cargo build -p example-conduit --locked
bin="$CARGO_TARGET_DIR/debug/conduit"
(cd examples/conduit && "$bin" openapi --check openapi.json)

data=$(mktemp -d)
port=18192
(cd examples/conduit && PORT=$port KEEL__SERVER__PORT=$port KEEL__LOG__LEVEL=warn \
  DATABASE_URL="sqlite://$data/conduit.db?mode=rwc" exec "$bin") &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 150); do
  if curl -fs "http://127.0.0.1:$port/_health" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/openapi.json" -o "$data/openapi.json"
"$venv/bin/openapi-spec-validator" "$data/openapi.json"
python3 - "$data/openapi.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["openapi"].startswith("3.1"), doc["openapi"]
ops = [(m.upper(), p) for p, item in doc["paths"].items() for m in item]
missing = [f"{m} {p}" for m, p in ops
           if m in ("POST", "PUT") and "requestBody" not in doc["paths"][p][m.lower()]
           and not p.endswith(("/follow", "/favorite"))]
assert not missing, f"no request body documented: {missing}"
no_schema = [f"{m} {p}" for m, p in ops
             if not any("content" in r or s == "204"
                        for s, r in doc["paths"][p][m.lower()]["responses"].items() if s.startswith("2"))]
assert not no_schema, f"no success schema: {no_schema}"
print(f"openapi: {len(ops)} operations, each with request and response schemas")
PY
. "$root/.ci/chromium.sh"
mkdir -p target/e2e
BASE_URL="http://127.0.0.1:$port" SCREENSHOTS="$root/target/e2e" node e2e/docs.mjs
