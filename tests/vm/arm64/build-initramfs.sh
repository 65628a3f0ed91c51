#!/bin/bash
# tests/vm/arm64/build-initramfs.sh - build the arm64 guest's initramfs.
#
# Usage: tests/vm/arm64/build-initramfs.sh [OUTDIR]     (default: target/vm/arm64)
# Environment:
#   KEXEC_ARM64_BIN  our kexec for aarch64 (default
#                    target/aarch64-unknown-linux-gnu/release/kexec, built by
#                    tests/cross/aarch64.sh); installed as /usr/local/sbin/kexec
#                    when it exists, else the guest skips ours' scenarios
#   KEXEC_ARM64_IMAGE  arm64 Image (default: whatever tests/vm/arm64/setup.sh
#                    prints); not KEXEC_VM_KERNEL, which names the x86 suite's
#
# Everything comes from the arm64 .debs setup.sh unpacked (never from the
# host, which is x86_64): static busybox, kexec-tools as /opt/kt/kexec,
# makedumpfile, and the libraries of all of these (ld-linux-aarch64.so.1,
# libc.so.6, libgcc_s.so.1 for ours) from their arm64 packages.
#
# Outputs in OUTDIR:
#   stage1.cpio.gz  booted by QEMU: the tree above, the kernel as /boot/Image,
#                   its config as /boot/config-<release> (where ours learns
#                   that CONFIG_KEXEC_FILE is off), /etc/vm-token. It has no
#                   /marker.txt: each stage builds the next kernel's initrd
#                   itself (an uncompressed cpio of its own root plus a
#                   /marker.txt naming the next stage), so a chain of any
#                   length needs no nesting here, and finding the marker
#                   after kexec proves the new initrd was used.
#   Image           the kernel QEMU boots
#   marker.token    the random token of this build
set -euo pipefail
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/target/vm/arm64}
KEXEC_ARM64_BIN=${KEXEC_ARM64_BIN:-$ROOT/target/aarch64-unknown-linux-gnu/release/kexec}
# The guest's test instruments (tests/cross/aarch64.sh KEXEC_CROSS_EXAMPLES).
KEXEC_ARM64_EXAMPLES=${KEXEC_ARM64_EXAMPLES:-$ROOT/target/aarch64-unknown-linux-gnu/instruments/examples}
CACHE=${KEXEC_VM_CACHE:-$HOME/.cache/kexec-vm}/arm64

log() { echo "arm64-build: $*" >&2; }
die() { echo "arm64-build: error: $*" >&2; exit 1; }

[ -n "${KEXEC_ARM64_IMAGE:-}" ] || KEXEC_ARM64_IMAGE=$("$HERE/setup.sh")
[ -s "$KEXEC_ARM64_IMAGE" ] || die "kernel not found: $KEXEC_ARM64_IMAGE"
# An x86 bzImage here boots to nothing in qemu-system-aarch64 until the
# timeout: refuse any file without the arm64 Image magic "ARM\x64" at 56.
[ "$(od -An -tx1 -j56 -N4 "$KEXEC_ARM64_IMAGE" | tr -d ' ')" = 41524d64 ] ||
    die "$KEXEC_ARM64_IMAGE: not an arm64 Image (no magic ARM\\x64 at offset 56)"
[ -s "$CACHE/packages.list" ] || die "no $CACHE/packages.list; run tests/vm/arm64/setup.sh"
mapfile -t PKGDIRS <"$CACHE/packages.list"

# pkgfile NAME PATH: PATH inside the unpacked package NAME
pkgfile() {
    local d
    for d in "${PKGDIRS[@]}"; do
        case ${d##*/} in "$1"_*) [ -e "$d/root$2" ] && { echo "$d/root$2"; return; } ;; esac
    done
    die "$2 not found in the unpacked package $1 (under $CACHE)"
}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
T=$WORK/root
mkdir -p "$T"/{bin,sbin,usr/bin,usr/sbin,usr/local/sbin,etc,proc,sys,dev,root,mnt,boot,opt/kt,run}
install -d -m 1777 "$T/tmp"

install -m 0755 "$(pkgfile busybox-static /bin/busybox)" "$T/bin/busybox"
ln -s busybox "$T/bin/sh"
install -m 0755 "$HERE/init" "$T/init"
install -m 0755 "$(pkgfile kexec-tools /sbin/kexec)" "$T/opt/kt/kexec"
install -m 0755 "$(pkgfile makedumpfile /usr/bin/makedumpfile)" "$T/usr/bin/makedumpfile"
if [ -x "$KEXEC_ARM64_BIN" ]; then
    case $(file -b "$KEXEC_ARM64_BIN") in
    *aarch64* | *"shell script"*) ;;   # a script: a stand-in to test the harness itself
    *) die "$KEXEC_ARM64_BIN is not an aarch64 binary" ;;
    esac
    install -m 0755 "$KEXEC_ARM64_BIN" "$T/usr/local/sbin/kexec"
    log "ours: $KEXEC_ARM64_BIN"
else
    log "no $KEXEC_ARM64_BIN: ours' scenarios are skipped (build it with tests/cross/aarch64.sh)"
fi

# The shared objects of every library package, with their symlinks, at the
# paths the arm64 loader searches (not gconv and the like: depth 1 only).
for d in "${PKGDIRS[@]}"; do
    case ${d##*/} in lib* | zlib*) ;; *) continue ;; esac
    for sub in lib lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu; do
        [ -d "$d/root/$sub" ] || continue
        mkdir -p "$T/$sub"
        find "$d/root/$sub" -maxdepth 1 -name '*.so*' \( -type f -o -type l \) \
            -exec cp -a -t "$T/$sub" {} +
    done
done
for lib in lib/ld-linux-aarch64.so.1 lib/aarch64-linux-gnu/libc.so.6; do
    [ -e "$T/$lib" ] || die "$lib missing in the guest tree (libc6 arm64 not unpacked?)"
done
[ -x "$KEXEC_ARM64_BIN" ] && { [ -e "$T/lib/aarch64-linux-gnu/libgcc_s.so.1" ] || die "libgcc_s.so.1 missing (libgcc-s1 arm64)"; }
# Overlays setup.sh made (a newer suite's makedumpfile with its own
# libraries, for that suite's kernel) go over the tree last.
for d in "${PKGDIRS[@]}"; do case ${d##*/} in overlay-*) cp -a "$d/root/." "$T/" ;; esac; done

cat >"$T/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
PW
echo 'root:x:0:' >"$T/etc/group"

kver=$(basename "$KEXEC_ARM64_IMAGE" | sed 's/^vmlinuz-//')
install -m 0644 "$KEXEC_ARM64_IMAGE" "$T/boot/Image"
kconfig=$(dirname "$KEXEC_ARM64_IMAGE")/config-$kver
[ -f "$kconfig" ] && install -m 0644 "$kconfig" "$T/boot/config-$kver"

# The same kernel packed as users meet it, for ours to unpack: Image.gz and an
# EFI zboot image. The zboot header is laid out as the kernel's
# drivers/firmware/efi/libstub/zboot-header.S does ("MZ", "zimg", payload
# offset and size, compression name at 0x18, LINUX_PE_MAGIC at 0x38, the PE
# header offset at 0x3c); the payload is the gzip stream, whose own trailer
# carries the size (ZBOOT_SIZE_LEN is 0 for gzip). In /packed, which the
# capture kernel's initrd leaves out.
le32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"; }
mkdir -p "$T/packed"
gzip -1 -n -c "$KEXEC_ARM64_IMAGE" >"$T/packed/Image.gz"
gz_size=$(stat -c %s "$T/packed/Image.gz")
{
    printf 'MZ\0\0zimg'; le32 512; le32 "$gz_size"; le32 0; le32 0
    printf 'gzip'; head -c $((0x38 - 0x1c)) /dev/zero
    printf '\xcd\x23\x82\x81'; le32 64
    printf 'PE\0\0'; head -c $((512 - 68)) /dev/zero
    cat "$T/packed/Image.gz"
} >"$T/packed/vmlinuz.efi"
[ "$(stat -c %s "$T/packed/vmlinuz.efi")" = $((512 + gz_size)) ] || die "the zboot image came out at the wrong size"
for ex in kexec_corrupt differential; do
    bin=$KEXEC_ARM64_EXAMPLES/$ex
    [ -x "$bin" ] && install -m 0755 "$bin" "$T/usr/local/sbin/$ex"
done

token=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$token" >"$T/etc/vm-token"

(cd "$T" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$WORK/stage1.cpio.gz"
mv -f "$WORK/stage1.cpio.gz" "$OUT/stage1.cpio.gz"
cp "$KEXEC_ARM64_IMAGE" "$OUT/Image"
printf '%s\n' "$token" >"$OUT/marker.token"
log "kernel: $KEXEC_ARM64_IMAGE"
log "token: $token"
log "$(du -h "$OUT/stage1.cpio.gz" | cut -f1) stage1.cpio.gz"
