//! The kdump elfcorehdr and the capture kernel's memory map from arbitrary
//! CPU notes, RAM ranges and crash regions.
#![no_main]
use kexec::boot::crash::{capture_memmap, elfcorehdr, CrashInfo};
use kexec::memory::memmap::{E820Type, MemoryRegion};
use kexec::memory::Range;
use libfuzzer_sys::fuzz_target;

fn numbers(data: &[u8]) -> Vec<u64> {
    data.chunks(8).map(|c| {
        let mut b = [0u8; 8];
        b[..c.len()].copy_from_slice(c);
        u64::from_le_bytes(b)
    }).collect()
}

fn range(a: u64, b: u64) -> Range {
    Range::new(a.min(b), a.max(b))
}

fuzz_target!(|data: &[u8]| {
    let n = numbers(data);
    if n.len() < 8 {
        return;
    }
    let pairs: Vec<Range> = n[6..].chunks(2).filter(|p| p.len() == 2).map(|p| range(p[0], p[1])).take(64).collect();
    let info = CrashInfo {
        cpu_notes: n[..(n[0] % 4) as usize].iter().map(|&a| (a, a % 4096)).collect(),
        vmcoreinfo: (n[1], n[2] % 8192),
        kernel_text: (n[3] % 2 == 0).then_some((n[3], n[4], n[5] % (1 << 30))),
        ram: pairs.clone(),
        page_offset: n[4],
    };
    let regions: Vec<Range> = pairs.iter().step_by(5).copied().collect();
    let segments = info.segments(&regions);
    if let Ok(header) = elfcorehdr(&segments) {
        assert_eq!(header.len(), 64 + 56 * segments.len());
    }
    let firmware: Vec<MemoryRegion> = pairs.iter().enumerate().map(|(i, r)| MemoryRegion {
        range: *r,
        kind: if i % 3 == 0 { E820Type::Reserved } else { E820Type::Ram },
    }).collect();
    let map = capture_memmap(&firmware, &regions, range(n[1], n[2]));
    for r in map {
        assert!(r.range.start <= r.range.end);
    }
    let _ = info.describe(&segments);
});
