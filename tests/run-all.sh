#!/bin/bash
# Runs every test: the host-side unit and CLI tests (no real kexec happens on
# this machine), then the real-kernel suite, which boots Debian's kernel in
# QEMU and makes every real kexec inside the guest.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> cargo build --release"
cargo build --release --locked --workspace --bins --examples
echo "==> cargo test (host side: parsers, rules model, CLI against a fake kernel)"
cargo test --locked --workspace 2>&1 | tee target/cargo-test.log
echo "==> real-kernel suite (QEMU)"
tests/vm/run-suite.sh
