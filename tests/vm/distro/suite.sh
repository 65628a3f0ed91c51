#!/bin/bash
# tests/vm/distro/suite.sh - a real distribution, unmodified, with our
# package in place of kexec-tools (issue #14): Debian 12 guests with their
# own kernel and initramfs, and kexec-rs_<v>_amd64.deb (packaging/deb/
# build.sh) installed over kexec-tools with dpkg, as a user would. Two
# stories, one QEMU run each, rebooting as the guest says:
#   systemd  systemd as PID 1, kdump-tools enabled, crashkernel= (guest/
#            kexec-distro-test): kdump-tools loads through our kexec at
#            boot; sysrq c; the capture kernel's kdump-tools saves the dump
#            under /var/crash and reboots; `systemctl kexec` loads the
#            default entry through our kexec and systemd-shutdown enters it
#            with `kexec -e`; our init scripts are masked.
#   sysv     sysvinit as PID 1 (guest/kexec-sysv-test): /etc/default/kexec's
#            LOAD_KEXEC=true makes `reboot` go through our kexec-load and
#            kexec init scripts, with KERNEL_IMAGE/INITRD/APPEND, then with
#            grub's default entry (USE_GRUB_CONFIG); /no-kexec-reboot makes
#            one reboot go through the firmware.
#
# Each story's base tree (mmdebstrap of its packages from Debian's archive) is
# cached as a tarball under $KEXEC_DISTRO_CACHE (default
# /var/tmp/kexec-distro), keyed by the suite, the package list and this
# file's recipe, so it is built once per machine; each run unpacks it,
# installs the package just built and makes a fresh disk image.
#
# Output: $KEXEC_VM_OUT/distro/suite.out, distro/<story>/serial.log; the
# last line of stdout is "vm: N passed, M failed" like the other jobs.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
. "$HERE/../lib.sh" # stamp_serial, VM_ACCEL, VM_CPU
OUT=${KEXEC_VM_OUT:-$ROOT/target/vm}/distro
CACHE=${KEXEC_DISTRO_CACHE:-/var/tmp/kexec-distro}
TIMEOUT=${KEXEC_DISTRO_TIMEOUT:-1500}
SUITE=bookworm
MIRROR=${KEXEC_APT_MIRROR:-http://deb.debian.org/debian}
# The stories: "systemd" (kdump-tools, systemctl kexec) and "sysv" (the
# /etc/default/kexec hook of our init scripts, where Debian has it:
# sysvinit). KEXEC_DISTRO_STORIES picks.
STORIES=${KEXEC_DISTRO_STORIES:-systemd sysv}
# The initramfs: the modules this guest needs and no others (MODULES=dep,
# kdump-tools' choice for its own initrd, would look at the host from the
# chroot); both the boot initrd and kdump-tools' /var/lib/kdump one use it.
INITRAMFS_MODULES="virtio_pci virtio_blk ext4"

log() { echo "distro: $*" >&2; }
die() { echo "distro: error: $*" >&2; exit 1; }
mkdir -p "$OUT" "$CACHE"

# The host's tools (Debian 12 packages), installed when missing.
. "$HERE/../host-packages.sh"
ensure_packages distro mmdebstrap qemu-system-x86 e2fsprogs debian-archive-keyring binutils

# --- the base tree, cached ----------------------------------------------------
# story_pkgs STORY: the packages of its base tree. systemd: kdump-tools and
# what its story needs; sysv: sysvinit as PID 1. kexec-tools is in both (a
# dependency of kdump-tools; the user's package on the sysvinit machine) and
# is replaced by our package in every run.
story_pkgs() {
    case $1 in
    systemd) echo systemd-sysv udev linux-image-amd64 initramfs-tools kmod procps e2fsprogs util-linux \
        kdump-tools makedumpfile busybox bsdextrautils file linux-base lsb-base ucf ;;
    sysv) echo sysvinit-core udev linux-image-amd64 initramfs-tools kmod procps e2fsprogs util-linux \
        kexec-tools ;;
    esac
}
recipe() { # everything a story's tarball depends on
    echo "$SUITE $1 $(story_pkgs "$1") | $INITRAMFS_MODULES"
    sed -n '/^# --- the base tree/,/^# --- end of base/p' "${BASH_SOURCE[0]}"
}
# build_base STORY BASE
build_base() {
    local story=$1 base=$2 list new=${2%.tar}.new.tar  # mmdebstrap picks the format by the name
    command -v mmdebstrap >/dev/null || die "mmdebstrap missing (tests/vm/setup.sh installs it)"
    list=$(story_pkgs "$story" | tr ' ' ,)
    log "building the $story base tree ($SUITE: $list) into $base"
    # MODULES=list before the kernel's postinst (dep fails in a chroot);
    # customize: the modules list, both initrds made again with it, and
    # kdump-tools' record of its sysctls (so the first boot does not
    # rebuild its initrd); a persistent journal; root on /dev/vda.
    mmdebstrap --variant=minbase --include="$list" --aptopt='Acquire::Retries "3"' \
        --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d"; printf "MODULES=list\n" >"$1/etc/initramfs-tools/conf.d/kexec-distro"' \
        --customize-hook="printf '%s\n' $INITRAMFS_MODULES >>\"\$1/etc/initramfs-tools/modules\"" \
        --customize-hook='chroot "$1" update-initramfs -u -k all' \
        --customize-hook='[ ! -x "$1/etc/kernel/postinst.d/kdump-tools" ] || for k in "$1"/boot/vmlinuz-*; do v=${k##*/vmlinuz-}; chroot "$1" /etc/kernel/postinst.d/kdump-tools "$v"; cp "$1/etc/kdump/sysctl.conf" "$1/var/lib/kdump/latest_sysctls-$v"; done' \
        --customize-hook='mkdir -p "$1/var/log/journal"; echo "/dev/vda / ext4 defaults 0 1" >"$1/etc/fstab"; echo kexec-distro >"$1/etc/hostname"' \
        "$SUITE" "$new" "$MIRROR" >"$OUT/mmdebstrap-$story.log" 2>&1 ||
        { tail -n 20 "$OUT/mmdebstrap-$story.log" >&2; die "mmdebstrap failed (log: $OUT/mmdebstrap-$story.log)"; }
    mv "$new" "$base"
}
# --- end of base ----------------------------------------------------------------

# Our package, built once for both stories.
DEB=$("$ROOT/packaging/deb/build.sh" "$OUT/deb" 2>"$OUT/deb.log" | tail -n 1 || true)
[ -s "${DEB:-}" ] || DEB=$(ls "$OUT"/deb/kexec-rs_*.deb 2>/dev/null | head -n 1)
[ -s "${DEB:-}" ] || { cat "$OUT/deb.log" >&2; die "packaging/deb/build.sh made no package"; }

# make_disk STORY: the story's base (built when missing), our package
# installed as a user would, its test driver; its kernel, initramfs and a
# fresh ext4 image of the tree in $OUT/STORY/.
make_disk() {
    local story=$1 dir=$OUT/$1 key base tree kver t0=$SECONDS
    key=$(recipe "$story" | sha256sum | cut -c1-16)
    base=$CACHE/base-$SUITE-$story-$key.tar
    [ -s "$base" ] || build_base "$story" "$base"
    t_base=$((SECONDS - t0))
    tree=$dir/root
    rm -rf "$tree"
    mkdir -p "$tree"
    tar -xf "$base" -C "$tree" --numeric-owner
    cp "$DEB" "$tree/tmp/"
    # The user's step: dpkg -i our package. It Conflicts with and Replaces
    # kexec-tools, so dpkg removes kexec-tools and kdump-tools' dependency
    # is met by our Provides. No service may start in the chroot.
    printf '#!/bin/sh\nexit 101\n' >"$tree/usr/sbin/policy-rc.d"
    chmod +x "$tree/usr/sbin/policy-rc.d"
    chroot "$tree" dpkg -i "/tmp/$(basename "$DEB")" >"$dir/dpkg.log" 2>&1 </dev/null ||
        { cat "$dir/dpkg.log" >&2; die "dpkg -i $(basename "$DEB") failed in the $story tree"; }
    rm -f "$tree/usr/sbin/policy-rc.d" "$tree/tmp/$(basename "$DEB")"
    case $story in
    systemd)
        install -m 0755 "$HERE/guest/kexec-distro-test" "$tree/usr/local/sbin/kexec-distro-test"
        install -m 0644 "$HERE/guest/kexec-distro-test.service" "$tree/etc/systemd/system/"
        mkdir -p "$tree/etc/systemd/system/multi-user.target.wants"
        ln -sf ../kexec-distro-test.service "$tree/etc/systemd/system/multi-user.target.wants/"
        ;;
    sysv)
        # Last in every multi-user runlevel; insserv orders it.
        install -m 0755 "$HERE/guest/kexec-sysv-test" "$tree/etc/init.d/kexec-sysv-test"
        chroot "$tree" update-rc.d kexec-sysv-test defaults >>"$dir/dpkg.log" 2>&1
        ;;
    esac
    kver=$(basename "$(ls "$tree"/boot/vmlinuz-* | sort -V | tail -n 1)" | sed 's/^vmlinuz-//')
    cp "$tree/boot/vmlinuz-$kver" "$dir/vmlinuz"
    cp "$tree/boot/initrd.img-$kver" "$dir/initrd.img"
    rm -f "$dir/disk.img"
    mke2fs -q -t ext4 -L root -d "$tree" "$dir/disk.img" 3G
    rm -rf "$tree"
    log "$story: kernel $kver; base ${t_base}s, disk $((SECONDS - t0 - t_base))s"
}

# boot STORY APPEND: one QEMU run of the story's disk until the guest
# powers off. No -no-reboot: the guest reboots through the firmware where
# the story says so (systemd: after the dump, and the capture kernel's
# reboot -f; sysv: the /no-kexec-reboot step) and QEMU boots the same
# -kernel again with the same command line.
boot() {
    local dir=$OUT/$1 t0=$SECONDS start
    : >"$dir/serial.log"
    start=${EPOCHREALTIME/./}
    set +e
    timeout --kill-after=10 "$TIMEOUT" \
        qemu-system-x86_64 -accel "$VM_ACCEL" -cpu "$VM_CPU" -m 2048 -smp 2 -nographic -nic none \
            -drive "file=$dir/disk.img,format=raw,if=virtio" \
            -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" \
            -append "$2" </dev/null 2>&1 |
        stamp_serial "$dir/serial.log" print_line "$start" >/dev/null
    rc=${PIPESTATUS[0]}
    set -e
    log "$1: QEMU exited with $rc after $((SECONDS - t0))s"
}

declare -A status=() detail=()
declare -a printed=()
EXPECTED=()
for story in $STORIES; do
    mkdir -p "$OUT/$story"
    make_disk "$story"
    case $story in
    systemd)
        boot systemd "root=/dev/vda rw console=ttyS0 crashkernel=256M"
        EXPECTED+=(package-replaces-kexec-tools kdump-config-status-ready crash-kernel-loaded journal-shows-our-argv
            kdump-config-unload crash-kernel-unloaded kdump-config-load-again crash-kernel-loaded-again
            file-written-before-crash-intact crash-dir-saved vmcore-saved dmesg-saved-has-crash-mark
            dmesg-saved-has-sysrq-panic crash-kernel-loaded-after-dump
            entered-by-kexec-with-entry-options file-written-before-kexec-intact systemctl-ran-our-kexec-load
            previous-boot-reached-kexec-target crash-kernel-loaded-after-kexec hook-masked-under-systemd)
        ;;
    sysv)
        boot sysv "root=/dev/vda rw console=ttyS0"
        EXPECTED+=(sysv-package-replaces-kexec-tools sysv-hook-scripts-ours sysv-rc6-order
            sysv-entered-by-hook-with-append sysv-file-written-before-hook-intact sysv-hook-logged-our-load
            sysv-entered-by-hook-from-grub-entry sysv-no-kexec-reboot-went-through-firmware
            sysv-no-kexec-reboot-file-consumed)
        # What rc 6 printed on the console on the way down, which the guest
        # cannot read back after the reboot: our kexec-load loading the
        # hook's kernel, our kexec script entering it, and kexec-load
        # standing aside for /no-kexec-reboot.
        status[sysv-hook-logged-our-load]=ok
        for line in 'kexec-load: loading /boot/vmlinuz-' 'kexec: rebooting into the loaded kernel' \
            'kexec-load: /no-kexec-reboot was there'; do
            grep -aqF "$line" "$OUT/sysv/serial.log" && continue
            status[sysv-hook-logged-our-load]=FAIL
            detail[sysv-hook-logged-our-load]="no '$line' on the console ($OUT/sysv/serial.log)"
        done
        ;;
    *) die "unknown story '$story' in KEXEC_DISTRO_STORIES" ;;
    esac
    read_checks "$OUT/$story/serial.log"
done

# --- verdict -------------------------------------------------------------------
pass=0 fail=0
for n in "${EXPECTED[@]}"; do
    case ${status[$n]:-} in
    ok) pass=$((pass + 1)); echo "vm: ok $n" ;;
    FAIL) fail=$((fail + 1)); echo "vm: FAIL $n: ${detail[$n]}" ;;
    *) fail=$((fail + 1)); echo "vm: FAIL $n: never reported (see $OUT/*/serial.log)" ;;
    esac
done
# The steps and their times (host seconds since that story's QEMU started).
for story in $STORIES; do
    echo "distro: $story steps (seconds since QEMU started):"
    grep -a ' STEP ' "$OUT/$story/serial.log" | sed 's/^\[ *\([0-9.]*\)\] .*STEP \([^ ]*\).*/    \1  \2/' || true
done
echo "vm: $pass passed, $fail failed"
[ "$fail" = 0 ]
