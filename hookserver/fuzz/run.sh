#!/bin/sh
# Builds the fuzz targets of hookserver/fuzz and runs each for a bounded time (`make fuzz`).
#
# Usage: hookserver/fuzz/run.sh [TARGET...]   (default: every target)
#   FUZZ_SECONDS  seconds per target (default 120)
#
# Works on stable Rust: libFuzzer gets its coverage feedback from LLVM's SanitizerCoverage
# pass, enabled with -C flags that stable rustc accepts (the same instrumentation cargo fuzz
# sets up; only its address sanitizer would need a nightly compiler, and safe Rust does not
# need it to find panics, overflows and hangs). libfuzzer-sys compiles libFuzzer, which is
# C++: a C++ compiler is installed with apt-get when missing.
#
# Everything goes under target/fuzz (its own build directory, so the main build keeps its
# artifacts): corpus/TARGET keeps what each run found, artifacts/TARGET any crash. A crash
# fails the run and prints the reproducer; fix it and keep the input as a regression case in
# hookserver/fuzz/regressions/TARGET/, which `cargo test -p hookserver --test
# fuzz_regressions` replays.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/target/fuzz"
seconds=${FUZZ_SECONDS:-120}
targets=${*:-route validate etag}

fail() {
    echo "fuzz/run.sh: $*" >&2
    exit 1
}
say() { echo "fuzz/run.sh: $*"; }

# 0 would mean "no limit" to libFuzzer.
case $seconds in
'' | *[!0-9]* | 0) fail "FUZZ_SECONDS=$seconds: expected a whole number of seconds per target, at least 1" ;;
esac

if ! command -v c++ >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        fail "no C++ compiler (c++) to build libFuzzer; as root on Debian or Ubuntu, run: apt-get install g++"
    fi
    say "installing g++ with apt-get (libFuzzer is C++)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || fail "apt-get update failed"
    apt-get install -y -q --no-install-recommends g++ || fail "apt-get install g++ failed"
fi
command -v python3 >/dev/null 2>&1 || fail "python3 is needed to write the seed corpus"

# Instrumentation applies to the target only: with an explicit --target, cargo builds build
# scripts and proc macros without RUSTFLAGS.
host=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
--cfg fuzzing"
export RUSTFLAGS
# Cargo.lock beside the fuzz crate pins the versions the main workspace uses; when hookserver
# gains a dependency, cargo adds it there.
say "building the fuzz targets ($targets) into $out"
cargo build --manifest-path "$here/Cargo.toml" --release --target "$host" \
    --target-dir "$out" $(for t in $targets; do printf -- '--bin %s ' "$t"; done) ||
    fail "the fuzz targets did not build"
bin="$out/$host/release"

rm -rf "$out/seeds"
python3 "$here/seeds.py" "$out/seeds" || fail "writing the seed corpus failed"

status=0
for target in $targets; do
    corpus="$out/corpus/$target"
    artifacts="$out/artifacts/$target"
    log="$out/$target.log"
    mkdir -p "$corpus" "$artifacts" "$here/regressions/$target"
    say "$target: fuzzing for ${seconds}s (one job; log in $log)"
    # The first directory receives new inputs; seeds and regression cases are read only.
    # -timeout: an input that takes 10s is a hang (hooks time out after 5s).
    if "$bin/$target" "$corpus" "$out/seeds/$target" "$here/regressions/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
        say "$target: no crash in $runs executions ($rate exec/s); corpus: $(ls "$corpus" | wc -l) inputs"
    else
        status=1
        tail -n 60 "$log" >&2
        found=$(ls -t "$artifacts" | head -n 1)
        echo >&2
        echo "fuzz/run.sh: $target FAILED. Reproducer: $artifacts/$found" >&2
        echo "  replay it:  $bin/$target $artifacts/$found" >&2
        echo "  once fixed, keep it: cp $artifacts/$found $here/regressions/$target/<what-it-found>" >&2
    fi
done
exit $status
