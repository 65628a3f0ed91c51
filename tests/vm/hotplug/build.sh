#!/bin/bash
# tests/vm/hotplug/build.sh - the initramfs of the crash-hotplug guests.
# Usage: build.sh KERNEL OUTDIR
# Makes OUTDIR/hp.cpio.gz: busybox, ./init, our kexec and the vmcore_headers
# example (with their libraries), KERNEL as /boot/vmlinuz and the capture
# kernel's initrd /boot/capture.cpio.gz (the same files without /boot).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
KERNEL=$1 OUT=$2
KEXEC_BIN=${KEXEC_BIN:-$ROOT/target/release/kexec}
VMCORE_BIN=${VMCORE_BIN:-$ROOT/target/instruments/examples/vmcore_headers}
for f in "$KERNEL" "$KEXEC_BIN" "$VMCORE_BIN" /bin/busybox; do
    [ -s "$f" ] || { echo "build.sh: missing $f" >&2; exit 1; }
done
mkdir -p "$OUT"
st=$(mktemp -d "$OUT/stage.XXXX")
trap 'rm -rf "$st"' EXIT
mkdir -p "$st"/{bin,sbin,proc,sys,dev,tmp,usr/local/bin,boot}
cp /bin/busybox "$st/bin/busybox"
cp "$HERE/init" "$st/init"
cp "$KEXEC_BIN" "$st/usr/local/bin/kexec"
cp "$VMCORE_BIN" "$st/usr/local/bin/vmcore_headers"
for lib in $( (ldd "$KEXEC_BIN"; ldd "$VMCORE_BIN") | grep -o "/[^ ]*" | sort -u); do
    mkdir -p "$st$(dirname "$lib")"
    cp -L "$lib" "$st$lib"
done
(cd "$st" && find . -path ./boot -prune -o -print | cpio -o -H newc --quiet | gzip -1) > "$st/boot/capture.cpio.gz"
cp "$KERNEL" "$st/boot/vmlinuz"
(cd "$st" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT/hp.cpio.gz"
echo "build.sh: $OUT/hp.cpio.gz ($(stat -c %s "$OUT/hp.cpio.gz") bytes)" >&2
