#!/bin/bash
# tests/purgatory-aarch64/run.sh - our arm64 purgatory on bare-metal QEMU, no kernel.
#
#   bash tests/purgatory-aarch64/run.sh     # prints ok/FAIL lines; non-zero on any FAIL
#
# What it proves: the arm64 purgatory (crates/purgatory-aarch64) as the library
# builds, relocates and fills it (crates/kexec/src/arch/aarch64/purgatory.rs,
# driven by crates/kexec/examples/purgatory_aarch64_image.rs), started the way
# the kernel's relocate_kernel starts it (MMU and caches off, at its entry,
# loaded at 0x48000000), on qemu-system-aarch64 -M virt -cpu max:
#   * good-el1, good-el2: it hashes a "kernel" segment (0x40200000) and a "dtb"
#     segment (0x44000000) with the ARMv8 SHA-256 instructions, finds the
#     digests the loader took on the host (sha2 crate) and enters the kernel
#     with x0 = the dtb address and x1 = x2 = x3 = 0 - the tiny hand-assembled
#     kernel prints exactly that on the PL011 - at EL1 (CPACR_EL1 resets with
#     FP/SIMD trapped, so its enable is needed) and at EL2 (virtualization=on):
#     good-el2 as QEMU resets EL2, good-el2-trap-fp after a prologue that
#     traps FP/SIMD with CPTR_EL2.TFP, good-el2-vhe after a prologue that sets
#     HCR_EL2.E2H (CPTR_EL2 in CPACR layout, FPEN clear: trapped);
#   * software-sha, software-sha-corrupt: the same with the purgatory's read of
#     ID_AA64ISAR0_EL1 patched to 0 (as on a CPU without the instructions),
#     so the portable SHA-256 rounds, as compiled for aarch64, do the checks;
#   * corrupt: with one byte of the kernel flipped after the digest was taken,
#     it prints the mismatch line naming segment 0 and its range, halts, and
#     the kernel never runs;
#   * skip-checks: with FLAG_SKIP_CHECKS (kexec -i) the same flipped kernel runs.
# Also runs the library's arm64 unit tests with the purgatory built in (its relocation,
# parameter block, our SHA-256 against the sha2 crate; the kexec_load planner's
# placement, device tree and crash layout checks).
# Not proven here: a real kernel's relocate_kernel entering it (the VM suite's
# job), a real CPU without the SHA-256 instructions (every QEMU arm64 CPU has
# them; software-sha patches the feature test instead), and strict alignment (QEMU 7.2 does not fault on unaligned Device-memory
# accesses; the image is built with +strict-align).
#
# Needs: tests/cross/aarch64.sh's toolchain (run first when missing),
# qemu-system-aarch64 (installed here when missing, as root). Nothing runs
# on this machine but QEMU.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${KEXEC_CROSS_CACHE:-/var/tmp/kexec-cross}
TARGET_DIR=$REPO/target/purgatory-aarch64
WORK=$(mktemp -d /tmp/purgatory-aarch64.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
failures=0

ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }
die() { echo "purgatory-aarch64: error: $*" >&2; exit 1; }

# A fresh machine has no arm64 QEMU yet (tests/vm/arm64/setup.sh, which
# also installs it, runs after this): install it here when we may.
if ! command -v qemu-system-aarch64 >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "purgatory-aarch64: apt-get install qemu-system-arm" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-arm >&2 ||
        { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qemu-system-arm >&2; }
fi
command -v qemu-system-aarch64 >/dev/null || die "no qemu-system-aarch64 (apt-get install qemu-system-arm)"

# The cross toolchain's rustc wrapper: aarch64 core library for the purgatory,
# x86_64 std for the host library and example.
wrapper() { for w in "$CACHE"/rust-web-*/rustc; do [ -e "$(dirname "$w")/.complete" ] && echo "$w"; done | tail -n1; }
RUSTC_WRAPPED=$(wrapper)
if [ -z "$RUSTC_WRAPPED" ]; then
    echo "purgatory-aarch64: no cross toolchain yet; running tests/cross/aarch64.sh" >&2
    bash "$REPO/tests/cross/aarch64.sh" >/dev/null || die "tests/cross/aarch64.sh failed"
    RUSTC_WRAPPED=$(wrapper)
    [ -n "$RUSTC_WRAPPED" ] || die "no rustc wrapper under $CACHE after tests/cross/aarch64.sh"
fi

cargo_env=(env RUSTC="$RUSTC_WRAPPED" KEXEC_PURGATORY_AARCH64=1
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
    CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}")

# --- arm64 unit tests with the purgatory built in (planner, crash, purgatory) ---
if (cd "$REPO" && "${cargo_env[@]}" cargo test --offline --locked -p kexec --lib \
    --target-dir "$TARGET_DIR" arch::aarch64) >"$WORK/unit.log" 2>&1 &&
    grep -q "with_the_blob::blob_is_a_relocatable_aarch64_purgatory ... ok" "$WORK/unit.log"; then
    ok "unit-tests ($(grep -o '[0-9]* passed' "$WORK/unit.log"))"
else
    tail -n 30 "$WORK/unit.log"
    fail unit-tests "cargo test arch::aarch64 (log above)"
fi

# --- the image builder -------------------------------------------------------
(cd "$REPO" && "${cargo_env[@]}" cargo build --offline --locked -p kexec \
    --example purgatory_aarch64_image --target-dir "$TARGET_DIR") >"$WORK/build.log" 2>&1 ||
    { tail -n 30 "$WORK/build.log"; die "building the example failed"; }
IMAGE=$TARGET_DIR/debug/examples/purgatory_aarch64_image

# run NAME MACHINE [example options]: builds the image, boots it, leaves the
# serial output (CR stripped) in $WORK/NAME.out.
run() {
    local name=$1 machine=$2
    shift 2
    local dir=$WORK/$name args=() entry="" what addr
    "$IMAGE" "$dir" "$@" >"$dir.list" || { fail "$name" "purgatory_aarch64_image failed"; return 1; }
    while read -r what a b; do
        case $what in
        load) args+=(-device "loader,file=$a,addr=$b,force-raw=on") ;;
        entry) entry=$a ;;
        esac
    done <"$dir.list"
    [ -n "$entry" ] || { fail "$name" "no entry address from purgatory_aarch64_image"; return 1; }
    : >"$dir.raw"
    # Bare metal: no firmware, no kernel; the last loader sets CPU 0's PC.
    # No network card: virt's default one needs ipxe-qemu's option ROM, which
    # a --no-install-recommends qemu-system-arm lacks (QEMU then won't start).
    qemu-system-aarch64 -M "$machine" -cpu max -m 1024 -display none -monitor none -nic none \
        -serial "file:$dir.raw" -no-reboot "${args[@]}" \
        -device "loader,addr=$entry,cpu-num=0" 2>"$dir.err" &
    local pid=$! waited=0
    # Until the kernel speaks or the purgatory refuses (then a second more,
    # to see that nothing follows), at most ~20 s.
    while [ "$waited" -lt 40 ] && kill -0 "$pid" 2>/dev/null; do
        if grep -q "kernel entered\|not starting the next kernel" "$dir.raw"; then
            sleep 1
            break
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    tr -d '\r' <"$dir.raw" >"$WORK/$name.out"
}

# expect NAME: fails NAME unless each "+LINE" is a whole line of the output
# and no "-TEXT" occurs in it.
expect() {
    local name=$1 out=$WORK/$1.out why=""
    shift
    for want in "$@"; do
        case $want in
        +*) grep -qxF -- "${want#+}" "$out" || why="no line '${want#+}'" ;;
        -*) ! grep -qF -- "${want#-}" "$out" || why="unexpected '${want#-}'" ;;
        esac
        [ -z "$why" ] || break
    done
    if [ -z "$why" ]; then
        ok "$name"
    else
        sed 's/^/    | /' "$out"
        fail "$name" "$why"
    fi
}

KERNEL_LINE="kernel entered x0=0x0000000044000000 x1-x3=0"
MISMATCH="purgatory: segment 0 at 0x40200000-0x402000ee changed after it was loaded (SHA-256 mismatch); not starting the next kernel"

run good-el1 virt && expect good-el1 \
    "+purgatory: started at EL1" \
    "+purgatory: verifying 2 segments (SHA-256 instructions)" \
    "+purgatory: all segments verified" \
    "+purgatory: entering the kernel at 0x40200000 with x0=0x44000000" \
    "+$KERNEL_LINE"
run good-el2 virt,virtualization=on && expect good-el2 \
    "+purgatory: started at EL2" \
    "+purgatory: all segments verified" \
    "+$KERNEL_LINE"
run good-el2-trap-fp virt,virtualization=on --el2-trap-fp && expect good-el2-trap-fp \
    "+purgatory: started at EL2" \
    "+purgatory: all segments verified" \
    "+$KERNEL_LINE"
run good-el2-vhe virt,virtualization=on --el2-vhe && expect good-el2-vhe \
    "+purgatory: started at EL2" \
    "+purgatory: all segments verified" \
    "+$KERNEL_LINE"
run corrupt virt --corrupt && expect corrupt \
    "+$MISMATCH" \
    "-kernel entered" \
    "-entering the kernel"
run software-sha virt --software-sha && expect software-sha \
    "+purgatory: verifying 2 segments (SHA-256 in software)" \
    "+purgatory: all segments verified" \
    "+$KERNEL_LINE"
run software-sha-corrupt virt --software-sha --corrupt && expect software-sha-corrupt \
    "+purgatory: verifying 2 segments (SHA-256 in software)" \
    "+$MISMATCH" \
    "-kernel entered"
run skip-checks virt --corrupt --skip-checks && expect skip-checks \
    "+purgatory: digest checks skipped (--no-checks)" \
    "+$KERNEL_LINE" \
    "-SHA-256 mismatch"

size=$(stat -c %s "$WORK/good-el1/purgatory.bin" 2>/dev/null || echo "?")
echo "purgatory image: $size bytes"
if [ "$failures" -gt 0 ]; then
    echo "purgatory-aarch64: $failures failed"
    exit 1
fi
echo "purgatory-aarch64: all passed"
