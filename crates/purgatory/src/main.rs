//! The purgatory: the code the old kernel jumps to on `kexec -e` (or on a
//! panic, for a crash kernel), before the new kernel runs.
//!
//! The kernel enters `purgatory_start` in 64-bit mode on an identity map with
//! interrupts off, a borrowed GDT, a tiny stack, every register zero and
//! CR4 = PAE only (so SSE would fault). The entry code loads our GDT and
//! stack and turns SSE on; `purgatory_main` hashes every segment (XXH3-128,
//! with SSE2) and compares the result with the digests taken at load time; on a mismatch it reports
//! on the serial console (when asked to) and halts, never jumping into a
//! corrupted image. Otherwise it returns and the entry code jumps to the
//! kernel with rsi = boot_params and rbx = 0.
//!
//! The loader (crates/kexec/src/arch/x86_64/purgatory.rs) fills `PURGATORY_PARAMS`;
//! its layout is `Params` of crates/purgatory-abi, which both sides use, and
//! is checked at run time by size and magic.

#![no_std]
#![no_main]

mod serial;
mod vga;

use core::arch::global_asm;
use core::mem::offset_of;
use core::panic::PanicInfo;
use purgatory_abi::{
    self as abi, Params, FLAG_CONSOLE_VGA, FLAG_DIGEST_XXH3, FLAG_RESET_VGA, FLAG_SERIAL,
    FLAG_SKIP_CHECKS, MAX_REGIONS, PARAMS_MAGIC, PARAMS_SIZE,
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
    .code64
purgatory_start:
    cli
    cld
    lea purgatory_stack_end(%rip), %rsp
    /* Our own GDT: the kernel's control page is not ours to rely on. */
    lea purgatory_gdt(%rip), %rax
    mov %rax, purgatory_gdt_desc+2(%rip)
    lgdt purgatory_gdt_desc(%rip)
    lea 1f(%rip), %rax
    pushq $0x10
    push %rax
    lretq
1:
    mov $0x18, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    /* SSE for the hash: CR0.EM off, CR0.MP on, CR4.OSFXSR|OSXMMEXCPT on.
       r12/r13 keep the kernel's values; Rust code preserves them. */
    mov %cr0, %r13
    mov %cr4, %r12
    mov %r13, %rax
    and $~(1 << 2), %rax
    or $(1 << 1), %rax
    mov %rax, %cr0
    mov %r12, %rax
    or $((1 << 9) | (1 << 10)), %rax
    mov %rax, %cr4
    call {main}
    /* Hand the CPU over as the kernel gave it to us. */
    mov %r12, %cr4
    mov %r13, %cr0
    mov {params}+{entry_off}(%rip), %rax
    mov {params}+{rsi_off}(%rip), %rsi
    xor %ebx, %ebx
    xor %ecx, %ecx
    xor %edx, %edx
    xor %edi, %edi
    xor %ebp, %ebp
    xor %r8d, %r8d
    xor %r9d, %r9d
    xor %r10d, %r10d
    xor %r11d, %r11d
    xor %r12d, %r12d
    xor %r13d, %r13d
    xor %r14d, %r14d
    xor %r15d, %r15d
    jmp *%rax

    .section .data.purgatory_gdt, "aw"
    .balign 16
purgatory_gdt:
    .quad 0
    .quad 0
    .quad 0x00af9a000000ffff  /* 0x10: 64-bit code */
    .quad 0x00cf92000000ffff  /* 0x18: data */
purgatory_gdt_end:
purgatory_gdt_desc:
    .word purgatory_gdt_end - purgatory_gdt - 1
    .quad 0

    .section .bss.purgatory_stack, "aw", @nobits
    .balign 16
purgatory_stack:
    .space 16384
purgatory_stack_end:
    "#,
    main = sym purgatory_main,
    params = sym PURGATORY_PARAMS,
    entry_off = const offset_of!(Params, entry),
    rsi_off = const offset_of!(Params, rsi),
    options(att_syntax)
);

/// Reads the parameters as the loader left them in memory (volatile: the
/// compiler must not assume the initializer's values).
fn params() -> &'static Params {
    // SAFETY: nothing writes PURGATORY_PARAMS while the purgatory runs.
    unsafe { &*core::ptr::addr_of!(PURGATORY_PARAMS) }
}

fn read_volatile<T: Copy>(value: &T) -> T {
    // SAFETY: `value` is a valid reference.
    unsafe { core::ptr::read_volatile(value) }
}

/// Verifies every region; returns to the entry code only when all match.
#[no_mangle]
extern "C" fn purgatory_main() {
    let p = params();
    let flags = read_volatile(&p.flags);
    if flags & FLAG_RESET_VGA != 0 {
        vga::reset_to_text_mode();
    }
    let mut console = serial::Console::new(
        flags & FLAG_SERIAL != 0,
        read_volatile(&p.serial_port) as u16,
        read_volatile(&p.serial_divisor) as u16,
        flags & FLAG_CONSOLE_VGA != 0,
    );
    console.line(b"purgatory: started");
    if flags & FLAG_RESET_VGA != 0 {
        console.line(b"purgatory: VGA reset to 80x25 text mode");
    }
    if read_volatile(&p.magic) != PARAMS_MAGIC || read_volatile(&p.size) != PARAMS_SIZE as u64 {
        console.line(b"purgatory: parameters were not filled in by a matching loader; halting");
        halt();
    }
    if flags & FLAG_SKIP_CHECKS != 0 {
        console.line(b"purgatory: digest checks skipped (--no-checks)");
        return;
    }
    // Our x86_64 loader always asks for XXH3-128 (purgatory-abi's
    // FLAG_DIGEST_XXH3); a block that asks for SHA-256 cannot be checked.
    if flags & FLAG_DIGEST_XXH3 == 0 {
        console.line(b"purgatory: the loader asked for SHA-256 digests, which this purgatory does not check; halting");
        halt();
    }
    let count = (read_volatile(&p.region_count) as usize).min(MAX_REGIONS);
    for index in 0..count {
        let region = read_volatile(&p.regions[index]);
        // SAFETY: the kernel's identity map covers every segment, and the
        // loader listed only segments.
        let bytes = unsafe { core::slice::from_raw_parts(region.start as *const u8, region.len as usize) };
        let mut digest = [0u8; 32];
        digest[..16].copy_from_slice(&xxhash_rust::xxh3::xxh3_128(bytes).to_be_bytes());
        if digest != region.digest {
            console.text(b"purgatory: the segment at ");
            console.hex(region.start);
            console.text(b"-");
            console.hex(region.start + region.len.saturating_sub(1));
            console.line(b" changed after it was loaded (XXH3-128 mismatch); not booting it, halting");
            halt();
        }
    }
    console.text(b"purgatory: ");
    console.decimal(count as u64);
    console.line(b" segments verified, entering the kernel");
}

fn halt() -> ! {
    loop {
        // SAFETY: interrupts are off; hlt just stops the CPU.
        unsafe { core::arch::asm!("cli", "hlt", options(nomem, nostack)) };
    }
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    halt()
}

// The freestanding image has no C library; the compiler still emits calls to
// these. `rep movsb`/`rep stosb` are fast on every x86_64 and cannot be
// turned back into calls to themselves.

/// # Safety
/// As C's memcpy.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    core::arch::asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _, inout("rsi") src => _, options(nostack, preserves_flags));
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
    core::arch::asm!(
        "std", "rep movsb", "cld",
        inout("rcx") n => _,
        inout("rdi") dst.add(n - 1) => _,
        inout("rsi") src.add(n - 1) => _,
        options(nostack)
    );
    dst
}

/// # Safety
/// As C's memset.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, value: i32, n: usize) -> *mut u8 {
    core::arch::asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _, in("al") value as u8, options(nostack, preserves_flags));
    dst
}

/// # Safety
/// As C's memcmp.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        let (x, y) = (core::ptr::read_volatile(a.add(i)), core::ptr::read_volatile(b.add(i)));
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
