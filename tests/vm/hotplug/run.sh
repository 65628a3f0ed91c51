#!/bin/bash
# tests/vm/hotplug/run.sh - one QEMU boot of the crash-hotplug proof.
# Usage: run.sh MODE [KERNEL]     MODE: a | b | c | none (see ./init)
# Environment: HP_APPEND (more guest cmdline words, e.g. hpdimm=0),
# HP_TAG (log name suffix), HP_OUT (output folder), HP_MACHINE, HP_ACCEL, HP_CPU,
# HP_SMP, HP_MEM, HP_QEMU_TIMEOUT (s).
# Builds target/vm-hotplug/hp.cpio.gz, boots KERNEL (default: Debian sid's
# 7.2 from ~/.cache/kexec-vm) with crashkernel=256M, answers the guest's
# hotplug requests over QMP (run.py) and prints the HP lines and a summary
# (summary.py). Log: target/vm-hotplug/<kernel>-<MODE>.log
#
# Why these QEMU options:
#  - Linux since the fix of Nov 2025 (lore 20251111145357.4031846-1-yazen.ghannam@amd.com,
#    arch/x86/kernel/acpi/boot.c acpi_is_processor_usable) counts a MADT LAPIC
#    with Enabled=0 as a hotplug CPU only when a hypervisor was detected. TCG
#    is no hypervisor the kernel knows, so -smp 1,maxcpus=4 alone gives
#    "Allowing 1 present CPUs plus 0 hotplug CPUs". The VMware backdoor port
#    (vmport=on), an SMBIOS serial starting "VMware" and no CPUID hypervisor
#    bit make arch/x86/kernel/cpu/vmware.c vmware_platform() detect VMware.
#  - one socket per CPU so socket-id alone names the hot-added CPU.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
MODE=$1
KERNEL=${2:-$(ls /root/.cache/kexec-vm/amd64/linux-image-7.2.13*/boot/vmlinuz-* | head -1)}
OUT=${HP_OUT:-$ROOT/target/vm-hotplug}
"$HERE/build.sh" "$KERNEL" "$OUT"
LOG=$OUT/$(basename "$KERNEL")-$MODE${HP_TAG:-}.log
export HP_MACHINE=${HP_MACHINE:-pc,vmport=on}
export HP_CPU=${HP_CPU:-max,-avx,-avx2,-hypervisor}
export HP_SMP=${HP_SMP:-1,sockets=4,cores=1,threads=1,maxcpus=4}
export HP_MEM=${HP_MEM:-1536,slots=4,maxmem=4G}
python3 "$HERE/run.py" "$LOG" "$KERNEL" "$OUT/hp.cpio.gz" \
    "console=ttyS0 panic=-1 rdinit=/init crashkernel=256M loglevel=4 hpmode=$MODE ${HP_APPEND:-}" \
    -smbios type=1,serial=VMware-kexec-hotplug
grep -E 'HP |HOST |Kernel panic|BUG' "$LOG" | grep -v 'HOST qemu:' || true
python3 "$HERE/summary.py" "$LOG"
