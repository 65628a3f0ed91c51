#!/bin/bash
# tests/vm/arm64/setup.sh - prepare an x86_64 Debian host for the arm64
# real-kernel kexec tests (QEMU TCG, qemu-system-aarch64).
#
# Idempotent:
#   * installs qemu-system-arm, qemu-efi-aarch64 and cpio on the host (as
#     root; skipped when installed);
#   * fetches the arm64 packages the guest needs - Debian's arm64 kernel
#     (whatever linux-image-arm64 depends on today), busybox-static,
#     kexec-tools, makedumpfile and the libraries they link against - through
#     a PRIVATE apt configuration under $CACHE/apt (arch=arm64; the machine's
#     own sources and dpkg architectures stay untouched), and unpacks each with
#     dpkg-deb -x into $CACHE/<package>_<version>/root (skipped when there).
#
# $CACHE is ${KEXEC_VM_CACHE:-~/.cache/kexec-vm}/arm64. The mirror and suite
# default to deb.debian.org and the host's own release (KEXEC_ARM64_MIRROR,
# KEXEC_ARM64_SUITE). Progress goes to stderr; the ONLY line on stdout is the
# path of the kernel Image, so callers can do: KERNEL=$(tests/vm/arm64/setup.sh)
set -euo pipefail

CACHE=${KEXEC_VM_CACHE:-$HOME/.cache/kexec-vm}/arm64
MIRROR=${KEXEC_ARM64_MIRROR:-http://deb.debian.org/debian}
SECURITY=${KEXEC_ARM64_SECURITY:-http://deb.debian.org/debian-security}
SUITE=${KEXEC_ARM64_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")}
HOST_PKGS=(qemu-system-arm qemu-efi-aarch64 cpio)
GUEST_PKGS=(busybox-static kexec-tools makedumpfile)

log() { echo "arm64-setup: $*" >&2; }
die() { echo "arm64-setup: error: $*" >&2; exit 1; }

# --- 1. host packages ----------------------------------------------------------
is_installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
missing=()
for p in "${HOST_PKGS[@]}"; do is_installed "$p" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing host packages (${missing[*]}); run me as root"
    log "installing ${missing[*]}"
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

# --- 2. the private apt configuration ------------------------------------------
A=$CACHE/apt
mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
{
    echo "deb [arch=arm64 signed-by=$KEYRING] $MIRROR $SUITE main"
    echo "deb [arch=arm64 signed-by=$KEYRING] $MIRROR $SUITE-updates main"
    echo "deb [arch=arm64 signed-by=$KEYRING] $SECURITY $SUITE-security main"
} >"$A/sources.list.new"
cmp -s "$A/sources.list.new" "$A/sources.list" 2>/dev/null && rm "$A/sources.list.new" ||
    mv "$A/sources.list.new" "$A/sources.list"
# arm64 as the only architecture and an empty dpkg status: apt answers as if
# it ran on a bare arm64 machine, whatever this host has installed.
APT=(-o "Dir::Etc::SourceList=$A/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o Dir::State::status=/dev/null
    -o APT::Architecture=arm64 -o APT::Architectures::=arm64)

resolve_kernel_pkg() {
    apt-cache "${APT[@]}" depends linux-image-arm64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(resolve_kernel_pkg || true)
if [ -z "$pkg" ]; then
    log "apt-get update (private arm64 lists in $A)"
    apt-get "${APT[@]}" update >&2
    pkg=$(resolve_kernel_pkg || true)
fi
[ -n "$pkg" ] || die "cannot resolve the package linux-image-arm64 depends on"
log "kernel package: $pkg"

# The guest packages plus, transitively, the libraries they depend on (only
# lib*/zlib*: the rest - debconf, perl - is packaging, not runtime).
want=("$pkg" "${GUEST_PKGS[@]}")
level=("${GUEST_PKGS[@]}")
declare -A seen=()
while [ "${#level[@]}" -gt 0 ]; do
    next=()
    for d in $(apt-cache "${APT[@]}" depends "${level[@]}" 2>/dev/null |
        awk '($1 == "Depends:" || $1 == "PreDepends:") && $2 ~ /^(lib|zlib)/ { print $2 }'); do
        [ -n "${seen[$d]:-}" ] && continue
        seen[$d]=1
        want+=("$d")
        next+=("$d")
    done
    level=("${next[@]}")
done

# --- 3. download and unpack ----------------------------------------------------
# Versions of all of them in one apt-cache call ("Package:" then "Version:").
declare -A version=()
while read -r p v; do
    version[$p]=$v
done < <(apt-cache "${APT[@]}" show --no-all-versions "${want[@]}" 2>/dev/null |
    awk '$1 == "Package:" { p = $2 } $1 == "Version:" { print p, $2 }')
list=()
for p in "${want[@]}"; do
    ver=${version[$p]:-}
    [ -n "$ver" ] || die "no arm64 version of $p in $A/sources.list"
    dir=$CACHE/${p}_${ver//:/%}
    if [ ! -d "$dir/root" ]; then
        log "downloading $p $ver"
        rm -f "$A/cache/archives/${p}"_*.deb
        (cd "$A/cache/archives" && apt-get "${APT[@]}" download "$p" >&2)
        deb=$(ls "$A/cache/archives/${p}"_*.deb 2>/dev/null | head -n 1)
        [ -n "$deb" ] || die "apt-get download $p left no .deb"
        mkdir -p "$dir.tmp"
        dpkg-deb -x "$deb" "$dir.tmp/root"
        mv "$dir.tmp" "$dir"
        rm -f "$deb"          # the unpacked tree is the cache
    fi
    list+=("$dir")
done
printf '%s\n' "${list[@]}" >"$CACHE/packages.list"

kver=${pkg#linux-image-}
kernel=$(ls "$CACHE/${pkg}"_*/root/boot/vmlinuz-"$kver" 2>/dev/null | tail -n 1)
[ -s "$kernel" ] || die "no kernel image vmlinuz-$kver under $CACHE/${pkg}_*"
log "kernel: $kernel"
echo "$kernel"
