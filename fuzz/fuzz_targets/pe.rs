//! PE/COFF images (for unified kernel images).
#![no_main]
use kexec::image::pe::PeImage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = PeImage::is_pe(data);
    if let Ok(pe) = PeImage::parse(data) {
        for s in pe.sections.clone() {
            let _ = pe.section_data(data, &s.name);
        }
    }
});
