#!/bin/bash
# Runs every test: the host-side unit and CLI tests (no real kexec happens on
# this machine), a short smoke run of every fuzz target (when the machine
# has its nightly toolchain), then the real-kernel suite, which boots
# Debian's kernel in QEMU and makes every real kexec inside the guest.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> cargo build --release (the binaries alone first: no dev-dependency reaches the shipped kexec)"
cargo build --release --locked --workspace --bins
cargo build --profile instruments --locked --workspace --examples
echo "==> the release kexec carries no test double (kexec's 'testing' feature: FakeHost, sample images)"
# A normal build (no dev-dependencies) must leave the feature off...
# (Read whole first: grep -q closing the pipe early would make the pipeline
# fail under pipefail, and the check pass.)
features=$(cargo tree --locked -p kexec-cli -e normal,features -i kexec)
if grep -q 'kexec feature "testing"' <<<"$features"; then
    echo "kexec's 'testing' feature is on in a normal build of kexec-cli:"
    echo "$features"
    exit 1
fi
# ...and the binary the guest runs must link none of the fake (no symbol, no
# panic location).
if grep -aqE 'FakeHost|sys/fake\.rs' target/release/kexec; then
    echo "target/release/kexec contains the fake host (FakeHost or sys/fake.rs)"
    exit 1
fi
echo "==> the release kexec is one static binary of at most 2,000,000 bytes (initramfs and rescue images)"
# No program interpreter and no shared library: it runs with nothing else in
# the image (crates/kexec-cli/build.rs links it static-pie).
headers=$(readelf -lW target/release/kexec)
dynamic=$(readelf -dW target/release/kexec)
if grep -q 'INTERP' <<<"$headers" || grep -q '(NEEDED)' <<<"$dynamic"; then
    echo "target/release/kexec is dynamically linked:"
    grep -E 'INTERP|interpreter' <<<"$headers" || true
    grep '(NEEDED)' <<<"$dynamic" || true
    exit 1
fi
size=$(stat -c %s target/release/kexec)
echo "target/release/kexec: $size bytes, static ($(file -b target/release/kexec | cut -d, -f1-4))"
if [ "$size" -gt 2000000 ]; then
    echo "target/release/kexec is $size bytes: more than 2,000,000"
    exit 1
fi
echo "==> the release vmcore-dmesg is static too (a kdump initramfs carries it)"
if grep -q 'INTERP' <<<"$(readelf -lW target/release/vmcore-dmesg)" ||
    grep -q '(NEEDED)' <<<"$(readelf -dW target/release/vmcore-dmesg)"; then
    echo "target/release/vmcore-dmesg is dynamically linked"
    exit 1
fi
echo "target/release/vmcore-dmesg: $(stat -c %s target/release/vmcore-dmesg) bytes, static"
echo "==> the release kexec links no documentation generator (kexec-docs' clap_mangen, clap_complete)"
# (The tree is read whole first: grep -q closing the pipe early would fail it under pipefail.)
cli_tree=$(cargo tree --locked -p kexec-cli -e normal)
if grep -qE 'clap_mangen|clap_complete|roff' <<<"$cli_tree"; then
    echo "kexec-cli depends on a documentation generator:"
    grep -E 'clap_mangen|clap_complete|roff' <<<"$cli_tree"
    exit 1
fi
# kexec-docs' test renders kexec.8 with man -l; a fresh Debian has no man-db.
if ! command -v man >/dev/null; then
    echo "==> apt-get install man-db (the man page test renders kexec.8 with man -l)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends man-db groff-base \
        || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends man-db groff-base; }
fi
# compression_tools.rs checks our decoders against the real tools.
missing=
for tool in xz:xz-utils bzip2:bzip2 zstd:zstd lz4:lz4; do
    command -v "${tool%%:*}" >/dev/null || missing+=" ${tool#*:}"
done
if [ -n "$missing" ]; then
    echo "==> apt-get install$missing (our decoders are checked against what these tools write)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing \
        || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing; }
fi
echo "==> cargo test (host side: parsers, rules model, boot images, CLI against a fake kernel, man page and completions)"
cargo test --locked --workspace 2>&1 | tee target/cargo-test.log
echo "==> library docs: every public item documented, no broken links (cargo doc -D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked -p kexec -p purgatory-abi
echo "==> memory bound: a dry run of a 200 MB initrd with the release kexec stays within 64 MiB"
cargo test --release --locked -p kexec-cli --test memory_bound
echo "==> the Debian package (packaging/deb/build.sh), checked without installing it (tests/package.sh)"
bash tests/package.sh
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "==> fuzz smoke run (the full budget: fuzz/run.sh)"
    fuzz/run.sh 20000
else
    echo "==> fuzz smoke run skipped: no nightly toolchain on this machine"
fi
echo "==> arm64: kexec and the guest's test instruments, cross-built (tests/cross/aarch64.sh)"
KEXEC_CROSS_EXAMPLES="kexec:kexec_corrupt kexec-cli:differential" tests/cross/aarch64.sh
echo "==> arm64 purgatory on bare-metal QEMU, and the arm64 planner's tests with it built in"
bash tests/purgatory-aarch64/run.sh
echo "==> real-kernel suite (QEMU: x86_64 and arm64)"
tests/vm/run-suite.sh
