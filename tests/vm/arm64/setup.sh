#!/bin/bash
# tests/vm/arm64/setup.sh - prepare an x86_64 Debian host for the arm64
# real-kernel kexec tests (QEMU TCG, qemu-system-aarch64).
#
#   tests/vm/arm64/setup.sh [SUITE]     SUITE: bookworm (default), sid, trixie...
#
# Idempotent:
#   * installs qemu-system-arm, qemu-efi-aarch64 and cpio on the host (as
#     root; skipped when installed);
#   * fetches, through PRIVATE apt configurations under $CACHE/apt-<suite>
#     (arch=arm64, Debian's archive keyring; the machine's own sources and
#     dpkg architectures stay untouched):
#       - SUITE's arm64 kernel: whatever linux-image-arm64 depends on in SUITE
#         today (never a fixed version), plus the linux-binary-<kver> /
#         linux-base-<kver> packages that hold the image and its config in
#         newer suites (usr/lib/modules/<kver>/{vmlinuz,config});
#       - the guest's user space from $USERSPACE (KEXEC_ARM64_USERSPACE,
#         default bookworm, whatever the kernel): busybox-static, kexec-tools,
#         makedumpfile and the libraries they link against;
#     and unpacks each with dpkg-deb -x into $CACHE/<package>_<version>/root
#     (skipped when there: the cache is keyed by package and version, so the
#     suites share one cache directory and a new upload is a new directory).
#   * a kernel whose image is not at boot/vmlinuz-<kver> gets hard links
#     $CACHE/<package>_<version>/boot/{vmlinuz,config}-<kver>, the layout
#     build-initramfs.sh and suite.sh read the release from.
#
# $CACHE is ${KEXEC_VM_CACHE:-~/.cache/kexec-vm}/arm64; the mirror defaults to
# deb.debian.org (KEXEC_APT_MIRROR, KEXEC_APT_SECURITY; tests/vm/apt-private.sh). $CACHE/packages.list
# (read by build-initramfs.sh) lists the unpacked directories of the last run;
# $CACHE/packages-<suite>.list those of SUITE's. Progress goes to stderr; the
# ONLY line on stdout is the path of the kernel Image, so callers can do:
# KERNEL=$(tests/vm/arm64/setup.sh sid)
set -euo pipefail

CACHE=${KEXEC_VM_CACHE:-$HOME/.cache/kexec-vm}/arm64
SUITE=${1:-${KEXEC_ARM64_SUITE:-bookworm}}
USERSPACE=${KEXEC_ARM64_USERSPACE:-bookworm}
HOST_PKGS=(qemu-system-arm qemu-efi-aarch64 cpio)
GUEST_PKGS=(busybox-static kexec-tools makedumpfile)

log() { echo "arm64-setup[$SUITE]: $*" >&2; }
die() { echo "arm64-setup[$SUITE]: error: $*" >&2; exit 1; }
case $SUITE in *[!a-z0-9-]* | "") die "bad suite name '$SUITE'" ;; esac

# --- 1. host packages ----------------------------------------------------------
. "$(dirname "${BASH_SOURCE[0]}")/../host-packages.sh"
ensure_packages "arm64-setup[$SUITE]" "${HOST_PKGS[@]}"

# --- 2. the private apt configurations, 3. the kernel of $SUITE -----------------
APT_ARCH=arm64
APT_CACHE=$CACHE
. "$(dirname "${BASH_SOURCE[0]}")/../apt-private.sh"
fetch_kernel "$SUITE"
kver=$KVER kernel=$KIMAGE
kdirs=("${KDIRS[@]}")

# --- 4. the guest's user space (from $USERSPACE) ----------------------------------
use_suite "$USERSPACE"
mapfile -t want < <(closure "${GUEST_PKGS[@]}")
UNPACKED=()
fetch_unpack "$USERSPACE" "${want[@]}"
listed=("${UNPACKED[@]}")

# --- 5. a dump tool that knows the kernel ------------------------------------------
# (tests/vm/apt-private.sh: makedumpfile_overlay)
if [ "$SUITE" != "$USERSPACE" ]; then
    makedumpfile_overlay "$SUITE"
    listed+=("$OVERLAY")
fi

printf '%s\n' "${kdirs[@]}" "${listed[@]}" >"$CACHE/packages-$SUITE.list"
cp "$CACHE/packages-$SUITE.list" "$CACHE/packages.list"
log "kernel $kver: $kernel"
echo "$kernel"
