#!/bin/bash
# packaging/deb/build.sh [OUTDIR]: builds kexec-rs_<version>_<arch>.deb, a
# binary package that replaces Debian's kexec-tools (README "Install on
# Debian"). OUTDIR defaults to target/deb in the workspace. Nothing is
# installed: the package is assembled in a temporary directory and built by
# dpkg-deb with root as the owner of every file.
#
# Environment:
#   KEXEC_DEB_REVISION   Debian revision appended to the workspace version (1)
#   KEXEC_DEB_SBINDIR    where the binaries go: /sbin (default; Debian 12's
#                        kexec-tools ships /sbin/kexec, and a replacement must
#                        use the same path, see below) or /usr/sbin (Debian 13
#                        and later, whose kexec-tools ships /usr/sbin/kexec)
#   KEXEC_DEB_MAINTAINER the Maintainer field
#   CARGO_BUILD_JOBS, CARGO_TARGET_DIR are cargo's own.
set -euo pipefail

die() { echo "build.sh: $*" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUTDIR=${1:-$ROOT/target/deb}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

REVISION=${KEXEC_DEB_REVISION:-1}
MAINTAINER=${KEXEC_DEB_MAINTAINER:-kexec-rs maintainers <kexec-rs@lists.example.org>}
# Why /sbin by default: Debian 12 is merged-/usr on disk (/sbin -> usr/sbin)
# but dpkg does not know the two names are one file, and bookworm's packages,
# kexec-tools 1:2.0.25-3+deb12u3 among them, still list /sbin/kexec. Replacing
# a package's /sbin/kexec by a /usr/sbin/kexec is the file loss of DEP 17
# (P1): dpkg may unpack ours, then remove kexec-tools' /sbin/kexec, which is
# the same file. Under the same name dpkg hands the file over instead.
SBINDIR=${KEXEC_DEB_SBINDIR:-/sbin}
case $SBINDIR in
    /sbin|/usr/sbin) ;;
    *) die "KEXEC_DEB_SBINDIR must be /sbin or /usr/sbin, not '$SBINDIR'" ;;
esac

for tool in cargo dpkg dpkg-deb gzip md5sum readelf; do
    command -v "$tool" >/dev/null || die "$tool is needed and not installed"
done

# The version of the workspace ([workspace.package] in Cargo.toml).
UPSTREAM=$(awk '
    /^\[/ { in_pkg = ($0 == "[workspace.package]") }
    in_pkg && /^version[ \t]*=/ { gsub(/^version[ \t]*=[ \t]*"|".*$/, ""); print; exit }
' "$ROOT/Cargo.toml")
[[ $UPSTREAM =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || die "no [workspace.package] version in $ROOT/Cargo.toml"
VERSION=$UPSTREAM-$REVISION
ARCH=$(dpkg --print-architecture)
DEB=$OUTDIR/kexec-rs_${VERSION}_${ARCH}.deb

# One timestamp for the changelog and every file: the last commit's, so a
# rebuild of the same commit gives the same package.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "build.sh: cargo build --release (kexec, vmcore-dmesg)" >&2
(cd "$ROOT" && cargo build --release --locked -p kexec-cli --bins)
echo "build.sh: kexec-docs (kexec.8, vmcore-dmesg.8, completions)" >&2
(cd "$ROOT" && cargo run --release --locked -p kexec-docs -- "$WORK/docs" >/dev/null)

# The package declares no library dependency: refuse a binary that needs one
# (crates/kexec-cli/build.rs links dynamically when libc.a is missing).
for bin in kexec vmcore-dmesg; do
    f=$TARGET_DIR/release/$bin
    [ -x "$f" ] || die "$f was not built"
    # (Read whole first: grep -q closing the pipe early fails it under pipefail.)
    headers=$(readelf -lW "$f")
    dynamic=$(readelf -dW "$f")
    if grep -q INTERP <<<"$headers" || grep -q '(NEEDED)' <<<"$dynamic"; then
        die "$f is dynamically linked (libc6-dev's libc.a missing, or KEXEC_DYNAMIC set); the package needs the static binary"
    fi
done

umask 022
PKG=$WORK/pkg
DOC=$PKG/usr/share/doc/kexec-rs
install -d "$PKG/DEBIAN" "$PKG$SBINDIR" "$DOC" "$PKG/usr/share/man/man8" \
    "$PKG/usr/share/bash-completion/completions" \
    "$PKG/usr/share/zsh/vendor-completions" \
    "$PKG/usr/share/fish/vendor_completions.d"

install -m 0755 "$TARGET_DIR/release/kexec" "$PKG$SBINDIR/kexec"
install -m 0755 "$TARGET_DIR/release/vmcore-dmesg" "$PKG$SBINDIR/vmcore-dmesg"
for cmd in kexec vmcore-dmesg; do
    install -m 0644 "$WORK/docs/$cmd.8" "$PKG/usr/share/man/man8/$cmd.8"
    gzip -9n "$PKG/usr/share/man/man8/$cmd.8"
    install -m 0644 "$WORK/docs/completions/$cmd.bash" "$PKG/usr/share/bash-completion/completions/$cmd"
    install -m 0644 "$WORK/docs/completions/_$cmd" "$PKG/usr/share/zsh/vendor-completions/_$cmd"
    install -m 0644 "$WORK/docs/completions/$cmd.fish" "$PKG/usr/share/fish/vendor_completions.d/$cmd.fish"
done

# kexec-tools' reboot hook for sysvinit, our own scripts reading the same
# /etc/default/kexec (README "Install on Debian"). systemd masks both, as
# Debian 12 masks kexec.service: its systemd-sysv-generator would otherwise
# run "kexec -e" when stopping the generated unit at any shutdown, and a
# kernel loaded while systemd reboots is never entered (systemctl kexec is
# systemd's way).
install -d "$PKG/etc/init.d" "$PKG/usr/lib/systemd/system"
for script in kexec-load kexec; do
    sed "s|@SBINDIR@|$SBINDIR|g" "$ROOT/packaging/deb/init.d/$script" > "$PKG/etc/init.d/$script"
    chmod 0755 "$PKG/etc/init.d/$script"
    ln -s /dev/null "$PKG/usr/lib/systemd/system/$script.service"
done
printf '/etc/init.d/kexec\n/etc/init.d/kexec-load\n' > "$PKG/DEBIAN/conffiles"
install -m 0755 "$ROOT/packaging/deb/postinst" "$ROOT/packaging/deb/postrm" "$PKG/DEBIAN/"

# The binaries are static on purpose (one file each for initramfs and rescue
# images); lintian reports every static binary as an error unless told.
install -d "$PKG/usr/share/lintian/overrides"
cat > "$PKG/usr/share/lintian/overrides/kexec-rs" <<EOF
# Static on purpose: each runs alone in an initramfs or a rescue image.
kexec-rs: statically-linked-binary [${SBINDIR#/}/kexec]
kexec-rs: statically-linked-binary [${SBINDIR#/}/vmcore-dmesg]
EOF
chmod 0644 "$PKG/usr/share/lintian/overrides/kexec-rs"

# copyright (machine-readable format 1.0). The binaries are static, so they
# carry the Rust crates they link and glibc too: those are listed, from the
# lock file, with their licenses.
YEAR=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)
CRATES=$(cd "$ROOT" && cargo tree --locked --offline -p kexec-cli -e normal,no-proc-macro \
    --prefix none -f '{p}: {l}' | sed -e 's/ (\*)$//' -e 's/ ([^)]*)\(:\)/\1/' \
    | grep -v '^kexec\(-cli\)\? v\|^purgatory-abi v' | sort -u | sed 's/^/  /')
GLIBC=$(dpkg-query -W -f='${source:Version}' libc6-dev 2>/dev/null || true)
cat > "$DOC/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: kexec-rs
Comment: kexec(8) and vmcore-dmesg in Rust, a replacement for kexec-tools.
 The package is built by packaging/deb/build.sh from the workspace.

Files: *
Copyright: $YEAR kexec-rs contributors
License: MIT or Apache-2.0
Comment: kexec and vmcore-dmesg are statically linked. Besides this
 workspace's crates they contain these crates (name version: license
 expression), each under its own authors' copyright:
 .
$(printf '%s\n' "$CRATES" | sed 's/^  / /')
 .
 and the GNU C Library${GLIBC:+ $GLIBC} (libc.a), under LGPL-2.1+, whose
 text is in /usr/share/common-licenses/LGPL-2.1.

License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
 SOFTWARE.

License: Apache-2.0
 On Debian systems the full text of the Apache License, Version 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
EOF
chmod 0644 "$DOC/copyright"

# changelog.Debian: one entry per build; the project's own history is
# CHANGELOG.md.
{
    echo "kexec-rs ($VERSION) unstable; urgency=medium"
    echo
    echo "  * Built from the kexec-rs workspace, commit $(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown),"
    echo "    by packaging/deb/build.sh; the changes are in the project's CHANGELOG.md."
    echo
    echo " -- $MAINTAINER  $(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
} > "$DOC/changelog.Debian"
gzip -9n "$DOC/changelog.Debian"

# Installed-Size as dpkg-gencontrol counts it: KiB per file, rounded up, and
# one per directory.
INSTALLED_SIZE=$(cd "$PKG" && find . -path ./DEBIAN -prune -o \( -type f -printf '%s\n' \) -o \( ! -name . -printf '1024\n' \) \
    | awk '{ s += int(($1 + 1023) / 1024) } END { print s }')

# Provides: kdump-tools (and kiwi-dracut-oem-dump) depend on kexec-tools
# without a version, which any versioned Provides satisfies; the version is
# the kexec-tools release the tests compare with (Debian 12's 2.0.25), above
# any of its Debian revisions. Conflicts + Replaces: only one of the two may
# own /sbin/kexec, and ours takes its place (apt removes kexec-tools).
# Depends: none, the binaries are static and the maintainer scripts use only
# what is essential (update-rc.d only where it is installed).
# Built-Using: glibc's libc.a is inside the binaries (its LGPL source).
cat > "$PKG/DEBIAN/control" <<EOF
Package: kexec-rs
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $INSTALLED_SIZE
Provides: kexec-tools (= 1:2.0.25-99)
Conflicts: kexec-tools
Replaces: kexec-tools
${GLIBC:+Built-Using: glibc (= $GLIBC)
}Section: admin
Priority: optional
Description: kexec(8) and vmcore-dmesg in Rust, replacing kexec-tools
 kexec loads a new kernel (kexec_load or kexec_file_load) and reboots into
 it without the firmware; kexec -p loads the crash kernel kdump needs. It
 takes kexec-tools' command line and exit codes, explains every load the
 kernel would refuse before making the call, and checks what it loads with
 its own purgatory. vmcore-dmesg prints the crashed kernel's log from a
 vmcore. Both are static binaries.
 .
 This package replaces kexec-tools and provides it, so kdump-tools works
 with it. Its kexec-load and kexec init scripts read kexec-tools'
 /etc/default/kexec (LOAD_KEXEC) and reboot through kexec on sysvinit.
EOF

# md5sums leaves the conffiles out, as dh_md5sums does: dpkg keeps their
# sums itself.
(cd "$PKG" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
    | xargs -0 md5sum) > "$PKG/DEBIAN/md5sums"
chmod 0644 "$PKG/DEBIAN/control" "$PKG/DEBIAN/md5sums" "$PKG/DEBIAN/conffiles"

find "$PKG" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
rm -f "$DEB"
dpkg-deb --root-owner-group --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
