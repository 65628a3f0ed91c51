//! The bzImage64 format: an x86 setup header (see `bzimage`) with the
//! signature both the kernel's kexec_file probe and our kexec_load builder
//! want, the header checks of the kernel's bzImage64 loader against the
//! running system (XLF_CAN_BE_LOADED_ABOVE_4G, 5-level paging, EFI), and
//! whether the file holds all the setup code and payload it declares.
//! `rules` calls them in the kernel's order.

use super::bzimage::{self, SetupHeader, BOOT_FLAG, HEADER_MAGIC, LOADED_HIGH, XLF_KERNEL_64};
use super::bzimage::{XLF_5LEVEL, XLF_CAN_BE_LOADED_ABOVE_4G};
use super::format::KernelFormat;
use crate::facts::Facts;
use crate::plan::Syscall;

/// The oldest boot protocol the 64-bit loaders take (2.12).
pub const MIN_PROTOCOL: u16 = 0x020c;

/// The x86_64 bzImage, loaded by both system calls.
pub struct BzImage64;

impl KernelFormat for BzImage64 {
    fn name(&self) -> &'static str {
        "bzImage64"
    }

    fn arch(&self) -> Option<&'static str> {
        Some("x86_64")
    }

    fn probe(&self, head: &[u8]) -> Result<(), String> {
        refusal(head).map_or(Ok(()), Err)
    }

    fn syscall(&self, _call: Syscall) -> Result<(), String> {
        Ok(())
    }
}

/// Why a kernel does not carry the bzImage64 signature (magic, boot flag,
/// protocol >= 2.12, LOADED_HIGH, XLF_KERNEL_64), or None; when the file is
/// something else we can name (gzip data, a PE, an arm64 Image...), that is
/// said after the field at fault.
pub fn refusal(head: &[u8]) -> Option<String> {
    // The kernel looks only at the setup header, never at the first bytes:
    // an ELF magic explains a failure, it is not one by itself.
    let why = setup_header_signature(head)?;
    if let Some(elf) = elf_explanation(head) {
        return Some(elf);
    }
    // With the "HdrS" magic in place it is a bzImage with a bad field (an
    // EFI-stub bzImage is a PE too): only a file without one is named.
    let has_magic = SetupHeader::read(head).is_some_and(|h| h.header == HEADER_MAGIC);
    Some(match super::identify::identify_with_advice(head) {
        Some((what, advice)) if !has_magic => {
            format!("{why}: it is {what}, not a bzImage{advice}")
        }
        _ => why,
    })
}

/// Why a bzImage of `size` bytes is cut short, or None. The setup code
/// check is the kernel's (ENOEXEC); the payload check is ours: the kernel
/// would load such a file, and its decompressor would fail at boot.
pub fn truncated(size: u64, h: &SetupHeader) -> Option<String> {
    let real_mode = h.real_mode_size();
    if size < real_mode {
        return Some(format!(
            "it is {size} bytes, but its setup_sects ({}) alone take {real_mode} bytes",
            h.setup_sects
        ));
    }
    let payload_end = real_mode + u64::from(h.payload_offset) + u64::from(h.payload_length);
    if h.payload_length != 0 && size < payload_end {
        return Some(format!(
            "it is {size} bytes, but its compressed payload (payload_offset {:#x}, payload_length {}) ends at byte {payload_end}: {} bytes are missing",
            h.payload_offset,
            h.payload_length,
            payload_end - size
        ));
    }
    None
}

/// Why a kernel is not a bzImage64 the x86_64 kexec_file loader takes
/// (the kernel's bzImage64_probe, judged against the running system), or
/// None when it is one.
pub fn file_loader_refusal(head: &[u8], facts: &Facts) -> Option<String> {
    if let Some(why) = refusal(head) {
        return Some(why);
    }
    let h = SetupHeader::read(head)?;
    if h.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G == 0 {
        return Some(format!(
            "xloadflags {:#06x} lack XLF_CAN_BE_LOADED_ABOVE_4G",
            h.xloadflags
        ));
    }
    if facts.efi_32bit {
        return Some(
            "the firmware's EFI runtime is 32-bit, which the 64-bit loader cannot hand over".into(),
        );
    }
    if facts.five_level_paging && h.xloadflags & XLF_5LEVEL == 0 {
        return Some(format!(
            "the running kernel uses 5-level paging but xloadflags {:#06x} lack XLF_5LEVEL",
            h.xloadflags
        ));
    }
    None
}

/// "it is an ELF file for ..." when the file starts with an ELF header.
fn elf_explanation(head: &[u8]) -> Option<String> {
    // A multiboot kernel (Xen) is an ELF file too: its header says more.
    if let Some((what, advice)) = super::identify::identify_with_advice(head) {
        if what.contains("multiboot") {
            return Some(format!("it is {what}, not a bzImage{advice}"));
        }
    }
    if head.starts_with(b"\x7fELF") && head.len() >= 20 {
        let machine = u16::from_le_bytes([head[18], head[19]]);
        let arch = match machine {
            62 => {
                "x86_64: an uncompressed vmlinux, which only kexec_load takes (use -c)".to_string()
            }
            183 => "AArch64: a kernel for another architecture".to_string(),
            243 => "RISC-V: a kernel for another architecture".to_string(),
            3 => "i386: a kernel for another architecture".to_string(),
            m => format!("machine {m}: a kernel for another architecture"),
        };
        return Some(format!("it is an ELF file for {arch}, not a bzImage"));
    }
    None
}

/// bzImage64_probe's checks on the setup header alone.
fn setup_header_signature(head: &[u8]) -> Option<String> {
    if head.len() < 2 * bzimage::SECTOR as usize {
        return Some(format!(
            "it is {} bytes long, too short to hold an x86 boot sector and setup header (at least 1024)",
            head.len()
        ));
    }
    let h = match SetupHeader::read(head) {
        Some(h) => h,
        None => return Some("it is too short to hold an x86 setup header".into()),
    };
    if h.header != HEADER_MAGIC {
        return Some(format!(
            "no \"HdrS\" setup header magic at offset {:#x} (found {:#010x}; expected {HEADER_MAGIC:#010x})",
            bzimage::offset::HEADER,
            h.header
        ));
    }
    if h.boot_flag != BOOT_FLAG {
        return Some(format!(
            "boot_flag at offset {:#x} is {:#06x}, not {BOOT_FLAG:#06x}",
            bzimage::offset::BOOT_FLAG,
            h.boot_flag
        ));
    }
    if h.version < MIN_PROTOCOL {
        return Some(format!(
            "boot protocol version is {}; the 64-bit loader needs 2.12 or later",
            h.version_text()
        ));
    }
    if h.loadflags & LOADED_HIGH == 0 {
        return Some(format!(
            "loadflags {:#04x} lack LOADED_HIGH: it is a zImage, not a bzImage",
            h.loadflags
        ));
    }
    if h.xloadflags & XLF_KERNEL_64 == 0 {
        return Some(format!(
            "xloadflags {:#06x} lack XLF_KERNEL_64: it has no 64-bit entry point (a 32-bit kernel?)",
            h.xloadflags
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::bzimage64_sample;

    #[test]
    fn the_field_comes_first_then_what_the_file_is() {
        assert_eq!(refusal(&bzimage64_sample()), None);
        let mut zst = vec![0u8; 4096];
        zst[..4].copy_from_slice(b"\x28\xb5\x2f\xfd");
        let why = refusal(&zst).unwrap();
        assert!(
            why.starts_with("no \"HdrS\" setup header magic at offset 0x202")
                && why.contains(": it is zstd-compressed data, not a bzImage: decompress it first"),
            "{why}"
        );
        // Short files keep their length, and are named too.
        let why = refusal(b"#!/bin/sh\nreboot\n").unwrap();
        assert!(
            why.contains("17 bytes long") && why.contains("a script"),
            "{why}"
        );
        // Unknown bytes: the field alone.
        let why = refusal(&[0xa5u8; 4096]).unwrap();
        assert!(why.ends_with("expected 0x53726448)"), "{why}");
    }

    #[test]
    fn a_bzimage_with_a_bad_field_is_not_called_something_else() {
        // The sample, like Debian's, starts with "MZ": an EFI-stub PE.
        let mut old = bzimage64_sample();
        old[bzimage::offset::VERSION..bzimage::offset::VERSION + 2]
            .copy_from_slice(&0x020bu16.to_le_bytes());
        let why = refusal(&old).unwrap();
        assert!(why.contains("2.11") && !why.contains("it is a"), "{why}");
    }

    #[test]
    fn an_elf_file_keeps_its_own_explanation() {
        let mut elf = vec![0u8; 4096];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[18] = 183;
        let why = refusal(&elf).unwrap();
        assert_eq!(
            why,
            "it is an ELF file for AArch64: a kernel for another architecture, not a bzImage"
        );
    }
}
