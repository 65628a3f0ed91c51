#!/bin/bash
# tests/vm/setup.sh - prepare a Debian 12 host for the real-kernel kexec tests.
#
# Idempotent; meant to be run as root (CI or a developer machine):
#   * installs qemu-system-x86, busybox-static, cpio, kexec-tools, makedumpfile
#     and ovmf (skipped when all are already installed);
#   * downloads the current Debian kernel package (whatever linux-image-amd64
#     depends on today) into ${KEXEC_VM_CACHE:-$HOME/.cache/kexec-vm} and
#     unpacks it there (both steps are skipped when already done).
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
PKGS=(qemu-system-x86 busybox-static cpio kexec-tools makedumpfile ovmf e2fsprogs
    systemd-boot-efi binutils xz-utils zstd)   # the formats run: a UKI (objcopy + stub), packed kernels

log() { echo "setup: $*" >&2; }
die() { echo "setup: error: $*" >&2; exit 1; }

# --- 1. Debian packages --------------------------------------------------------
apt_updated=0
apt_update_once() {
    if [ "$apt_updated" = 0 ]; then
        log "apt-get update"
        apt-get update >&2
        apt_updated=1
    fi
}

is_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in "${PKGS[@]}"; do
    is_installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); run me as root"
    apt_update_once
    # Must happen BEFORE kexec-tools is installed: keep it from loading a
    # kernel on the host's reboot.
    echo "kexec-tools kexec-tools/load_kexec boolean false" | debconf-set-selections
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "${PKGS[@]}" >&2
else
    log "packages already installed: ${PKGS[*]}"
fi

# --- 2. The kernel -------------------------------------------------------------
# linux-image-amd64 is a meta package; the real package name carries the ABI
# number (linux-image-6.1.0-NN-amd64), which moves with every kernel update.
resolve_kernel_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null \
        | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

mkdir -p "$CACHE"
pkg=$(resolve_kernel_pkg || true)
if [ -z "$pkg" ]; then
    # No package lists yet (e.g. a container image with /var/lib/apt/lists
    # cleaned): fetch them once and retry.
    apt_update_once
    pkg=$(resolve_kernel_pkg || true)
fi
[ -n "$pkg" ] || die "cannot resolve the package linux-image-amd64 depends on"
log "kernel package: $pkg"

# first_deb: the cached .deb of $pkg, if any
first_deb() {
    local f
    for f in "$CACHE/${pkg}"_*.deb; do
        if [ -e "$f" ]; then
            echo "$f"
            break
        fi
    done
}

deb=$(first_deb)
if [ -z "$deb" ]; then
    log "downloading $pkg into $CACHE"
    # Run as root into a directory the _apt sandbox user cannot read, apt
    # prints a "Download is performed unsandboxed as root" warning. Harmless.
    (cd "$CACHE" && apt-get download "$pkg" >&2)
    deb=$(first_deb)
    [ -n "$deb" ] || die "apt-get download $pkg left no .deb in $CACHE"
else
    log "reusing $deb"
fi

kver=${pkg#linux-image-}
kernel="$CACHE/x/kernel/boot/vmlinuz-$kver"
if [ ! -s "$kernel" ]; then
    log "unpacking $(basename "$deb") into $CACHE/x/kernel"
    mkdir -p "$CACHE/x/kernel"
    dpkg-deb -x "$deb" "$CACHE/x/kernel"
fi
[ -s "$kernel" ] || die "no kernel image at $kernel after unpacking $deb"

log "kernel: $kernel"
echo "$kernel"
