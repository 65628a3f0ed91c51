//! The arm64 purgatory: the code the old kernel jumps to on `kexec -e` (or
//! on a panic, for a crash kernel) after a kexec_load, before the new
//! kernel runs.
//!
//! The kernel's relocate_kernel enters `purgatory_start` at EL2 or EL1 with
//! the MMU and data cache off (so every data access is to Device memory:
//! the image is built with +strict-align and reads memory only at natural
//! alignment) and with interrupts masked. The entry code takes a stack of
//! our own, turns FP/SIMD access on (the hash uses the vector registers)
//! and calls `purgatory_main`, which hashes every segment and compares the
//! result with the digests taken at load time. On a mismatch it reports on
//! the PL011 UART (when asked to) and halts, never jumping into a corrupted
//! image. Otherwise it returns and the entry code enters the kernel as the
//! arm64 boot protocol wants: x0 = the device tree, x1 = x2 = x3 = 0.
//!
//! The loader (crates/kexec/src/arch/aarch64/purgatory.rs) fills
//! `PURGATORY_PARAMS`; its layout is `Params` of crates/purgatory-abi, the
//! same block as on x86_64 (`rsi` carries x0, `serial_port` the PL011's MMIO
//! base), checked at run time by size and magic.

#![no_std]
#![no_main]

mod sha256;
mod uart;

use core::arch::global_asm;
use core::mem::offset_of;
use core::panic::PanicInfo;
use purgatory_abi::{
    self as abi, Params, FLAG_DIGEST_XXH3, FLAG_SERIAL, FLAG_SKIP_CHECKS, MAX_REGIONS, PARAMS_MAGIC,
    PARAMS_SIZE,
};

/// Patched by the loader; in .data (not .bss) so it has file bytes to patch.
#[no_mangle]
#[used]
#[link_section = ".data.purgatory_params"]
pub static mut PURGATORY_PARAMS: Params = Params::EMPTY;

// The entry code below reads these two fields by offset.
const _: () = assert!(offset_of!(Params, entry) == abi::offset::ENTRY);
const _: () = assert!(offset_of!(Params, rsi) == abi::offset::RSI);

global_asm!(
    r#"
    .section .text.purgatory_start, "ax"
    .globl purgatory_start
    .type purgatory_start, %function
purgatory_start:
    msr daifset, #0xf
    adrp x9, purgatory_stack_end
    add x9, x9, :lo12:purgatory_stack_end
    mov sp, x9
    /* FP/SIMD on: the SHA-256 rounds and the compiler use the vector
       registers, and a trapped access here would have nowhere to go. */
    mrs x9, CurrentEL
    ubfx x9, x9, #2, #2
    cmp x9, #2
    b.eq 2f
    b.hi 3f
    /* EL1: CPACR_EL1.FPEN = 0b11. */
    mrs x9, cpacr_el1
    orr x9, x9, #(3 << 20)
    msr cpacr_el1, x9
    b 4f
2:  /* EL2 with HCR_EL2.E2H: CPTR_EL2 has CPACR_EL1's layout and is
       reached by that name. Without E2H: clear CPTR_EL2.TFP. */
    mrs x9, hcr_el2
    tbz x9, #34, 1f
    mrs x9, cpacr_el1
    orr x9, x9, #(3 << 20)
    msr cpacr_el1, x9
    b 4f
1:  mrs x9, cptr_el2
    bic x9, x9, #(1 << 10)
    msr cptr_el2, x9
    b 4f
3:  /* EL3 (no kernel enters us there, but a test may): CPTR_EL3.TFP. */
    mrs x9, cptr_el3
    bic x9, x9, #(1 << 10)
    msr cptr_el3, x9
4:  isb
    bl {main}
    adrp x9, {params}
    add x9, x9, :lo12:{params}
    ldr x4, [x9, #{entry_off}]
    ldr x0, [x9, #{rsi_off}]
    mov x1, xzr
    mov x2, xzr
    mov x3, xzr
    br x4

    .section .bss.purgatory_stack, "aw", %nobits
    .balign 16
purgatory_stack:
    .space 16384
purgatory_stack_end:
    "#,
    main = sym purgatory_main,
    params = sym PURGATORY_PARAMS,
    entry_off = const offset_of!(Params, entry),
    rsi_off = const offset_of!(Params, rsi),
);

/// Reads the parameters as the loader left them in memory.
fn params() -> &'static Params {
    // SAFETY: nothing writes PURGATORY_PARAMS while the purgatory runs.
    unsafe { &*core::ptr::addr_of!(PURGATORY_PARAMS) }
}

/// A volatile read: the compiler must not assume the initializer's values.
fn read_volatile<T: Copy>(value: &T) -> T {
    // SAFETY: `value` is a valid reference.
    unsafe { core::ptr::read_volatile(value) }
}

/// The exception level we run at (CurrentEL.EL).
fn current_el() -> u64 {
    let el: u64;
    // SAFETY: reading CurrentEL has no side effect.
    unsafe {
        core::arch::asm!("mrs {}, CurrentEL", out(reg) el, options(nomem, nostack, preserves_flags))
    };
    (el >> 2) & 3
}

/// Verifies every region; returns to the entry code only when all match.
#[no_mangle]
extern "C" fn purgatory_main() {
    let p = params();
    let flags = read_volatile(&p.flags);
    let mut console = uart::Console::new(flags & FLAG_SERIAL != 0, read_volatile(&p.serial_port));
    console.text(b"purgatory: started at EL");
    console.decimal(current_el());
    console.line(b"");
    if read_volatile(&p.magic) != PARAMS_MAGIC || read_volatile(&p.size) != PARAMS_SIZE as u64 {
        console.line(b"purgatory: parameters were not filled in by a matching loader; halting");
        halt();
    }
    if flags & FLAG_SKIP_CHECKS != 0 {
        console.line(b"purgatory: digest checks skipped (--no-checks)");
    } else if flags & FLAG_DIGEST_XXH3 != 0 {
        // Our arm64 loader asks for SHA-256; a block asking for a hash this
        // purgatory does not compute cannot be checked.
        console.line(b"purgatory: the loader asked for XXH3-128 digests, which this purgatory does not check; halting");
        halt();
    } else {
        let hardware = sha256::cpu_has_sha256();
        let count = (read_volatile(&p.region_count) as usize).min(MAX_REGIONS);
        console.text(b"purgatory: verifying ");
        console.decimal(count as u64);
        console.line(if hardware {
            b" segments (SHA-256 instructions)"
        } else {
            b" segments (SHA-256 in software)"
        });
        for index in 0..count {
            let start = read_volatile(&p.regions[index].start);
            let len = read_volatile(&p.regions[index].len);
            // SAFETY: with the MMU off every physical address is readable,
            // and the loader listed only the segments it loaded.
            let digest = unsafe { sha256::digest(start as *const u8, len as usize, hardware) };
            let expected = &p.regions[index].digest;
            let mut same = true;
            for (i, byte) in digest.iter().enumerate() {
                same &= *byte == read_volatile(&expected[i]);
            }
            if !same {
                console.text(b"purgatory: segment ");
                console.decimal(index as u64);
                console.text(b" at ");
                console.hex(start);
                console.text(b"-");
                console.hex(start.wrapping_add(len.saturating_sub(1)));
                console.line(b" changed after it was loaded (SHA-256 mismatch); not starting the next kernel");
                halt();
            }
        }
        console.line(b"purgatory: all segments verified");
    }
    console.text(b"purgatory: entering the kernel at ");
    console.hex(read_volatile(&p.entry));
    console.text(b" with x0=");
    console.hex(read_volatile(&p.rsi));
    console.line(b"");
}

fn halt() -> ! {
    loop {
        // SAFETY: interrupts are masked; wfe only waits.
        unsafe { core::arch::asm!("wfe", options(nomem, nostack)) };
    }
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    halt()
}

// The freestanding image has no C library; the compiler still emits calls to
// these. Byte loops through volatile accesses: the compiler cannot turn them
// back into calls to themselves, and a byte access is never misaligned on
// Device memory.

/// # Safety
/// As C's memcpy.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        core::ptr::write_volatile(dst.add(i), core::ptr::read_volatile(src.add(i)));
        i += 1;
    }
    dst
}

/// # Safety
/// As C's memmove.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) <= (src as usize) || (dst as usize) >= (src as usize) + n {
        return memcpy(dst, src, n);
    }
    // Overlapping with dst above src: copy backwards.
    let mut i = n;
    while i > 0 {
        i -= 1;
        core::ptr::write_volatile(dst.add(i), core::ptr::read_volatile(src.add(i)));
    }
    dst
}

/// # Safety
/// As C's memset.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, value: i32, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        core::ptr::write_volatile(dst.add(i), value as u8);
        i += 1;
    }
    dst
}

/// # Safety
/// As C's memcmp.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        let (x, y) = (
            core::ptr::read_volatile(a.add(i)),
            core::ptr::read_volatile(b.add(i)),
        );
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// # Safety
/// As C's bcmp.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    memcmp(a, b, n)
}
