#!/usr/bin/env bash
# The `keel` CLI end to end: `keel new` for each template into a temporary folder
# (depending on this checkout by path), a model and an empty migration generated in
# the database templates, each project built with no warning allowed, its tests run,
# then started and asked for a few pages over HTTP. Prints the time from `keel new`
# to the first served page for each.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
: "${CARGO_TARGET_DIR:=$root/target}"
export CARGO_TARGET_DIR
cargo build -q -p keel-cli --locked
keel="$CARGO_TARGET_DIR/debug/keel"
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"

"$keel" new Bad-Name >/dev/null 2>&1 && { echo "keel new accepted an invalid name"; exit 1; }

# The projects start from this checkout's Cargo.lock (keel new --keel-path copies it),
# so they build with the versions CI tests; cargo adds the project itself to it.
# Builds with every warning of the project's own code an error (dependencies' lints are
# capped by cargo; Keel's own crates are clean under clippy -D warnings anyway).
build_clean() {
  cargo build --all-targets 2>&1 | tee build.log >/dev/null || { cat build.log; return 1; }
  if grep -E '^warning' build.log; then echo "the generated project has warnings"; return 1; fi
}

serve_and_get() { # port, then path:expected-text pairs
  local port=$1; shift
  # Build first: on a cold cache the build alone can outlast the start-up wait.
  cargo build -q >serve.log 2>&1 || { cat serve.log; return 1; }
  PORT=$port KEEL__LOG__LEVEL=warn cargo run -q >serve.log 2>&1 &
  pid=$!
  local up=
  for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$port/_health" >/dev/null 2>&1 && { up=1; break; }
    kill -0 "$pid" 2>/dev/null || { cat serve.log; return 1; }
    sleep 0.1
  done
  [ -n "$up" ] || { echo "the app did not answer /_health within 60 s"; cat serve.log; return 1; }
  for pair in "$@"; do
    local path=${pair%%|*} want=${pair#*|}
    body=$(curl -fsS -H 'accept: text/html' "http://127.0.0.1:$port$path") \
      || { echo "GET $path failed"; cat serve.log; return 1; }
    grep -q -- "$want" <<<"$body" || { echo "GET $path lacks '$want'"; return 1; }
    echo "  GET $path: ok"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}

for template in minimal web api; do
  echo "--- template $template"
  name="demo-$template"
  start=$(date +%s)
  "$keel" new "$name" --template "$template" --keel-path "$root" >/dev/null
  if "$keel" new "$name" --template "$template" --keel-path "$root" >/dev/null 2>&1; then
    echo "keel new overwrote an existing folder"; exit 1
  fi
  cd "$name"
  case $template in
    minimal) serve_and_get 18301 "/|Hello from $name" ;;
    web) serve_and_get 18302 "/|Welcome to $name" "/auth/login|password" ;;
    api) serve_and_get 18303 "/api/hello|Hello from $name" "/openapi.json|\"/api/hello\"" "/docs/|swagger-ui" ;;
  esac
  echo "  keel new -> first page: $(( $(date +%s) - start ))s"
  if [ "$template" != minimal ]; then
    "$keel" generate model post title:string:unique body:text published:bool rating:float:optional
    "$keel" generate migration "backfill titles"
    if [ "$template" = web ]; then
      "$keel" generate scaffold article title:string body:text published:bool rating:float:optional
      "$keel" generate mailer welcome
    else
      "$keel" generate scaffold --api article title:string body:text stock:int price:float:optional
    fi
    test -f src/migrations/m0001_create_post.rs
    test -f src/migrations/m0002_backfill_titles.rs
    test -f src/migrations/m0003_create_article.rs
    grep -q 'register::<post::Entity>()' src/models/mod.rs
    if "$keel" generate model post title:string >/dev/null 2>&1; then
      echo "the model generator overwrote an existing model"; exit 1
    fi
    cargo run -q -- db makemigrations --check
  fi
  cargo fmt --check || { echo "the generated code is not rustfmt-formatted"; exit 1; }
  build_clean
  case $template in
    web) serve_and_get 18305 "/articles|Articles" "/articles/new|_csrf" ;;
    api) serve_and_get 18306 "/openapi.json|/api/articles/{id}" "/api/articles|total_items" ;;
  esac
  cargo test 2>&1 | tee test.log >/dev/null || { cat test.log; exit 1; }
  passed=$(awk '/^test result:/ { p += $4 } END { print p + 0 }' test.log)
  # The app's test; with a database also the model's, the scaffold's model and pages/API.
  want=1; [ "$template" = api ] && want=4; [ "$template" = web ] && want=5
  [ "$passed" -ge "$want" ] || { cat test.log; echo "expected $want tests to pass"; exit 1; }
  echo "  cargo test: $passed passed"
  # The edit-compile loop: one handler changed, the binary rebuilt.
  sed -i 's/Hello from/Hi from/; s/"title": "demo-web"/"title": "Demo Web"/' src/lib.rs
  t0=$(date +%s%N)
  cargo build -q
  echo "  incremental rebuild after editing a handler: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  cd "$work"
done
# keel dev in the web project: a handler change is served after a rebuild with no
# refused connection on the way; a template change is served without a rebuild.
echo "--- keel dev"
cd "$work/demo-web"
dev_port=18330
"$keel" dev --port $dev_port >dev.log 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
  curl -fs "http://127.0.0.1:$dev_port/" 2>/dev/null | grep -q "Welcome to Demo Web" && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$dev_port/" | grep -q '/__keel/reload.js' || { cat dev.log; echo "no reload script in the page"; exit 1; }
sed -i 's/"title": "Demo Web"/"title": "Greetings"/' src/lib.rs
t0=$(date +%s%N); refused=0
while :; do
  code=0; body=$(curl -sS "http://127.0.0.1:$dev_port/" 2>/dev/null) || code=$?
  [ "$code" = 7 ] && refused=$((refused + 1))
  grep -q "Welcome to Greetings" <<<"$body" && break
  [ $(( ($(date +%s%N) - t0) / 1000000000 )) -gt 120 ] && { cat dev.log; echo "the change never showed"; exit 1; }
  sleep 0.05
done
echo "  handler change served after $(( ($(date +%s%N) - t0) / 1000000 )) ms; refused connections: $refused"
[ "$refused" = 0 ] || { echo "keel dev refused connections during the restart"; exit 1; }
builds=$(grep -c -E 'ready|restarted' dev.log)
curl -sN --max-time 15 "http://127.0.0.1:$dev_port/__keel/events" >events.log 2>/dev/null &
events=$!
sleep 0.5
sed -i 's/in development the page reloads it/in development keel dev shows it/' templates/home.html
t0=$(date +%s%N)
until curl -fs "http://127.0.0.1:$dev_port/" | grep -q "keel dev shows it"; do
  [ $(( ($(date +%s%N) - t0) / 1000000000 )) -gt 20 ] && { cat dev.log; echo "the template change never showed"; exit 1; }
  sleep 0.05
done
sleep 1
[ "$(grep -c -E 'ready|restarted' dev.log)" = "$builds" ] || { cat dev.log; echo "a template change rebuilt the app"; exit 1; }
echo "  template change served after $(( ($(date +%s%N) - t0) / 1000000 )) ms, without a rebuild"
for _ in $(seq 1 50); do grep -q "data: reload" events.log && break; sleep 0.1; done
kill "$events" 2>/dev/null || true
grep -q "data: reload" events.log || { cat dev.log; echo "the browser was not told to reload"; exit 1; }
echo "  the page's reload script was told to reload"
# A broken build shows its error on the page, and the page recovers after the fix.
cp src/lib.rs lib.rs.good
echo 'fn broken( {' >> src/lib.rs
page_shows() { # text, seconds
  local t0=$(date +%s)
  until curl -s "http://127.0.0.1:$dev_port/" | grep -q "$1"; do
    [ $(( $(date +%s) - t0 )) -gt "$2" ] && { cat dev.log; echo "the page never showed '$1'"; exit 1; }
    sleep 0.2
  done
}
page_shows "The build failed" 120
cp lib.rs.good src/lib.rs
page_shows "Welcome to Greetings" 120
echo "  a build error is shown on the page, and the fix is served"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
echo "cli: all three templates built clean, tested and served; keel dev restarts without refusing"
