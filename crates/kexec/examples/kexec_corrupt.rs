//! Test instrument, not a user tool: loads a kernel through kexec_load with
//! the library, like `kexec -c -l KERNEL --initrd=INITRD --append=CMDLINE
//! --console-serial` (arm64: `--port=0x9000000`, QEMU virt's PL011), but
//! flips one byte of segment N *after* the purgatory took its digests.
//! `kexec -e` must then stop in the purgatory with a mismatch message on
//! the serial console instead of booting. The VM suite runs it in a
//! guest; never run it on a machine you care about.
//!
//! Usage: kexec_corrupt KERNEL INITRD CMDLINE SEGMENT

use kexec::arch::{BootArgs, LoadOptions};
use kexec::sys::abi::FileFlags;
use kexec::{boot, load, Facts, FileLoad, LinuxHost, Plan, Target};
use std::path::Path;
use std::process::exit;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: kexec_corrupt KERNEL INITRD CMDLINE SEGMENT");
        exit(1);
    }
    let index: usize = args[4].parse().expect("SEGMENT is a number");
    let mut host = LinuxHost;
    let facts = Facts::gather(&host);
    let file = FileLoad::open(
        Target::Normal,
        Path::new(&args[1]),
        Some(Path::new(&args[2])),
        args[3].clone().into_bytes(),
        FileFlags(0),
    )
    .unwrap_or_else(|e| {
        eprintln!("kexec_corrupt: {e}");
        exit(255)
    });
    let options = console_on();
    let mut plan = boot::plan_kexec_load(&host, &facts, &file, BootArgs::Linux, &options)
        .unwrap_or_else(|e| {
            eprintln!("kexec_corrupt: {e}");
            exit(255)
        });
    let Plan::Load { segments, .. } = &mut plan else {
        unreachable!("a kexec_load plan")
    };
    let segment = &mut segments[index];
    let byte = segment.data.len() / 2;
    segment.data[byte] ^= 0xff;
    println!(
        "kexec_corrupt: flipped byte {byte:#x} of segment {index} ({}) at {:#x} after its digest was taken",
        segment.purpose, segment.mem
    );
    if let Err(r) = load::load(&mut host, &plan, &facts, false) {
        eprintln!("kexec_corrupt: {r}");
        exit(255);
    }
}

/// The purgatory reports on ttyS0 (x86_64's 16550 at 0x3f8).
#[cfg(not(target_arch = "aarch64"))]
fn console_on() -> LoadOptions {
    use kexec::arch::x86_64;
    LoadOptions {
        x86_64: x86_64::Options {
            console: Some(kexec::boot::purgatory::SerialConsole {
                port: 0x3f8,
                baud: 115_200,
            }),
            ..x86_64::Options::default()
        },
        ..LoadOptions::default()
    }
}

/// QEMU virt's PL011 UART, where arm64's ttyAMA0 is.
#[cfg(target_arch = "aarch64")]
fn console_on() -> LoadOptions {
    /// The PL011's MMIO base on QEMU's virt machine.
    const QEMU_VIRT_PL011: u64 = 0x0900_0000;
    LoadOptions {
        aarch64: kexec::arch::aarch64::Options {
            port: Some(QEMU_VIRT_PL011),
            dtb: None,
        },
        ..LoadOptions::default()
    }
}
