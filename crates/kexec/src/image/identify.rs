//! What a file that no format accepts is, from its magic bytes: so "not a
//! kernel" can say "it is gzip-compressed data" rather than only which
//! bzImage field is wrong.

use super::pe::PeImage;

/// A magic at an offset, what it means, and what to do about it.
struct Magic {
    at: usize,
    bytes: &'static [u8],
    what: &'static str,
    advice: &'static str,
}

const fn magic(at: usize, bytes: &'static [u8], what: &'static str, advice: &'static str) -> Magic {
    Magic {
        at,
        bytes,
        what,
        advice,
    }
}

#[cfg(not(target_arch = "aarch64"))]
const OTHER_ARCH: &str = ": a kernel for another architecture (this kexec boots x86_64 kernels)";
#[cfg(target_arch = "aarch64")]
const OTHER_ARCH: &str = ": a kernel for another architecture (this kexec boots arm64 kernels)";

/// Checked in order: EFI zboot before plain PE (both start with "MZ").
const MAGICS: &[Magic] = &[
    magic(
        0,
        b"\x1f\x8b",
        "gzip-compressed data",
        ": decompress it first (gunzip), then load the bzImage or vmlinux inside",
    ),
    magic(
        0,
        b"\x28\xb5\x2f\xfd",
        "zstd-compressed data",
        ": decompress it first (unzstd), then load the bzImage or vmlinux inside",
    ),
    magic(
        0,
        b"\xfd\x37\x7a\x58\x5a\x00",
        "xz-compressed data",
        ": decompress it first (unxz), then load the bzImage or vmlinux inside",
    ),
    magic(
        0,
        b"\x02\x21\x4c\x18",
        "lz4-compressed data (legacy frame)",
        ": decompress it first (lz4 -d), then load the bzImage or vmlinux inside",
    ),
    magic(
        0,
        b"\x04\x22\x4d\x18",
        "lz4-compressed data",
        ": decompress it first (lz4 -d), then load the bzImage or vmlinux inside",
    ),
    magic(
        0,
        b"BZh",
        "bzip2-compressed data",
        ": decompress it first (bunzip2), then load the bzImage or vmlinux inside",
    ),
    magic(
        0,
        b"\x5d\x00\x00",
        "lzma-compressed data",
        ": decompress it first (unlzma), then load the bzImage or vmlinux inside",
    ),
    magic(
        4,
        b"zimg",
        "an EFI zboot image (a compressed kernel in a PE wrapper, as arm64 and riscv64 build)",
        OTHER_ARCH,
    ),
    magic(0x38, b"ARM\x64", "an arm64 kernel Image", OTHER_ARCH),
    magic(0x38, b"RSC\x05", "a RISC-V kernel Image", OTHER_ARCH),
    magic(
        0,
        b"070701",
        "a cpio archive (an initramfs?)",
        ": give it with --initrd, and the kernel as the file to load",
    ),
    magic(
        0,
        b"070702",
        "a cpio archive (an initramfs?)",
        ": give it with --initrd, and the kernel as the file to load",
    ),
    magic(0, b"#!", "a script", ""),
];

/// What the file whose first bytes are `head` is, when we can tell:
/// "gzip-compressed data", "an arm64 kernel Image", "an ELF64 file for
/// AArch64", "a unified kernel image (UKI)", "text"...
///
/// ```rust
/// use kexec::image::identify;
/// assert_eq!(identify(b"\x1f\x8b\x08\x00"), Some("gzip-compressed data"));
/// let mut arm64 = vec![0u8; 64];
/// arm64[0x38..0x3c].copy_from_slice(b"ARM\x64");
/// assert_eq!(identify(&arm64), Some("an arm64 kernel Image"));
/// assert_eq!(identify(b"#!/bin/sh\n"), Some("a script"));
/// ```
pub fn identify(head: &[u8]) -> Option<&'static str> {
    identify_with_advice(head).map(|(what, _)| what)
}

/// `identify` and what to do about it (": decompress it first (...)").
pub fn identify_with_advice(head: &[u8]) -> Option<(&'static str, &'static str)> {
    // Before the ELF and PE checks: Xen and other multiboot kernels are ELF
    // files (or PE) with the multiboot header near their start.
    if let Some(version) = multiboot(head) {
        return Some((
            if version == 1 {
                "a multiboot kernel (a Xen hypervisor or another multiboot OS)"
            } else {
                "a multiboot2 kernel (a Xen hypervisor or another multiboot2 OS)"
            },
            ": this kexec loads Linux kernels only; kexec-tools loads multiboot kernels with --type=multiboot-x86 and their modules with --module=FILE",
        ));
    }
    if let Some(m) = MAGICS.iter().find(|m| {
        head.get(m.at..m.at + m.bytes.len()) == Some(m.bytes)
            && (m.bytes != b"zimg" || head.starts_with(b"MZ"))
    }) {
        return Some((m.what, m.advice));
    }
    if let Some(what) = elf(head) {
        let x86_64 = what.ends_with("x86_64");
        let advice = if x86_64 {
            ""
        } else if what == "an ELF32 file for i386" && cfg!(target_arch = "x86_64") {
            ": a 32-bit x86 kernel or program; this kexec boots 64-bit kernels (a bzImage, or an ELF64 vmlinux)"
        } else {
            OTHER_ARCH
        };
        return Some((what, advice));
    }
    if PeImage::is_pe(head) {
        let uki = PeImage::parse(head).is_ok_and(|pe| pe.section(".linux").is_some());
        return Some(if uki {
            (
                "a unified kernel image (UKI, a PE with a .linux section)",
                // One whose .linux holds a kernel for this machine is
                // unwrapped before the formats see it (image::uki).
                ": its .linux section holds no kernel this machine boots (a UKI whose .linux does is unwrapped and loaded)",
            )
        } else {
            ("a PE/COFF executable (an EFI program)", "")
        });
    }
    if is_text(head) {
        return Some(("text", ""));
    }
    None
}

/// Which multiboot header `head` carries, if any: version 1 (magic
/// 0x1BADB002 at a 4-byte boundary in the first 8 KiB, magic + flags +
/// checksum = 0) or 2 (0xE85250D6 at an 8-byte boundary in the first
/// 32 KiB, magic + architecture + header length + checksum = 0).
fn multiboot(head: &[u8]) -> Option<u8> {
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(head.get(at..at + 4)?.try_into().ok()?))
    };
    // The header's first `n` words, all present, add up to 0 (mod 2^32).
    let sums_to_zero = |at: usize, n: usize| -> bool {
        (0..n)
            .map(|i| word(at + 4 * i))
            .try_fold(0u32, |sum, w| Some(sum.wrapping_add(w?)))
            == Some(0)
    };
    if (0..8192)
        .step_by(4)
        .any(|at| word(at) == Some(0x1bad_b002) && sums_to_zero(at, 3))
    {
        return Some(1);
    }
    (0..32768)
        .step_by(8)
        .find(|&at| word(at) == Some(0xe852_50d6) && sums_to_zero(at, 4))
        .map(|_| 2)
}

/// "an ELF64 file for AArch64" for an ELF header.
fn elf(head: &[u8]) -> Option<&'static str> {
    if !head.starts_with(b"\x7fELF") || head.len() < 20 {
        return None;
    }
    let machine = match head[5] {
        2 => u16::from_be_bytes([head[18], head[19]]),
        _ => u16::from_le_bytes([head[18], head[19]]),
    };
    let elf64 = head[4] == 2;
    Some(match (elf64, machine) {
        (true, 62) => "an ELF64 file for x86_64",
        (true, 183) => "an ELF64 file for AArch64",
        (true, 243) => "an ELF64 file for RISC-V (riscv64)",
        (true, 21) => "an ELF64 file for PowerPC (ppc64)",
        (true, 22) => "an ELF64 file for s390x",
        (true, 258) => "an ELF64 file for LoongArch",
        (true, _) => "an ELF64 file for another machine",
        (false, 3) => "an ELF32 file for i386",
        (false, 40) => "an ELF32 file for ARM",
        (false, 243) => "an ELF32 file for RISC-V (riscv32)",
        (false, _) => "an ELF32 file for another machine",
    })
}

/// Printable ASCII or UTF-8 text with whitespace, and no NUL, in the
/// first 512 bytes.
fn is_text(head: &[u8]) -> bool {
    let start = &head[..head.len().min(512)];
    let printable = |b: &u8| matches!(b, b'\n' | b'\r' | b'\t' | 0x20..=0x7e | 0x80..);
    !start.is_empty()
        && start.iter().all(printable)
        // Valid UTF-8, or cut only by the 512-byte window.
        && std::str::from_utf8(start).map_or_else(|e| e.error_len().is_none(), |_| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiboot_kernels_are_named_with_what_loads_them() {
        // An ELF32 with a multiboot header 0x1000 in, as Xen's.
        let mut mb = elf_head(1, 3);
        mb.resize(0x3000, 0);
        let (magic, flags) = (0x1bad_b002u32, 0x0001_0003u32);
        mb[0x1000..0x1004].copy_from_slice(&magic.to_le_bytes());
        mb[0x1004..0x1008].copy_from_slice(&flags.to_le_bytes());
        mb[0x1008..0x100c]
            .copy_from_slice(&0u32.wrapping_sub(magic).wrapping_sub(flags).to_le_bytes());
        let (what, advice) = identify_with_advice(&mb).unwrap();
        assert!(what.starts_with("a multiboot kernel"), "{what}");
        assert!(
            advice.contains("--type=multiboot-x86") && advice.contains("--module"),
            "{advice}"
        );
        // A wrong checksum is no header: the ELF32 it is.
        mb[0x1008] ^= 1;
        assert_eq!(identify(&mb), Some("an ELF32 file for i386"));
        // Multiboot2: magic, architecture 0, header length, checksum.
        let mut mb2 = vec![0u8; 0x4000];
        let (m2, len) = (0xe852_50d6u32, 24u32);
        mb2[0x2008..0x200c].copy_from_slice(&m2.to_le_bytes());
        mb2[0x2010..0x2014].copy_from_slice(&len.to_le_bytes());
        mb2[0x2014..0x2018].copy_from_slice(&0u32.wrapping_sub(m2).wrapping_sub(len).to_le_bytes());
        assert!(identify(&mb2).unwrap().starts_with("a multiboot2 kernel"));
    }

    fn at(offset: usize, bytes: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 4096];
        f[offset..offset + bytes.len()].copy_from_slice(bytes);
        f
    }

    fn elf_head(class: u8, machine: u16) -> Vec<u8> {
        let mut f = at(0, b"\x7fELF");
        f[4] = class;
        f[5] = 1;
        f[18..20].copy_from_slice(&machine.to_le_bytes());
        f
    }

    #[test]
    fn every_magic_is_named() {
        let mut zboot = at(0, b"MZ");
        zboot[4..8].copy_from_slice(b"zimg");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (crate::testing::gzip("x"), "gzip"),
            (at(0, b"\x28\xb5\x2f\xfd"), "zstd"),
            (at(0, b"\xfd\x37\x7a\x58\x5a\x00"), "xz"),
            (at(0, b"\x02\x21\x4c\x18"), "lz4"),
            (at(0, b"\x04\x22\x4d\x18"), "lz4"),
            (at(0, b"BZh91AY&SY"), "bzip2"),
            (at(0, b"\x5d\x00\x00\x80\x00"), "lzma"),
            (zboot, "EFI zboot"),
            (at(0x38, b"ARM\x64"), "arm64 kernel Image"),
            (at(0x38, b"RSC\x05"), "RISC-V kernel Image"),
            (b"070701000000010000".to_vec(), "cpio"),
            (b"#!/bin/sh\necho hi\n".to_vec(), "script"),
            (b"console=ttyS0 root=/dev/vda\n".to_vec(), "text"),
            (elf_head(2, 183), "ELF64 file for AArch64"),
            (elf_head(2, 243), "ELF64 file for RISC-V"),
            (elf_head(1, 3), "ELF32 file for i386"),
            (elf_head(1, 40), "ELF32 file for ARM"),
            (elf_head(2, 62), "ELF64 file for x86_64"),
            (crate::image::pe::tests::tiny_uki(), "unified kernel image"),
        ];
        for (head, want) in cases {
            let got = identify(&head);
            assert!(got.is_some_and(|g| g.contains(want)), "{want}: got {got:?}");
        }
    }

    #[test]
    fn a_plain_pe_is_not_a_uki_and_zeros_are_nothing() {
        let mut pe = at(0, b"MZ");
        pe[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        let got = identify(&pe);
        assert!(got.is_some_and(|g| g.contains("PE/COFF")), "{got:?}");
        assert_eq!(identify(&[0u8; 4096]), None);
        assert_eq!(identify(&[]), None);
        // "zimg" without "MZ" is no zboot.
        assert_eq!(identify(&at(4, b"zimg")), None);
    }
}
