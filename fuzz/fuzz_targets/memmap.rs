//! /sys/firmware/memmap (start, end, type per entry) and the facts the
//! rules read from procfs/sysfs, all from fuzzed text.
#![no_main]
use kexec::memory::memmap;
use kexec::{Facts, FakeHost};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut host = FakeHost::typical();
    for (i, chunk) in text.split('\n').collect::<Vec<_>>().chunks(3).enumerate().take(140) {
        let field = |n: usize| chunk.get(n).copied().unwrap_or("");
        host.set(&format!("/sys/firmware/memmap/{i}/start"), field(0));
        host.set(&format!("/sys/firmware/memmap/{i}/end"), field(1));
        host.set(&format!("/sys/firmware/memmap/{i}/type"), field(2));
    }
    if let Ok(map) = memmap::read(&host) {
        for r in map {
            assert!(r.range.start <= r.range.end);
        }
    }
    let mut host = FakeHost::typical();
    host.set("/proc/meminfo", &text);
    host.set("/proc/self/status", &text);
    host.set("/proc/iomem", &text);
    host.set("/sys/kernel/security/lockdown", &text);
    let facts = Facts::gather(&host);
    let _ = facts.kernel_version();
    let _ = facts.crash_region_size();
});
