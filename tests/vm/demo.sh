#!/bin/bash
# tests/vm/demo.sh - show the main job end to end, narrated.
#
# Boots Debian's kernel in QEMU; inside it, OUR kexec loads the same kernel
# with a different initrd (which holds /marker.txt) and a command line with
# a marker, then "kexec -e" jumps into it without going through firmware.
# The second kernel prints its /proc/cmdline and /marker.txt.
#
# Usage: [KEXEC_BIN=path/to/kexec] tests/vm/demo.sh
# (see lib.sh for the other environment variables)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOG=$VM_OUT/demo-serial.log

# narrate STAMP LINE: print the guest's DEMO lines, with a host-side "==>"
# heading before the ones that start a new step. Kernel panics and CHECK
# lines are shown too (they mean something went wrong); the full console is
# in $LOG.
narrate() {
    local stamp=$1 line=$2
    case $line in
    *"DEMO first kernel "*" is up"*)
        echo "==> the first kernel is up (booted by QEMU from stage1.cpio.gz)" ;;
    *'DEMO $ kexec -s -l'*)
        echo "==> loading the second kernel with OUR kexec: kexec_file_load (-s),"
        echo "    initrd I (it holds /marker.txt), a new command line with kexecmarker=" ;;
    *'DEMO $ kexec -e'*)
        echo "==> kexec -e: jumping into the loaded kernel, no firmware, no bootloader" ;;
    *"DEMO second kernel "*" is up"*)
        echo "==> the second kernel is up, started by our kexec" ;;
    esac
    case $line in
    *DEMO\ *) echo "    $stamp guest: ${line#*DEMO }" ;;
    *"Kernel panic"* | *CHECK\ *) echo "    $stamp console: $line" ;;
    esac
}

echo "==> building kexec (cargo build --release)"
vm_build 2>&1 | tail -n 1 | sed 's/^/    /'
echo "==> building the guest images (binary under test: $KEXEC_BIN)"
mkdir -p "$VM_OUT"
if ! vm_prepare >"$VM_OUT/demo-build.log" 2>&1; then
    cat "$VM_OUT/demo-build.log"
    exit 1
fi
echo "    kernel: $KEXEC_VM_KERNEL"
echo "    token for this run: $VM_TOKEN (in /marker.txt of initrd I only)"
echo "==> booting the first kernel in QEMU (software emulation, takes ~10 s)"
rc=0
vm_boot "console=ttyS0 quiet panic=-1 rdinit=/init stage=demo1" "$LOG" narrate || rc=$?
echo "==> QEMU exited ($rc); full serial console: $LOG"

# The verdict, from the log: the second kernel saw our command line and our
# initrd.
cmdline=$(grep -a -o 'DEMO second kernel: /proc/cmdline: .*' "$LOG" || true)
marker=$(grep -a -o 'DEMO second kernel: /marker.txt: .*' "$LOG" || true)
if [[ $cmdline == *" kexecmarker=$VM_TOKEN"* && $marker == *": $VM_TOKEN" ]]; then
    echo "==> success: the second kernel's command line carries kexecmarker=$VM_TOKEN"
    echo "    and its /marker.txt (from the initrd we passed) holds the same token"
else
    echo "==> FAILED: the second kernel did not report kexecmarker=$VM_TOKEN and /marker.txt = $VM_TOKEN"
    exit 1
fi
