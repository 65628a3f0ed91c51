//! /proc/iomem and the crash regions in it.
#![no_main]
use kexec::memory::iomem;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(resources) = iomem::parse(&text) {
        for r in iomem::crash_regions(&resources) {
            assert!(r.start <= r.end);
        }
    }
});
