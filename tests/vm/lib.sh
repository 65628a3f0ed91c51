# shellcheck shell=bash
# tests/vm/lib.sh - shared by run-suite.sh and demo.sh (source it, bash only).
#
# Environment (all optional):
#   KEXEC_BIN         binary under test (default target/release/kexec)
#   KEXEC_VM_KERNEL   kernel image to boot (default: what setup.sh prints)
#   KEXEC_VM_OUT      output directory (default target/vm)
#   KEXEC_VM_TIMEOUT  wall-clock limit for one QEMU run, seconds (default 900)
#   KEXEC_VM_CACHE    download cache of setup.sh (default ~/.cache/kexec-vm)
#   KEXEC_VM_CPU      QEMU -cpu (default max,-avx,-avx2; see VM_CPU)
#   KEXEC_VM_ACCEL    QEMU -accel (default tcg,thread=single; see VM_ACCEL)

. "$(dirname "${BASH_SOURCE[0]}")/serial.sh"

VM_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_ROOT=$(cd "$VM_HERE/../.." && pwd)
VM_OUT=${KEXEC_VM_OUT:-$VM_ROOT/target/vm}
VM_TIMEOUT=${KEXEC_VM_TIMEOUT:-900}
VM_DEFAULT_BIN=$VM_ROOT/target/release/kexec
# QEMU's CPU: "max" without AVX/AVX2, which TCG emulates slowly and newer
# kernels use for hashing kexec_file_load's segments: 60 differential file
# loads on Debian's 7.2 took 56 s with them, 26 s without. No kexec behaviour
# depends on vector instructions (KEXEC_VM_CPU overrides).
VM_CPU=${KEXEC_VM_CPU:-max,-avx,-avx2}
# QEMU's accelerator: TCG (KVM is not usable on our CI machines) with one
# thread for all vCPUs. With QEMU's default, multi-threaded TCG, Debian's
# 7.2 hung in early boot, silent after "hpet0: 3 comparators" (the suite's
# "silent after SeaBIOS" with quiet), in 1 of 194 boots of a 2-vCPU guest
# beside another, and twice in recent CI runs; 6.12 and 7.2 oopsed on
# an int3 on the second CPU in code the kernel had just patched (text_poke),
# a cross-vCPU self-modifying-code race one thread cannot have. With
# thread=single: no hang in 200 boots, each quicker (4.2 s against 5).
VM_ACCEL=${KEXEC_VM_ACCEL:-tcg,thread=single}
export KEXEC_BIN=${KEXEC_BIN:-$VM_DEFAULT_BIN}

# vm_build: build our kexec (and the test instrument kexec_corrupt) unless
# another binary was named with KEXEC_BIN. Cargo makes this quick when
# nothing changed.
vm_build() {
    [ "$KEXEC_BIN" = "$VM_DEFAULT_BIN" ] || return 0
    # The binaries alone first, so the shipped kexec is built without the
    # examples' dev-dependencies (the library's test double).
    (cd "$VM_ROOT" && cargo build --release --locked --workspace --bins &&
        cargo build --profile instruments --locked --workspace --examples)
}

# vm_prepare: make sure the host is set up, then build fresh images (a new
# marker token every time) into $VM_OUT.
vm_prepare() {
    if [ -z "${KEXEC_VM_KERNEL:-}" ]; then
        KEXEC_VM_KERNEL=$("$VM_HERE/setup.sh")
    fi
    export KEXEC_VM_KERNEL
    "$VM_HERE/build-initramfs.sh" "$VM_OUT"
    # shellcheck disable=SC2034 # used by the scripts that source this
    VM_TOKEN=$(cat "$VM_OUT/marker.token")
}

# vm_boot CMDLINE LOG HANDLER [QEMU-ARG...]: boot $VM_OUT/vmlinuz with
# stage1.cpio.gz in QEMU ($VM_ACCEL) until the guest powers off, a kernel
# panics (panic=-1 and -no-reboot end QEMU), HANDLER kills QEMU (its pid is
# in $VM_OUT/qemu.pid) or $VM_TIMEOUT runs out. $VM_MEM MiB of RAM (default
# 1536), $VM_SMP CPUs (default 2), $VM_INITRD (default stage1.cpio.gz);
# extra QEMU arguments, such as -bios for UEFI, follow HANDLER. Every serial
# line, stripped of its CR and prefixed with the host time since the start,
# is appended to LOG and passed to HANDLER as "HANDLER STAMP LINE". Returns
# QEMU's (or timeout's) exit code.
vm_boot() {
    local cmdline=$1 log=$2 handler=$3 start
    shift 3
    : >"$log"
    rm -f "$VM_OUT/qemu.pid"
    start=${EPOCHREALTIME/./}
    set +e                         # callers run with set -e; restored below
    timeout --kill-after=10 "$VM_TIMEOUT" \
        qemu-system-x86_64 -accel "$VM_ACCEL" -cpu "$VM_CPU" -m "${VM_MEM:-1536}" -smp "${VM_SMP:-2}" \
            -nographic -no-reboot -nic none -pidfile "$VM_OUT/qemu.pid" "$@" \
            -kernel "$VM_OUT/vmlinuz" -initrd "${VM_INITRD:-$VM_OUT/stage1.cpio.gz}" \
            -append "$cmdline" </dev/null 2>&1 |
        stamp_serial "$log" "$handler" "$start"
    local rc=${PIPESTATUS[0]}
    set -e
    return "$rc"
}
