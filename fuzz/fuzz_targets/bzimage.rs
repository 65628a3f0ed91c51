//! The bzImage setup header, the kernel's probe, our loader's checks and
//! the boot_params (zero page) builder.
#![no_main]
use kexec::boot::bzimage64;
use kexec::boot::zero_page::ZeroPage;
use kexec::image::bzimage::SetupHeader;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let _ = kexec::image::bzimage64::refusal(data);
    if let Some(h) = SetupHeader::read(data) {
        let _ = kexec::image::bzimage64::truncated(data.len() as u64, &h);
        let _ = h.real_mode_size();
        let _ = h.version_text();
    }
    let _ = bzimage64::describe("fuzz", data, None, b"x");
    let machine = common::machine();
    let addr = data.iter().fold(0u64, |a, &b| a.rotate_left(8) ^ u64::from(b));
    let page = ZeroPage {
        kernel_head: data,
        running: (data.len() >= 4096).then_some(data),
        keep_screen_info: addr & 1 == 0,
        e820: &machine.memmap,
        cmdline_addr: addr,
        initrd: Some((addr, addr >> 3)),
        setup_data: addr >> 1,
        efi: None,
        acpi_rsdp: Some(addr),
    }
    .build();
    assert_eq!(page.len(), 4096);
});
