//! The whole kexec_load layout (placement, zero page, purgatory, digests)
//! of fuzzed ELF and bzImage kernels on a small machine.
#![no_main]
use kexec::boot::x86_linux::{self, BootArgs};
use kexec::boot::{bzimage64, elf64};
use kexec::plan::Target;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let header = elf64::synthetic_setup_header();
    let boot = if elf64::is_elf(data) {
        elf64::describe("fuzz", data, &header, BootArgs::Linux, None, b"x")
    } else {
        bzimage64::describe("fuzz", data, None, b"x")
    };
    if let Ok(boot) = boot {
        if let Ok(image) = x86_linux::build(&boot, Target::Normal, &common::machine(), &Default::default()) {
            for (i, a) in image.segments.iter().enumerate() {
                assert!(a.data.len() as u64 <= a.memsz && a.mem % 4096 == 0 && a.memsz % 4096 == 0);
                for b in &image.segments[i + 1..] {
                    assert!(a.mem + a.memsz <= b.mem || b.mem + b.memsz <= a.mem, "overlap");
                }
            }
        }
    }
});
