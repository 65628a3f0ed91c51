#!/bin/bash
# tests/vm/setup.sh - prepare a Debian 12 host for the real-kernel kexec tests.
#
# Idempotent; meant to be run as root (CI or a developer machine):
#   * installs qemu-system-x86, busybox-static, cpio, kexec-tools, makedumpfile
#     and ovmf (skipped when all are already installed);
#   * downloads the current kernel of a Debian suite (SUITE: bookworm by
#     default, trixie, sid; whatever linux-image-amd64 depends on there today)
#     into ${KEXEC_VM_CACHE:-$HOME/.cache/kexec-vm}/amd64 and unpacks it there
#     (both steps are skipped when already done).
#
#   tests/vm/setup.sh [SUITE]
#
# Progress goes to stderr; the ONLY line on stdout is the path of the kernel
# image the tests will boot, so callers can do: KERNEL=$(tests/vm/setup.sh)
#
# The host's kexec-tools is installed only so that its /sbin/kexec binary can
# be copied into the guest as a reference. It is never run with -l/-p/-e/-f/-u
# on the host, and we preseed debconf so the package does not hook kexec into
# the host's reboot path.
set -euo pipefail

CACHE=${KEXEC_VM_CACHE:-$HOME/.cache/kexec-vm}
SUITE=${1:-${KEXEC_VM_SUITE:-bookworm}}
PKGS=(qemu-system-x86 busybox-static cpio kexec-tools makedumpfile ovmf e2fsprogs debian-archive-keyring kmod
    systemd-boot-efi binutils xz-utils zstd)   # the formats run: a UKI (objcopy + stub), packed kernels

log() { echo "setup: $*" >&2; }
die() { echo "setup: error: $*" >&2; exit 1; }

# --- 1. Debian packages --------------------------------------------------------
. "$(dirname "${BASH_SOURCE[0]}")/host-packages.sh"
ensure_packages setup "${PKGS[@]}"

# --- 2. The kernel -------------------------------------------------------------
# Whatever linux-image-amd64 depends on in $SUITE today (never a fixed
# version: the ABI number moves with every upload), fetched through a private
# apt configuration of the suite's own under $CACHE/amd64 (tests/vm/apt-private.sh),
# so trixie's and sid's kernels come from the same archive without touching
# the machine's apt sources. Unpacked trees are cached by package and version.
APT_ARCH=amd64
APT_CACHE=$CACHE/amd64
. "$(dirname "${BASH_SOURCE[0]}")/apt-private.sh"
fetch_kernel "$SUITE"
printf '%s\n' "${KDIRS[@]}" >"$APT_CACHE/packages-$SUITE.list"
# The guest's user space is this machine's (bookworm); a newer kernel gets
# its own suite's makedumpfile, as boot/overlay-<kver> beside the image
# (build-initramfs.sh copies it over the guest tree).
kdir=$(dirname "$KIMAGE")
rm -f "$kdir/overlay-$KVER"
if [ "$SUITE" != bookworm ]; then
    makedumpfile_overlay "$SUITE"
    ln -s "$OVERLAY" "$kdir/overlay-$KVER"
fi
log "kernel ($SUITE): $KIMAGE"
echo "$KIMAGE"
