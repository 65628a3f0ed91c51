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
# deb.debian.org (KEXEC_ARM64_MIRROR, KEXEC_ARM64_SECURITY). $CACHE/packages.list
# (read by build-initramfs.sh) lists the unpacked directories of the last run;
# $CACHE/packages-<suite>.list those of SUITE's. Progress goes to stderr; the
# ONLY line on stdout is the path of the kernel Image, so callers can do:
# KERNEL=$(tests/vm/arm64/setup.sh sid)
set -euo pipefail

CACHE=${KEXEC_VM_CACHE:-$HOME/.cache/kexec-vm}/arm64
MIRROR=${KEXEC_ARM64_MIRROR:-http://deb.debian.org/debian}
SECURITY=${KEXEC_ARM64_SECURITY:-http://deb.debian.org/debian-security}
SUITE=${1:-${KEXEC_ARM64_SUITE:-bookworm}}
USERSPACE=${KEXEC_ARM64_USERSPACE:-bookworm}
HOST_PKGS=(qemu-system-arm qemu-efi-aarch64 cpio)
GUEST_PKGS=(busybox-static kexec-tools makedumpfile)

log() { echo "arm64-setup[$SUITE]: $*" >&2; }
die() { echo "arm64-setup[$SUITE]: error: $*" >&2; exit 1; }
case $SUITE in *[!a-z0-9-]* | "") die "bad suite name '$SUITE'" ;; esac

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

# --- 2. the private apt configurations -----------------------------------------
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -s "$KEYRING" ] || die "$KEYRING missing (debian-archive-keyring)"

# use_suite S: APT = the apt-get/apt-cache options of S's private configuration
# under $CACHE/apt-S, its package lists fetched when missing or older than a
# day (unstable moves: stale lists name .debs the mirror no longer has).
declare -a APT=()
use_suite() {
    local s=$1 a=$CACHE/apt-$1
    mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
    {
        echo "deb [arch=arm64 signed-by=$KEYRING] $MIRROR $s main"
        case $s in
        sid | unstable | experimental) ;; # no -updates, no -security
        *)
            echo "deb [arch=arm64 signed-by=$KEYRING] $MIRROR $s-updates main"
            echo "deb [arch=arm64 signed-by=$KEYRING] $SECURITY $s-security main"
            ;;
        esac
    } >"$a/sources.list.new"
    local changed=0
    if cmp -s "$a/sources.list.new" "$a/sources.list" 2>/dev/null; then
        rm "$a/sources.list.new"
    else
        mv "$a/sources.list.new" "$a/sources.list"
        changed=1
    fi
    # arm64 as the only architecture and an empty dpkg status: apt answers as
    # if it ran on a bare arm64 machine, whatever this host has installed.
    APT=(-o "Dir::Etc::SourceList=$a/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$a/lists" -o "Dir::Cache=$a/cache" -o Dir::State::status=/dev/null
        -o APT::Architecture=arm64 -o APT::Architectures::=arm64)
    if [ "$changed" = 1 ] || [ ! -e "$a/updated" ] || [ -n "$(find "$a/updated" -mmin +1440)" ]; then
        apt_update "$s"
    fi
}
apt_update() {
    log "apt-get update ($1, private arm64 lists in $CACHE/apt-$1)"
    apt-get "${APT[@]}" update >&2 || die "apt-get update for $1 failed"
    touch "$CACHE/apt-$1/updated"
}

# versions_of PKG...: "PKG VERSION" lines, one apt-cache call for all
versions_of() {
    apt-cache "${APT[@]}" show --no-all-versions "$@" 2>/dev/null |
        awk '$1 == "Package:" { p = $2 } $1 == "Version:" { print p, $2 }'
}

# fetch_unpack S PKG...: each PKG of suite S (its current version) unpacked
# into $CACHE/PKG_VERSION/root unless there; the directories are appended to
# the array UNPACKED.
declare -a UNPACKED=()
fetch_unpack() {
    local s=$1 p ver dir deb retried=0
    shift
    declare -A version=()
    while read -r p ver; do version[$p]=$ver; done < <(versions_of "$@")
    for p in "$@"; do
        ver=${version[$p]:-}
        [ -n "$ver" ] || die "no arm64 version of $p in $s ($CACHE/apt-$s/sources.list)"
        dir=$CACHE/${p}_${ver//:/%}
        if [ ! -d "$dir/root" ]; then
            log "downloading $p $ver"
            rm -f "$CACHE/apt-$s/cache/archives/${p}"_*.deb
            if ! (cd "$CACHE/apt-$s/cache/archives" && apt-get "${APT[@]}" download "$p" >&2); then
                # lists older than the mirror: refresh once, then start over
                [ "$retried" = 0 ] || die "apt-get download $p ($s) failed"
                apt_update "$s"
                fetch_unpack "$s" "$@"
                return
            fi
            deb=$(ls "$CACHE/apt-$s/cache/archives/${p}"_*.deb 2>/dev/null | head -n 1)
            [ -n "$deb" ] || die "apt-get download $p left no .deb"
            rm -rf "$dir.tmp"
            mkdir -p "$dir.tmp"
            dpkg-deb -x "$deb" "$dir.tmp/root"
            mv "$dir.tmp" "$dir"
            rm -f "$deb" # the unpacked tree is the cache
        fi
        UNPACKED+=("$dir")
    done
}

# --- 3. the kernel of $SUITE ---------------------------------------------------------
use_suite "$SUITE"
kpkg=$(apt-cache "${APT[@]}" depends linux-image-arm64 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[ -n "$kpkg" ] || die "cannot resolve the package linux-image-arm64 depends on in $SUITE"
kver=${kpkg#linux-image-}
# Newer suites split the kernel: linux-image-<kver> is a small package that
# depends on linux-binary-<kver> (the image) and linux-base-<kver> (config).
kparts=("$kpkg")
for d in $(apt-cache "${APT[@]}" depends "$kpkg" 2>/dev/null |
    awk -v v="$kver" '$1 == "Depends:" && ($2 == "linux-binary-" v || $2 == "linux-base-" v) { print $2 }'); do
    kparts+=("$d")
done
log "kernel packages: ${kparts[*]}"
fetch_unpack "$SUITE" "${kparts[@]}"
kdirs=("${UNPACKED[@]}")

# first_file REL...: the first of the kernel packages' root/REL that exists
first_file() {
    local d r
    for r in "$@"; do
        for d in "${kdirs[@]}"; do
            [ -s "$d/root/$r" ] && { echo "$d/root/$r"; return; }
        done
    done
}
image=$(first_file "boot/vmlinuz-$kver" "usr/lib/modules/$kver/vmlinuz" "lib/modules/$kver/vmlinuz")
[ -n "$image" ] || die "no kernel image for $kver in ${kdirs[*]}"
config=$(first_file "boot/config-$kver" "usr/lib/modules/$kver/config" "lib/modules/$kver/config")
[ -n "$config" ] || log "warning: no config for $kver (ours cannot tell why kexec_file_load is missing)"
if [ "$image" = "${kdirs[0]}/root/boot/vmlinuz-$kver" ]; then
    kernel=$image
else
    # <kpkg>_<version>/boot/: the release is in the file name, config beside it
    kernel=${kdirs[0]}/boot/vmlinuz-$kver
    if [ ! -s "$kernel" ]; then
        mkdir -p "${kdirs[0]}/boot"
        ln -f "$image" "$kernel.tmp" 2>/dev/null || cp "$image" "$kernel.tmp"
        [ -z "$config" ] || ln -f "$config" "${kdirs[0]}/boot/config-$kver" 2>/dev/null ||
            cp "$config" "${kdirs[0]}/boot/config-$kver"
        mv "$kernel.tmp" "$kernel"
    fi
fi

# --- 4. the guest's user space (from $USERSPACE) ----------------------------------
# closure PKG...: PKG and, transitively, the libraries it depends on (only
# lib*/zlib*: the rest - debconf, perl - is packaging, not runtime)
closure() {
    local -a level=("$@") next=()
    local d
    declare -A seen=()
    printf '%s\n' "$@"
    while [ "${#level[@]}" -gt 0 ]; do
        next=()
        for d in $(apt-cache "${APT[@]}" depends "${level[@]}" 2>/dev/null |
            awk '($1 == "Depends:" || $1 == "PreDepends:") && $2 ~ /^(lib|zlib)/ { print $2 }'); do
            [ -n "${seen[$d]:-}" ] && continue
            seen[$d]=1
            echo "$d"
            next+=("$d")
        done
        level=("${next[@]}")
    done
}
[ "$USERSPACE" = "$SUITE" ] || use_suite "$USERSPACE"
mapfile -t want < <(closure "${GUEST_PKGS[@]}")
fetch_unpack "$USERSPACE" "${want[@]}"
listed=("${UNPACKED[@]}")

# --- 5. a dump tool that knows the kernel ------------------------------------------
# bookworm's makedumpfile 1.7.2 cannot read a sid 7.x dump ("PAGE SIZE 0x1000
# and VA Bits 52 not supported"), so a kernel from another suite gets that
# suite's makedumpfile with ITS libraries under /opt/makedumpfile-<suite>/ and
# a /usr/bin/makedumpfile that starts it through their loader: an overlay
# directory build-initramfs.sh copies over the guest tree last.
if [ "$SUITE" != "$USERSPACE" ]; then
    use_suite "$SUITE"
    mapfile -t mdpkgs < <(closure makedumpfile)
    UNPACKED=()
    fetch_unpack "$SUITE" "${mdpkgs[@]}"
    key=$(printf '%s\n' "${UNPACKED[@]##*/}" | md5sum | cut -c1-12)
    ov=$CACHE/overlay-makedumpfile-${SUITE}_$key
    if [ ! -d "$ov/root" ]; then
        log "overlay: $SUITE's makedumpfile with its libraries ($ov)"
        rm -rf "$ov.tmp"
        o=$ov.tmp/root/opt/makedumpfile-$SUITE
        mkdir -p "$o/bin" "$o/lib" "$ov.tmp/root/usr/bin"
        for d in "${UNPACKED[@]}"; do
            case ${d##*/} in makedumpfile_*) cp "$d/root/usr/bin/makedumpfile" "$o/bin/" ;; esac
            for sub in lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu; do
                [ -d "$d/root/$sub" ] || continue
                find "$d/root/$sub" -maxdepth 1 -name '*.so*' \( -type f -o -type l \) -exec cp -a -t "$o/lib" {} +
            done
        done
        [ -x "$o/bin/makedumpfile" ] && [ -e "$o/lib/ld-linux-aarch64.so.1" ] ||
            die "overlay: makedumpfile or ld-linux-aarch64.so.1 missing in $SUITE's packages"
        {
            echo '#!/bin/sh'
            echo "# $SUITE's makedumpfile (${UNPACKED[0]##*/}) with its own libraries"
            echo "exec /opt/makedumpfile-$SUITE/lib/ld-linux-aarch64.so.1 --library-path /opt/makedumpfile-$SUITE/lib /opt/makedumpfile-$SUITE/bin/makedumpfile \"\$@\""
        } >"$ov.tmp/root/usr/bin/makedumpfile"
        chmod 0755 "$ov.tmp/root/usr/bin/makedumpfile"
        mv "$ov.tmp" "$ov"
    fi
    listed+=("$ov")
fi

printf '%s\n' "${kdirs[@]}" "${listed[@]}" >"$CACHE/packages-$SUITE.list"
cp "$CACHE/packages-$SUITE.list" "$CACHE/packages.list"
log "kernel $kver: $kernel"
echo "$kernel"
