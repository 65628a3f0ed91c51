#!/bin/bash
# fuzz/run.sh [RUNS [TARGET...]]: fuzz targets for RUNS executions each
# (default 10 million; cli_args, whose parser is slow, a tenth of that),
# keeping the corpora in fuzz/corpus/. Needs the machine's nightly
# toolchain and cargo-fuzz (installed from crates.io when missing). The code
# under test is safe Rust, so no sanitizer: what we look for are panics,
# hangs and broken invariants, at full speed.
# A short smoke run of all targets: fuzz/run.sh 20000
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000000}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(bzimage elf_kernel layout pe iomem memmap cmdline elfcorehdr cli_args)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo +nightly fuzz build -O -s none
for target in "${targets[@]}"; do
    n=$runs
    [ "$target" = cli_args ] && n=$((runs / 10))
    echo "==> fuzz $target: $n runs"
    cargo +nightly fuzz run -O -s none "$target" -- -runs="$n" -max_len=16384 -timeout=10 \
        -print_final_stats=1 2>&1 | grep -E '^(Done|stat::number_of_executed_units|==[0-9]+== ERROR)|panicked' || true
    if [ -d "fuzz/artifacts/$target" ] && [ -n "$(ls -A "fuzz/artifacts/$target")" ]; then
        echo "fuzz: $target found a crash: fuzz/artifacts/$target"
        exit 1
    fi
done
echo "fuzz: ${targets[*]}: $runs executions each (cli_args a tenth) without a crash"
