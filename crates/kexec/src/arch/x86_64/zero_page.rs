//! struct boot_params, the x86 "zero page" the next kernel reads first
//! (arch/x86/include/uapi/asm/bootparam.h, Documentation/arch/x86/zero-page.rst).
//! Built from scratch — a zero-filled page, the kernel file's setup header,
//! the memory map and a few fields carried over from the running kernel —
//! so nothing stale from this boot leaks into the next.

use crate::image::bzimage;
use crate::memory::memmap::MemoryRegion;

/// The zero page's size: one 4 KiB page.
pub const SIZE: usize = 4096;
/// e820 entries that fit in the page; the rest go to a SETUP_E820_EXT node.
pub const E820_MAX_IN_PAGE: usize = 128;
/// Bytes of one e820 entry: addr u64, size u64, type u32.
pub const E820_ENTRY_SIZE: usize = 20;
/// The boot protocol's loader id for kexec-tools-like loaders (0xD = kexec).
pub const TYPE_OF_LOADER: u8 = 0xd0;
/// setup_data node types (bootparam.h).
pub const SETUP_E820_EXT: u32 = 1;
/// setup_data node type of the EFI handover (struct efi_setup_data).
pub const SETUP_EFI: u32 = 4;
/// setup_data node type of a random seed for the next kernel's RNG.
pub const SETUP_RNG_SEED: u32 = 9;
/// The setup header the zero page holds: 0x1f1 up to the end the kernel's
/// jump instruction at 0x200 declares (at most 0x7f bytes, as boot.rst says).
pub const SETUP_HEADER_MAX: usize = 0x7f;

/// Byte offsets of the fields used.
pub mod offset {
    /// boot_params.screen_info.
    pub const SCREEN_INFO: usize = 0x000;
    /// Size of boot_params.screen_info.
    pub const SCREEN_INFO_SIZE: usize = 0x40;
    // Inside screen_info.
    /// boot_params.screen_info.orig_video_mode.
    pub const ORIG_VIDEO_MODE: usize = 0x06;
    /// boot_params.screen_info.orig_video_cols.
    pub const ORIG_VIDEO_COLS: usize = 0x07;
    /// boot_params.screen_info.orig_video_lines.
    pub const ORIG_VIDEO_LINES: usize = 0x0e;
    /// boot_params.screen_info.orig_video_isVGA (0: no boot framebuffer).
    pub const ORIG_VIDEO_IS_VGA: usize = 0x0f;
    /// boot_params.screen_info.orig_video_points.
    pub const ORIG_VIDEO_POINTS: usize = 0x10;
    /// boot_params.acpi_rsdp_addr.
    pub const ACPI_RSDP_ADDR: usize = 0x070;
    /// boot_params.ext_ramdisk_image.
    pub const EXT_RAMDISK_IMAGE: usize = 0x0c0;
    /// boot_params.ext_ramdisk_size.
    pub const EXT_RAMDISK_SIZE: usize = 0x0c4;
    /// boot_params.ext_cmd_line_ptr.
    pub const EXT_CMD_LINE_PTR: usize = 0x0c8;
    /// boot_params.efi_info.
    pub const EFI_INFO: usize = 0x1c0;
    /// Size of boot_params.efi_info.
    pub const EFI_INFO_SIZE: usize = 0x20;
    /// boot_params.alt_mem_k: memory above 1 MiB in KiB, for old kernels.
    pub const ALT_MEM_K: usize = 0x1e0;
    /// boot_params.e820_entries: how many entries of e820_table are used.
    pub const E820_ENTRIES: usize = 0x1e8;
    /// boot_params.hdr: the setup header, copied from the kernel file.
    pub const SETUP_HEADER: usize = 0x1f1;
    /// boot_params.hdr.type_of_loader.
    pub const TYPE_OF_LOADER: usize = 0x210;
    /// boot_params.hdr.loadflags.
    pub const LOADFLAGS: usize = 0x211;
    /// boot_params.hdr.ramdisk_image.
    pub const RAMDISK_IMAGE: usize = 0x218;
    /// boot_params.hdr.ramdisk_size.
    pub const RAMDISK_SIZE: usize = 0x21c;
    /// boot_params.hdr.cmd_line_ptr.
    pub const CMD_LINE_PTR: usize = 0x228;
    /// boot_params.hdr.hardware_subarch.
    pub const HARDWARE_SUBARCH: usize = 0x23c;
    /// boot_params.hdr.hardware_subarch_data.
    pub const HARDWARE_SUBARCH_DATA: usize = 0x240;
    /// boot_params.hdr.setup_data: the first setup_data node's address.
    pub const SETUP_DATA: usize = 0x250;
    /// boot_params.e820_table: the memory map (E820_MAX_IN_PAGE entries).
    pub const E820_TABLE: usize = 0x2d0;
    // Inside efi_info.
    /// boot_params.efi_info.efi_systab.
    pub const EFI_SYSTAB: usize = 0x1c4;
    /// boot_params.efi_info.efi_memdesc_size.
    pub const EFI_MEMDESC_SIZE: usize = 0x1c8;
    /// boot_params.efi_info.efi_memdesc_version.
    pub const EFI_MEMDESC_VERSION: usize = 0x1cc;
    /// boot_params.efi_info.efi_memmap.
    pub const EFI_MEMMAP: usize = 0x1d0;
    /// boot_params.efi_info.efi_memmap_size.
    pub const EFI_MEMMAP_SIZE: usize = 0x1d4;
    /// boot_params.efi_info.efi_systab_hi.
    pub const EFI_SYSTAB_HI: usize = 0x1d8;
    /// boot_params.efi_info.efi_memmap_hi.
    pub const EFI_MEMMAP_HI: usize = 0x1dc;
}

/// The loadflags bit that lets the kernel use the real-mode heap; the
/// 64-bit entry has none.
const CAN_USE_HEAP: u8 = 1 << 7;

/// Writes `v` little-endian at byte `at` of `page`.
pub fn put_u32(page: &mut [u8], at: usize, v: u32) {
    page[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes `v` little-endian at byte `at` of `page`.
pub fn put_u64(page: &mut [u8], at: usize, v: u64) {
    page[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// One e820 entry: addr u64, size u64, type u32.
pub fn e820_entry(region: &MemoryRegion) -> [u8; E820_ENTRY_SIZE] {
    let mut e = [0u8; E820_ENTRY_SIZE];
    e[0..8].copy_from_slice(&region.range.start.to_le_bytes());
    e[8..16].copy_from_slice(&region.range.size().to_le_bytes());
    e[16..20].copy_from_slice(&region.kind.code().to_le_bytes());
    e
}

/// What goes into the zero page.
pub struct ZeroPage<'a> {
    /// The start of the kernel file (its setup header is copied).
    pub kernel_head: &'a [u8],
    /// The running kernel's boot_params (/sys/kernel/boot_params/data), to
    /// carry over screen_info, hardware_subarch and acpi_rsdp_addr.
    pub running: Option<&'a [u8]>,
    /// Whether screen_info is the running kernel's; if not, kexec-tools'
    /// 80x25 defaults with orig_video_isVGA 0: no boot framebuffer.
    pub keep_screen_info: bool,
    /// The memory map; entries past 128 are left for SETUP_E820_EXT.
    pub e820: &'a [MemoryRegion],
    /// Where the command line is (cmd_line_ptr and ext_cmd_line_ptr).
    pub cmdline_addr: u64,
    /// The initrd's (address, size), if any.
    pub initrd: Option<(u64, u64)>,
    /// Physical address of the first setup_data node, or 0.
    pub setup_data: u64,
    /// UEFI: the running kernel's efi_info and where the runtime map copy
    /// (address, size in bytes, descriptor size) went.
    pub efi: Option<([u8; 32], u64, u32, u32)>,
    /// acpi_rsdp_addr when the running kernel's is 0 (found via EFI).
    pub acpi_rsdp: Option<u64>,
}

impl ZeroPage<'_> {
    /// The page's 4096 bytes: the setup header, the fields carried over, the
    /// memory map and the load's addresses filled in.
    pub fn build(&self) -> Vec<u8> {
        let mut page = vec![0u8; SIZE];
        // The setup header, as the kernel file declares its length.
        let declared = 0x202
            + usize::from(
                *self
                    .kernel_head
                    .get(bzimage::offset::JUMP + 1)
                    .unwrap_or(&0),
            )
            - offset::SETUP_HEADER;
        let len = declared
            .min(SETUP_HEADER_MAX)
            .min(self.kernel_head.len().saturating_sub(offset::SETUP_HEADER));
        // A head too short to hold a setup header copies nothing (found by
        // fuzzing: the loaders validate first, but the builder must not panic).
        if len > 0 {
            page[offset::SETUP_HEADER..offset::SETUP_HEADER + len].copy_from_slice(
                &self.kernel_head[offset::SETUP_HEADER..offset::SETUP_HEADER + len],
            );
        }
        if let Some(running) = self.running.filter(|r| r.len() >= SIZE) {
            let copy = |page: &mut [u8], at: usize, n: usize| {
                page[at..at + n].copy_from_slice(&running[at..at + n])
            };
            if self.keep_screen_info {
                copy(&mut page, offset::SCREEN_INFO, offset::SCREEN_INFO_SIZE);
            }
            copy(&mut page, offset::ACPI_RSDP_ADDR, 8);
            copy(&mut page, offset::HARDWARE_SUBARCH, 4);
            copy(&mut page, offset::HARDWARE_SUBARCH_DATA, 8);
        }
        if !self.keep_screen_info {
            page[offset::ORIG_VIDEO_COLS] = 80;
            page[offset::ORIG_VIDEO_LINES] = 25;
            page[offset::ORIG_VIDEO_IS_VGA] = 0;
            page[offset::ORIG_VIDEO_POINTS] = 16;
        }
        if let Some((info, map, size, desc_size)) = self.efi {
            page[offset::EFI_INFO..offset::EFI_INFO + offset::EFI_INFO_SIZE].copy_from_slice(&info);
            put_u32(&mut page, offset::EFI_MEMMAP, map as u32);
            put_u32(&mut page, offset::EFI_MEMMAP_HI, (map >> 32) as u32);
            put_u32(&mut page, offset::EFI_MEMMAP_SIZE, size);
            put_u32(&mut page, offset::EFI_MEMDESC_SIZE, desc_size);
        }
        if let Some(rsdp) = self.acpi_rsdp {
            if page[offset::ACPI_RSDP_ADDR..offset::ACPI_RSDP_ADDR + 8]
                .iter()
                .all(|&b| b == 0)
            {
                put_u64(&mut page, offset::ACPI_RSDP_ADDR, rsdp);
            }
        }
        page[offset::TYPE_OF_LOADER] = TYPE_OF_LOADER;
        page[offset::LOADFLAGS] &= !CAN_USE_HEAP;
        put_u32(&mut page, offset::CMD_LINE_PTR, self.cmdline_addr as u32);
        put_u32(
            &mut page,
            offset::EXT_CMD_LINE_PTR,
            (self.cmdline_addr >> 32) as u32,
        );
        if let Some((addr, size)) = self.initrd {
            put_u32(&mut page, offset::RAMDISK_IMAGE, addr as u32);
            put_u32(&mut page, offset::EXT_RAMDISK_IMAGE, (addr >> 32) as u32);
            put_u32(&mut page, offset::RAMDISK_SIZE, size as u32);
            put_u32(&mut page, offset::EXT_RAMDISK_SIZE, (size >> 32) as u32);
        }
        put_u64(&mut page, offset::SETUP_DATA, self.setup_data);
        let in_page = &self.e820[..self.e820.len().min(E820_MAX_IN_PAGE)];
        page[offset::E820_ENTRIES] = in_page.len() as u8;
        for (i, region) in in_page.iter().enumerate() {
            let at = offset::E820_TABLE + i * E820_ENTRY_SIZE;
            page[at..at + E820_ENTRY_SIZE].copy_from_slice(&e820_entry(region));
        }
        // alt_mem_k: KiB of memory above 1 MiB, for ancient code paths.
        let above_1m: u64 = self
            .e820
            .iter()
            .filter(|r| {
                r.kind == crate::memory::memmap::E820Type::Ram
                    && r.range.end > crate::layout::ONE_MIB
            })
            .map(|r| r.range.end - r.range.start.max(crate::layout::ONE_MIB))
            .sum();
        put_u32(
            &mut page,
            offset::ALT_MEM_K,
            (above_1m >> 10).min(u64::from(u32::MAX)) as u32,
        );
        page
    }
}

/// A setup_data node: next u64, type u32, len u32, data.
pub fn setup_data_node(next: u64, kind: u32, data: &[u8]) -> Vec<u8> {
    let mut node = Vec::with_capacity(16 + data.len());
    node.extend_from_slice(&next.to_le_bytes());
    node.extend_from_slice(&kind.to_le_bytes());
    node.extend_from_slice(&(data.len() as u32).to_le_bytes());
    node.extend_from_slice(data);
    node
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::memmap::E820Type;
    use crate::memory::Range;
    use crate::testing::bzimage64_sample;

    fn region(start: u64, end: u64, kind: E820Type) -> MemoryRegion {
        MemoryRegion {
            range: Range::new(start, end),
            kind,
        }
    }

    fn u32_at(p: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(p[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn fields_land_at_their_offsets() {
        let head = bzimage64_sample();
        let e820 = [
            region(0, 0x9fc00, E820Type::Ram),
            region(0x100000, 0x1_8000_0000, E820Type::Ram),
            region(0xfffc0000, 0x1_0000_0000, E820Type::Reserved),
        ];
        let mut running = vec![0u8; SIZE];
        running[offset::ACPI_RSDP_ADDR] = 0x42;
        running[offset::SCREEN_INFO + 6] = 3; // orig_video_mode
        running[offset::E820_ENTRIES] = 99; // must not leak
        let zp = ZeroPage {
            kernel_head: &head,
            running: Some(&running),
            keep_screen_info: true,
            e820: &e820,
            cmdline_addr: 0x1_2345_6000,
            initrd: Some((0x1_4000_0000, 0x10_0000)),
            setup_data: 0x9000,
            efi: None,
            acpi_rsdp: None,
        }
        .build();
        assert_eq!(zp.len(), SIZE);
        assert_eq!(&zp[0x202..0x206], b"HdrS");
        assert_eq!(zp[offset::TYPE_OF_LOADER], 0xd0);
        assert_eq!(u32_at(&zp, offset::CMD_LINE_PTR), 0x2345_6000);
        assert_eq!(u32_at(&zp, offset::EXT_CMD_LINE_PTR), 1);
        assert_eq!(u32_at(&zp, offset::RAMDISK_IMAGE), 0x4000_0000);
        assert_eq!(u32_at(&zp, offset::EXT_RAMDISK_IMAGE), 1);
        assert_eq!(u32_at(&zp, offset::RAMDISK_SIZE), 0x10_0000);
        assert_eq!(zp[offset::E820_ENTRIES], 3);
        assert_eq!(zp[offset::ACPI_RSDP_ADDR], 0x42);
        assert_eq!(zp[offset::SCREEN_INFO + 6], 3);
        assert_eq!(u32_at(&zp, offset::E820_TABLE + 20 + 16), 1);
        assert_eq!(u32_at(&zp, offset::E820_TABLE + 40 + 16), 2);
        assert_eq!(
            zp[0x1ef], 0,
            "sentinel stays 0 so the kernel keeps our fields"
        );
    }

    #[test]
    fn a_head_shorter_than_the_setup_header_does_not_panic() {
        // Regression: fuzz/artifacts/bzimage crash (a 16-byte head).
        for len in [0, 16, 0x1f1, 0x1f2] {
            let head = vec![0xebu8; len];
            let zp = ZeroPage {
                kernel_head: &head,
                running: None,
                keep_screen_info: true,
                e820: &[],
                cmdline_addr: 0,
                initrd: None,
                setup_data: 0,
                efi: None,
                acpi_rsdp: None,
            }
            .build();
            assert_eq!(zp.len(), SIZE);
        }
    }

    #[test]
    fn more_than_128_entries_fill_the_page_only() {
        let head = bzimage64_sample();
        let e820: Vec<MemoryRegion> = (0..200)
            .map(|i| region(i * 0x10000, i * 0x10000 + 0x8000, E820Type::Ram))
            .collect();
        let zp = ZeroPage {
            kernel_head: &head,
            running: None,
            keep_screen_info: true,
            e820: &e820,
            cmdline_addr: 0,
            initrd: None,
            setup_data: 0,
            efi: None,
            acpi_rsdp: None,
        }
        .build();
        assert_eq!(zp[offset::E820_ENTRIES], 128);
        let last = offset::E820_TABLE + 127 * E820_ENTRY_SIZE;
        assert_eq!(
            u64::from_le_bytes(zp[last..last + 8].try_into().unwrap()),
            127 * 0x10000
        );
        assert!(
            zp[offset::E820_TABLE + 128 * 20..offset::E820_TABLE + 129 * 20]
                .iter()
                .all(|&b| b == 0)
        );
    }
}
