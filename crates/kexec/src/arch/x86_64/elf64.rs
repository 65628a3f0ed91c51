//! An x86_64 ELF kernel (a Linux vmlinux) on the kexec_load path: its
//! PT_LOAD segments go to their physical addresses (p_paddr) and the
//! purgatory jumps to e_entry, which a vmlinux links as a physical address
//! (phys_startup_64). A Linux kernel gets boot_params in rsi by default —
//! kexec-tools makes that `--args-linux` — or nothing with `--args-none`.

use super::x86_linux::{BootArgs, BuildError, Kernel, LinuxBoot};
use crate::image::bzimage::{
    offset, BOOT_FLAG, HEADER_END, HEADER_MAGIC, LOADED_HIGH, XLF_CAN_BE_LOADED_ABOVE_4G,
    XLF_EFI_KEXEC, XLF_KERNEL_64,
};
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::Endianness;

/// The four bytes every ELF file starts with.
pub const ELF_MAGIC: &[u8; 4] = b"\x7fELF";

/// The x86 COMMAND_LINE_SIZE a vmlinux is built with by default.
pub const VMLINUX_CMDLINE_SIZE: u32 = 2047;
/// Protocol 2.15: the zero page layout the kernel reads.
const PROTOCOL: u16 = 0x020f;

/// Highest physical address on x86_64 (52 bits, 5-level paging).
pub const MAX_PHYSICAL: u64 = 1 << 52;

/// Whether `bytes` start like an ELF file (any class or machine).
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(ELF_MAGIC)
}

/// The setup header a bzImage would have carried: a vmlinux has none, but
/// the zero page must hold one (signature, protocol, limits).
pub fn synthetic_setup_header() -> Vec<u8> {
    let mut h = vec![0u8; HEADER_END];
    h[offset::BOOT_FLAG..offset::BOOT_FLAG + 2].copy_from_slice(&BOOT_FLAG.to_le_bytes());
    h[offset::JUMP] = 0xeb;
    h[offset::JUMP + 1] = (0x26c - 0x202) as u8;
    h[offset::HEADER..offset::HEADER + 4].copy_from_slice(&HEADER_MAGIC.to_le_bytes());
    h[offset::VERSION..offset::VERSION + 2].copy_from_slice(&PROTOCOL.to_le_bytes());
    h[offset::LOADFLAGS] = LOADED_HIGH;
    h[offset::INITRD_ADDR_MAX..offset::INITRD_ADDR_MAX + 4]
        .copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let xlf = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G | XLF_EFI_KEXEC;
    h[offset::XLOADFLAGS..offset::XLOADFLAGS + 2].copy_from_slice(&xlf.to_le_bytes());
    h[offset::CMDLINE_SIZE..offset::CMDLINE_SIZE + 4]
        .copy_from_slice(&VMLINUX_CMDLINE_SIZE.to_le_bytes());
    h
}

/// The boot description of an ELF kernel's bytes.
pub fn describe<'a>(
    file: &'a str,
    kernel: &'a [u8],
    setup_header: &'a [u8],
    args: BootArgs,
    initrd: Option<&'a [u8]>,
    cmdline: &'a [u8],
) -> Result<LinuxBoot<'a>, BuildError> {
    let err = |why: String| BuildError::Format {
        file: file.into(),
        why,
    };
    // A 32-bit ELF (Xen's multiboot hypervisor, an i386 kernel) is named
    // for what it is before the ELF64 parser says only that it is not one.
    if kernel.get(4) != Some(&2) {
        if let Some((what, advice)) = crate::image::identify::identify_with_advice(kernel) {
            return Err(err(format!("it is {what}, not an ELF64 vmlinux{advice}")));
        }
    }
    let parsed = ElfFile64::<Endianness>::parse(kernel)
        .map_err(|e| err(format!("not a valid ELF64 file: {e}")))?;
    let endian = parsed.endian();
    let header = parsed.elf_header();
    let machine = header.e_machine(endian);
    if machine != elf::EM_X86_64 {
        return Err(err(format!(
            "e_machine is {machine}, not EM_X86_64 (62): an ELF for another architecture"
        )));
    }
    let kind = header.e_type(endian);
    if kind != elf::ET_EXEC && kind != elf::ET_DYN {
        return Err(err(format!(
            "e_type is {kind}: only executables (ET_EXEC) and ET_DYN can be booted"
        )));
    }
    if args == BootArgs::None && (initrd.is_some() || !cmdline.is_empty()) {
        return Err(err("--args-none passes nothing to the kernel: drop --initrd and --append, or use --args-linux".into()));
    }
    let mut pieces = Vec::new();
    let phdrs = header
        .program_headers(endian, kernel)
        .map_err(|e| err(format!("bad program headers: {e}")))?;
    for (i, ph) in phdrs.iter().enumerate() {
        if ph.p_type(endian) != elf::PT_LOAD || ph.p_memsz(endian) == 0 {
            continue;
        }
        let data = ph.data(endian, kernel).map_err(|_| {
            err(format!(
                "PT_LOAD {i}: p_offset/p_filesz lie outside the file"
            ))
        })?;
        let (paddr, memsz) = (ph.p_paddr(endian), ph.p_memsz(endian));
        if paddr % crate::layout::PAGE_SIZE != 0 {
            return Err(err(format!(
                "PT_LOAD {i}: p_paddr {paddr:#x} is not page-aligned"
            )));
        }
        if paddr
            .checked_add(memsz)
            .is_none_or(|end| end > MAX_PHYSICAL)
        {
            // Found by fuzzing: a p_memsz near 2^64 wrapped the range around.
            return Err(err(format!(
                "PT_LOAD {i}: p_paddr {paddr:#x} + p_memsz {memsz:#x} lies beyond any physical address"
            )));
        }
        if (data.len() as u64) > memsz {
            return Err(err(format!(
                "PT_LOAD {i}: p_filesz {:#x} exceeds p_memsz {memsz:#x}",
                data.len()
            )));
        }
        pieces.push((paddr, data, memsz));
    }
    if pieces.is_empty() {
        return Err(err("it has no PT_LOAD segment to load".into()));
    }
    let entry = header.e_entry(endian);
    if !pieces
        .iter()
        .any(|(at, _, memsz)| entry >= *at && entry < at + memsz)
    {
        return Err(err(format!(
            "e_entry {entry:#x} is not inside any PT_LOAD segment's physical range (a virtual entry point?)"
        )));
    }
    Ok(LinuxBoot {
        file,
        setup_header,
        kernel: Kernel::Fixed { pieces, entry },
        args,
        initrd,
        cmdline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::bzimage::SetupHeader;

    /// A minimal x86_64 ELF executable: one PT_LOAD of 0x100 bytes at 16 MiB.
    pub fn tiny_vmlinux(machine: u16, entry: u64) -> Vec<u8> {
        let mut f = vec![0u8; 0x1100];
        f[0..4].copy_from_slice(ELF_MAGIC);
        f[4] = 2; // ELFCLASS64
        f[5] = 1; // little endian
        f[6] = 1;
        f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        f[18..20].copy_from_slice(&machine.to_le_bytes());
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[24..32].copy_from_slice(&entry.to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        f[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        f[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        f[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let ph = 64;
        f[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        f[ph + 8..ph + 16].copy_from_slice(&0x1000u64.to_le_bytes()); // p_offset
        f[ph + 16..ph + 24].copy_from_slice(&0xffff_ffff_8100_0000u64.to_le_bytes()); // p_vaddr
        f[ph + 24..ph + 32].copy_from_slice(&0x100_0000u64.to_le_bytes()); // p_paddr
        f[ph + 32..ph + 40].copy_from_slice(&0x100u64.to_le_bytes()); // p_filesz
        f[ph + 40..ph + 48].copy_from_slice(&0x20_0000u64.to_le_bytes()); // p_memsz
        f
    }

    #[test]
    fn loads_pt_load_at_p_paddr_and_enters_at_e_entry() {
        let f = tiny_vmlinux(62, 0x100_0000);
        let h = synthetic_setup_header();
        let boot = describe("vmlinux", &f, &h, BootArgs::Linux, None, b"x").unwrap();
        let Kernel::Fixed { pieces, entry } = &boot.kernel else {
            panic!()
        };
        assert_eq!(*entry, 0x100_0000);
        assert_eq!(pieces.len(), 1);
        assert_eq!(
            (pieces[0].0, pieces[0].1.len(), pieces[0].2),
            (0x100_0000, 0x100, 0x20_0000)
        );
        let sh = SetupHeader::read(&h).unwrap();
        assert_eq!(
            (sh.header, sh.version, sh.cmdline_size),
            (HEADER_MAGIC, 0x020f, 2047)
        );
    }

    #[test]
    fn rejections_name_the_field() {
        let h = synthetic_setup_header();
        let arm = tiny_vmlinux(183, 0x100_0000);
        let e = describe("vmlinux", &arm, &h, BootArgs::Linux, None, b"")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("e_machine is 183"), "{e}");
        let virt = tiny_vmlinux(62, 0xffff_ffff_8100_0000);
        let e = describe("vmlinux", &virt, &h, BootArgs::Linux, None, b"")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("e_entry"), "{e}");
        let ok = tiny_vmlinux(62, 0x100_0000);
        let e = describe("vmlinux", &ok, &h, BootArgs::None, Some(b"x"), b"")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--args-none"), "{e}");
        // Regression (fuzz/artifacts/elf_kernel timeout): a p_memsz that wraps.
        let mut wrap = tiny_vmlinux(62, 0x100_0000);
        wrap[64 + 40..64 + 48].copy_from_slice(&0xffff_ffff_ffff_c602u64.to_le_bytes());
        let e = describe("vmlinux", &wrap, &h, BootArgs::Linux, None, b"")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("beyond any physical address"), "{e}");
        let e = describe("vmlinux", &ok[..100], &h, BootArgs::Linux, None, b"")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("vmlinux"), "{e}");
    }
}
