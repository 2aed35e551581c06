#!/usr/bin/env bash
# Runs the conformance suite against hookserver (serving every example hook plus the
# fixtures) and against the reference webhook. Called by `make conformance` after the
# builds; reports land in target/conformance/.
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/conformance
rm -rf "$out" && mkdir -p "$out/modules"
pids=()
# Stops every backend started here, and their children (a python3 launcher may fork).
cleanup() {
    for pid in "${pids[@]}"; do
        pkill -TERM -P "$pid" 2>/dev/null || true
        kill "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

# Starts a backend whose first stdout line ends with its URL, and sets $url to it. Not
# run in a subshell, so that its PID reaches the cleanup list.
start() {
    local log=$1; shift
    "$@" >"$log.out" 2>"$log.log" &
    pids+=($!)
    url=""
    for _ in $(seq 1 300); do
        if grep -q "listening on http" "$log.out" 2>/dev/null; then
            url=$(grep -o 'http://[^ ]*' "$log.out" | head -n 1)
            return
        fi
        sleep 0.1
    done
    echo "conformance/run.sh: $* did not start; its log:" >&2
    cat "$log.log" >&2
    exit 1
}

# hookserver: the examples, the fixtures, and two second names with their own options.
cp target/hooks/*.wasm "$out/modules/"
cp target/wasm32-wasip1/hook/fixture-*.wasm "$out/modules/"
cp target/wasm32-wasip1/hook/fixture-typo.wasm "$out/modules/fixture-typo-strict.wasm"
cp target/wasm32-wasip1/hook/fixture-slow.wasm "$out/modules/fixture-slow-queue.wasm"
cp target/hooks/hello-world.wasm "$out/modules/tiny-requests.wasm"
cp conformance/fixtures/options/*.toml "$out/modules/"
# The example scripts, run by the adapters.
cp examples/scripts/jsonnet/*.jsonnet examples/scripts/jsonnet/*.libsonnet \
    examples/scripts/js/*.js "$out/modules/"
start "$out/hookserver" target/debug/hookserver serve --modules "$out/modules" \
    --adapters target/adapters --listen 127.0.0.1:0 --cache-dir "$out/cache"
hookserver=$url
echo "== hookserver at $hookserver"
target/debug/hookconformance --base "$hookserver" --with etag,hookserver \
    --wait-for "$hookserver/readyz" --junit "$out/hookserver.xml"

# The same example cases against the script ports: each script must pass its Rust port's
# cases (those about hookserver's own error texts need `--with hookserver`, so they skip).
for language in jsonnet js; do
    targets=()
    for script in examples/scripts/$language/*-$language.$language; do
        hook=$(basename "$script" ".$language")
        targets+=(--target "${hook%-$language}=$hookserver/hooks/$hook")
    done
    echo "== $language script hooks at $hookserver"
    target/debug/hookconformance "${targets[@]}" --with etag \
        --junit "$out/scripts-$language.xml"
done

# The reference webhook: Python's standard library, a few of the examples.
start "$out/reference" python3 conformance/reference/webhook.py --port 0
reference=$url
echo "== reference webhook at $reference"
target/debug/hookconformance \
    --target "hello-world=$reference/hello-world" \
    --target "namespace-list-v2=$reference/namespace-list-v2" \
    --target "configmappropagation=$reference/configmappropagation" \
    --junit "$out/reference.xml"
