#!/bin/sh
# Builds hook.wasm from hook.c with clang and wasi-libc.
# Usage: ./build.sh [OUT_DIR]   (default: this folder)
# Needs, on Debian or Ubuntu: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
CC=${CC:-clang}

fail() {
    echo "c/build.sh: $*" >&2
    exit 1
}

command -v "$CC" >/dev/null 2>&1 ||
    fail "'$CC' not found; install clang, lld, wasi-libc and libclang-rt-14-dev-wasm32 (or run ../install.sh)"

mkdir -p "$out"
out=$(cd "$out" && pwd)
# clang 14 spells the WASI preview1 target wasm32-wasi; newer clang also knows wasm32-wasip1.
# -Oz: smallest code. -s: strip the names section.
"$CC" --target=wasm32-wasi -Oz -s -Wall -Wextra \
    -o "$out/hook.wasm" "$here/hook.c" ||
    fail "the build failed. A header that is not found (stdio.h, bits/...) means wasi-libc is missing; a missing libclang_rt.builtins-wasm32.a means libclang-rt-N-dev-wasm32 is missing (N: clang's major version); a missing wasm-ld means lld is missing. ../install.sh installs them."
echo "$out/hook.wasm: $(wc -c <"$out/hook.wasm") bytes"
