//! The x86 bzImage: the real-mode setup header at offset 0x1f1
//! (Documentation/arch/x86/boot.rst). This file only reads fields; which
//! values a loader accepts is the kernel's rule, kept in `rules`.

use serde::Serialize;

/// Byte offsets of the setup header fields we use.
pub mod offset {
    /// Offset of the header's setup_sects field.
    pub const SETUP_SECTS: usize = 0x1f1;
    /// Offset of the header's boot_flag (0xAA55) field.
    pub const BOOT_FLAG: usize = 0x1fe;
    /// Offset of the header's jump, the short jump whose target ends the header field.
    pub const JUMP: usize = 0x200;
    /// Offset of the header's header, the "HdrS" magic field.
    pub const HEADER: usize = 0x202;
    /// Offset of the header's version field.
    pub const VERSION: usize = 0x206;
    /// Offset of the header's loadflags field.
    pub const LOADFLAGS: usize = 0x211;
    /// Offset of the header's initrd_addr_max field.
    pub const INITRD_ADDR_MAX: usize = 0x22c;
    /// Offset of the header's kernel_alignment field.
    pub const KERNEL_ALIGNMENT: usize = 0x230;
    /// Offset of the header's relocatable_kernel field.
    pub const RELOCATABLE_KERNEL: usize = 0x234;
    /// Offset of the header's xloadflags field.
    pub const XLOADFLAGS: usize = 0x236;
    /// Offset of the header's cmdline_size field.
    pub const CMDLINE_SIZE: usize = 0x238;
    /// Offset of the header's payload_offset field.
    pub const PAYLOAD_OFFSET: usize = 0x248;
    /// Offset of the header's payload_length field.
    pub const PAYLOAD_LENGTH: usize = 0x24c;
    /// Offset of the header's pref_address field.
    pub const PREF_ADDRESS: usize = 0x258;
    /// Offset of the header's init_size field.
    pub const INIT_SIZE: usize = 0x260;
}

/// The value boot_flag must hold.
pub const BOOT_FLAG: u16 = 0xaa55;
/// "HdrS" read as a little-endian u32.
pub const HEADER_MAGIC: u32 = 0x5372_6448;
/// loadflags bit: the protected-mode code is loaded at 0x100000.
pub const LOADED_HIGH: u8 = 1 << 0;
/// xloadflags bit: the kernel has a 64-bit entry at 0x200.
pub const XLF_KERNEL_64: u16 = 1 << 0;
/// xloadflags bit: the kernel and its boot data may be loaded above 4 GiB.
pub const XLF_CAN_BE_LOADED_ABOVE_4G: u16 = 1 << 1;
/// xloadflags bit: a 32-bit EFI handover entry exists.
pub const XLF_EFI_HANDOVER_32: u16 = 1 << 2;
/// xloadflags bit: a 64-bit EFI handover entry exists.
pub const XLF_EFI_HANDOVER_64: u16 = 1 << 3;
/// xloadflags bit: the kernel supports kexec with EFI runtime services.
pub const XLF_EFI_KEXEC: u16 = 1 << 4;
/// xloadflags bit: the kernel can run with 5-level paging.
pub const XLF_5LEVEL: u16 = 1 << 5;
/// xloadflags bit: the kernel was built with 5-level paging enabled.
pub const XLF_5LEVEL_ENABLED: u16 = 1 << 6;

/// Bytes needed to read every field above.
pub const HEADER_END: usize = 0x270;
/// Sector size of the real-mode part.
pub const SECTOR: u64 = 512;
/// setup_sects == 0 means 4 (boot protocol, for ancient kernels).
pub const DEFAULT_SETUP_SECTS: u8 = 4;

/// The setup header's fields, read as they are (boot protocol names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SetupHeader {
    /// Sectors of real-mode setup code after the boot sector (0 means 4).
    pub setup_sects: u8,
    /// 0xAA55 in a bootable image.
    pub boot_flag: u16,
    /// "HdrS" ([`HEADER_MAGIC`]) when the header exists (protocol 2.00+).
    pub header: u32,
    /// Boot protocol version, major in the high byte.
    pub version: u16,
    /// Boot flags, such as [`LOADED_HIGH`].
    pub loadflags: u8,
    /// The highest address the initrd may end at.
    pub initrd_addr_max: u32,
    /// Alignment a relocatable kernel needs.
    pub kernel_alignment: u32,
    /// Nonzero when the kernel can run at any aligned address.
    pub relocatable_kernel: u8,
    /// Extended flags (`XLF_*`).
    pub xloadflags: u16,
    /// The longest command line the kernel takes, without its NUL.
    pub cmdline_size: u32,
    /// Offset of the compressed payload from the protected-mode code.
    pub payload_offset: u32,
    /// Length of the compressed payload.
    pub payload_length: u32,
    /// Preferred load address of a relocatable kernel.
    pub pref_address: u64,
    /// Memory the kernel needs from its load address while it decompresses.
    pub init_size: u32,
}

// Only `SetupHeader::read` calls these, after checking the input holds
// HEADER_END bytes and every field ends below that: the indexing cannot fail,
// and a slice of exactly 4 (8) bytes always converts.
fn u8_at(b: &[u8], at: usize) -> u8 {
    b[at]
}
fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl SetupHeader {
    /// Reads the fields from the start of a file. `None` when the file is too
    /// short to hold them; nothing is validated here.
    pub fn read(start: &[u8]) -> Option<SetupHeader> {
        if start.len() < HEADER_END {
            return None;
        }
        use offset::*;
        Some(SetupHeader {
            setup_sects: u8_at(start, SETUP_SECTS),
            boot_flag: u16_at(start, BOOT_FLAG),
            header: u32_at(start, HEADER),
            version: u16_at(start, VERSION),
            loadflags: u8_at(start, LOADFLAGS),
            initrd_addr_max: u32_at(start, INITRD_ADDR_MAX),
            kernel_alignment: u32_at(start, KERNEL_ALIGNMENT),
            relocatable_kernel: u8_at(start, RELOCATABLE_KERNEL),
            xloadflags: u16_at(start, XLOADFLAGS),
            cmdline_size: u32_at(start, CMDLINE_SIZE),
            payload_offset: u32_at(start, PAYLOAD_OFFSET),
            payload_length: u32_at(start, PAYLOAD_LENGTH),
            pref_address: u64_at(start, PREF_ADDRESS),
            init_size: u32_at(start, INIT_SIZE),
        })
    }

    /// Size of the real-mode part (boot sector + setup), which the 64-bit
    /// loaders skip: (setup_sects + 1) * 512.
    pub fn real_mode_size(&self) -> u64 {
        let sects = if self.setup_sects == 0 {
            DEFAULT_SETUP_SECTS
        } else {
            self.setup_sects
        };
        (u64::from(sects) + 1) * SECTOR
    }

    /// The protocol version as people write it: "2.15".
    pub fn version_text(&self) -> String {
        format!("{}.{:02}", self.version >> 8, self.version & 0xff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::bzimage64_sample as debian_like_header;

    #[test]
    fn reads_fields_at_their_offsets() {
        let h = SetupHeader::read(&debian_like_header()).unwrap();
        assert_eq!(h.header, HEADER_MAGIC);
        assert_eq!(h.boot_flag, 0xaa55);
        assert_eq!(h.version_text(), "2.15");
        assert_eq!(h.cmdline_size, 2047);
        assert_eq!(h.init_size, 0x2a0_0000);
        assert_eq!(h.real_mode_size(), 0x1c * 512);
        assert_eq!(h.xloadflags & XLF_KERNEL_64, XLF_KERNEL_64);
    }

    #[test]
    fn short_input_has_no_header() {
        assert_eq!(SetupHeader::read(&[0u8; 0x26f]), None);
    }

    #[test]
    fn zero_setup_sects_means_four() {
        let mut b = debian_like_header();
        b[offset::SETUP_SECTS] = 0;
        assert_eq!(SetupHeader::read(&b).unwrap().real_mode_size(), 5 * 512);
    }
}
