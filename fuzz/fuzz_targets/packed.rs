//! Packed kernels (gzip, zstd, xz, lzma, lz4, bzip2, EFI zboot with any
//! of them): detection and unpacking with a small limit never panic, never
//! write past the limit, and report what they wrote.
#![no_main]
use kexec::image::compressed::{detect, peek, unpack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(packed)) = detect("fuzz", data, data.len() as u64) {
        let _ = peek(&packed, data, 4096);
        let mut out = Vec::new();
        if let Ok(made) = unpack("fuzz", &packed, data, &mut out, 1 << 20) {
            assert!(made.size <= 1 << 20 && out.len() as u64 == made.size);
        }
    }
});
