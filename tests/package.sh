#!/bin/bash
# tests/package.sh: builds the Debian package with packaging/deb/build.sh into
# a temporary directory and checks it with dpkg-deb alone (-I, -f, -c, -x,
# -e): nothing is installed. Prints "ok NAME" or "FAIL NAME: why" per check
# and exits 1 on any FAIL. KEXEC_DEB_SBINDIR is passed on to build.sh, and
# the file list expected follows it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

failures=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }
check() { # check NAME WHY COMMAND...: ok when COMMAND succeeds
    local name=$1 why=$2
    shift 2
    if "$@"; then ok "$name"; else fail "$name" "$why"; fi
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

UPSTREAM=$(awk '
    /^\[/ { in_pkg = ($0 == "[workspace.package]") }
    in_pkg && /^version[ \t]*=/ { gsub(/^version[ \t]*=[ \t]*"|".*$/, ""); print; exit }
' "$ROOT/Cargo.toml")
VERSION=$UPSTREAM-${KEXEC_DEB_REVISION:-1}
ARCH=$(dpkg --print-architecture)
SBIN=${KEXEC_DEB_SBINDIR:-/sbin}
SBIN=${SBIN#/}

# --- build -------------------------------------------------------------------
if ! "$ROOT/packaging/deb/build.sh" "$TMP/out" >"$TMP/build.log" 2>&1; then
    fail build "packaging/deb/build.sh failed:"
    sed 's/^/    /' "$TMP/build.log" | tail -30
    exit 1
fi
ok build
DEB=$TMP/out/kexec-rs_${VERSION}_${ARCH}.deb
debs=$(cd "$TMP/out" && ls)
if [ "$debs" != "$(basename "$DEB")" ]; then
    fail file-name "expected $(basename "$DEB") alone in the output directory, found: $debs"
    exit 1
fi
ok file-name

# --- control -----------------------------------------------------------------
field() { dpkg-deb -f "$DEB" "$1"; }
expect_field() { # expect_field NAME VALUE
    local got
    got=$(field "$1")
    if [ "$got" = "$2" ]; then ok "control-$1"; else fail "control-$1" "'$got', expected '$2'"; fi
}
expect_field Package kexec-rs
expect_field Version "$VERSION"
expect_field Architecture "$ARCH"
expect_field Conflicts kexec-tools
expect_field Replaces kexec-tools
expect_field Section admin
expect_field Priority optional
provides=$(field Provides)
if [[ $provides =~ (^|,\ *)kexec-tools\ \(=\ ([^\)]+)\) ]]; then
    ok control-Provides
    provided=${BASH_REMATCH[2]}
else
    fail control-Provides "'$provides' does not provide a versioned kexec-tools"
    provided=
fi
for f in Maintainer Description; do
    if [ -n "$(field $f)" ]; then ok "control-$f"; else fail "control-$f" "empty"; fi
done
# Static binaries and no maintainer scripts: nothing to depend on.
for f in Depends Pre-Depends; do
    if [ -z "$(field $f)" ]; then ok "control-no-$f"; else fail "control-no-$f" "$(field $f)"; fi
done

# What kdump-tools (this machine's apt knows it) needs of kexec-tools is met by
# the version provided: any "kexec-tools (OP VERSION)" in its Depends.
if [ -n "$provided" ] && command -v apt-cache >/dev/null && apt-cache show kdump-tools >/dev/null 2>&1; then
    deps=$(apt-cache show --no-all-versions kdump-tools | sed -n 's/^Depends: //p')
    unmet=
    while IFS= read -r dep; do
        dep=$(sed 's/^ *//; s/ *$//' <<<"$dep")
        [[ $dep =~ ^kexec-tools( |$) ]] || continue
        if [[ $dep =~ \((<<|<=|=|>=|>>)\ *([^\)]+)\) ]]; then
            op=${BASH_REMATCH[1]}
            ver=${BASH_REMATCH[2]}
            case $op in '<<') op=lt ;; '<=') op=le ;; '=') op=eq ;; '>=') op=ge ;; '>>') op=gt ;; esac
            dpkg --compare-versions "$provided" "$op" "$ver" || unmet="$dep"
        fi
    done < <(tr ',' '\n' <<<"$deps")
    if [ -z "$unmet" ] && grep -qE '(^|, *)kexec-tools( |,|$)' <<<"$deps"; then
        ok kdump-tools-dependency
    elif [ -n "$unmet" ]; then
        fail kdump-tools-dependency "kdump-tools needs '$unmet', we provide kexec-tools (= $provided)"
    else
        fail kdump-tools-dependency "kdump-tools no longer depends on kexec-tools: '$deps'"
    fi
else
    echo "skip kdump-tools-dependency: apt does not know kdump-tools here"
fi

# --- control archive: control, md5sums, the two init scripts as conffiles, -----
# --- and the postinst/postrm that link (and on purge unlink) them ------------
dpkg-deb -e "$DEB" "$TMP/DEBIAN"
members=$(cd "$TMP/DEBIAN" && ls | tr '\n' ' ')
check control-archive "holds '$members', expected 'conffiles control md5sums postinst postrm '" \
    test "$members" = "conffiles control md5sums postinst postrm "
check conffiles "lists '$(tr '\n' ' ' <"$TMP/DEBIAN/conffiles")'" \
    test "$(LC_ALL=C sort "$TMP/DEBIAN/conffiles" | tr '\n' ' ')" = "/etc/init.d/kexec /etc/init.d/kexec-load "
for script in postinst postrm; do
    check "$script-syntax" "sh -n $script fails" sh -n "$TMP/DEBIAN/$script"
done

# --- files -------------------------------------------------------------------
expected="./$SBIN/kexec
./$SBIN/vmcore-dmesg
./etc/init.d/kexec
./etc/init.d/kexec-load
./usr/lib/systemd/system/kexec-load.service
./usr/lib/systemd/system/kexec.service
./usr/share/bash-completion/completions/kexec
./usr/share/bash-completion/completions/vmcore-dmesg
./usr/share/doc/kexec-rs/changelog.Debian.gz
./usr/share/doc/kexec-rs/copyright
./usr/share/fish/vendor_completions.d/kexec.fish
./usr/share/fish/vendor_completions.d/vmcore-dmesg.fish
./usr/share/lintian/overrides/kexec-rs
./usr/share/man/man8/kexec.8.gz
./usr/share/man/man8/vmcore-dmesg.8.gz
./usr/share/zsh/vendor-completions/_kexec
./usr/share/zsh/vendor-completions/_vmcore-dmesg"
listing=$(dpkg-deb -c "$DEB")
files=$(awk '$1 !~ /^d/ { print $6 }' <<<"$listing" | LC_ALL=C sort)
if [ "$files" = "$(LC_ALL=C sort <<<"$expected")" ]; then
    ok file-list
else
    fail file-list "differs from the expected list (< expected, > package): $(diff <(LC_ALL=C sort <<<"$expected") <(echo "$files") | grep '^[<>]' | tr '\n' ' ')"
fi
# Directories only where the files are (no empty /etc, /usr/lib, ...).
dirs=$(awk '$1 ~ /^d/ { print $6 }' <<<"$listing" | sed 's,/$,,' | LC_ALL=C sort)
parents=$(while IFS= read -r d; do
        while [ "$d" != . ]; do d=$(dirname "$d"); echo "$d"; done
    done <<<"$expected" | LC_ALL=C sort -u)
check directories "unexpected directories: $(comm -23 <(echo "$dirs") <(echo "$parents") | tr '\n' ' ')" \
    test "$dirs" = "$parents"
# Executables: the binaries and the init scripts; the systemd masks are
# links to /dev/null; everything else is plain 0644.
bad_modes=$(awk '$1 ~ /^d/ && $1 != "drwxr-xr-x" { print $6 }
                 $1 ~ /^l/ && ($6 !~ /^.\/usr\/lib\/systemd\/system\/kexec(-load)?\.service$/ || $8 != "/dev/null") { print $6 }
                 $1 ~ /^-/ && $6 ~ /(sbin|init\.d)\// && $1 != "-rwxr-xr-x" { print $6 }
                 $1 ~ /^-/ && $6 !~ /(sbin|init\.d)\// && $1 != "-rw-r--r--" { print $6 }
                 $2 != "root/root" { print $6 }' <<<"$listing")
check modes-owners "wrong mode or owner: $bad_modes" test -z "$bad_modes"

# The binaries where this machine's kexec-tools has them, if it is installed:
# the same paths are what lets dpkg hand the files over (build.sh, SBINDIR).
if dpkg-query -W -f='${Status}' kexec-tools 2>/dev/null | grep -q 'ok installed'; then
    theirs=$(dpkg-query -L kexec-tools | grep -E '/s?bin/kexec$' || true)
    check same-path-as-kexec-tools "kexec-tools has '$theirs', we ship /$SBIN/kexec" \
        test "$theirs" = "/$SBIN/kexec"
else
    echo "skip same-path-as-kexec-tools: kexec-tools is not installed here"
fi

# --- contents ----------------------------------------------------------------
X=$TMP/root
dpkg-deb -x "$DEB" "$X"
for bin in kexec vmcore-dmesg; do
    f=$X/$SBIN/$bin
    out=$("$f" --version 2>&1) || true
    check "$bin-version" "'$f --version' printed '$out', expected '$bin $UPSTREAM …'" \
        grep -q "^$bin $UPSTREAM\b" <<<"$out"
    headers=$(readelf -lW "$f")
    dynamic=$(readelf -dW "$f")
    check "$bin-static" "has a program interpreter or NEEDED libraries" \
        bash -c '! grep -q INTERP <<<"$1" && ! grep -q "(NEEDED)" <<<"$2"' _ "$headers" "$dynamic"
done

# The init scripts: shell that parses, our kexec's path in them, and
# kexec-load's reading of grub's default entry (USE_GRUB_CONFIG) on a
# grub.cfg of Debian's shape: default=${saved_entry}, an entry, a submenu.
for script in kexec-load kexec; do
    f=$X/etc/init.d/$script
    check "$script-init-syntax" "sh -n fails" sh -n "$f"
    check "$script-init-path" "KEXEC= is '$(sed -n 's/^KEXEC=//p' "$f")', expected /$SBIN/kexec" \
        test "$(sed -n 's/^KEXEC=//p' "$f")" = "/$SBIN/kexec"
done
cat >"$TMP/grub.cfg" <<'GRUB'
if [ "${next_entry}" ] ; then
   set default="${next_entry}"
else
   set default="${saved_entry}"
fi
menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-1' {
	linux	/boot/vmlinuz-a root=UUID=1 ro quiet
	initrd	/boot/initrd.img-a
}
submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-1' {
	menuentry 'Debian GNU/Linux, with Linux b' $menuentry_id_option 'gnulinux-b-advanced-1' {
		linux	/boot/vmlinuz-b root=UUID=1 ro
	}
}
menuentry 'Other' --id other {
	linux /boot/vmlinuz-c root=/dev/vda rw
	initrd /boot/initrd.img-c
}
GRUB
grub_entry() { # grub_entry SAVED_ENTRY: what kexec-load would load
    printf 'saved_entry=%s\n' "$1" >"$TMP/grubenv"
    (
        GRUB_CFG=$TMP/grub.cfg GRUB_ENV=$TMP/grubenv KERNEL_IMAGE=/vmlinuz INITRD=/initrd.img APPEND=
        say() { :; }
        eval "$(sed -n '/^grub_default_entry()/,/^}/p' "$X/etc/init.d/kexec-load")"
        grub_default_entry
        echo "$KERNEL_IMAGE|$INITRD|$APPEND"
    )
}
for case in "|/boot/vmlinuz-a|/boot/initrd.img-a|root=UUID=1 ro quiet" \
    "gnulinux-simple-1|/boot/vmlinuz-a|/boot/initrd.img-a|root=UUID=1 ro quiet" \
    "Other|/boot/vmlinuz-c|/boot/initrd.img-c|root=/dev/vda rw" \
    "other|/boot/vmlinuz-c|/boot/initrd.img-c|root=/dev/vda rw" \
    "2|/boot/vmlinuz-c|/boot/initrd.img-c|root=/dev/vda rw" \
    "1|/vmlinuz|/initrd.img|" "1>0|/vmlinuz|/initrd.img|" "missing|/vmlinuz|/initrd.img|"; do
    saved=${case%%|*} want=${case#*|}
    got=$(grub_entry "$saved")
    check "grub-entry-${saved:-empty}" "saved_entry '$saved' gave '$got', expected '$want'" test "$got" = "$want"
done

md5=$(cd "$X" && md5sum --quiet -c "$TMP/DEBIAN/md5sums" 2>&1) || true
listed=$(awk '{ print "./" $2 }' "$TMP/DEBIAN/md5sums" | LC_ALL=C sort)
regular=$(awk '$1 ~ /^-/ && $6 !~ /^.\/etc\// { print $6 }' <<<"$listing" | LC_ALL=C sort)
if [ -n "$md5" ]; then
    fail md5sums "$md5"
elif [ "$listed" != "$regular" ]; then
    fail md5sums "md5sums does not list exactly the package's regular files outside the conffiles"
else
    ok md5sums
fi

# dpkg-gencontrol's count: KiB per file rounded up, one per directory.
size=$(field Installed-Size)
actual=$(cd "$X" && find . -mindepth 1 \( -type f -printf '%s\n' \) -o -printf '1024\n' \
    | awk '{ s += int(($1 + 1023) / 1024) } END { print s }')
check installed-size "Installed-Size $size KiB, the files take $actual KiB" test "$size" = "$actual"

# Each page: gzipped roff that man renders without a warning, and says what
# it is about.
for cmd in kexec vmcore-dmesg; do
    man8=$X/usr/share/man/man8/$cmd.8.gz
    if gzip -t "$man8" && zcat "$man8" | grep -q '^\.TH '; then ok "$cmd-man-gzip"; else fail "$cmd-man-gzip" "not a gzipped roff page"; fi
    if command -v man >/dev/null; then
        warnings=$(LC_ALL=C MANWIDTH=100 MANOPT= MANROFFOPT= man --warnings=w -l -P cat "$man8" 2>&1 >"$TMP/man.txt") || warnings="man failed: $warnings"
        if [ -z "$warnings" ] && grep -q "^NAME" "$TMP/man.txt" && grep -q "^ *$cmd - " "$TMP/man.txt"; then
            ok "$cmd-man-render"
        else
            fail "$cmd-man-render" "${warnings:-no NAME section naming $cmd}"
        fi
    else
        echo "skip $cmd-man-render: man is not installed"
    fi
done
check changelog "changelog.Debian.gz does not name kexec-rs ($VERSION)" \
    bash -c 'zcat "$1" | head -1 | grep -qF "kexec-rs ($2)"' _ "$X/usr/share/doc/kexec-rs/changelog.Debian.gz" "$VERSION"
check copyright "not the machine-readable format, or no MIT or Apache-2.0" \
    bash -c 'head -1 "$1" | grep -q "^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" && grep -q "^License: MIT or Apache-2.0" "$1"' _ "$X/usr/share/doc/kexec-rs/copyright"
for cmd in kexec vmcore-dmesg; do
    check "$cmd-bash-completion" "bash -n fails" bash -n "$X/usr/share/bash-completion/completions/$cmd"
    if command -v zsh >/dev/null; then
        check "$cmd-zsh-completion" "zsh -n fails" zsh -n "$X/usr/share/zsh/vendor-completions/_$cmd"
    fi
    if command -v fish >/dev/null; then
        check "$cmd-fish-completion" "fish --no-execute fails" fish --no-execute "$X/usr/share/fish/vendor_completions.d/$cmd.fish"
    fi
done

# --- the same commit gives the same bytes ------------------------------------
if "$ROOT/packaging/deb/build.sh" "$TMP/again" >"$TMP/build2.log" 2>&1; then
    check reproducible "a second build differs" cmp -s "$DEB" "$TMP/again/$(basename "$DEB")"
else
    fail reproducible "the second build failed: $(tail -3 "$TMP/build2.log")"
fi

# --- lintian -----------------------------------------------------------------
if command -v lintian >/dev/null; then
    if lintian --fail-on error "$DEB" >"$TMP/lintian.txt" 2>&1; then
        ok lintian
        grep -E '^[WI]: ' "$TMP/lintian.txt" | sed 's/^/    /' || true
    else
        fail lintian "$(grep -E '^E: ' "$TMP/lintian.txt" | tr '\n' ' ')"
    fi
else
    echo "skip lintian: not installed (apt-get install lintian)"
fi

if [ "$failures" -gt 0 ]; then
    echo "tests/package.sh: $failures FAIL"
    exit 1
fi
echo "tests/package.sh: all ok"
