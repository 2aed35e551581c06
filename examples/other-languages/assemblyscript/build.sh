#!/bin/sh
# Builds hook.wasm from assembly/index.ts with AssemblyScript and @assemblyscript/wasi-shim.
# Usage: ./build.sh [OUT_DIR]   (default: this folder)
# Needs Node.js 20+ and npm; run `npm ci` in this folder first (or ../install.sh).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}

fail() {
    echo "assemblyscript/build.sh: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || fail "node not found; install Node.js 20 or newer with npm"
asc="$here/node_modules/.bin/asc"
[ -x "$asc" ] && [ -d "$here/node_modules/@assemblyscript/wasi-shim" ] ||
    fail "the compiler is not installed; run 'npm ci' in $here (or ../install.sh)"

mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$here"
# asconfig.json: the wasi-shim settings (WASI imports, export _start), size-tuned
# optimisation, and the stub runtime (one short call per instance: no GC needed).
"$asc" assembly/index.ts --config asconfig.json --target release -o "$out/hook.wasm" ||
    fail "the build failed"
echo "$out/hook.wasm: $(wc -c <"$out/hook.wasm") bytes"
