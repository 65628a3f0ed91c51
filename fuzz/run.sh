#!/bin/bash
# fuzz/run.sh [RUNS [TARGET...]]: fuzz targets for RUNS executions each
# (default 10 million; cli_args, whose parser is slow, a tenth of that),
# keeping the corpora in fuzz/corpus/. Needs the machine's nightly
# toolchain and cargo-fuzz (installed from crates.io when missing). The code
# under test is safe Rust, so no sanitizer: what we look for are panics,
# hangs and broken invariants, optimised but with overflow checks and debug
# assertions on (-a), since release builds would wrap arithmetic silently.
# A short smoke run of all targets: fuzz/run.sh 20000
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000000}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(bzimage elf_kernel layout plan pe iomem memmap cmdline elfcorehdr cli_args fdt packed)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo +nightly fuzz build -O -a -s none
for target in "${targets[@]}"; do
    n=$runs
    [ "$target" = cli_args ] && n=$((runs / 10))
    echo "==> fuzz $target: $n runs"
    log=$(mktemp)
    # libFuzzer's exit status is the verdict: a crash, timeout or OOM (and a
    # build failure) must fail this script, not only a file it leaves behind.
    status=0
    cargo +nightly fuzz run -O -a -s none "$target" -- -runs="$n" -max_len=16384 -timeout=10 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^(Done|stat::number_of_executed_units|==[0-9]+== ERROR)|panicked' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$log"
        rm -f "$log"
        echo "fuzz: $target failed (exit status $status); inputs that fail are in fuzz/artifacts/$target"
        exit 1
    fi
    rm -f "$log"
    if [ -d "fuzz/artifacts/$target" ] && [ -n "$(ls -A "fuzz/artifacts/$target")" ]; then
        echo "fuzz: $target found a crash: fuzz/artifacts/$target"
        exit 1
    fi
done
echo "fuzz: ${targets[*]}: $runs executions each (cli_args a tenth) without a crash"
