#!/bin/bash
# tests/vm/arm64/suite.sh - the real-kernel arm64 suite: Debian's arm64
# kernel in qemu-system-aarch64 (TCG), chained kexec boots in the guest,
# for kexec-tools (kt, the baseline) and our kexec built for aarch64 (ours).
#
# Per kernel (KEXEC_ARM64_KERNELS: Debian suites whose current arm64 kernel
# setup.sh fetches, default "bookworm sid" - Debian 12's 6.1 and unstable's
# 7.x; the guest's user space is bookworm's for all, except that a newer
# suite's kernel gets that suite's makedumpfile) and per firmware
# (KEXEC_ARM64_FIRMWARE: "dt", "efi" or both, default "dt efi"):
#   dt   QEMU's direct kernel boot with its device tree
#   efi  QEMU_EFI.fd (qemu-efi-aarch64) with ACPI; the firmware starts the
#        kernel QEMU hands it (-kernel), through the EFI stub
# two QEMU runs:
#   main  s1 (QEMU) -> kt -c -l, -e -> s2 -> ours -c -l, -e -> s3 -> ours -l,
#         -e -> s4 -> kt -p, sysrq c -> capture kernel (see init); a failed
#         load of ours skips to kt's kdump, so kt is always proven
#   kd    kd (QEMU) -> ours -p, sysrq c -> capture kernel (only with ours)
# The host reads the timestamped serial logs ($OUT/serial-<fw>-<run>.log):
# every expected CHECK must be "ok", plus host-<fw>-*-qemu-exit (QEMU ended by
# itself) and host-<fw>-kernel (the guest ran the kernel meant); it prints
# "ok NAME" / "FAIL NAME: why", one timing line per kernel and firmware
# "arm64 <fw> -e → userspace: kexec-tools X s, ours Y s, ratio R (...)", the
# kernel releases that ran, and last "vm: N passed, M failed" (exit 1 when
# M > 0). Names: bookworm's are arm64-<fw>-..., another suite's
# arm64-<suite>-<fw>-... (the guest is told fw=<suite>-<fw>; logs and timing
# lines carry the same label).
#
# Environment: KEXEC_ARM64_BIN (ours, default
# target/aarch64-unknown-linux-gnu/release/kexec; when missing only kt's and
# the host's checks are expected), KEXEC_ARM64_FIRMWARE, KEXEC_ARM64_MEM
# (MiB, default 1024), KEXEC_ARM64_TIMEOUT (seconds per QEMU run, default
# 900: unstable's main run takes ~530 s, most of it kexec-tools' capture
# kernel searching an 850 MB vmcore), KEXEC_ARM64_IMAGE (an arm64 Image instead of the first suite's kernel;
# then only that suite runs), KEXEC_VM_OUT (default target/vm;
# this suite writes to its arm64/ subdirectory), KEXEC_VM_CACHE.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../serial.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${KEXEC_VM_OUT:-$ROOT/target/vm}/arm64
export KEXEC_ARM64_BIN=${KEXEC_ARM64_BIN:-$ROOT/target/aarch64-unknown-linux-gnu/release/kexec}
FIRMWARES=${KEXEC_ARM64_FIRMWARE:-dt efi}
KERNELS=${KEXEC_ARM64_KERNELS:-bookworm sid}
[ -z "${KEXEC_ARM64_IMAGE:-}" ] || KERNELS=${KERNELS%% *}
COMBOS=
for k in $KERNELS; do for fw in $FIRMWARES; do COMBOS+=" $k:$fw"; done; done
MEM=${KEXEC_ARM64_MEM:-1024}
TIMEOUT=${KEXEC_ARM64_TIMEOUT:-900}
EFI_FD=/usr/share/qemu-efi-aarch64/QEMU_EFI.fd

mkdir -p "$OUT"
HAVE_OURS=0
[ -x "$KEXEC_ARM64_BIN" ] && HAVE_OURS=1
# The guest's test instruments, cross-built beside ours
# (KEXEC_CROSS_EXAMPLES="kexec:kexec_corrupt kexec-cli:differential").
export KEXEC_ARM64_EXAMPLES=${KEXEC_ARM64_EXAMPLES:-$ROOT/target/aarch64-unknown-linux-gnu/instruments/examples}
EXAMPLES=$KEXEC_ARM64_EXAMPLES
HAVE_DIFF=0
[ -x "$EXAMPLES/differential" ] && HAVE_DIFF=1
HAVE_CORRUPT=0
[ -x "$EXAMPLES/kexec_corrupt" ] && HAVE_CORRUPT=1
# The corrupted-segment run goes with the first firmware only: one halt proves
# the purgatory's check; the firmware does not change it.
BAD_FW=${FIRMWARES%% *}
DIFF_SEED=${KEXEC_DIFF_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
DIFF_CASES=${KEXEC_ARM64_DIFF_CASES:-2000}
FIXED_KERNEL=${KEXEC_ARM64_IMAGE:-}
declare -a RAN=()

# use_kernel SUITE: SUITE's kernel and packages (setup.sh, which also points
# packages.list at them), the guest's initramfs, kver and EXTRA
use_kernel() {
    local k
    k=$("$HERE/setup.sh" "$1")
    KEXEC_ARM64_IMAGE=${FIXED_KERNEL:-$k}
    export KEXEC_ARM64_IMAGE
    "$HERE/build-initramfs.sh" "$OUT"
    TOKEN=$(cat "$OUT/marker.token")
    kver=$(basename "$KEXEC_ARM64_IMAGE" | sed 's/^vmlinuz-//')
    # Debian 13+ (6.12+) oopses in trans_pgd_create_copy on kexec_load when
    # the CPU has LPA2; 6.1 needs nothing.
    EXTRA=
    case $kver in
    [0-5].* | 6.[0-9].* | 6.1[01].*) ;;
    *) EXTRA=" lpa2=off" ;;
    esac
    RAN+=("$1: $kver ($KEXEC_ARM64_IMAGE)")
}

# boot LOG CMDLINE [QEMU-ARG...]: one QEMU run until the guest powers off,
# a kernel panics (panic=-1, -no-reboot) or $TIMEOUT runs out; every serial
# line stamped with host seconds since the start, to LOG and stdout.
boot() {
    local log=$1 cmdline=$2 start
    shift 2
    : >"$log"
    start=${EPOCHREALTIME/./}
    set +e
    timeout --kill-after=10 "$TIMEOUT" \
        qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on -m "$MEM" -smp 1 \
            -nographic -no-reboot -nic none "$@" \
            -kernel "$OUT/Image" -initrd "$OUT/stage1.cpio.gz" -append "$cmdline" </dev/null 2>&1 |
        stamp_serial "$log" print_line "$start"
    local rc=${PIPESTATUS[0]}
    set -e
    return "$rc"
}

# boot_until_halt LOG PATTERN CMDLINE [QEMU-ARG...]: boot, and stop QEMU 5 s
# after PATTERN shows in LOG (a halted purgatory never powers off). Leaves
# LOG.stopped-by-host when it had to.
boot_until_halt() {
    local log=$1 pattern=$2 pidfile=$OUT/qemu-halt.pid watcher rc=0
    shift 2
    rm -f "$pidfile" "$log.stopped-by-host"
    (
        for _ in $(seq 1 "$TIMEOUT"); do
            sleep 1
            if grep -aq -- "$pattern" "$log" 2>/dev/null; then
                sleep 5
                [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null && touch "$log.stopped-by-host"
                exit 0
            fi
        done
    ) &
    watcher=$!
    boot "$log" "$@" -pidfile "$pidfile" || rc=$?
    kill "$watcher" 2>/dev/null
    wait "$watcher" 2>/dev/null
    return "$rc"
}

# stamp_of LOG PATTERN: the host seconds of the first line matching PATTERN
stamp_of() { grep -a -m 1 -E "$2" "$1" | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'; }
# seconds_between LOG FROM TO: TO's stamp minus FROM's, or empty
seconds_between() {
    local a b
    a=$(stamp_of "$1" "$2")
    b=$(stamp_of "$1" "$3")
    [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b - a }'
}

pass=0
fail=0
result() { # result NAME STATUS [DETAIL]
    if [ "$2" = ok ]; then
        echo "ok $1"
        pass=$((pass + 1))
    else
        echo "FAIL $1: $3"
        fail=$((fail + 1))
    fi
}

# check_log FW LOG... : judge the CHECK lines of FW's logs against the list
check_logs() {
    local fw=$1 name st det line
    shift
    local -a expected=(kt-file-refused kt-load-exit kt-load-cmdline kt-load-initrd
        kt-kdump-load-exit kt-vmcore-exists kt-vmcore-elf)
    # Judged when printed: the guest cannot search kexec-tools' vmcore when
    # its bogus kernel-text header (2.0.25 on 6.1) hides the RAM segments.
    local -a optional=(kt-vmcore-token)
    [ "$HAVE_OURS" = 1 ] && expected+=(ours-version ours-file-refused ours-file-refused-msg
        ours-load-exit ours-load-cmdline ours-load-initrd
        ours-default-exit ours-default-cmdline ours-default-initrd
        ours-reject-first-load ours-reject-missing-initrd ours-reject-empty-initrd
        ours-reject-not-a-kernel ours-reject-crash-too-big ours-reject-no-room
        ours-reject-x86-option ours-reject-args-none ours-reject-kept-loaded
        ours-gz-exit ours-gz-cmdline ours-gz-initrd
        ours-zboot-exit ours-zboot-cmdline ours-zboot-initrd
        ours-kdump-load-exit ours-vmcore-exists ours-vmcore-elf ours-vmcore-size
        ours-vmcore-token)
    # Debian 12's makedumpfile must read our dump; makedumpfile cannot read
    # any 52-bit-VA kernel's (7.x), so there it is judged only when it tries.
    if [ "$HAVE_OURS" = 1 ]; then
        case $fw in dt | efi) expected+=(ours-makedumpfile) ;; *) optional+=(ours-makedumpfile) ;; esac
    fi
    [ "$HAVE_OURS" = 1 ] && [ "$HAVE_DIFF" = 1 ] && expected+=(ours-differential)
    [ "$HAVE_OURS" = 1 ] && [ "$HAVE_CORRUPT" = 1 ] && [ "$fw" = "$BAD_FW" ] && expected+=(ours-corrupt-load-exit)
    declare -A status=() detail=() known=()
    declare -a printed=()
    read_checks "$@"
    for name in "${expected[@]}"; do
        name=arm64-$fw-$name
        known[$name]=1
        st=${status[$name]:-}
        det=${detail[$name]:-never printed (its stage was not reached)}
        result "$name" "${st:-FAIL}" "$det"
    done
    for name in "${optional[@]}"; do
        name=arm64-$fw-$name
        known[$name]=1
        st=${status[$name]:-}
        if [ -n "$st" ]; then result "$name" "$st" "${detail[$name]:-}"; else echo "info $name: not judged (see INFO in the log)"; fi
    done
    for name in "${printed[@]}"; do
        [ -n "${known[$name]:-}" ] && continue
        det=${detail[$name]:-unexpected check name}
        result "$name" FAIL "$det"
    done
}

t_all=$SECONDS
declare -a timing=()
cur_kernel=
for combo in $COMBOS; do
    ksuite=${combo%%:*}
    fw=${combo#*:}
    [ "$ksuite" = "$cur_kernel" ] || { use_kernel "$ksuite"; cur_kernel=$ksuite; }
    case $fw in
    dt) qemu_fw=() ;;
    efi) [ -s "$EFI_FD" ] || { echo "arm64: $EFI_FD missing (qemu-efi-aarch64)" >&2; exit 1; }
         qemu_fw=(-bios "$EFI_FD") ;;
    *) echo "arm64: unknown firmware '$fw' (dt or efi)" >&2; exit 1 ;;
    esac
    [ "$ksuite" = bookworm ] || fw=$ksuite-$fw # the label in names and logs
    base="console=ttyAMA0 panic=-1 rdinit=/init crashkernel=256M fw=$fw ram=$MEM$EXTRA"
    main=$OUT/serial-$fw-main.log
    kd=$OUT/serial-$fw-kd.log
    : >"$kd"

    echo "==> arm64 $fw main run: $base stage=s1"
    t=$SECONDS
    rc=0
    boot "$main" "$base stage=s1" "${qemu_fw[@]}" || rc=$?
    secs_main=$((SECONDS - t))
    echo "==> arm64 $fw main run: QEMU exited with $rc after ${secs_main}s; serial log: $main"
    main_rc=$rc

    secs_kd=0
    kd_rc=0
    if [ "$HAVE_OURS" = 1 ]; then
        echo "==> arm64 $fw kd run: $base stage=kd"
        t=$SECONDS
        boot "$kd" "$base stage=kd diffseed=$DIFF_SEED diffcases=$DIFF_CASES" "${qemu_fw[@]}" || kd_rc=$?
        secs_kd=$((SECONDS - t))
        echo "==> arm64 $fw kd run: QEMU exited with $kd_rc after ${secs_kd}s; serial log: $kd"
    fi

    bad=$OUT/serial-$fw-bad.log
    : >"$bad"
    if [ "$HAVE_OURS" = 1 ] && [ "$HAVE_CORRUPT" = 1 ] && [ "$fw" = "$BAD_FW" ]; then
        echo "==> arm64 $fw bad run: $base stage=bad1"
        t=$SECONDS
        boot_until_halt "$bad" "not starting the next kernel" "$base stage=bad1" "${qemu_fw[@]}" || true
        echo "==> arm64 $fw bad run: $((SECONDS - t))s; serial log: $bad"
    fi

    echo "==> arm64 $fw results"
    check_logs "$fw" "$main" "$kd" "$bad"
    if [ "$main_rc" = 0 ]; then result "arm64-$fw-host-main-qemu-exit" ok
    else result "arm64-$fw-host-main-qemu-exit" FAIL "QEMU exit code $main_rc (124/137: timed out after ${TIMEOUT}s)"; fi
    if [ "$HAVE_OURS" = 1 ]; then
        if [ "$kd_rc" = 0 ]; then result "arm64-$fw-host-kd-qemu-exit" ok
        else result "arm64-$fw-host-kd-qemu-exit" FAIL "QEMU exit code $kd_rc (124/137: timed out after ${TIMEOUT}s)"; fi
    fi
    if [ "$HAVE_OURS" = 1 ] && [ "$HAVE_CORRUPT" = 1 ] && [ "$fw" = "$BAD_FW" ]; then
        # The purgatory names the segment and halts; no kernel starts after it.
        halt=$(grep -a -m1 -E 'purgatory: segment [0-9]+ at 0x[0-9a-f]+-0x[0-9a-f]+ changed after it was loaded \(SHA-256 mismatch\)' "$bad" || true)
        after=$(sed -n '/INFO exec corrupt/,$p' "$bad" | grep -a -c -e 'INFO userspace' -e 'Booting Linux' || true)
        if [ -n "$halt" ] && [ "${after:-0}" = 0 ] && [ -e "$bad.stopped-by-host" ]; then
            result "arm64-$fw-host-purgatory-halt" ok
            echo "info arm64-$fw-host-purgatory-halt: ${halt#*] }"
        else
            result "arm64-$fw-host-purgatory-halt" FAIL "mismatch line: '${halt:-none}', kernels started after -e: ${after:-0}, stopped by host: $([ -e "$bad.stopped-by-host" ] && echo yes || echo no)"
        fi
    fi
    kt_s=$(seconds_between "$main" 'INFO exec kt-load$' 'INFO userspace s2$' || true)
    ours_s=$(seconds_between "$main" 'INFO exec ours-load$' 'INFO userspace s3$' || true)
    ratio=n/a
    [ -n "$kt_s" ] && [ -n "$ours_s" ] && ratio=$(awk -v a="$ours_s" -v b="$kt_s" 'BEGIN { printf "%.2f", a / b }')
    if [[ $(basename "$KEXEC_ARM64_IMAGE") != vmlinuz-* ]]; then echo "info arm64-$fw-host-kernel: not judged (no release in the file name)"
    elif grep -a -q "INFO kernel $kver," "$main"; then result "arm64-$fw-host-kernel" ok
    else result "arm64-$fw-host-kernel" FAIL "no 'INFO kernel $kver,' in $main"; fi
    timing+=("arm64 $fw -e → userspace: kexec-tools ${kt_s:-n/a} s, ours ${ours_s:-n/a} s, ratio $ratio (runs: main ${secs_main}s, kd ${secs_kd}s; kernel $kver)")
done

for l in "${timing[@]}"; do echo "==> $l"; done
for l in "${RAN[@]}"; do echo "==> arm64 kernel $l"; done
echo "==> arm64: $((SECONDS - t_all))s (TCG) for kernels × firmwares: $COMBOS"
echo "vm: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
