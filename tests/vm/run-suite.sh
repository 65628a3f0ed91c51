#!/bin/bash
# tests/vm/run-suite.sh - the real-kernel test suite for our kexec(8): the
# x86_64 runs (tests/vm/x86-suite.sh) on every kernel of the matrix, and the
# arm64 suite (tests/vm/arm64/suite.sh), at most KEXEC_VM_JOBS QEMUs at a
# time (default: the number of cores; TCG keeps one core busy per guest).
#
# The matrix: KEXEC_VM_KERNELS (default "bookworm trixie sid"), each the
# kernel linux-image-amd64 depends on in that Debian suite today, fetched by
# tests/vm/setup.sh through a private apt configuration. A kernel that cannot
# be fetched fails the suite with the reason: never skipped. KEXEC_VM_KERNEL
# (a file) replaces the matrix with that one kernel.
#
# Every kernel gets the runs bios, kdump, lock, efi and hotplug (where the
# kernel has crash hotplug); the formats run (the
# kernel files: packed, UKI) runs on the first kernel only, as a job of its own. KEXEC_VM_RUNS
# picks runs ("bios kdump lock efi hotplug formats arm64 distro", all by
# default). The distro run (tests/vm/distro/suite.sh) is a job of its own:
# Debian 12 with systemd, kdump-tools and our package in place of
# kexec-tools, on its own kernel.
#
# Differential tests: KEXEC_DIFF_CASES (default 2000) raw kexec_load cases
# and KEXEC_DIFF_FILE_CASES (default 500) kexec_file_load cases per kernel.
#
# Output: each job's log in $KEXEC_VM_OUT/<kernel>/suite.out (the serial logs
# beside it), its verdict line here, then the table of scenarios x kernels
# and the last line "vm: N passed, M failed" (non-zero exit when M > 0).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=" ${KEXEC_VM_RUNS:-bios kdump lock efi hotplug formats arm64 distro} "
want_run() { [[ $RUNS == *" $1 "* ]]; }
JOBS=${KEXEC_VM_JOBS:-$(nproc)}
# The kexec_file_load differential test loads real kernels (0.3 to 0.5 s a
# case under TCG): 500 cases per kernel, 1500 over the matrix, each kernel
# with its own seed; the raw kexec_load half keeps 2000 per kernel (40 s).
export KEXEC_DIFF_FILE_CASES=${KEXEC_DIFF_FILE_CASES:-500}
mkdir -p "$VM_OUT"

x86_runs=
for r in bios kdump lock efi hotplug formats; do want_run "$r" && x86_runs+=" $r"; done

# --- the kernels ---------------------------------------------------------------
declare -a labels=() kernels=()
fetch_failed=0
if [ -n "$x86_runs" ]; then
    vm_build
    if [ -n "${KEXEC_VM_KERNEL:-}" ]; then
        labels=("$(basename "$KEXEC_VM_KERNEL" | sed 's/^vmlinuz-//')")
        kernels=("$KEXEC_VM_KERNEL")
    else
        for suite in ${KEXEC_VM_KERNELS:-bookworm trixie sid}; do
            if k=$("$VM_HERE/setup.sh" "$suite" 2>"$VM_OUT/setup-$suite.log"); then
                labels+=("$suite")
                kernels+=("$k")
                echo "==> vm: kernel of $suite: $(basename "$k" | sed 's/^vmlinuz-//')"
            else
                echo "vm: FAIL kernel-of-$suite: cannot fetch Debian $suite's amd64 kernel:"
                sed 's/^/    /' "$VM_OUT/setup-$suite.log" | tail -n 5
                fetch_failed=$((fetch_failed + 1))
            fi
        done
    fi
fi

# --- the jobs --------------------------------------------------------------------
declare -a job_names=() job_dirs=()
declare -A job_pid=() job_start=()
# x86_job I DIR RUNS: x86-suite.sh with RUNS on kernel I, in DIR
x86_job() {
    mkdir -p "$2"
    KEXEC_VM_KERNEL=${kernels[$1]} KEXEC_VM_OUT=$2 KEXEC_VM_RUNS="$3" \
        "$VM_HERE/x86-suite.sh" >"$2/suite.out" 2>&1
}
arm64_job() {
    mkdir -p "$VM_OUT/arm64"
    KEXEC_VM_OUT=$VM_OUT "$VM_HERE/arm64/suite.sh" >"$VM_OUT/arm64/suite.out" 2>&1
}
distro_job() {
    mkdir -p "$VM_OUT/distro"
    KEXEC_VM_OUT=$VM_OUT "$VM_HERE/distro/suite.sh" >"$VM_OUT/distro/suite.out" 2>&1
}
verdict_of() { # verdict_of DIR: the job's last verdict line, or nothing
    sed -n 's/^vm: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$1/suite.out" 2>/dev/null | tail -n 1
}
finish() { # finish NAME: report a finished job
    local name=$1 dir=$2 v
    v=$(verdict_of "$dir")
    if [ -n "$v" ]; then v="${v% *} passed, ${v#* } failed"; else v="no verdict line"; fi
    echo "==> vm[$name]: done after $((SECONDS - job_start[$name]))s: $v ($dir/suite.out)"
}
start_job() { # start_job NAME DIR COMMAND...: run in the background, JOBS at most
    local name=$1 dir=$2
    shift 2
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; reap; done
    echo "==> vm[$name]: started"
    job_names+=("$name")
    job_dirs+=("$dir")
    job_start[$name]=$SECONDS
    "$@" &
    job_pid[$name]=$!
}
declare -A reaped=()
reap() { # report the jobs that ended
    local i name
    for i in "${!job_names[@]}"; do
        name=${job_names[$i]}
        [ -z "${reaped[$name]:-}" ] || continue
        kill -0 "${job_pid[$name]}" 2>/dev/null && continue
        reaped[$name]=1
        finish "$name" "${job_dirs[$i]}"
    done
}

# Longest first, so the slots end together: arm64 (two kernels, two
# firmwares), then each kernel's x86 runs, then the formats run (its own job,
# on the first kernel).
t0=$SECONDS
want_run arm64 && start_job arm64 "$VM_OUT/arm64" arm64_job
runs=${x86_runs/ formats/}
for i in "${!labels[@]}"; do
    [ -z "$runs" ] || start_job "${labels[$i]}" "$VM_OUT/${labels[$i]}" x86_job "$i" "$VM_OUT/${labels[$i]}" "$runs"
done
if [[ $x86_runs == *" formats"* ]] && [ "${#labels[@]}" -gt 0 ]; then
    start_job "${labels[0]}-formats" "$VM_OUT/${labels[0]}-formats" x86_job 0 "$VM_OUT/${labels[0]}-formats" formats
fi
want_run distro && start_job distro "$VM_OUT/distro" distro_job
wait || true
reap

# --- results -------------------------------------------------------------------
pass=0
fail=$fetch_failed
for i in "${!job_names[@]}"; do
    dir=${job_dirs[$i]}
    v=$(verdict_of "$dir")
    if [ -z "$v" ]; then
        echo "vm: FAIL ${job_names[$i]}: no verdict line (see $dir/suite.out)"
        fail=$((fail + 1))
        continue
    fi
    pass=$((pass + ${v% *})) fail=$((fail + ${v#* }))
    # (the arm64 suite says "FAIL name: why", the x86_64 one "vm: FAIL …")
    grep -aE '^(vm: )?FAIL ' "$dir/suite.out" | sed -E "s/^(vm: )?FAIL /vm: FAIL [${job_names[$i]}] /" || true
done
# The distribution guest's steps and when they came (its summary).
if [ -s "$VM_OUT/distro/suite.out" ] && want_run distro; then
    sed -n '/^distro: [a-z]*: kernel/p; /^distro: [a-z]* steps/,/^vm:/{/^vm:/!p}' "$VM_OUT/distro/suite.out" | sed 's/^/vm[distro]: /'
fi

# The table: scenario rows (in the order below) x kernels.
ROWS=(
    "kexec_file_load + exec, CLI contract"
    "kexec_load + exec (our boot image, purgatory)"
    "kexec_load, kernel decompressed at load (KASLR)"
    "kdump through kexec_load (-c -p, crash, vmcore)"
    "kdump through kexec_file_load (-s -p, crash, vmcore)"
    "rejections explained, loaded kernels kept"
    "newer kernels: -d, --no-cma, crashkernel=…,cma, load limits"
    "crash hotplug (a CPU and a DIMM hot-added, crash, vmcore)"
    "rules model = kernel, kexec_load (differential)"
    "rules model = kernel, kexec_file_load (differential)"
    "lockdown"
    "UEFI (OVMF, initrd above 4 GiB, purgatory halt)"
    "kernel files (packed, UKI)"
    "other"
)
if [ "${#labels[@]}" -gt 0 ]; then
    echo "==> vm: x86_64 scenarios x kernels (checks passed, or failed/all)"
    header=$(printf '%-64s' "scenario")
    for i in "${!labels[@]}"; do
        rel=$(basename "${kernels[$i]}" | sed 's/^vmlinuz-//')
        header+=$(printf ' | %-24s' "${labels[$i]} ${rel%-amd64}")
    done
    echo "$header"
    # A row missing from ROWS still gets printed, after the others.
    declare -A listed=()
    for r in "${ROWS[@]}"; do listed[$r]=1; done
    while IFS= read -r r; do
        [ -n "${listed[$r]:-}" ] || { ROWS+=("$r"); listed[$r]=1; }
    done < <(cat "$VM_OUT"/*/cells 2>/dev/null | cut -d'|' -f1)
    for r in "${ROWS[@]}"; do
        line=$(printf '%-64s' "$r")
        any=0
        for i in "${!labels[@]}"; do
            # (no formats job for most kernels: a missing cells file is no cell)
            cell=$({ cat "$VM_OUT/${labels[$i]}/cells" "$VM_OUT/${labels[$i]}-formats/cells" 2>/dev/null || :; } |
                awk -F'|' -v r="$r" '$1 == r { print $2 }')
            [ -n "$cell" ] && any=1
            line+=$(printf ' | %-24s' "${cell:--}")
        done
        [ "$any" = 0 ] || echo "$line"
    done
    echo "==> vm: kernels: $(for i in "${!labels[@]}"; do printf '%s=%s ' "${labels[$i]}" "$(basename "${kernels[$i]}" | sed 's/^vmlinuz-//')"; done)"
fi
echo "==> vm: all jobs took $((SECONDS - t0))s (${JOBS} at a time)"
echo "vm: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
