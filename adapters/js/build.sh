#!/bin/sh
# Builds the JavaScript adapter (QuickJS inside a WASI preview1 command) into OUT_DIR/js.wasm.
#
# Usage: adapters/js/build.sh OUT_DIR
#
# QuickJS is C. rquickjs-sys compiles it with the WASI SDK found at $WASI_SDK (it runs
# $WASI_SDK/bin/clang and $WASI_SDK/bin/ar with --sysroot=$WASI_SDK/share/wasi-sysroot) and,
# when WASI_SDK is unset, downloads one from GitHub, which is not reachable everywhere. So
# this script builds a small stand-in for the SDK out of Debian packages instead:
#
#   TARGET_DIR/wasi-sdk-shim/bin/clang        runs clang with --target=wasm32-wasi (clang 14
#                                              does not know the wasm32-wasip1 spelling that
#                                              the cc crate passes)
#   TARGET_DIR/wasi-sdk-shim/bin/ar           llvm-ar (GNU ar writes no symbol index that
#                                              wasm-ld can read)
#   TARGET_DIR/wasi-sdk-shim/share/wasi-sysroot/{include,lib}/wasm32-wasi
#                                              links to Debian's wasi-libc
#
# It installs what is missing (clang, lld, llvm, wasi-libc and the wasm32 compiler runtime
# with apt-get, the Rust target with rustup), needs no input and is safe to run again.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

fail() {
    echo "js/build.sh: $*" >&2
    exit 1
}
say() { echo "js/build.sh: $*"; }

[ $# -eq 1 ] || fail "usage: $0 OUT_DIR (the folder that receives js.wasm)"
out=$1

# ---- Debian packages ----------------------------------------------------------------

# True if clang can compile C against wasi-libc and llvm-ar is there to archive it.
c_works() {
    command -v clang >/dev/null 2>&1 && command -v llvm-ar >/dev/null 2>&1 || return 1
    [ -d /usr/include/wasm32-wasi ] && [ -f /usr/lib/wasm32-wasi/libc.a ] || return 1
    dir=$(mktemp -d) || return 1
    printf '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n' >"$dir/t.c"
    clang --target=wasm32-wasi -o "$dir/t.wasm" "$dir/t.c" >/dev/null 2>&1
    status=$?
    rm -rf "$dir"
    return $status
}

if ! c_works; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        fail "clang cannot build C for wasm32-wasi; as root on Debian or Ubuntu, run: apt-get install clang lld llvm wasi-libc libclang-rt-14-dev-wasm32 (the libclang-rt-N-dev-wasm32 that matches clang's major version N)"
    fi
    say "installing clang, lld, llvm and wasi-libc with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || fail "apt-get update failed"
    apt-get install -y -q --no-install-recommends clang lld llvm wasi-libc ||
        fail "apt-get install clang lld llvm wasi-libc failed"
    # The wasm32 compiler runtime is packaged per clang version (14 on Debian 12).
    major=$(clang -dumpversion | cut -d. -f1)
    apt-get install -y -q --no-install-recommends "libclang-rt-$major-dev-wasm32" ||
        fail "apt-get install libclang-rt-$major-dev-wasm32 failed"
    c_works || fail "installed, but clang still cannot build C for wasm32-wasi"
fi

# ---- Rust target --------------------------------------------------------------------

command -v cargo >/dev/null 2>&1 && command -v rustup >/dev/null 2>&1 ||
    fail "cargo and rustup not found; install Rust with rustup (https://rustup.rs)"
if ! rustup target list --installed | grep -qx wasm32-wasip1; then
    say "adding the Rust target wasm32-wasip1"
    rustup target add wasm32-wasip1 || fail "rustup target add wasm32-wasip1 failed"
fi

# ---- The WASI SDK shim --------------------------------------------------------------

# Cargo's target folder (CARGO_TARGET_DIR, a config's build.target-dir or the workspace's
# target/), absolute.
target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$target_dir" ] || fail "cannot find cargo's target folder with 'cargo metadata' in $root"
sdk="$target_dir/wasi-sdk-shim"
mkdir -p "$sdk/bin" "$sdk/share/wasi-sysroot/include" "$sdk/share/wasi-sysroot/lib"

# Rewritten every time: cheap, and a stale wrapper from an older script cannot linger.
cat >"$sdk/bin/clang" <<'EOF'
#!/bin/sh
# Written by adapters/js/build.sh: Debian's clang as a WASI SDK clang. Drops the target
# the caller gives (the cc crate says wasm32-wasip1, which clang 14 does not know) and
# compiles for wasm32-wasi, the same WASI preview1 under its older name.
for arg in "$@"; do
    shift
    case $arg in
    --target=*) ;;
    *) set -- "$@" "$arg" ;;
    esac
done
exec clang --target=wasm32-wasi "$@"
EOF
chmod +x "$sdk/bin/clang"
ln -sf "$(command -v llvm-ar)" "$sdk/bin/ar"
ln -sfn /usr/include/wasm32-wasi "$sdk/share/wasi-sysroot/include/wasm32-wasi"
ln -sfn /usr/lib/wasm32-wasi "$sdk/share/wasi-sysroot/lib/wasm32-wasi"

# ---- Build --------------------------------------------------------------------------

say "cargo build --profile hook --target wasm32-wasip1 -p js-adapter (WASI_SDK=$sdk)"
(cd "$root" && WASI_SDK="$sdk" cargo build --profile hook --target wasm32-wasip1 -p js-adapter) ||
    fail "the build failed; see cargo's output above"

mkdir -p "$out"
out=$(cd "$out" && pwd)
cp "$target_dir/wasm32-wasip1/hook/js.wasm" "$out/js.wasm"
echo "$out/js.wasm: $(wc -c <"$out/js.wasm") bytes"
