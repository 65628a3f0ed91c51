#!/bin/bash
# tests/cross/aarch64.sh - build `kexec` for aarch64 on an x86_64 Debian 12 host.
#
#   tests/cross/aarch64.sh      # prints target/aarch64-unknown-linux-gnu/release/kexec
#   KEXEC_CROSS_EXAMPLES="kexec:kexec_corrupt kexec-cli:differential" tests/cross/aarch64.sh
#                               # also builds those examples (guest test instruments)
#
# rustup cannot download the aarch64 standard library here, so the compiler is
# Debian's rustc-web and the aarch64 std its libstd-rust-web-dev:arm64, at the
# very same version. Nothing machine-wide changes beyond ordinary amd64
# packages: no foreign dpkg architecture, no apt source, no /usr/bin/rustc.
#   * installs (apt-get, as root) the cross linker and C library
#     (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross), qemu-user for the smoke
#     run, and rustc-web's runtime library (libstd-rust-web-<x.y>, which brings
#     its libLLVM) - skipped when all are installed;
#   * downloads rustc-web and libstd-rust-web-dev for amd64 and arm64 through a
#     PRIVATE apt configuration (the machine's own mirrors and suites, its
#     sources untouched) and unpacks them with dpkg-deb into one sysroot under
#     ${KEXEC_CROSS_CACHE:-/var/tmp/kexec-cross}/rust-web-<version>/ - skipped
#     when that version is already unpacked;
#   * builds with the host's cargo, RUSTC pointing at a wrapper that runs that
#     rustc-web with --sysroot of the private sysroot (build scripts, proc
#     macros and the x86_64 purgatory use its x86_64 std, kexec its aarch64
#     std), linking with aarch64-linux-gnu-gcc;
#   * checks the result is a static aarch64 ELF and, under qemu-aarch64, that it runs
#     (--version, and a --dry-run that must fail on a missing kernel file).
#     Nothing else is ever run: no load, no exec.
#
# Progress goes to stderr; the ONLY line on stdout is the path of the binary.
set -euo pipefail

TARGET=aarch64-unknown-linux-gnu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${KEXEC_CROSS_CACHE:-/var/tmp/kexec-cross}
PKGS=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)

log() { echo "cross: $*" >&2; }
die() { echo "cross: error: $*" >&2; exit 1; }

apt_updated=0
apt_update_once() {
    if [ "$apt_updated" = 0 ]; then
        [ "$(id -u)" = 0 ] || die "the package lists need an update; run me as root"
        log "apt-get update"
        apt-get update >&2
        apt_updated=1
    fi
}

installed_version() { dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null | sed -n 's/^install ok installed //p'; }

# --- 1. Which rustc-web ------------------------------------------------------
# The newest one the machine's sources offer (bookworm-security carries the
# current one; bookworm itself an older one).
# A fresh machine's lists may predate bookworm-security's rustc-web (it then
# offers bookworm's 1.85, too old for our dependencies): the lists are
# refreshed first, unless a new enough toolchain is already unpacked.
candidate() { apt-cache policy rustc-web 2>/dev/null | awk '$1 == "Candidate:" { print $2 }'; }
# The oldest rustc our locked dependencies build with (sha2 0.11: 1.88).
MIN_RUSTC=1.88
new_enough() { dpkg --compare-versions "$1" ge "$MIN_RUSTC"; }
VER=$(candidate)
if [ -z "$VER" ] || [ "$VER" = "(none)" ] || ! new_enough "$VER" || [ ! -e "$CACHE/rust-web-$VER/.complete" ]; then
    apt_update_once
    VER=$(candidate)
fi
[ -n "$VER" ] && [ "$VER" != "(none)" ] || die "no rustc-web package in the machine's apt sources"
new_enough "$VER" || die "rustc-web $VER is the newest the machine's apt sources offer, older than the $MIN_RUSTC our dependencies need (is bookworm-security among the sources?)"
# libstd-rust-web-dev depends on the runtime library whose name carries the
# minor version (libstd-rust-web-1.96): it holds librustc_driver.
LIB=$(apt-cache show "libstd-rust-web-dev=$VER" 2>/dev/null \
    | sed -n 's/^Depends:.*\(libstd-rust-web-[0-9][0-9.]*\) .*/\1/p' | head -n1)
[ -n "$LIB" ] || die "cannot find the runtime library libstd-rust-web-dev $VER depends on"
log "rustc-web $VER (runtime $LIB)"

# --- 2. amd64 packages -------------------------------------------------------
missing=()
for p in "${PKGS[@]}"; do
    [ -n "$(installed_version "$p")" ] || missing+=("$p")
done
[ "$(installed_version "$LIB")" = "$VER" ] || missing+=("$LIB=$VER")
if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); run me as root"
    apt_update_once
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        -o DPkg::Lock::Timeout=600 "${missing[@]}" >&2
else
    log "packages already installed: ${PKGS[*]} $LIB"
fi

# --- 3. Private sysroot: rustc-web + std for x86_64 and aarch64 -------------
TOOLCHAIN=$CACHE/rust-web-$VER
SYSROOT=$TOOLCHAIN/root/usr
RUSTC_WRAPPED=$TOOLCHAIN/rustc
if [ ! -e "$TOOLCHAIN/.complete" ]; then
    rm -rf "$TOOLCHAIN"
    APT=$CACHE/apt
    mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$TOOLCHAIN/debs"
    # The machine's own Debian mirrors and suites, for both architectures.
    apt-get indextargets --format '$(TARGET_OF) $(SITE) $(RELEASE) $(COMPONENT)' \
        | awk '$1 == "deb" { print $2, $3, $4 }' | sort -u \
        | while read -r site suite component; do
            echo "deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $site $suite $component"
        done >"$APT/sources.list"
    [ -s "$APT/sources.list" ] || die "the machine has no apt sources to mirror"
    private=(-o Dir::Etc::SourceList="$APT/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o Dir::State::Lists="$APT/lists" -o Dir::Cache="$APT/cache"
        -o Dir::State::status=/dev/null
        -o APT::Architectures::=amd64 -o APT::Architectures::=arm64)
    log "updating the private package lists ($APT)"
    # A non-Debian source among the machine's (other keyring, no arm64) fails
    # here without harming the others; the download below says what is missing.
    apt-get "${private[@]}" update >&2 || log "warning: some private package lists could not be updated"
    log "downloading rustc-web and libstd-rust-web-dev (amd64, arm64) $VER"
    # Run as root into a directory the _apt sandbox user cannot read, apt
    # prints a "Download is performed unsandboxed as root" warning. Harmless.
    (cd "$TOOLCHAIN/debs" && apt-get "${private[@]}" download \
        "rustc-web:amd64=$VER" "libstd-rust-web-dev:amd64=$VER" "libstd-rust-web-dev:arm64=$VER" >&2) \
        || die "cannot download rustc-web $VER for both architectures (the arm64 build of that version may lag behind the amd64 one, or the machine's lists are older than the mirror: apt-get update)"
    for deb in "$TOOLCHAIN"/debs/*.deb; do
        dpkg-deb -x "$deb" "$TOOLCHAIN/root"
    done
    rm -rf "$TOOLCHAIN/debs"
    [ -d "$SYSROOT/lib/rustlib/$TARGET/lib" ] || die "libstd-rust-web-dev:arm64 has no $TARGET std"
    # Debian's rustc has /usr compiled in as its sysroot: point it at ours.
    cat >"$RUSTC_WRAPPED" <<EOF
#!/bin/sh
exec "$SYSROOT/bin/rustc" --sysroot "$SYSROOT" "\$@"
EOF
    chmod +x "$RUSTC_WRAPPED"
    "$RUSTC_WRAPPED" -vV >&2 || die "the unpacked rustc-web does not run"
    touch "$TOOLCHAIN/.complete"
else
    log "toolchain already unpacked: $TOOLCHAIN"
fi

# --- 4. Build --------------------------------------------------------------
command -v "${CARGO:-cargo}" >/dev/null || die "no cargo on PATH (the host's rustup toolchain provides it)"
log "cargo build --release --locked --target $TARGET -p kexec-cli --bin kexec"
(cd "$REPO" && RUSTC="$RUSTC_WRAPPED" \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    "${CARGO:-cargo}" build --release --locked --target "$TARGET" -p kexec-cli --bin kexec >&2)
OUT=$REPO/target/$TARGET/release/kexec
# Test instruments for the arm64 guest, as PACKAGE:EXAMPLE words
# (e.g. "kexec:kexec_corrupt kexec-cli:differential"); built beside kexec in
# target/$TARGET/instruments/examples/ (built for speed: Cargo.toml).
for spec in ${KEXEC_CROSS_EXAMPLES:-}; do
    log "cargo build --profile instruments --locked --target $TARGET -p ${spec%%:*} --example ${spec#*:}"
    (cd "$REPO" && RUSTC="$RUSTC_WRAPPED" \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
        "${CARGO:-cargo}" build --profile instruments --locked --target "$TARGET" -p "${spec%%:*}" \
        --example "${spec#*:}" >&2)
done

# --- 5. Check --------------------------------------------------------------
kind=$(file -b "$OUT")
case $kind in
*"ELF 64-bit LSB"*"ARM aarch64"*) log "$kind" ;;
*) die "$OUT is not an aarch64 ELF: $kind" ;;
esac
# Static like the x86_64 one (crates/kexec-cli/build.rs finds
# libc6-dev-arm64-cross's libc.a through aarch64-linux-gnu-gcc): the guest
# needs no library for it.
if readelf -lW "$OUT" | grep -q INTERP || readelf -dW "$OUT" | grep -q '(NEEDED)'; then
    die "$OUT is dynamically linked: $kind"
fi
if command -v qemu-aarch64 >/dev/null; then
    # No -L (the arm64 libraries' root): a static binary needs none.
    run() { qemu-aarch64 "$OUT" "$@"; }
    version=$(run --version) || die "kexec --version failed under qemu-aarch64"
    log "qemu-aarch64: $version"
    # Dry run only: it must get as far as opening the kernel file and fail there.
    if message=$(run --dry-run -s -l /nonexistent 2>&1); then
        die "kexec --dry-run -s -l /nonexistent succeeded under qemu-aarch64"
    fi
    case $message in
    *"/nonexistent"*) log "qemu-aarch64: dry run refused as expected: $message" ;;
    *) die "unexpected dry-run output under qemu-aarch64: $message" ;;
    esac
else
    log "no qemu-aarch64: not running the binary"
fi

echo "$OUT"
