#!/bin/bash
# tests/vm/bench/run.sh - the speed benchmark of issue #13: our kexec beside
# kexec-tools in one QEMU boot of Debian's kernel, same files, several
# rounds, then a host benchmark of --dry-run beside sha256sum. Prints one
# table of medians and ratios (ours / kexec-tools). Not a test: it judges
# nothing, it measures. See tests/vm/bench/README.md.
#
# Usage: tests/vm/bench/run.sh
# Environment:
#   KEXEC_BENCH_SUITE   Debian suite of the guest kernel (default bookworm)
#   KEXEC_BENCH_ROUNDS  rounds of every measurement (default 3)
#   KEXEC_BENCH_PAD_MB  incompressible bytes in the initrd (default 64)
#   KEXEC_BENCH_CPUS    guest CPUs (default 2)
#   KEXEC_BENCH_TRACE   1: instead, strace our commands in the guest and
#                       print their slowest calls (needs strace on the host)
#   KEXEC_BIN, KEXEC_VM_OUT (default target/vm/bench), KEXEC_VM_TIMEOUT
#   as in tests/vm/README.md
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export KEXEC_VM_OUT=${KEXEC_VM_OUT:-$(cd "$HERE/../../.." && pwd)/target/vm/bench}
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
SUITE=${KEXEC_BENCH_SUITE:-bookworm}
ROUNDS=${KEXEC_BENCH_ROUNDS:-3}
PAD_MB=${KEXEC_BENCH_PAD_MB:-64}
CPUS=${KEXEC_BENCH_CPUS:-2}
KT_BIN=/sbin/kexec

vm_build
KERNEL=$("$VM_HERE/setup.sh" "$SUITE")
mkdir -p "$VM_OUT"
cp "$KERNEL" "$VM_OUT/vmlinuz"

# The guest's root: busybox, both kexecs with their libraries, the kernel,
# and PAD_MB of random bytes so the initrd is as large as a distribution's.
st=$(mktemp -d "$VM_OUT/root.XXXX")
trap 'rm -rf "$st"' EXIT
mkdir -p "$st"/{bin,sbin,proc,sys,dev,tmp,usr/local/sbin,opt/kt,boot}
cp /bin/busybox "$st/bin/busybox"
ln -s busybox "$st/bin/sh"
cp "$HERE/init" "$st/init"
cp "$KEXEC_BIN" "$st/usr/local/sbin/kexec"
cp "$KT_BIN" "$st/opt/kt/kexec"
for lib in $( (ldd "$KEXEC_BIN" || :; ldd "$KT_BIN") 2>/dev/null | grep -o "/[^ ]*" | sort -u); do
    mkdir -p "$st$(dirname "$lib")"
    cp -L "$lib" "$st$lib"
done
if [ -n "${KEXEC_BENCH_TRACE:-}" ]; then
    mkdir -p "$st/usr/bin"
    cp /usr/bin/strace "$st/usr/bin/strace"
    for lib in $(ldd /usr/bin/strace | grep -o "/[^ ]*" | sort -u); do
        mkdir -p "$st$(dirname "$lib")"
        cp -L "$lib" "$st$lib"
    done
fi
cp "$KERNEL" "$st/boot/vmlinuz"
# Debian installs the kernel's config beside it; both tools' facts come
# from it as on a real machine.
release=$(basename "$KERNEL" | sed 's/^vmlinuz-//')
cp "$(dirname "$KERNEL")/config-$release" "$st/boot/config-$release"
# (two halves: the guest also times hashing them on one CPU and on two)
head -c $((PAD_MB << 19)) /dev/urandom >"$st/pad1"
head -c $((PAD_MB << 19)) /dev/urandom >"$st/pad2"
# Uncompressed: the pad does not compress, and the next kernel's unpacking
# of the initrd is then a copy, which both tools pay alike.
(cd "$st" && find . | cpio -o -H newc --quiet) >"$VM_OUT/bench.cpio"

log=$VM_OUT/serial-bench.log
echo "bench: $(basename "$KERNEL"), $ROUNDS rounds, $CPUS CPUs, initrd $(stat -c %s "$VM_OUT/bench.cpio") bytes; log $log" >&2
quiet_line() { case $2 in *BENCH*) printf '%s %s\n' "$1" "$2" >&2 ;; esac; }
VM_MEM=2048 VM_SMP=$CPUS VM_INITRD=$VM_OUT/bench.cpio vm_boot \
    "console=ttyS0 quiet panic=-1 rdinit=/init crashkernel=256M rounds=$ROUNDS${KEXEC_BENCH_TRACE:+ trace}" \
    "$log" quiet_line || true
[ -z "${KEXEC_BENCH_TRACE:-}" ] || exit 0

# The host half: a dry run of the same kernel and a 200 MB initrd beside
# sha256sum over the same bytes (time and peak memory of the whole process).
head -c 200000000 /dev/urandom >"$VM_OUT/initrd-200M"
# Ours three ways: by default with the kernel unpacked earlier (the
# warm-up run kept it in a cache of the bench's own), with no cache (every
# run unpacks the kernel), and with --no-decompress-at-load.
dry="$KEXEC_BIN --dry-run -c -l $KERNEL --initrd=$VM_OUT/initrd-200M --append=console=ttyS0"
rm -rf "$VM_OUT/cache"
python3 "$HERE/summary.py" "$log" \
    --host-a " (kernel unpacked earlier)=env KEXEC_CACHE_DIR=$VM_OUT/cache $dry" \
    --host-a " (no cache: kernel unpacked every run)=env KEXEC_CACHE_DIR= $dry" \
    --host-a ", --no-decompress-at-load=$dry --no-decompress-at-load" \
    --host-b "sha256sum $KERNEL $VM_OUT/initrd-200M" --rounds "$((ROUNDS + 2))"
rm -rf "$VM_OUT/initrd-200M" "$VM_OUT/cache"
