#!/bin/bash
# tests/vm/x86-suite.sh - the x86_64 real-kernel runs for ONE kernel
# (KEXEC_VM_KERNEL; run-suite.sh runs it once per kernel of the matrix).
#
# Builds the guest images (tests/vm/build-initramfs.sh, after setup.sh) and
# makes two chained QEMU runs. The BIOS run (1.5 GiB, crashkernel=256M):
#   stage 1  QEMU boots Debian's kernel; guest/init runs the CLI scenarios,
#            comparing ours with kexec-tools, then loads stage 2 with ours
#            (kexec_file_load) and runs "kexec -e"
#   stage 2  checks the new command line and initrd, loads the same kernel
#            through kexec_load (our boot image and purgatory), kexec -e
#   kl       command line, initrd, MemTotal and CPUs as before; loads the ELF
#            vmlinux with kexec -c -l, kexec -e
#   elf      command line and initrd; crash-loads a capture kernel with ours
#            and crashes (sysrq-c)
#   stage 3  the capture kernel checks /proc/vmcore, then "kexec -f" with ours
#            into a kernel without initrd, which panics (no root fs) and so
#            ends QEMU
# The kdump run: every listed rejection explained with nothing lost, the
# differential test of the rules model, then a crash kernel loaded with
# kexec -s -p, a crash, and the same vmcore checks in the capture kernel.
# The lockdown run (lockdown=integrity): kexec_load refused and explained,
# a tampered kernel refused by signature verification.
# The formats run: packed kernels and a UKI, each booted in turn (see
# stagefmt1 in guest/init).
# The UEFI run (OVMF, 6 GiB): efi1 loads through kexec_load with the initrd
# above 4 GiB; efi2 checks EFI survived, then executes an image whose kernel
# segment was corrupted after its digest was taken: the purgatory must print
# its mismatch and halt, and the host then stops QEMU.
# The serial consoles go to stdout and to $KEXEC_VM_OUT/serial*.log, each line
# stamped with the host time since QEMU started. The host then checks that
# every expected CHECK line was printed as "ok" (a check that never printed,
# e.g. because its stage was never reached, is a failure), plus a few
# host-side checks. The last line is "vm: N passed, M failed"; the exit code
# is non-zero when M > 0.
#
# The crash hotplug run (kernels with CONFIG_CRASH_HOTPLUG): three boots
# that hot-add a CPU and a DIMM through QMP after loading a crash kernel
# (kexec_load with --hotplug, kexec_file_load, kexec_load without), then
# crash; the capture kernel reads the vmcore's notes and ranges
# (tests/vm/hotplug/README.md).
# Usage: [KEXEC_BIN=path/to/kexec] [KEXEC_VM_KERNEL=...] [KEXEC_VM_RUNS="bios kdump lock efi hotplug formats"] tests/vm/x86-suite.sh
# KEXEC_VM_RUNS picks some of the six runs (all by default); only the
# checks of the runs picked are expected then. Besides the verdict line,
# $KEXEC_VM_OUT/cells gets one line per scenario of the suite's table
# ("ROW ok N" or "ROW FAIL F/N"), which run-suite.sh prints for all kernels.
# (see lib.sh for the other environment variables)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The authoritative list of checks the guest must report, in order.
EXPECTED=(
    # stage 1: status with nothing loaded, then a normal load
    s1-status-crash-empty s1-status-load-empty
    s1-print-ckr-size-exit s1-print-ckr-size-value s1-status-region
    s1-status-kexec-load s1-status-kexec-file-load
    s1-load-exit s1-load-sysfs s1-status-load-loaded
    # stage 1: failures on top of a loaded kernel (exit code, message, still loaded)
    s1-fail-empty-file-exit s1-fail-empty-file-msg s1-fail-empty-file-still-loaded
    s1-fail-text-file-exit s1-fail-text-file-msg s1-fail-text-file-still-loaded
    s1-fail-missing-initrd-exit s1-fail-missing-initrd-msg s1-fail-missing-initrd-still-loaded
    s1-fail-cmdline-too-long-exit s1-fail-cmdline-too-long-msg s1-fail-cmdline-too-long-still-loaded
    s1-fail-non-root-exit s1-fail-non-root-msg s1-fail-non-root-still-loaded
    s1-fail-unknown-option-exit s1-fail-unknown-option-msg s1-fail-unknown-option-still-loaded
    # stage 1: an empty FIFO as the initrd, on both calls
    s1-fail-empty-fifo-s-exit s1-fail-empty-fifo-s-msg s1-fail-empty-fifo-s-still-loaded
    s1-fail-empty-fifo-c-exit s1-fail-empty-fifo-c-msg s1-fail-empty-fifo-c-still-loaded
    # stage 1: unload; kexec KERNEL (no mode) execs a stand-in shutdown -r now;
    # -e with nothing loaded
    s1-unload-exit s1-unload-sysfs s1-status-load-unloaded
    s1-noop-shutdown-exit s1-noop-shutdown-argv s1-noop-shutdown-sigpipe
    s1-exec-nothing-exit s1-exec-nothing-msg
    # stage 1: loading options with -e/-u/-S and options this kexec lacks, refused by name
    s1-opt-exec-append-exit s1-opt-exec-append-msg
    s1-opt-unload-initrd-exit s1-opt-unload-initrd-msg
    s1-opt-status-reuse-cmdline-exit s1-opt-status-reuse-cmdline-msg
    s1-opt-hotplug-exit s1-opt-hotplug-msg s1-opt-dtb-exit s1-opt-dtb-msg
    # stage 1: crash kernel load / status / unload
    s1-crash-load-exit s1-crash-load-sysfs s1-status-crash-loaded
    s1-crash-unload-exit s1-crash-unload-sysfs s1-status-crash-unloaded
    # stage 1: argument shapes
    s1-argv-permuted-dup-s s1-argv-append-eq s1-argv-append-space
    s1-argv-append-empty s1-argv-combined-short
    # stage 1: load stage 2 (its kexec -e is proven by stage 2 running)
    # (its initrd through a FIFO; s2-marker-file proves every byte arrived)
    s1-fifo-initrd-plan s1-final-load s1-final-load-sysfs s1-disk-written
    # stage 2: booted by our kexec -e (kexec_file_load)
    s2-cmdline-marker s2-marker-file s2-disk-intact s2-video-drm-planned s2-kl-load-exit s2-kl-load-sysfs
    # kl: booted through kexec_load and our purgatory
    kl-cmdline-marker kl-marker-file kl-e820 kl-ram kl-cpus
    # kl: --reuse-video-type, --reset-vga, --console-vga on the way here
    kl-video-type kl-vga-reset kl-vga-console
    # kl: without /sys (a minimal initramfs) loads on both calls succeed and
    # -S cannot tell; kl's kexec -e into elf runs without /sys too
    kl-nosys-load-s kl-nosys-load-c kl-nosys-status kl-nosys-status-msg
    # kl -> dal -> daln: the bzImage's kernel decompressed at load time and
    # entered at vmlinux's startup_64 (the default since issue #13; s2 -> kl
    # passed --no-decompress-at-load), with our KASLR, then with nokaslr and
    # --decompress-at-load; daln loads the ELF vmlinux (kl-elf-*) into elf
    # (kl: a dry run keeps the unpacked kernel in the cache, the load takes
    # it from there; dal, a new boot, unpacks it anew)
    kl-dal-cache-kept kl-dal-load-exit kl-dal-load-sysfs kl-dal-cached kl-dal-plan
    dal-cmdline-marker dal-marker-file dal-e820 dal-ram dal-cpus dal-initrd dal-paging dal-phys-random dal-virt-random
    dal-dal-load-exit dal-dal-load-sysfs dal-dal-unpacked-now dal-dal-plan
    daln-cmdline-marker daln-marker-file daln-e820 daln-ram daln-cpus daln-initrd daln-paging daln-default-base
    kl-elf-load-exit kl-elf-load-sysfs
    # elf: booted from the ELF vmlinux; unloads, arms kdump through
    # kexec_load, and failed reloads keep the crash kernel
    elf-cmdline-marker elf-marker-file elf-utf8-cmdline
    elf-unload-file-exit elf-unload-file-sysfs elf-unload-load-exit elf-unload-load-sysfs
    elf-fifo-load-exit elf-fifo-load-warns elf-fifo-lost-msg elf-fifo-lost-sysfs
    elf-crash-load-exit elf-crash-load-sysfs
    elf-reload-text-c-exit elf-reload-text-c-msg elf-reload-text-c-still-loaded
    elf-reload-text-s-exit elf-reload-text-s-msg elf-reload-text-s-still-loaded
    elf-reload-big-c-exit elf-reload-big-c-msg elf-reload-big-c-still-loaded
    elf-reload-big-s-exit elf-reload-big-s-msg elf-reload-big-s-still-loaded
    # elf: a kexec_load crash load only the kernel refuses; ours restores
    # the recorded crash kernel, which the crash below then runs
    elf-restore-exit elf-restore-freed elf-restore-msg elf-restore-sysfs elf-restore-json
    # stage 3: the capture kernel (loaded through kexec_load)
    s3-elfcorehdr-cmdline s3-vmcore-exists s3-vmcore-elf s3-vmcore-marker s3-vmcore-dmesg s3-vmcore-dmesg-vs-kexec-tools s3-makedumpfile
    s3-memmap-cmdline
    # kdump run: every listed rejection (with a kernel and a crash kernel
    # loaded), the differential test, then a capture kernel loaded through
    # kexec_file_load, kexec_load_disabled=1, and a crash
    rej-unaligned-errno rej-unaligned-msg rej-unaligned-still-loaded
    rej-unaligned-kernel-errno rej-unaligned-kernel-msg rej-unaligned-kernel-still-loaded
    rej-outside-crash-errno rej-outside-crash-msg rej-outside-crash-still-loaded
    rej-bad-flags-errno rej-bad-flags-msg rej-bad-flags-still-loaded
    rej-bufsz-errno rej-bufsz-msg rej-bufsz-still-loaded
    rej-too-many-errno rej-too-many-msg rej-too-many-still-loaded
    rej-overlap-errno rej-overlap-msg rej-overlap-still-loaded
    rej-half-ram-errno rej-half-ram-msg rej-half-ram-still-loaded
    rej-arch-errno rej-arch-msg rej-arch-still-loaded
    rej-cmdline-file-errno rej-cmdline-file-msg rej-cmdline-file-still-loaded
    rej-cmdline-load-errno rej-cmdline-load-msg rej-cmdline-load-still-loaded
    rej-empty-errno rej-empty-msg rej-empty-still-loaded
    rej-not-kernel-errno rej-not-kernel-msg rej-not-kernel-still-loaded
    rej-wrong-arch-errno rej-wrong-arch-msg rej-wrong-arch-still-loaded
    rej-truncated-errno rej-truncated-msg rej-truncated-still-loaded
    rej-directory-errno rej-directory-msg rej-directory-still-loaded
    rej-initrd-directory-errno rej-initrd-directory-msg rej-initrd-directory-still-loaded
    rej-missing-errno rej-missing-msg rej-missing-still-loaded
    rej-missing-initrd-errno rej-missing-initrd-msg rej-missing-initrd-still-loaded
    rej-unreadable-errno rej-unreadable-msg rej-unreadable-still-loaded
    rej-initrd-unreadable-errno rej-initrd-unreadable-msg rej-initrd-unreadable-still-loaded
    rej-non-root-errno rej-non-root-msg rej-non-root-still-loaded
    rej-probe-ebadf rej-probe-etxtbsy rej-probe-no-nul
    kd1-differential kd1-differential-file kd1-crash-load-exit
    # the record of the crash load is private; a kexec_file_load crash load
    # only the kernel refuses; ours restores the recorded crash kernel,
    # which the crash (kd2) then runs
    kd1-record-private
    kd1-restore-exit kd1-restore-freed kd1-restore-msg kd1-restore-sysfs kd1-restore-json
    kd1-load-disabled-errno kd1-load-disabled-msg kd1-load-disabled-crash-kept kd1-crash-load-sysfs
    kd2-elfcorehdr-cmdline kd2-vmcore-exists kd2-vmcore-elf kd2-vmcore-marker kd2-vmcore-dmesg kd2-vmcore-dmesg-vs-kexec-tools kd2-makedumpfile
    # lockdown run
    lock-kexec-load-errno lock-kexec-load-msg lock-kernel-agrees
    lock-tampered-exit lock-tampered-msg lock-nothing-loaded
    # UEFI run
    efi1-uefi efi1-load-exit efi1-load-sysfs
    efi2-cmdline-marker efi2-marker-file efi2-uefi efi2-runtime-map efi2-cpus efi2-initrd-above-4g
    efi2-corrupt-load-exit
    # formats run (issue #11): a bomb and a cut gzip refused, a kernel kept;
    # the dry run's unpacking steps; then a chain of kexec -e, each into the
    # kernel file named (gzip, xz and zstd through -s, -c and the default;
    # vmlinux.gz through -c; a UKI with its .cmdline and a second initrd,
    # with --append; a UKI as the crash kernel)
    fmt1-first-load
    fmt1-bomb-s-exit fmt1-bomb-s-msg fmt1-bomb-s-still-loaded
    fmt1-bomb-c-exit fmt1-bomb-c-msg fmt1-bomb-c-still-loaded
    fmt1-cut-s-exit fmt1-cut-s-msg fmt1-cut-s-still-loaded
    fmt1-cut-c-exit fmt1-cut-c-msg fmt1-cut-c-still-loaded
    fmt1-gz-dry-run-steps fmt1-xz-dry-run-steps fmt1-zst-dry-run-steps
    fmt1-vmlinux-gz-dry-run-steps fmt1-uki-dry-run-steps
    fmt-gz-s-load-exit fmt2-cmdline fmt2-initrd
    fmt-xz-c-load-exit fmt3-cmdline fmt3-initrd
    fmt-zst-auto-load-exit fmt4-cmdline fmt4-initrd
    fmt-xz-s-load-exit fmt5-cmdline fmt5-initrd
    fmt-zst-c-load-exit fmt6-cmdline fmt6-initrd
    fmt-gz-auto-load-exit fmt7-cmdline fmt7-initrd
    fmt-zst-s-load-exit fmt8-cmdline fmt8-initrd
    fmt-gz-c-load-exit fmt9-cmdline fmt9-initrd
    fmt-xz-auto-load-exit fmt10-cmdline fmt10-initrd
    fmt-vmlinux-gz-c-load-exit fmt11-cmdline fmt11-initrd
    fmt-uki-own-load-exit uki-cmdline uki-initrd uki-uki-initrd uki-own-cmdline
    fmt-uki-append-load-exit u2-cmdline u2-initrd u2-uki-initrd u2-append-overrides
    u2-uki-crash-load-exit u2-uki-crash-load-sysfs
    ucap-cmdline ucap-initrd ucap-uki-initrd
    ucap-elfcorehdr-cmdline ucap-vmcore-exists ucap-vmcore-elf ucap-vmcore-marker ucap-vmcore-dmesg ucap-vmcore-dmesg-vs-kexec-tools ucap-makedumpfile
)
# Checked on the host, from the serial logs.
HOST_CHECKS=(host-qemu-exit host-kdump-qemu-exit host-s2-token host-purgatory-verified host-last-kernel-cmdline host-dal-slots
    host-efi-purgatory-halt host-formats-qemu-exit)

CMDLINE="console=ttyS0 quiet panic=-1 rdinit=/init crashkernel=256M stage=1"
LOG=$VM_OUT/serial.log
EFI_LOG=$VM_OUT/serial-efi.log
MISMATCH='purgatory: the segment at .* changed after it was loaded'

# efi_line: also stops QEMU a few seconds after the purgatory's mismatch
# report (the purgatory halts for good; waiting shows no kernel starts).
efi_line() {
    print_line "$@"
    if [[ $2 =~ $MISMATCH ]]; then
        (sleep 5; touch "$VM_OUT/efi-stopped-by-host"; kill "$(cat "$VM_OUT/qemu.pid")" 2>/dev/null) &
    fi
}

RUNS=" ${KEXEC_VM_RUNS:-bios kdump lock efi hotplug formats} "
want_run() { [[ $RUNS == *" $1 "* ]]; }
# run_of CHECK: which QEMU run prints a check.
run_of() {
    case $1 in
    host-kdump-*|rej-*|kd1-*|kd2-*|new-*) echo kdump ;;
    hp-*) echo hotplug ;;
    host-efi-*|efi1-*|efi2-*) echo efi ;;
    host-formats-*|fmt*|uki-*|u2-*|ucap-*) echo formats ;;
    lock-*) echo lock ;;
    *) echo bios ;;
    esac
}

# row_of CHECK: the scenario (a row of the suite's table) a check proves.
row_of() {
    case $1 in
    kd1-differential) echo "rules model = kernel, kexec_load (differential)" ;;
    kd1-differential-file) echo "rules model = kernel, kexec_file_load (differential)" ;;
    rej-* | kd1-load-disabled-*) echo "rejections explained, loaded kernels kept" ;;
    new-* | kd2-cma-*) echo "newer kernels: -d, --no-cma, crashkernel=…,cma, load limits" ;;
    hp-*) echo "crash hotplug (a CPU and a DIMM hot-added, crash, vmcore)" ;;
    host-kdump-* | kd1-* | kd2-*) echo "kdump through kexec_file_load (-s -p, crash, vmcore)" ;;
    s3-* | elf-crash-* | elf-reload-* | elf-restore-* | elf-fifo-*) echo "kdump through kexec_load (-c -p, crash, vmcore)" ;;
    kl-dal-* | dal-* | daln-* | host-dal-*) echo "kexec_load, kernel decompressed at load (KASLR)" ;;
    s2-kl-* | kl-* | elf-* | host-purgatory-*) echo "kexec_load + exec (our boot image, purgatory)" ;;
    s1-* | s2-* | host-s2-* | host-qemu-* | host-last-*) echo "kexec_file_load + exec, CLI contract" ;;
    lock-*) echo "lockdown" ;;
    host-efi-* | efi1-* | efi2-*) echo "UEFI (OVMF, initrd above 4 GiB, purgatory halt)" ;;
    host-formats-* | fmt* | uki-* | u2-* | ucap-*) echo "kernel files (packed, UKI)" ;;
    *) echo "other" ;;
    esac
}

echo "==> vm: building and preparing images (KEXEC_BIN=$KEXEC_BIN)"
x86=0
for r in bios kdump lock efi hotplug formats; do want_run "$r" && x86=1; done
[ "$x86" = 0 ] || { vm_build; vm_prepare; }

# bzimage_release FILE: the release a bzImage names in its setup header
# (the string at 0x200 + the 16-bit kernel_version field at 0x20e).
bzimage_release() {
    local at
    at=$(od -An -tu2 -j $((0x20e)) -N2 "$1" | tr -d ' ')
    dd if="$1" bs=1 skip=$((at + 0x200)) count=64 2>/dev/null | tr '\0' '\n' | head -n 1 | cut -d' ' -f1
}
# release_at_least RELEASE MAJOR MINOR
release_at_least() {
    local major=${1%%.*} minor=${1#*.}
    minor=${minor%%[!0-9]*}
    [ "$major" -gt "$2" ] || { [ "$major" = "$2" ] && [ "$minor" -ge "$3" ]; }
}
# What kernels after 6.1 added (newer_kernel_checks in guest/init), as this
# kernel has it: each feature proven where it exists, explained where not.
if [ "$x86" = 1 ]; then
    KREL=$(bzimage_release "$KEXEC_VM_KERNEL")
    echo "==> vm: kernel $KREL ($KEXEC_VM_KERNEL)"
    if release_at_least "$KREL" 6 8; then EXPECTED+=(new-debug-kernel-lines); else EXPECTED+=(new-debug-no-flag); fi
    if release_at_least "$KREL" 6 17; then
        EXPECTED+=(new-no-cma-load new-cma-status new-cma-kexec-load-warned kd2-cma-ram)
    else
        EXPECTED+=(new-no-cma-errno new-no-cma-msg new-no-cma-before-call new-cma-ignored)
    fi
    EXPECTED+=(new-no-cma-crash-kept new-kho-status new-luo-status)
    # The limit sysctls came after 6.1 (kernel.md: 6.3, unverified); 6.12 has them.
    if release_at_least "$KREL" 6 3; then
        EXPECTED+=(new-limit-panic-reload new-limit-panic-counted new-limit-status
            new-limit-last-crash-errno new-limit-last-crash-msg new-limit-last-crash-not-spent
            new-limit-last-crash-kept new-limit-reboot-load new-limit-unload-errno new-limit-unload-msg
            new-limit-kernel-errno new-limit-kernel-msg new-limit-kernel-kept)
    else
        EXPECTED+=(new-no-limits)
    fi
    # Crash hotplug (tests/vm/hotplug): kernels built with CONFIG_CRASH_HOTPLUG
    # (6.6+); 6.1's refusal of --hotplug is stage 1's s1-opt-hotplug.
    KCONFIG=$(dirname "$KEXEC_VM_KERNEL")/config-$KREL
    if grep -qx 'CONFIG_CRASH_HOTPLUG=y' "$KCONFIG" 2>/dev/null; then HAS_CRASH_HOTPLUG=1; else HAS_CRASH_HOTPLUG=0; fi
    if [ "$HAS_CRASH_HOTPLUG" = 1 ]; then
        for m in a b c; do
            for c in load cpu-added dimm-added status sysfs vmcore-cpus vmcore-dimm header-cpus; do
                EXPECTED+=("hp-$m-$c")
            done
        done
    fi
fi
VM_TOKEN=${VM_TOKEN:-}
echo "==> vm: BIOS run: $CMDLINE"
# A fresh ext4 disk for the sync test (written in stage 1, read in stage 2).
rm -f "$VM_OUT/disk.img"
truncate -s 64M "$VM_OUT/disk.img"
mkfs.ext4 -q -F "$VM_OUT/disk.img"
t0=$SECONDS
qemu_rc=0
: >"$LOG"
want_run bios && { vm_boot "$CMDLINE" "$LOG" print_line -drive "file=$VM_OUT/disk.img,if=virtio,format=raw" || qemu_rc=$?; }
elapsed=$((SECONDS - t0))
want_run bios && echo "==> vm: QEMU exited with $qemu_rc after ${elapsed}s; serial log: $LOG"

KD_LOG=$VM_OUT/serial-kdump.log
# The differential test of the rules model runs here: KEXEC_DIFF_CASES cases
# (default 2000; 10000 or more for a thorough run) from KEXEC_DIFF_SEED
# (default: new each run, printed so a failure can be replayed).
DIFF_SEED=${KEXEC_DIFF_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
DIFF_CASES=${KEXEC_DIFF_CASES:-2000}
# The kexec_file_load half (same seed): KEXEC_DIFF_FILE_CASES cases.
DIFF_FILE_CASES=${KEXEC_DIFF_FILE_CASES:-2000}
# crashkernel=64M,cma comes first: kernels before 6.17 take the last
# crashkernel= without a suffix they know, so they reserve 256M alone.
KD_CMDLINE="console=ttyS0 quiet panic=-1 rdinit=/init crashkernel=64M,cma crashkernel=256M stage=kd1 diffseed=$DIFF_SEED diffcases=$DIFF_CASES difffilecases=$DIFF_FILE_CASES"
echo "==> vm: kdump run (kexec_file_load): $KD_CMDLINE"
t1=$SECONDS
kd_rc=0
: >"$KD_LOG"
want_run kdump && { vm_boot "$KD_CMDLINE" "$KD_LOG" print_line || kd_rc=$?; }
want_run kdump && echo "==> vm: QEMU exited with $kd_rc after $((SECONDS - t1))s; serial log: $KD_LOG"

LOCK_LOG=$VM_OUT/serial-lockdown.log
LOCK_CMDLINE="console=ttyS0 quiet panic=-1 rdinit=/init lockdown=integrity stage=lock"
echo "==> vm: lockdown run: $LOCK_CMDLINE"
t1=$SECONDS
lock_rc=0
: >"$LOCK_LOG"
want_run lock && { vm_boot "$LOCK_CMDLINE" "$LOCK_LOG" print_line || lock_rc=$?; }
want_run lock && echo "==> vm: QEMU exited with $lock_rc after $((SECONDS - t1))s; serial log: $LOCK_LOG"

EFI_CMDLINE="console=ttyS0 quiet panic=-1 rdinit=/init stage=efi1"
echo "==> vm: UEFI run (OVMF, 6 GiB): $EFI_CMDLINE"
t1=$SECONDS
efi_rc=0
rm -f "$VM_OUT/efi-stopped-by-host"
: >"$EFI_LOG"
want_run efi && { VM_MEM=6144 vm_boot "$EFI_CMDLINE" "$EFI_LOG" efi_line -bios /usr/share/ovmf/OVMF.fd || efi_rc=$?; }
want_run efi && echo "==> vm: QEMU exited with $efi_rc after $((SECONDS - t1))s; serial log: $EFI_LOG"

# The crash hotplug run: three boots (a: kexec -c -p --hotplug, b: -s -p,
# c: -c -p, stale), each hot-adding a CPU and a DIMM through QMP before a
# crash; the guests judge themselves (tests/vm/hotplug/init).
HP_LOGS=()
hp_rc=0
if want_run hotplug && [ "${HAS_CRASH_HOTPLUG:-0}" = 1 ]; then
    t1=$SECONDS
    for m in a b c; do
        echo "==> vm: crash hotplug run $m (tests/vm/hotplug/run.sh)"
        HP_LOGS+=("$VM_OUT/hotplug/$(basename "$KEXEC_VM_KERNEL")-$m.log")
        KEXEC_BIN=$KEXEC_BIN HP_OUT=$VM_OUT/hotplug HP_QEMU_TIMEOUT=$VM_TIMEOUT HP_ACCEL=$VM_ACCEL \
            "$VM_HERE/hotplug/run.sh" "$m" "$KEXEC_VM_KERNEL" || hp_rc=$?
    done
    echo "==> vm: crash hotplug runs took $((SECONDS - t1))s (last failing exit: $hp_rc)"
elif want_run hotplug; then
    echo "==> vm: no crash hotplug run: $KCONFIG lacks CONFIG_CRASH_HOTPLUG=y"
fi

FMT_LOG=$VM_OUT/serial-formats.log
FMT_CMDLINE="console=ttyS0 quiet panic=-1 rdinit=/init crashkernel=256M stage=fmt1"
echo "==> vm: formats run (packed kernels and a UKI, each booted): $FMT_CMDLINE"
t1=$SECONDS
fmt_rc=0
: >"$FMT_LOG"
want_run formats && { VM_INITRD=$VM_OUT/formats.cpio.gz vm_boot "$FMT_CMDLINE" "$FMT_LOG" print_line || fmt_rc=$?; }
want_run formats && echo "==> vm: QEMU exited with $fmt_rc after $((SECONDS - t1))s; serial log: $FMT_LOG"
elapsed=$((SECONDS - t0))

# --- results -----------------------------------------------------------------
declare -A status=() detail=()
declare -a printed=()
read_checks "$LOG" "$KD_LOG" "$LOCK_LOG" "$EFI_LOG" "$FMT_LOG" ${HP_LOGS[@]+"${HP_LOGS[@]}"}

# host-qemu-exit: QEMU must end by itself (the last kernel's panic), not
# by the timeout.
case $qemu_rc in
124 | 137) status[host-qemu-exit]=FAIL
           detail[host-qemu-exit]="timed out after ${VM_TIMEOUT}s" ;;
0) status[host-qemu-exit]=ok ;;
*) status[host-qemu-exit]=FAIL; detail[host-qemu-exit]="qemu exit code $qemu_rc" ;;
esac

case $kd_rc in
0) status[host-kdump-qemu-exit]=ok ;;
*) status[host-kdump-qemu-exit]=FAIL; detail[host-kdump-qemu-exit]="qemu exit code $kd_rc (124/137: timed out)" ;;
esac

# host-formats-qemu-exit: the capture kernel of the UKI powered off.
case $fmt_rc in
0) status[host-formats-qemu-exit]=ok ;;
*) status[host-formats-qemu-exit]=FAIL; detail[host-formats-qemu-exit]="qemu exit code $fmt_rc (124/137: timed out)" ;;
esac

# host-s2-token: stage 2 saw the token of THIS build both on its command
# line (given by stage 1 through our --append) and in /marker.txt (only in
# initrd I, given by stage 1 through our --initrd).
s2=$(grep -a -o 'INFO s2: token cmdline=[^ ]* marker.txt=.*' "$LOG" | tail -n 1 || true)
if [ "$s2" = "INFO s2: token cmdline=$VM_TOKEN marker.txt=$VM_TOKEN" ]; then
    status[host-s2-token]=ok
else
    status[host-s2-token]=FAIL
    detail[host-s2-token]="want token $VM_TOKEN twice, got '${s2:-nothing}'"
fi

# host-last-kernel-cmdline: the kernel started from the capture kernel (no
# initrd, not quiet) printed its command line with our marker.
kcl=$(grep -a -o 'Kernel command line:.*' "$LOG" | tail -n 1 || true)
if [[ $kcl == *" noinitrdmarker=$VM_TOKEN"* ]]; then
    status[host-last-kernel-cmdline]=ok
else
    status[host-last-kernel-cmdline]=FAIL
    detail[host-last-kernel-cmdline]="want 'noinitrdmarker=$VM_TOKEN' in the last 'Kernel command line:', got '${kcl:-nothing}'"
fi

# host-dal-slots: each kernel decompressed at load (stages dal, daln) runs
# at the physical address ("Kernel code" in /proc/iomem) and virtual base
# (_text in /proc/kallsyms) the load's plan chose (DALPLAN, from kexec -d).
dal_detail=""
for st in dal daln; do
    plan=$(grep -a -o "DALPLAN $st phys=0x[0-9a-f]* text=0x[0-9a-f]*" "$LOG" | tail -n 1 || true)
    seen=$(grep -a -o "DALSEEN $st phys=0x[0-9a-f]* text=0x[0-9a-f]*" "$LOG" | tail -n 1 || true)
    if [ -z "$plan" ] || [ -z "$seen" ] || [ "${plan#DALPLAN }" != "${seen#DALSEEN }" ]; then
        dal_detail+="$st: planned '${plan:-nothing}', found '${seen:-nothing}'; "
    fi
done
if [ -z "$dal_detail" ]; then
    status[host-dal-slots]=ok
else
    status[host-dal-slots]=FAIL
    detail[host-dal-slots]=$dal_detail
fi

# host-purgatory-verified: our purgatory reported (--console-serial) that it
# checked every segment of the kexec_load boot before entering the kernel.
verified=$(grep -a -c -E 'purgatory: [0-9]+ segments verified, entering the kernel' "$LOG" || true)
if [ "$verified" -ge 1 ]; then
    status[host-purgatory-verified]=ok
else
    status[host-purgatory-verified]=FAIL
    detail[host-purgatory-verified]="no 'segments verified' report from the purgatory"
fi

# host-efi-purgatory-halt: with a segment corrupted after its digest was
# taken, the purgatory named it and halted: no kernel started after that,
# and the host had to stop QEMU.
mismatch=$(grep -a -n -E "$MISMATCH" "$EFI_LOG" | head -n 1 || true)
if [ -z "$mismatch" ]; then
    status[host-efi-purgatory-halt]=FAIL
    detail[host-efi-purgatory-halt]="no purgatory mismatch report in $EFI_LOG"
elif tail -n +"${mismatch%%:*}" "$EFI_LOG" | grep -a -q -E 'Linux version|stage=corrupted'; then
    status[host-efi-purgatory-halt]=FAIL
    detail[host-efi-purgatory-halt]="a kernel started after the purgatory's mismatch report"
elif [ ! -e "$VM_OUT/efi-stopped-by-host" ]; then
    status[host-efi-purgatory-halt]=FAIL
    detail[host-efi-purgatory-halt]="QEMU ended by itself (exit $efi_rc): the purgatory did not halt"
else
    status[host-efi-purgatory-halt]=ok
    echo "==> vm: purgatory said: ${mismatch#*] }"
fi

pass=0
fail=0
report() { # report NAME: print one result and count it
    local name=$1 st=${status[$1]:-}
    if [ "$st" = ok ]; then
        echo "vm: ok   $name"
        pass=$((pass + 1))
    else
        if [ -z "$st" ]; then
            local stage=${name%%-*}
            detail[$name]="never printed (stage ${stage#s} not reached or cut short)"
        fi
        echo "vm: FAIL $name: ${detail[$name]}"
        fail=$((fail + 1))
    fi
}

echo "==> vm: results"
declare -A known=()
for name in "${EXPECTED[@]}" "${HOST_CHECKS[@]}"; do
    want_run "$(run_of "$name")" || continue
    known[$name]=1
    report "$name"
done
# Anything the guest printed that the host does not expect (a FAIL line from
# an unplanned path, e.g. "kexec -e returned", or a renamed check) fails too.
for name in "${printed[@]}"; do
    [ -n "${known[$name]:-}" ] && continue
    [ "${status[$name]}" = ok ] && detail[$name]="unexpected check name (update EXPECTED)"
    status[$name]=FAIL
    report "$name"
done

if [ "$fail" -gt 0 ]; then
    echo "==> vm: output of failed commands: grep -a 'OUT ' $LOG"
fi
echo "==> vm: run took ${elapsed}s in QEMU (TCG)"

# The table's cells: every check counted in the scenario row it proves.
declare -A row_pass=() row_fail=()
declare -a rows=()
declare -A counted=()
for name in "${!known[@]}" "${printed[@]}"; do
    [ -z "${counted[$name]:-}" ] || continue
    counted[$name]=1
    r=$(row_of "$name")
    [ -n "${row_pass[$r]:-}" ] || { rows+=("$r"); row_pass[$r]=0; row_fail[$r]=0; }
    if [ "${status[$name]:-}" = ok ]; then
        row_pass[$r]=$((row_pass[$r] + 1))
    else
        row_fail[$r]=$((row_fail[$r] + 1))
    fi
done
for r in "${rows[@]}"; do
    if [ "${row_fail[$r]}" = 0 ]; then
        echo "$r|ok ${row_pass[$r]}"
    else
        echo "$r|FAIL ${row_fail[$r]}/$((row_pass[$r] + row_fail[$r]))"
    fi
done >"$VM_OUT/cells"
echo "vm: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
