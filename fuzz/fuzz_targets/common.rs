// Shared by the fuzz targets: a small BIOS machine to lay images out on
// (small, so a fuzzed size can never make a layout hash gigabytes).
use kexec::boot::x86_linux::System;
use kexec::memory::memmap::{E820Type, MemoryRegion};
use kexec::memory::Range;

pub fn machine() -> System {
    let ram = |s, e| MemoryRegion { range: Range::new(s, e), kind: E820Type::Ram };
    System {
        memmap: vec![
            ram(0, 0x9fc00),
            MemoryRegion { range: Range::new(0xf0000, 0x100000), kind: E820Type::Reserved },
            ram(0x100000, 0x18_0000),
        ],
        boot_params: None,
        crash_regions: vec![],
        rng_seed: [1; 32],
        efi: Err("BIOS".into()),
        crash: Err("not a crash load".into()),
        framebuffer: None,
        crash_elfcorehdr_size: None,
    }
}
