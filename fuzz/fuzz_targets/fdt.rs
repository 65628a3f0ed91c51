//! Device trees: our reader and writer, and arm64's /chosen rewrite, on
//! arbitrary blobs: never a panic; what parses writes back and parses again.
#![no_main]
use kexec::arch::aarch64::dtb::{prepare, Chosen};
use kexec::fdt::Fdt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(fdt) = Fdt::parse(data) {
        if let Ok(bytes) = fdt.to_bytes() {
            Fdt::parse(&bytes).expect("what we write parses");
        }
    }
    let chosen = Chosen {
        bootargs: b"console=ttyAMA0".to_vec(),
        initrd: Some((0x4800_0000, 0x4900_0000)),
        kaslr_seed: Some(7),
        rng_seed: Some(vec![1; 64]),
        elfcorehdr: Some((0x7000_0000, 0x1000)),
        usable_memory: vec![(0x6000_0000, 0x1000_0000)],
    };
    let _ = prepare("fuzz.dtb", data, &chosen);
});
