//! ELF kernels (vmlinux): the PT_LOAD and entry checks of the kexec_load path.
#![no_main]
use kexec::boot::elf64;
use kexec::boot::x86_linux::{BootArgs, Kernel};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let header = elf64::synthetic_setup_header();
    for args in [BootArgs::Linux, BootArgs::None] {
        if let Ok(boot) = elf64::describe("fuzz", data, &header, args, None, b"") {
            if let Kernel::Fixed { pieces, entry } = &boot.kernel {
                assert!(pieces.iter().any(|(at, _, memsz)| (*at..at + memsz).contains(entry)));
                for (at, bytes, memsz) in pieces {
                    assert!(bytes.len() as u64 <= *memsz && at.checked_add(*memsz).is_some());
                }
            }
        }
    }
});
