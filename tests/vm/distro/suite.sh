#!/bin/bash
# tests/vm/distro/suite.sh - a real distribution, unmodified, with our
# package in place of kexec-tools (issue #14): a Debian 12 guest with
# systemd as PID 1, its own kernel and initramfs, kdump-tools installed and
# enabled, crashkernel= on the command line, and kexec-rs_<v>_amd64.deb
# (packaging/deb/build.sh) installed over kexec-tools with dpkg, as a user
# would. One QEMU run, rebooting as the guest says, takes the story of
# guest/kexec-distro-test: kdump-tools loads through our kexec at boot;
# sysrq c; the capture kernel's kdump-tools saves the dump under /var/crash
# and reboots; `systemctl kexec` loads the default entry through our kexec
# and systemd-shutdown enters it with `kexec -e`.
#
# The base tree (mmdebstrap of the packages below from Debian's archive) is
# cached as a tarball under $KEXEC_DISTRO_CACHE (default
# /var/tmp/kexec-distro), keyed by the suite, the package list and this
# file's recipe, so it is built once per machine; each run unpacks it,
# installs the package just built and makes a fresh disk image.
#
# Output: $KEXEC_VM_OUT/distro/{suite.out,serial.log}; the last line of
# stdout is "vm: N passed, M failed" like the other jobs.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
. "$HERE/../serial.sh"
OUT=${KEXEC_VM_OUT:-$ROOT/target/vm}/distro
CACHE=${KEXEC_DISTRO_CACHE:-/var/tmp/kexec-distro}
TIMEOUT=${KEXEC_DISTRO_TIMEOUT:-1500}
SUITE=bookworm
MIRROR=${KEXEC_APT_MIRROR:-http://deb.debian.org/debian}
# kdump-tools and what its story needs; kexec-tools comes with it (a
# dependency) and is replaced by our package in every run.
PKGS=(systemd-sysv udev linux-image-amd64 initramfs-tools kmod procps e2fsprogs util-linux
    kdump-tools makedumpfile busybox bsdextrautils file linux-base lsb-base ucf)
# The initramfs: the modules this guest needs and no others (MODULES=dep,
# kdump-tools' choice for its own initrd, would look at the host from the
# chroot); both the boot initrd and kdump-tools' /var/lib/kdump one use it.
INITRAMFS_MODULES="virtio_pci virtio_blk ext4"

log() { echo "distro: $*" >&2; }
die() { echo "distro: error: $*" >&2; exit 1; }
mkdir -p "$OUT" "$CACHE"

# The host's tools (Debian 12 packages), installed when missing.
HOST_PKGS=(mmdebstrap qemu-system-x86 e2fsprogs debian-archive-keyring binutils)
missing=()
for p in "${HOST_PKGS[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); run me as root"
    log "installing ${missing[*]}"
    apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

# --- the base tree, cached ----------------------------------------------------
recipe() { # everything the tarball depends on
    echo "$SUITE ${PKGS[*]} | $INITRAMFS_MODULES"
    sed -n '/^# --- the base tree/,/^# --- end of base/p' "${BASH_SOURCE[0]}"
}
key=$(recipe | sha256sum | cut -c1-16)
BASE=$CACHE/base-$SUITE-$key.tar
BASE_NEW=$CACHE/base-$SUITE-$key.new.tar   # mmdebstrap picks the format by the name
build_base() {
    command -v mmdebstrap >/dev/null || die "mmdebstrap missing (tests/vm/setup.sh installs it)"
    local list
    list=$(IFS=,; echo "${PKGS[*]}")
    log "building the base tree ($SUITE: ${PKGS[*]}) into $BASE"
    # MODULES=list before the kernel's postinst (dep fails in a chroot);
    # customize: the modules list, both initrds made again with it, and
    # kdump-tools' record of its sysctls (so the first boot does not
    # rebuild its initrd); a persistent journal; root on /dev/vda.
    mmdebstrap --variant=minbase --include="$list" --aptopt='Acquire::Retries "3"' \
        --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d"; printf "MODULES=list\n" >"$1/etc/initramfs-tools/conf.d/kexec-distro"' \
        --customize-hook="printf '%s\n' $INITRAMFS_MODULES >>\"\$1/etc/initramfs-tools/modules\"" \
        --customize-hook='chroot "$1" update-initramfs -u -k all' \
        --customize-hook='for k in "$1"/boot/vmlinuz-*; do v=${k##*/vmlinuz-}; chroot "$1" /etc/kernel/postinst.d/kdump-tools "$v"; cp "$1/etc/kdump/sysctl.conf" "$1/var/lib/kdump/latest_sysctls-$v"; done' \
        --customize-hook='mkdir -p "$1/var/log/journal"; echo "/dev/vda / ext4 defaults 0 1" >"$1/etc/fstab"; echo kexec-distro >"$1/etc/hostname"' \
        "$SUITE" "$BASE_NEW" "$MIRROR" >"$OUT/mmdebstrap.log" 2>&1 ||
        { tail -n 20 "$OUT/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $OUT/mmdebstrap.log)"; }
    mv "$BASE_NEW" "$BASE"
}
# --- end of base ----------------------------------------------------------------

t0=$SECONDS
[ -s "$BASE" ] || build_base
t_base=$((SECONDS - t0))

# --- this run's disk: the base, our package, the test driver -------------------
DEB=$("$ROOT/packaging/deb/build.sh" "$OUT/deb" 2>"$OUT/deb.log" | tail -n 1 || true)
[ -s "${DEB:-}" ] || DEB=$(ls "$OUT"/deb/kexec-rs_*.deb 2>/dev/null | head -n 1)
[ -s "${DEB:-}" ] || { cat "$OUT/deb.log" >&2; die "packaging/deb/build.sh made no package"; }
TREE=$OUT/root
rm -rf "$TREE"
mkdir -p "$TREE"
tar -xf "$BASE" -C "$TREE" --numeric-owner
cp "$DEB" "$TREE/tmp/"
# The user's step: dpkg -i our package. It Conflicts with and Replaces
# kexec-tools, so dpkg removes kexec-tools and kdump-tools' dependency is
# met by our Provides. No service may start in the chroot.
printf '#!/bin/sh\nexit 101\n' >"$TREE/usr/sbin/policy-rc.d"
chmod +x "$TREE/usr/sbin/policy-rc.d"
chroot "$TREE" dpkg -i "/tmp/$(basename "$DEB")" >"$OUT/dpkg.log" 2>&1 ||
    { cat "$OUT/dpkg.log" >&2; die "dpkg -i $(basename "$DEB") failed in the guest tree"; }
rm -f "$TREE/usr/sbin/policy-rc.d" "$TREE/tmp/$(basename "$DEB")"
install -m 0755 "$HERE/guest/kexec-distro-test" "$TREE/usr/local/sbin/kexec-distro-test"
install -m 0644 "$HERE/guest/kexec-distro-test.service" "$TREE/etc/systemd/system/"
mkdir -p "$TREE/etc/systemd/system/multi-user.target.wants"
ln -sf ../kexec-distro-test.service "$TREE/etc/systemd/system/multi-user.target.wants/"
kver=$(basename "$(ls "$TREE"/boot/vmlinuz-* | sort -V | tail -n 1)" | sed 's/^vmlinuz-//')
cp "$TREE/boot/vmlinuz-$kver" "$OUT/vmlinuz"
cp "$TREE/boot/initrd.img-$kver" "$OUT/initrd.img"
rm -f "$OUT/disk.img"
mke2fs -q -t ext4 -L root -d "$TREE" "$OUT/disk.img" 3G
rm -rf "$TREE"
t_disk=$((SECONDS - t0 - t_base))
log "kernel $kver; base ${t_base}s, disk ${t_disk}s"

# --- the story -----------------------------------------------------------------
# No -no-reboot: the guest reboots twice through firmware (after the dump,
# and the capture kernel's reboot -f) and QEMU boots the same -kernel again;
# the story ends with the guest's poweroff.
: >"$OUT/serial.log"
start=${EPOCHREALTIME/./}
set +e
timeout --kill-after=10 "$TIMEOUT" \
    qemu-system-x86_64 -accel tcg -cpu max,-avx,-avx2 -m 2048 -smp 2 -nographic -nic none \
        -drive "file=$OUT/disk.img,format=raw,if=virtio" \
        -kernel "$OUT/vmlinuz" -initrd "$OUT/initrd.img" \
        -append "root=/dev/vda rw console=ttyS0 crashkernel=256M" </dev/null 2>&1 |
    stamp_serial "$OUT/serial.log" print_line "$start" >/dev/null
rc=${PIPESTATUS[0]}
set -e
log "QEMU exited with $rc after $((SECONDS - t0 - t_base - t_disk))s"

# --- verdict -------------------------------------------------------------------
EXPECTED=(package-replaces-kexec-tools kdump-config-status-ready crash-kernel-loaded journal-shows-our-argv
    kdump-config-unload crash-kernel-unloaded kdump-config-load-again crash-kernel-loaded-again
    file-written-before-crash-intact crash-dir-saved vmcore-saved dmesg-saved-has-crash-mark
    dmesg-saved-has-sysrq-panic crash-kernel-loaded-after-dump
    entered-by-kexec-with-entry-options file-written-before-kexec-intact systemctl-ran-our-kexec-load
    previous-boot-reached-kexec-target crash-kernel-loaded-after-kexec)
declare -A status=() detail=()
declare -a printed=()
read_checks "$OUT/serial.log"
pass=0 fail=0
for n in "${EXPECTED[@]}"; do
    case ${status[$n]:-} in
    ok) pass=$((pass + 1)); echo "vm: ok $n" ;;
    FAIL) fail=$((fail + 1)); echo "vm: FAIL $n: ${detail[$n]}" ;;
    *) fail=$((fail + 1)); echo "vm: FAIL $n: never reported (QEMU exit $rc; see $OUT/serial.log)" ;;
    esac
done
# The steps and their times (host seconds since QEMU started).
echo "distro: steps (seconds since QEMU started):"
grep -a ' STEP ' "$OUT/serial.log" | sed 's/^\[ *\([0-9.]*\)\] .*STEP \([^ ]*\).*/    \1  \2/' || true
echo "vm: $pass passed, $fail failed"
[ "$fail" = 0 ]
