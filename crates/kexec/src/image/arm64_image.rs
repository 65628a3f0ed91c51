//! The arm64 Linux `Image` format (the kernel's
//! Documentation/arch/arm64/booting.rst): a 64-byte little-endian header at
//! the start of the file.
//!
//! | offset | field       | meaning                                          |
//! |--------|-------------|--------------------------------------------------|
//! | 0x00   | code0/code1 | a branch to the kernel's start ("MZ..." on EFI)  |
//! | 0x08   | text_offset | where in its 2 MiB-aligned base the Image goes   |
//! | 0x10   | image_size  | bytes the running kernel spans, bss included     |
//! | 0x18   | flags       | bit 0 big-endian, bits 1-2 page size, bit 3 anywhere |
//! | 0x38   | magic       | "ARM\x64"                                        |
//! | 0x3c   | res5        | the PE header's offset on an EFI-stub kernel     |
//!
//! An EFI-stub kernel (Debian's, Fedora's) is a PE too, "MZ" at 0, and is
//! still an Image: only the magic at 0x38 says what it is.

use super::format::KernelFormat;
use crate::plan::Syscall;

/// The header's size in bytes.
pub const HEADER_SIZE: usize = 64;
/// Where the magic lies.
pub const MAGIC_OFFSET: usize = 0x38;
/// The magic: "ARM\x64".
pub const MAGIC: &[u8; 4] = b"ARM\x64";
/// The text_offset every kernel before 3.17 used (their header had no
/// image_size and left text_offset's endianness unsaid).
pub const LEGACY_TEXT_OFFSET: u64 = 0x8_0000;
/// What a pre-3.17 kernel's file size is rounded up to, standing in for
/// its image_size: the 2 MiB granule an Image is placed at.
pub const LEGACY_SIZE_ROUNDING: u64 = 2 << 20;

const FLAG_BE: u64 = 1 << 0;
const FLAG_PAGE_SIZE_SHIFT: u64 = 1;
const FLAG_PAGE_SIZE_MASK: u64 = 3 << FLAG_PAGE_SIZE_SHIFT;
const FLAG_ANYWHERE: u64 = 1 << 3;

/// The header fields a loader places the kernel by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Where the Image goes, in bytes past a 2 MiB-aligned base.
    pub text_offset: u64,
    /// How many bytes the kernel spans from there once running (bss
    /// included), so the room it needs.
    pub image_size: u64,
    /// The flags word (see the helpers).
    pub flags: u64,
}

impl Header {
    /// Whether the kernel was built big-endian (flags bit 0).
    pub fn big_endian(&self) -> bool {
        self.flags & FLAG_BE != 0
    }

    /// The kernel's page size (flags bits 1-2: 4, 16 or 64 KiB), or None
    /// when it is left unspecified.
    pub fn page_size(&self) -> Option<u64> {
        match (self.flags & FLAG_PAGE_SIZE_MASK) >> FLAG_PAGE_SIZE_SHIFT {
            1 => Some(4 << 10),
            2 => Some(16 << 10),
            3 => Some(64 << 10),
            _ => None,
        }
    }

    /// Whether the 2 MiB-aligned base may be anywhere in physical memory
    /// (flags bit 3); otherwise it should be as close as possible to the
    /// start of DRAM, as memory below it is not in the linear map.
    pub fn anywhere(&self) -> bool {
        self.flags & FLAG_ANYWHERE != 0
    }
}

fn le64(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Why `head` is not an arm64 Image (its magic, or its length), naming the
/// field and the value found; None when it is one.
fn refusal(head: &[u8]) -> Option<String> {
    if head.len() < HEADER_SIZE {
        return Some(format!(
            "it is {} bytes, shorter than the {HEADER_SIZE}-byte arm64 Image header",
            head.len()
        ));
    }
    let found = &head[MAGIC_OFFSET..MAGIC_OFFSET + 4];
    if found == MAGIC {
        return None;
    }
    let why = format!(
        "magic at {MAGIC_OFFSET:#x} is {}, not \"ARM\\x64\" (41 52 4d 64)",
        found
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Some(match super::identify::identify(head) {
        Some(what) => format!("{why}: it is {what}, not an arm64 Image"),
        None => why,
    })
}

/// The header of the arm64 Image `bytes` (the whole file: its length stands
/// in for a pre-3.17 kernel's missing image_size); `file` names it in
/// errors, which also name the field and its value.
///
/// A kernel before 3.17 has image_size 0: its text_offset is then taken to
/// be 0x80000, as every such kernel's was (its endianness was unspecified
/// then, so the field is not read), and its image_size the file's size
/// rounded up to 2 MiB — an estimate, as such kernels do not say how much
/// their bss adds. A big-endian kernel is refused: an arm64 kexec runs
/// little-endian, and the kernel refuses a kernel of the other endianness.
///
/// ```
/// use kexec::image::arm64_image::header;
/// let mut image = vec![0u8; 4096];
/// image[0x08..0x10].copy_from_slice(&0x8_0000u64.to_le_bytes()); // text_offset
/// image[0x10..0x18].copy_from_slice(&0x160_0000u64.to_le_bytes()); // image_size
/// image[0x18..0x20].copy_from_slice(&0xau64.to_le_bytes()); // 4K pages, anywhere
/// image[0x38..0x3c].copy_from_slice(b"ARM\x64");
/// let h = header("Image", &image).unwrap();
/// assert_eq!((h.text_offset, h.image_size), (0x8_0000, 0x160_0000));
/// assert_eq!((h.page_size(), h.anywhere(), h.big_endian()), (Some(4096), true, false));
/// image[0x18] = 1;
/// assert_eq!(header("Image", &image).unwrap_err(),
///            "Image: flags is 0x1: bit 0 says a big-endian kernel; only little-endian arm64 kernels are loaded");
/// ```
pub fn header(file: &str, bytes: &[u8]) -> Result<Header, String> {
    if let Some(why) = refusal(bytes) {
        return Err(format!("{file}: {why}"));
    }
    let text_offset = le64(bytes, 0x08);
    let image_size = le64(bytes, 0x10);
    let flags = le64(bytes, 0x18);
    let h = Header {
        text_offset,
        image_size,
        flags,
    };
    if image_size == 0 {
        let size = (bytes.len() as u64).div_ceil(LEGACY_SIZE_ROUNDING) * LEGACY_SIZE_ROUNDING;
        return Ok(Header {
            text_offset: LEGACY_TEXT_OFFSET,
            image_size: size,
            flags,
        });
    }
    if h.big_endian() {
        return Err(format!(
            "{file}: flags is {flags:#x}: bit 0 says a big-endian kernel; only little-endian arm64 kernels are loaded"
        ));
    }
    // The base is 2 MiB aligned and the Image lies text_offset past it:
    // an offset of 2 MiB or more, or off a page, is no kernel's.
    if text_offset >= 2 << 20 || !text_offset.is_multiple_of(4096) {
        return Err(format!(
            "{file}: text_offset is {text_offset:#x}: not a 4 KiB-aligned offset below 2 MiB"
        ));
    }
    Ok(h)
}

/// The arm64 Image, loaded by both system calls (the kernel's own loader
/// takes it; on kexec_load the arm64 builder places it).
pub struct Arm64Image;

impl KernelFormat for Arm64Image {
    fn name(&self) -> &'static str {
        // kexec-tools' name for it in --type.
        "Image"
    }

    fn arch(&self) -> Option<&'static str> {
        Some("aarch64")
    }

    fn probe(&self, head: &[u8]) -> Result<(), String> {
        refusal(head).map_or(Ok(()), Err)
    }

    fn syscall(&self, _call: Syscall) -> Result<(), String> {
        // Which call an architecture may use is decided elsewhere.
        Ok(())
    }
}

/// A 64 KiB arm64 Image (or `image_size` bytes when that is smaller, down
/// to the header) with a modern kernel's header: a branch as code0,
/// little-endian, 4 KiB pages, placeable anywhere.
#[cfg(test)]
pub(crate) fn sample_image(text_offset: u64, image_size: u64) -> Vec<u8> {
    let len = if image_size >= HEADER_SIZE as u64 {
        image_size.min(64 << 10) as usize
    } else {
        64 << 10
    };
    let mut b = vec![0u8; len];
    b[0..4].copy_from_slice(&0x1400_0010u32.to_le_bytes()); // b #0x40
    b[0x08..0x10].copy_from_slice(&text_offset.to_le_bytes());
    b[0x10..0x18].copy_from_slice(&image_size.to_le_bytes());
    b[0x18..0x20].copy_from_slice(&0xau64.to_le_bytes());
    b[MAGIC_OFFSET..MAGIC_OFFSET + 4].copy_from_slice(MAGIC);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_modern_header() {
        let img = sample_image(0, 0x2a1_0000);
        let h = header("Image", &img).unwrap();
        assert_eq!(
            h,
            Header {
                text_offset: 0,
                image_size: 0x2a1_0000,
                flags: 0xa
            }
        );
        assert_eq!(h.page_size(), Some(4096));
        assert!(h.anywhere() && !h.big_endian());
        assert_eq!(img.len(), 64 << 10);
        assert_eq!(sample_image(0x8_0000, 0x1000).len(), 0x1000);
    }

    #[test]
    fn flag_helpers() {
        let h = |flags| Header {
            text_offset: 0,
            image_size: 1,
            flags,
        };
        assert_eq!(h(0).page_size(), None);
        assert_eq!(h(2).page_size(), Some(4 << 10));
        assert_eq!(h(4).page_size(), Some(16 << 10));
        assert_eq!(h(6).page_size(), Some(64 << 10));
        assert!(!h(0).anywhere() && h(8).anywhere());
        assert!(h(1).big_endian() && !h(0xe).big_endian());
    }

    #[test]
    fn a_pre_3_17_kernel_gets_the_legacy_offset_and_its_size_rounded() {
        let mut img = sample_image(0, 0);
        // Its text_offset field is not trusted (endianness unspecified).
        img[0x08..0x10].copy_from_slice(&0x8_0000u64.to_be_bytes());
        img.resize((2 << 20) + 1, 0);
        let h = header("old", &img).unwrap();
        assert_eq!(h.text_offset, 0x8_0000);
        assert_eq!(h.image_size, 4 << 20);
        img.truncate(0x10_0000);
        assert_eq!(header("old", &img).unwrap().image_size, 2 << 20);
    }

    #[test]
    fn refusals_name_the_file_field_and_value() {
        let mut img = sample_image(0x8_0000, 0x100_0000);
        img[0x18] = 0xb;
        assert_eq!(
            header("/boot/Image", &img).unwrap_err(),
            "/boot/Image: flags is 0xb: bit 0 says a big-endian kernel; only little-endian arm64 kernels are loaded"
        );
        let img = sample_image(0x20_0000, 0x100_0000);
        assert_eq!(
            header("k", &img).unwrap_err(),
            "k: text_offset is 0x200000: not a 4 KiB-aligned offset below 2 MiB"
        );
        let img = sample_image(0x8_0010, 0x100_0000);
        assert!(header("k", &img).unwrap_err().contains("0x80010"));
        let img = sample_image(0, 0x100_0000);
        assert_eq!(
            header("k", &img[..63]).unwrap_err(),
            "k: it is 63 bytes, shorter than the 64-byte arm64 Image header"
        );
        let mut img = sample_image(0, 0x100_0000);
        img[0x3b] = 0;
        assert_eq!(
            header("k", &img).unwrap_err(),
            "k: magic at 0x38 is 41 52 4d 00, not \"ARM\\x64\" (41 52 4d 64)"
        );
    }

    #[test]
    fn probe_takes_the_magic_and_an_efi_stub_pe() {
        let fmt = Arm64Image;
        assert_eq!(fmt.name(), "Image");
        let mut img = sample_image(0, 0x100_0000);
        assert_eq!(fmt.probe(&img), Ok(()));
        // Debian's arm64 kernel: "MZ" at 0 (the EFI stub), "PE\0\0" at
        // the offset res5 gives, and still the Image magic at 0x38.
        img[0..4].copy_from_slice(b"MZ\x40\xfa");
        img[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
        img[0x40..0x44].copy_from_slice(b"PE\0\0");
        assert_eq!(fmt.probe(&img), Ok(()));
        assert!(header("vmlinuz", &img).is_ok());
        // Neither call is refused here.
        assert_eq!(fmt.syscall(Syscall::KexecLoad), Ok(()));
        assert_eq!(fmt.syscall(Syscall::KexecFileLoad), Ok(()));
    }

    #[test]
    fn probe_refuses_other_files_naming_what_they_are() {
        let fmt = Arm64Image;
        let e = fmt.probe(&crate::testing::bzimage64_sample()).unwrap_err();
        assert!(e.starts_with("magic at 0x38 is 00 00 00 00"), "{e}");
        let mut rv = sample_image(0, 0x1000);
        rv[0x38..0x3c].copy_from_slice(b"RSC\x05");
        let e = fmt.probe(&rv).unwrap_err();
        assert!(
            e.contains("52 53 43 05") && e.contains("it is a RISC-V kernel Image"),
            "{e}"
        );
        let mut gz = crate::testing::gzip("x");
        gz.resize(4096, 0);
        let e = fmt.probe(&gz).unwrap_err();
        assert!(
            e.contains("gzip-compressed data, not an arm64 Image"),
            "{e}"
        );
        assert_eq!(
            fmt.probe(&[0; 10]).unwrap_err(),
            "it is 10 bytes, shorter than the 64-byte arm64 Image header"
        );
    }
}
