# shellcheck shell=bash
# tests/vm/apt-private.sh - Debian packages of any suite and architecture,
# fetched through PRIVATE apt configurations (source it, bash only).
#
# The machine's own apt sources, lists and dpkg architectures stay untouched:
# each suite gets $APT_CACHE/apt-<suite>/ with its own sources.list (Debian's
# archive keyring), package lists and download cache, and an empty dpkg
# status, so apt answers as if it ran on a bare $APT_ARCH machine.
#
# The caller sets before sourcing:
#   APT_ARCH   amd64 or arm64
#   APT_CACHE  where the configurations and the unpacked packages live
#   log, die   its progress and error functions
# Mirrors: KEXEC_APT_MIRROR (default http://deb.debian.org/debian) and
# KEXEC_APT_SECURITY (default http://deb.debian.org/debian-security).
#
# Functions:
#   use_suite S          APT = the apt-get/apt-cache options of suite S
#   fetch_unpack S PKG.. each PKG (its current version in S) unpacked into
#                        $APT_CACHE/PKG_VERSION/root; appended to UNPACKED
#   fetch_kernel S       the kernel linux-image-$APT_ARCH depends on in S today:
#                        sets KVER, KDIRS (its unpacked packages), KIMAGE
#                        (<dir>/boot/vmlinuz-$KVER, the config beside it)

APT_MIRROR=${KEXEC_APT_MIRROR:-${KEXEC_ARM64_MIRROR:-http://deb.debian.org/debian}}
APT_SECURITY=${KEXEC_APT_SECURITY:-${KEXEC_ARM64_SECURITY:-http://deb.debian.org/debian-security}}
APT_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

declare -a APT=()
declare -a UNPACKED=()

# use_suite S: S's configuration, its package lists fetched when missing or
# older than a day (unstable moves: stale lists name .debs the mirror no
# longer has).
use_suite() {
    local s=$1 a=$APT_CACHE/apt-$1
    case $s in *[!a-z0-9-]* | "") die "bad suite name '$s'" ;; esac
    [ -s "$APT_KEYRING" ] || die "$APT_KEYRING missing (install debian-archive-keyring)"
    mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
    {
        echo "deb [arch=$APT_ARCH signed-by=$APT_KEYRING] $APT_MIRROR $s main"
        case $s in
        sid | unstable | experimental) ;; # no -updates, no -security
        *)
            echo "deb [arch=$APT_ARCH signed-by=$APT_KEYRING] $APT_MIRROR $s-updates main"
            echo "deb [arch=$APT_ARCH signed-by=$APT_KEYRING] $APT_SECURITY $s-security main"
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
    APT=(-o "Dir::Etc::SourceList=$a/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$a/lists" -o "Dir::Cache=$a/cache" -o Dir::State::status=/dev/null
        -o "APT::Architecture=$APT_ARCH" -o "APT::Architectures::=$APT_ARCH")
    if [ "$changed" = 1 ] || [ ! -e "$a/updated" ] || [ -n "$(find "$a/updated" -mmin +1440)" ]; then
        apt_update "$s"
    fi
}

apt_update() {
    log "apt-get update ($1, private $APT_ARCH lists in $APT_CACHE/apt-$1)"
    apt-get "${APT[@]}" update >&2 ||
        die "apt-get update for $1 failed: the Debian archive ($APT_MIRROR) cannot be reached"
    touch "$APT_CACHE/apt-$1/updated"
}

# versions_of PKG...: "PKG VERSION" lines, one apt-cache call for all
versions_of() {
    apt-cache "${APT[@]}" show --no-all-versions "$@" 2>/dev/null |
        awk '$1 == "Package:" { p = $2 } $1 == "Version:" { print p, $2 }'
}

fetch_unpack() {
    local s=$1 p ver dir deb retried=${FETCH_RETRIED:-0}
    shift
    declare -A version=()
    while read -r p ver; do version[$p]=$ver; done < <(versions_of "$@")
    for p in "$@"; do
        ver=${version[$p]:-}
        [ -n "$ver" ] || die "no $APT_ARCH version of $p in $s ($APT_CACHE/apt-$s/sources.list)"
        dir=$APT_CACHE/${p}_${ver//:/%}
        if [ ! -d "$dir/root" ]; then
            log "downloading $p $ver ($s)"
            rm -f "$APT_CACHE/apt-$s/cache/archives/${p}"_*.deb
            if ! (cd "$APT_CACHE/apt-$s/cache/archives" && apt-get "${APT[@]}" download "$p" >&2); then
                # lists older than the mirror: refresh once, then start over
                [ "$retried" = 0 ] || die "apt-get download $p ($s) failed"
                apt_update "$s"
                FETCH_RETRIED=1 fetch_unpack "$s" "$@"
                return
            fi
            deb=$(ls "$APT_CACHE/apt-$s/cache/archives/${p}"_*.deb 2>/dev/null | head -n 1)
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

# first_kernel_file REL...: the first of the kernel packages' root/REL that exists
first_kernel_file() {
    local d r
    for r in "$@"; do
        for d in "${KDIRS[@]}"; do
            [ -s "$d/root/$r" ] && { echo "$d/root/$r"; return; }
        done
    done
}

# shellcheck disable=SC2034 # KVER, KDIRS and KIMAGE are the results
fetch_kernel() {
    local s=$1 kpkg d image config
    use_suite "$s"
    kpkg=$(apt-cache "${APT[@]}" depends "linux-image-$APT_ARCH" 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
    [ -n "$kpkg" ] || die "cannot resolve the package linux-image-$APT_ARCH depends on in $s"
    KVER=${kpkg#linux-image-}
    # Newer suites split the kernel: linux-image-<kver> is a small package
    # that depends on linux-binary-<kver> (the image), linux-base-<kver>
    # (config) and linux-modules-<kver>.
    local -a parts=("$kpkg")
    for d in $(apt-cache "${APT[@]}" depends "$kpkg" 2>/dev/null |
        awk -v v="$KVER" '$1 == "Depends:" && ($2 == "linux-binary-" v || $2 == "linux-base-" v || $2 == "linux-modules-" v) { print $2 }'); do
        parts+=("$d")
    done
    log "kernel packages ($s): ${parts[*]}"
    UNPACKED=()
    fetch_unpack "$s" "${parts[@]}"
    KDIRS=("${UNPACKED[@]}")
    image=$(first_kernel_file "boot/vmlinuz-$KVER" "usr/lib/modules/$KVER/vmlinuz" "lib/modules/$KVER/vmlinuz")
    [ -n "$image" ] || die "no kernel image for $KVER in ${KDIRS[*]}"
    config=$(first_kernel_file "boot/config-$KVER" "usr/lib/modules/$KVER/config" "lib/modules/$KVER/config")
    [ -n "$config" ] || log "warning: no config for $KVER (the rules model then cannot read it)"
    if [ "$image" = "${KDIRS[0]}/root/boot/vmlinuz-$KVER" ]; then
        KIMAGE=$image
    else
        # <kpkg>_<version>/boot/: the release is in the file name, config beside it
        KIMAGE=${KDIRS[0]}/boot/vmlinuz-$KVER
        if [ ! -s "$KIMAGE" ]; then
            mkdir -p "${KDIRS[0]}/boot"
            [ -z "$config" ] || ln -f "$config" "${KDIRS[0]}/boot/config-$KVER" 2>/dev/null ||
                cp "$config" "${KDIRS[0]}/boot/config-$KVER"
            ln -f "$image" "$KIMAGE.tmp" 2>/dev/null || cp "$image" "$KIMAGE.tmp"
            mv "$KIMAGE.tmp" "$KIMAGE"
        fi
        # and its modules, from linux-modules-<kver>, as boot/modules-<kver>
        d=$(kernel_modules_dir)
        [ -z "$d" ] || [ -e "${KDIRS[0]}/boot/modules-$KVER" ] || ln -s "$d" "${KDIRS[0]}/boot/modules-$KVER"
        # and the list of what is built in (linux-base-<kver>)
        d=$(first_kernel_file "usr/lib/modules/$KVER/modules.builtin" "lib/modules/$KVER/modules.builtin")
        [ -z "$d" ] || [ -e "${KDIRS[0]}/boot/modules.builtin-$KVER" ] || ln -s "$d" "${KDIRS[0]}/boot/modules.builtin-$KVER"
    fi
}

# kernel_modules_dir: the lib/modules/$KVER directory among KDIRS
kernel_modules_dir() {
    local d r
    for d in "${KDIRS[@]}"; do
        for r in "usr/lib/modules/$KVER" "lib/modules/$KVER"; do
            [ -d "$d/root/$r/kernel" ] && { echo "$d/root/$r"; return; }
        done
    done
}

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

# makedumpfile_overlay S: sets OVERLAY to a directory whose root/ holds
# suite S's makedumpfile with ITS libraries under /opt/makedumpfile-S/ and a
# /usr/bin/makedumpfile that starts it through their loader. An older
# makedumpfile does not know a newer kernel (bookworm's 1.7.2 exits 1 with
# "The kernel version is not supported" on 6.12, and cannot read 52-bit-VA
# arm64 dumps of 7.x), so a guest gets the dump tool of its kernel's suite.
# shellcheck disable=SC2034 # OVERLAY is the result
makedumpfile_overlay() {
    local s=$1 key ov o d sub triplet loader
    case $APT_ARCH in
    amd64) triplet=x86_64-linux-gnu loader=ld-linux-x86-64.so.2 ;;
    arm64) triplet=aarch64-linux-gnu loader=ld-linux-aarch64.so.1 ;;
    *) die "makedumpfile_overlay: no loader known for $APT_ARCH" ;;
    esac
    use_suite "$s"
    local -a mdpkgs
    mapfile -t mdpkgs < <(closure makedumpfile)
    UNPACKED=()
    fetch_unpack "$s" "${mdpkgs[@]}"
    key=$(printf '%s\n' "${UNPACKED[@]##*/}" | md5sum | cut -c1-12)
    ov=$APT_CACHE/overlay-makedumpfile-${s}_$key
    if [ ! -d "$ov/root" ]; then
        log "overlay: $s's makedumpfile with its libraries ($ov)"
        rm -rf "$ov.tmp"
        o=$ov.tmp/root/opt/makedumpfile-$s
        mkdir -p "$o/bin" "$o/lib" "$ov.tmp/root/usr/bin"
        for d in "${UNPACKED[@]}"; do
            case ${d##*/} in makedumpfile_*) cp "$d/root/usr/bin/makedumpfile" "$o/bin/" ;; esac
            for sub in lib/$triplet usr/lib/$triplet; do
                [ -d "$d/root/$sub" ] || continue
                find "$d/root/$sub" -maxdepth 1 -name '*.so*' \( -type f -o -type l \) -exec cp -a -t "$o/lib" {} +
            done
        done
        [ -x "$o/bin/makedumpfile" ] && [ -e "$o/lib/$loader" ] ||
            die "overlay: makedumpfile or $loader missing in $s's packages"
        {
            echo '#!/bin/sh'
            echo "# $s's makedumpfile (${UNPACKED[0]##*/}) with its own libraries"
            echo "exec /opt/makedumpfile-$s/lib/$loader --library-path /opt/makedumpfile-$s/lib /opt/makedumpfile-$s/bin/makedumpfile \"\$@\""
        } >"$ov.tmp/root/usr/bin/makedumpfile"
        chmod 0755 "$ov.tmp/root/usr/bin/makedumpfile"
        mv "$ov.tmp" "$ov"
    fi
    OVERLAY=$ov
}
