//! Packed kernels (gzip, EFI zboot with gzip or zstd): detection and
//! unpacking with a small limit never panic and never write past the limit.
#![no_main]
use kexec::image::compressed::{detect, peek, unpack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(packed)) = detect("fuzz", data, data.len() as u64) {
        let _ = peek(&packed, data, 4096);
        let mut out = Vec::new();
        if let Ok(n) = unpack("fuzz", &packed, data, &mut out, 1 << 20) {
            assert!(n <= 1 << 20 && out.len() as u64 == n);
        }
    }
});
