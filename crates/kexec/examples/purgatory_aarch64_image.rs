//! Test instrument for tests/purgatory-aarch64/run.sh, not a user tool:
//! writes the memory image of an arm64 kexec_load without a kernel — a tiny
//! "kernel" that prints what it received in x0 to x3 on QEMU virt's PL011,
//! a "device tree" of plain bytes, and our arm64 purgatory filled by the
//! library to verify both and enter the kernel with x0 = the tree's address.
//! The script loads the files into a bare-metal QEMU and starts the CPU at
//! the purgatory's entry, as the kernel's relocate_kernel would.
//!
//! Usage: purgatory_aarch64_image OUTDIR [--corrupt] [--skip-checks] [--el2-vhe | --el2-trap-fp] [--software-sha]
//!   --corrupt      flip the kernel's last byte after its digest was taken
//!   --skip-checks  ask the purgatory not to verify (kexec -i)
//!   --el2-vhe      start at a prologue that sets HCR_EL2.E2H (as a VHE
//!                  kernel leaves EL2), then enters the purgatory
//!   --el2-trap-fp  start at a prologue that sets CPTR_EL2.TFP (FP/SIMD
//!                  trapped, as EL2 may be left), then enters the purgatory
//!   --software-sha patch the purgatory's one read of ID_AA64ISAR0_EL1 into
//!                  `movz xN, #0`, so it takes the portable SHA-256 rounds as
//!                  on a CPU without the SHA-256 instructions (every QEMU
//!                  arm64 CPU has them)
//!
//! Prints one `load FILE ADDRESS` line per file and `entry ADDRESS`.

use kexec::arch::aarch64::purgatory::{self, Config};
use kexec::Segment;
use std::path::PathBuf;
use std::process::exit;

/// Where the pieces go: RAM starts at 0x4000_0000 on QEMU's virt machine.
const KERNEL: u64 = 0x4020_0000;
const DTB: u64 = 0x4400_0000;
const PURGATORY: u64 = 0x4800_0000;
/// The PL011 of QEMU's virt machine.
const UART: u64 = 0x0900_0000;
/// Where a prologue goes (--el2-vhe, --el2-trap-fp).
const PROLOGUE: u64 = 0x4700_0000;

/// The prologues' last two words: `ldr x10, 1f; br x10`, then `1:` holds
/// the purgatory's entry.
const PROLOGUE_JUMP: [u32; 2] = [0x5800004a, 0xd61f0140];

/// Sets HCR_EL2.E2H: mrs x9, hcr_el2; orr x9, x9, #(1 << 34);
/// msr hcr_el2, x9; isb.
const PROLOGUE_VHE: [u32; 4] = [0xd53c1109, 0xb25e0129, 0xd51c1109, 0xd5033fdf];

/// Sets CPTR_EL2.TFP: mrs x9, cptr_el2; orr x9, x9, #(1 << 10);
/// msr cptr_el2, x9; isb.
const PROLOGUE_TRAP_FP: [u32; 4] = [0xd53c1149, 0xb2760129, 0xd51c1149, 0xd5033fdf];

fn prologue(first: [u32; 4], entry: u64) -> Vec<u8> {
    let mut bytes: Vec<u8> = first
        .iter()
        .chain(&PROLOGUE_JUMP)
        .flat_map(|w| w.to_le_bytes())
        .collect();
    bytes.extend_from_slice(&entry.to_le_bytes());
    bytes
}

/// The "kernel", assembled with aarch64-linux-gnu-as from the source in
/// the comments: prints "kernel entered x0=0x" and x0's 16 hex digits, then
/// " x1-x3=0" when x1, x2 and x3 are zero (" x1-x3 not 0" otherwise), and
/// waits forever.
const KERNEL_CODE: [u32; 32] = [
    0xaa0003e9, // mov x9, x0
    0xaa02002a, // orr x10, x1, x2
    0xaa03014a, // orr x10, x10, x3
    0xd2a12001, // movz x1, #0x0900, lsl #16    (the UART)
    0x10000382, // adr x2, msg                  (0x80)
    0x38401443, // 1: ldrb w3, [x2], #1
    0x34000063, // cbz w3, 2f
    0x94000015, // bl putc
    0x17fffffd, // b 1b
    0xd2800784, // 2: mov x4, #60
    0x9ac42523, // 3: lsr x3, x9, x4
    0x92400c63, // and x3, x3, #0xf
    0x9100c065, // add x5, x3, #'0'
    0x91015c66, // add x6, x3, #('a' - 10)
    0xf100287f, // cmp x3, #10
    0x9a8630a3, // csel x3, x5, x6, lo
    0x9400000c, // bl putc
    0xf1001084, // subs x4, x4, #4
    0x54ffff0a, // b.ge 3b
    0x30000242, // adr x2, ok                   (0x95)
    0xb400004a, // cbz x10, 4f
    0x10000262, // adr x2, bad                  (0xa0)
    0x38401443, // 4: ldrb w3, [x2], #1
    0x34000063, // cbz w3, 5f
    0x94000004, // bl putc
    0x17fffffd, // b 4b
    0xd503205f, // 5: wfe
    0x17ffffff, // b 5b
    0xb9401827, // putc: ldr w7, [x1, #0x18]    (UARTFR)
    0x372fffe7, // tbnz w7, #5, putc            (TXFF)
    0xb9000023, // str w3, [x1]                 (UARTDR)
    0xd65f03c0, // ret
];

/// msg at 0x80, ok at 0x95, bad at 0xa0, as the adr instructions expect.
const KERNEL_TEXT: &[u8] = b"kernel entered x0=0x\0 x1-x3=0\r\n\0 x1-x3 not 0\r\n\0";

fn kernel() -> Vec<u8> {
    let mut bytes: Vec<u8> = KERNEL_CODE.iter().flat_map(|w| w.to_le_bytes()).collect();
    bytes.extend_from_slice(KERNEL_TEXT);
    // Bytes the code never reads: the one --corrupt flips, so the kernel
    // still runs unchanged when the purgatory is told not to check.
    bytes.extend_from_slice(&[0x5a; 0x40]);
    bytes
}

/// Turns the image's only `mrs xN, ID_AA64ISAR0_EL1` into `movz xN, #0`.
fn without_sha_instructions(image: &mut [u8]) {
    const MRS_ISAR0: u32 = 0xd538_0600;
    const MOVZ: u32 = 0xd280_0000;
    let at: Vec<usize> = (0..image.len() / 4 * 4)
        .step_by(4)
        .filter(|&i| u32::from_le_bytes(image[i..i + 4].try_into().unwrap()) & !0x1f == MRS_ISAR0)
        .collect();
    let [i] = at[..] else {
        eprintln!(
            "purgatory_aarch64_image: the purgatory reads ID_AA64ISAR0_EL1 at {} places, not one",
            at.len()
        );
        exit(1)
    };
    let rt = u32::from_le_bytes(image[i..i + 4].try_into().unwrap()) & 0x1f;
    image[i..i + 4].copy_from_slice(&(MOVZ | rt).to_le_bytes());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first().map(PathBuf::from) else {
        eprintln!("usage: purgatory_aarch64_image OUTDIR [--corrupt] [--skip-checks]");
        exit(2);
    };
    let corrupt = args.iter().any(|a| a == "--corrupt");
    let skip_checks = args.iter().any(|a| a == "--skip-checks");
    let prologue_words = if args.iter().any(|a| a == "--el2-vhe") {
        Some(PROLOGUE_VHE)
    } else if args.iter().any(|a| a == "--el2-trap-fp") {
        Some(PROLOGUE_TRAP_FP)
    } else {
        None
    };
    if !purgatory::available() {
        eprintln!(
            "purgatory_aarch64_image: {}",
            purgatory::PurgatoryError::NotBuilt
        );
        exit(1);
    }
    let segment = |purpose: &str, data: Vec<u8>, mem: u64| Segment {
        purpose: purpose.into(),
        data: data.into(),
        mem,
        memsz: 0x1000,
        digest: None,
    };
    let mut dtb = b"not a real device tree, just bytes to verify".to_vec();
    dtb.resize(0x100, 0xd7);
    let segments = [
        segment("kernel", kernel(), KERNEL),
        segment("dtb", dtb.clone(), DTB),
    ];
    let config = Config {
        entry: KERNEL,
        dtb: DTB,
        skip_checks,
        uart: Some(UART),
    };
    let refs: Vec<&Segment> = segments.iter().collect();
    let image = purgatory::image(PURGATORY, &config, &refs).unwrap_or_else(|e| {
        eprintln!("purgatory_aarch64_image: {e}");
        exit(1)
    });
    let mut image = image;
    if args.iter().any(|a| a == "--software-sha") {
        without_sha_instructions(&mut image);
    }
    let mut kernel = kernel();
    if corrupt {
        // After image() took the digests, as a stray DMA write would.
        *kernel.last_mut().unwrap() ^= 0xff;
    }
    std::fs::create_dir_all(&out).expect("create OUTDIR");
    let purgatory_entry = purgatory::entry(PURGATORY).unwrap();
    let mut files = vec![
        ("kernel.bin", kernel, KERNEL),
        ("dtb.bin", dtb, DTB),
        ("purgatory.bin", image, PURGATORY),
    ];
    let mut entry = purgatory_entry;
    if let Some(words) = prologue_words {
        files.push(("prologue.bin", prologue(words, purgatory_entry), PROLOGUE));
        entry = PROLOGUE;
    }
    for (name, bytes, addr) in &files {
        let path = out.join(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| {
            eprintln!("purgatory_aarch64_image: {}: {e}", path.display());
            exit(1)
        });
        println!("load {} {addr:#x}", path.display());
    }
    println!("entry {entry:#x}");
}
