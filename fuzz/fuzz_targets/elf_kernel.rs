//! ELF kernels (vmlinux) on the kexec_load path.
#![no_main]
use kexec::boot::x86_linux::{self, BootArgs};
use kexec::boot::elf64;
use kexec::plan::Target;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let header = elf64::synthetic_setup_header();
    for args in [BootArgs::Linux, BootArgs::None] {
        if let Ok(boot) = elf64::describe("fuzz", data, &header, args, None, "") {
            let _ = x86_linux::build(&boot, Target::Normal, &common::machine(), &Default::default());
        }
    }
});
