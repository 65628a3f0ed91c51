//! What a kdump capture kernel needs on the kexec_load path, built in user
//! space as the kernel's own loader (crash_prepare_elf64_headers) builds it
//! for kexec_file_load:
//! - the ELF64 core header ("elfcorehdr"): a PT_NOTE per possible CPU (its
//!   crash_notes), a PT_NOTE for vmcoreinfo, a PT_LOAD for the kernel text
//!   and a PT_LOAD per System RAM range outside the crash regions — the
//!   capture kernel serves /proc/vmcore from it;
//! - the capture kernel's memory map: firmware and ACPI ranges as they are,
//!   RAM only below 1 MiB and inside the crash regions, so it never touches
//!   the dead kernel's memory.

use crate::arch::kcore::{self, unreadable, KcoreLoad};
use crate::memory::iomem::{self, Resource};
use crate::memory::memmap::{E820Type, MemoryRegion};
use crate::memory::ranges::Ranges;
use crate::memory::{parse_hex as hex, Range};
use crate::sys::Host;

/// Where sysfs lists the possible CPUs and each one's crash_notes.
pub const CPU_DIR: &str = "/sys/devices/system/cpu";
/// The address and size of the running kernel's vmcoreinfo note.
pub const VMCOREINFO: &str = "/sys/kernel/vmcoreinfo";
/// Kernel symbols, whose _text and _end give the kernel text's address and
/// size when /proc/kcore has no text entry (a slow file: the kernel writes
/// every symbol of every module, seconds on a small machine).
pub const KALLSYMS: &str = "/proc/kallsyms";
/// The running kernel's own core file; its header shows the direct map's
/// base and the kernel text (KCORE_TEXT: exactly `_text` to `_end`).
pub use crate::arch::kcore::KCORE;
/// The kernel image mapping, from __START_KERNEL_map for KERNEL_IMAGE_SIZE
/// (1 GiB; modules follow): where KCORE_TEXT lies.
const KERNEL_IMAGE_MAP: std::ops::Range<u64> = 0xffff_ffff_8000_0000..0xffff_ffff_c000_0000;
/// The direct map's base without KASLR, when /proc/kcore cannot tell the
/// real one: 4-level and 5-level paging.
pub const DEFAULT_PAGE_OFFSET: u64 = 0xffff_8880_0000_0000;
/// The 5-level paging counterpart of [`DEFAULT_PAGE_OFFSET`].
pub const DEFAULT_PAGE_OFFSET_L5: u64 = 0xff11_0000_0000_0000;
pub use crate::layout::LOW_RESERVED;
/// The kernel's default crash_notes size when the file is missing.
pub const DEFAULT_NOTE_SIZE: u64 = 1024;

const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const ET_CORE: u16 = 4;
const EM_X86_64: u16 = 62;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;

/// One program header of the core file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreSegment {
    /// The program header type: PT_LOAD (1) or PT_NOTE (4).
    pub kind: u32,
    /// Physical address of the bytes it describes.
    pub paddr: u64,
    /// Virtual address, for PT_LOAD; 0 for a note.
    pub vaddr: u64,
    /// Size in bytes (file and memory size are equal in a core header).
    pub size: u64,
}

/// The running kernel's crash-relevant facts (root only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashInfo {
    /// (physical address, size) of each possible CPU's crash_notes.
    pub cpu_notes: Vec<(u64, u64)>,
    /// (physical address, size) of the vmcoreinfo note.
    pub vmcoreinfo: (u64, u64),
    /// Kernel text: physical start, virtual start, size.
    pub kernel_text: Option<(u64, u64, u64)>,
    /// Top-level System RAM ranges of /proc/iomem.
    pub ram: Vec<Range>,
    /// The direct map's virtual base: RAM's PT_LOADs map page_offset + paddr.
    pub page_offset: u64,
}

/// The most CPUs an x86_64 kernel supports (NR_CPUS with MAXSMP).
pub const MAX_CPUS: usize = 8192;

/// "0-3,5" (a sysfs CPU list) as numbers; None past MAX_CPUS, so a corrupt
/// list cannot make us read billions of files.
fn cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
                    if b >= a && (b - a) as usize >= MAX_CPUS {
                        return None;
                    }
                    cpus.extend(a..=b);
                }
            }
            None => cpus.extend(part.parse::<u32>().ok()),
        }
        if cpus.len() > MAX_CPUS {
            return None;
        }
    }
    Some(cpus)
}

/// The direct map's base from /proc/kcore: its RAM PT_LOADs map
/// page_offset + paddr (randomized under KASLR).
fn page_offset_from_kcore(loads: &[KcoreLoad]) -> Option<u64> {
    loads.iter().find_map(|l| {
        let base = l.vaddr.wrapping_sub(l.paddr);
        // Direct-map entries: kernel half (5-level paging starts it at
        // 0xff00...), below the kernel text mapping, 1 GiB aligned.
        let direct_map = 0xff00_0000_0000_0000..0xffff_ffff_8000_0000;
        (l.paddr != 0 && direct_map.contains(&l.vaddr) && base % (1 << 30) == 0).then_some(base)
    })
}

/// The kernel text's virtual start and size from /proc/kcore's KCORE_TEXT
/// entry, the one PT_LOAD inside the kernel image mapping.
fn text_from_kcore(loads: &[KcoreLoad]) -> Option<(u64, u64)> {
    let mut text = loads
        .iter()
        .filter(|l| KERNEL_IMAGE_MAP.contains(&l.vaddr) && l.size > 0);
    match (text.next(), text.next()) {
        (Some(t), None) => Some((t.vaddr, t.size)),
        _ => None,
    }
}

impl CrashInfo {
    /// Reads the facts above from sysfs, /proc/kallsyms, /proc/kcore and
    /// /proc/iomem; `five_level` picks the default page offset when /proc/kcore
    /// cannot tell. The error names the file that could not be read or parsed.
    pub fn gather(host: &dyn Host, five_level: bool) -> Result<CrashInfo, String> {
        let possible = host
            .read_text(&format!("{CPU_DIR}/possible"))
            .map_err(|e| unreadable(&format!("{CPU_DIR}/possible"), e))?;
        let cpus = cpu_list(&possible).ok_or(format!(
            "{CPU_DIR}/possible: {:?} lists more than {MAX_CPUS} CPUs (the most x86_64 supports)",
            possible.trim()
        ))?;
        let mut cpu_notes = Vec::new();
        for cpu in cpus {
            let path = format!("{CPU_DIR}/cpu{cpu}/crash_notes");
            let addr = match host.read_text(&path) {
                Ok(text) => {
                    hex(&text).ok_or(format!("{path}: {:?} is not a hex address", text.trim()))?
                }
                // Possible but never brought up: kexec-tools skips these too.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(unreadable(&path, e)),
            };
            let size = host
                .read_text(&format!("{CPU_DIR}/cpu{cpu}/crash_notes_size"))
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(DEFAULT_NOTE_SIZE);
            cpu_notes.push((addr, size));
        }
        if cpu_notes.is_empty() {
            return Err(format!(
                "no CPU has a crash_notes file under {CPU_DIR} (kernel without CONFIG_CRASH_DUMP?)"
            ));
        }
        let info = host
            .read_text(VMCOREINFO)
            .map_err(|e| unreadable(VMCOREINFO, e))?;
        let mut words = info.split_whitespace();
        let vmcoreinfo = match (words.next().and_then(hex), words.next().and_then(hex)) {
            (Some(addr), Some(size)) if addr != 0 => (addr, size),
            _ => {
                return Err(format!(
                    "{VMCOREINFO}: {:?} is not \"address size\"",
                    info.trim()
                ))
            }
        };
        let iomem_text = host
            .read_text(iomem::PATH)
            .map_err(|e| unreadable(iomem::PATH, e))?;
        let resources = iomem::parse(&iomem_text).map_err(|e| e.to_string())?;
        let ram: Vec<Range> = resources
            .iter()
            .filter(|r| r.depth == 0 && r.name == "System RAM")
            .map(|r| r.range)
            .collect();
        if ram.iter().all(|r| r.start == 0 && r.end <= 1) {
            return Err(format!(
                "{} shows no addresses (crash loads need root)",
                iomem::PATH
            ));
        }
        // Unreadable or odd, /proc/kcore only costs the defaults: the
        // direct map's unrandomized base, the text from /proc/kallsyms.
        let kcore = kcore::read_head(host)
            .and_then(|head| kcore::loads(&head, (EM_X86_64, "EM_X86_64")))
            .unwrap_or_default();
        Ok(CrashInfo {
            cpu_notes,
            vmcoreinfo,
            kernel_text: kernel_text(host, &resources, &kcore),
            ram,
            page_offset: page_offset_from_kcore(&kcore).unwrap_or(if five_level {
                DEFAULT_PAGE_OFFSET_L5
            } else {
                DEFAULT_PAGE_OFFSET
            }),
        })
    }

    /// One line for the plan: what the core header describes.
    pub fn describe(&self, segments: &[CoreSegment]) -> String {
        let ram = segments.iter().filter(|s| s.kind == PT_LOAD).count()
            - usize::from(self.kernel_text.is_some());
        let text = match self.kernel_text {
            Some((paddr, vaddr, size)) => {
                format!("kernel text {vaddr:#x} at {paddr:#x} ({size:#x})")
            }
            None => "no kernel text (/proc/kallsyms hidden)".into(),
        };
        format!(
            "{} CPU notes, vmcoreinfo at {:#x}, {text}, {ram} RAM ranges, direct map at {:#x}",
            self.cpu_notes.len(),
            self.vmcoreinfo.0,
            self.page_offset
        )
    }

    /// The program headers, with RAM outside `exclude` (the crash regions).
    pub fn segments(&self, exclude: &[Range]) -> Vec<CoreSegment> {
        let mut out: Vec<CoreSegment> = self
            .cpu_notes
            .iter()
            .map(|&(paddr, size)| CoreSegment {
                kind: PT_NOTE,
                paddr,
                vaddr: 0,
                size,
            })
            .collect();
        out.push(CoreSegment {
            kind: PT_NOTE,
            paddr: self.vmcoreinfo.0,
            vaddr: 0,
            size: self.vmcoreinfo.1,
        });
        if let Some((paddr, vaddr, size)) = self.kernel_text {
            out.push(CoreSegment {
                kind: PT_LOAD,
                paddr,
                vaddr,
                size,
            });
        }
        let mut ram = Ranges::new(self.ram.iter().copied()).minus(Range::new(0, LOW_RESERVED));
        for r in exclude {
            ram = ram.minus(*r);
        }
        out.extend(ram.iter().map(|r| CoreSegment {
            kind: PT_LOAD,
            paddr: r.start,
            vaddr: self.page_offset.wrapping_add(r.start),
            size: r.size(),
        }));
        out
    }
}

/// Kernel text: physical start from iomem's "Kernel code", virtual start
/// and size from /proc/kcore's KCORE_TEXT or else from _text and _end in
/// /proc/kallsyms (hidden without privileges), read only up to them.
fn kernel_text(
    host: &dyn Host,
    resources: &[Resource],
    kcore: &[KcoreLoad],
) -> Option<(u64, u64, u64)> {
    let paddr = resources
        .iter()
        .find(|r| r.name == "Kernel code")?
        .range
        .start;
    if let Some((vaddr, size)) = text_from_kcore(kcore) {
        return Some((paddr, vaddr, size));
    }
    let (mut text, mut end) = (None, None);
    host.scan_lines(KALLSYMS, &mut |line| {
        let mut w = line.split_whitespace();
        if let (Some(addr), Some(_), Some(sym)) = (w.next(), w.next(), w.next()) {
            let slot = match sym {
                "_text" => &mut text,
                "_end" => &mut end,
                _ => return true,
            };
            *slot = u64::from_str_radix(addr, 16).ok();
        }
        text.is_none() || end.is_none()
    })
    .ok()?;
    let (text, end) = (text?, end?);
    (text != 0 && end > text).then_some((paddr, text, end - text))
}

/// e_phnum is 16 bits and 0xffff (PN_XNUM) means "see section 0": the most
/// program headers an elfcorehdr without sections can have.
pub const MAX_CORE_SEGMENTS: usize = 0xfffe;

/// The ELF64 core header for `segments` (e_type ET_CORE, x86_64), or why
/// there are too many of them (CPU notes and RAM ranges of /proc/iomem).
pub fn elfcorehdr(segments: &[CoreSegment]) -> Result<Vec<u8>, String> {
    if segments.len() > MAX_CORE_SEGMENTS {
        return Err(format!(
            "the CPU notes and the RAM ranges of {} make {} program headers, but an elfcorehdr holds at most {MAX_CORE_SEGMENTS} (e_phnum is 16 bits)",
            iomem::PATH,
            segments.len()
        ));
    }
    let mut h = vec![0u8; EHDR_SIZE + segments.len() * PHDR_SIZE];
    h[0..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // little endian
    h[6] = 1; // EV_CURRENT
    h[16..18].copy_from_slice(&ET_CORE.to_le_bytes());
    h[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[32..40].copy_from_slice(&(EHDR_SIZE as u64).to_le_bytes());
    h[52..54].copy_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
    h[54..56].copy_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
    h[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
    for (i, s) in segments.iter().enumerate() {
        let p = &mut h[EHDR_SIZE + i * PHDR_SIZE..EHDR_SIZE + (i + 1) * PHDR_SIZE];
        p[0..4].copy_from_slice(&s.kind.to_le_bytes());
        let flags: u32 = if s.kind == PT_LOAD { 7 } else { 0 }; // RWX
        p[4..8].copy_from_slice(&flags.to_le_bytes());
        p[8..16].copy_from_slice(&s.paddr.to_le_bytes()); // p_offset: the capture kernel reads old memory by physical address
        p[16..24].copy_from_slice(&s.vaddr.to_le_bytes());
        p[24..32].copy_from_slice(&s.paddr.to_le_bytes());
        p[32..40].copy_from_slice(&s.size.to_le_bytes());
        p[40..48].copy_from_slice(&s.size.to_le_bytes());
    }
    Ok(h)
}

/// The capture kernel's memory map: non-RAM entries as they are; RAM only
/// below 1 MiB and inside the crash regions; the elfcorehdr reserved.
pub fn capture_memmap(
    firmware: &[MemoryRegion],
    crash_regions: &[Range],
    elfcorehdr: Range,
) -> Vec<MemoryRegion> {
    let allowed = Ranges::new(
        crash_regions
            .iter()
            .copied()
            .chain([Range::new(0, LOW_RESERVED)]),
    )
    .minus(elfcorehdr);
    let mut out = Vec::new();
    for region in firmware {
        if region.kind != E820Type::Ram {
            out.push(*region);
            continue;
        }
        out.extend(
            allowed
                .intersect(region.range)
                .iter()
                .map(|r| MemoryRegion {
                    range: *r,
                    kind: E820Type::Ram,
                }),
        );
    }
    out.push(MemoryRegion {
        range: elfcorehdr,
        kind: E820Type::Reserved,
    });
    out.sort_by_key(|r| r.range.start);
    out
}

/// The capture kernel's memory map as command line words, as kexec-tools'
/// --pass-memmap-cmdline writes them: memmap=exactmap (the kernel drops its
/// e820 table), then RAM as SIZEK@STARTK (inner whole KiB; pieces under
/// 100 KiB left out, as kexec-tools does, to save command line room), ACPI
/// tables and NVS as SIZEK#STARTK and legacy persistent memory as
/// SIZEK!STARTK (outer whole KiB). Reserved ranges, the elfcorehdr among
/// them, are not RAM to the capture kernel and are left out.
pub fn memmap_cmdline(capture: &[MemoryRegion]) -> String {
    const MIN_RAM_KIB: u64 = 100;
    let mut words = vec!["memmap=exactmap".to_string()];
    for region in capture {
        let Range { start, end } = region.range;
        let (start_k, end_k, sign) = match region.kind {
            E820Type::Ram => (start.div_ceil(1024), end / 1024, '@'),
            E820Type::Acpi | E820Type::Nvs => (start / 1024, end.div_ceil(1024), '#'),
            E820Type::PmemLegacy => (start / 1024, end.div_ceil(1024), '!'),
            _ => continue,
        };
        let size_k = end_k.saturating_sub(start_k);
        if size_k == 0 || (region.kind == E820Type::Ram && size_k < MIN_RAM_KIB) {
            continue;
        }
        words.push(format!("memmap={size_k}K{sign}{start_k}K"));
    }
    words.join(" ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sys::FakeHost;

    /// The FakeHost machine with the files a crash load reads.
    pub fn crash_host() -> FakeHost {
        let mut host = FakeHost::typical();
        crate::testing::add_crash_files(&mut host);
        host
    }

    #[test]
    fn gathers_notes_text_and_ram() {
        let info = CrashInfo::gather(&crash_host(), false).unwrap();
        assert_eq!(
            info.cpu_notes,
            vec![(0x3fc1_a000, 416), (0x3fc3_a000, 416)],
            "cpu2 has none: skipped"
        );
        assert_eq!(info.vmcoreinfo, (0x3f12_a000, 0x1024));
        assert_eq!(
            info.kernel_text,
            Some((0x0100_0000, 0xffff_ffff_9a00_0000, 0x280_0000))
        );
        assert_eq!(info.page_offset, DEFAULT_PAGE_OFFSET);
    }

    #[test]
    fn core_header_describes_notes_text_and_ram_outside_the_crash_region() {
        let info = CrashInfo::gather(&crash_host(), false).unwrap();
        let crash = Range::new(0x6500_0000, 0x7500_0000);
        let segs = info.segments(&[crash]);
        let loads: Vec<&CoreSegment> = segs.iter().filter(|s| s.kind == PT_LOAD).collect();
        assert_eq!(segs.iter().filter(|s| s.kind == PT_NOTE).count(), 3);
        // Text + RAM [1M, crash) + (crash, end of RAM); the low 1 MiB and the region are left out.
        assert_eq!(loads.len(), 3);
        assert_eq!(
            (loads[1].paddr, loads[1].size),
            (0x10_0000, 0x6500_0000 - 0x10_0000)
        );
        assert_eq!(loads[1].vaddr, DEFAULT_PAGE_OFFSET + 0x10_0000);
        assert_eq!(loads[2].paddr, 0x7500_0000);
        let h = elfcorehdr(&segs).unwrap();
        assert_eq!(&h[..4], b"\x7fELF");
        assert_eq!(u16::from_le_bytes([h[16], h[17]]), ET_CORE);
        assert_eq!(u16::from_le_bytes([h[56], h[57]]) as usize, segs.len());
        assert_eq!(h.len(), 64 + 56 * segs.len());
        let last = 64 + 56 * (segs.len() - 1);
        assert_eq!(
            u64::from_le_bytes(h[last + 24..last + 32].try_into().unwrap()),
            0x7500_0000
        );
    }

    #[test]
    fn the_capture_kernel_sees_only_its_region_and_low_memory_as_ram() {
        let map = [
            MemoryRegion {
                range: Range::new(0, 0x9fc00),
                kind: E820Type::Ram,
            },
            MemoryRegion {
                range: Range::new(0xf0000, 0x100000),
                kind: E820Type::Reserved,
            },
            MemoryRegion {
                range: Range::new(0x100000, 0x7ffe_0000),
                kind: E820Type::Ram,
            },
            MemoryRegion {
                range: Range::new(0x7ffe_0000, 0x8000_0000),
                kind: E820Type::Acpi,
            },
        ];
        let hdr = Range::new(0x6520_0000, 0x6521_0000);
        let out = capture_memmap(&map, &[Range::new(0x6500_0000, 0x7500_0000)], hdr);
        let ram: Vec<Range> = out
            .iter()
            .filter(|r| r.kind == E820Type::Ram)
            .map(|r| r.range)
            .collect();
        assert_eq!(
            ram,
            vec![
                Range::new(0, 0x9fc00),
                Range::new(0x6500_0000, 0x6520_0000),
                Range::new(0x6521_0000, 0x7500_0000)
            ]
        );
        assert!(out.iter().any(|r| r.kind == E820Type::Acpi));
        assert!(out
            .iter()
            .any(|r| r.range == hdr && r.kind == E820Type::Reserved));
    }

    #[test]
    fn missing_permissions_are_named() {
        let mut host = crash_host();
        host.unset("/sys/kernel/vmcoreinfo");
        let err = CrashInfo::gather(&host, false).unwrap_err();
        assert!(err.contains("/sys/kernel/vmcoreinfo"), "{err}");
    }

    /// Regressions (issue 8, finding 1): procfs/sysfs data is input too.
    #[test]
    fn corrupt_kcore_cpu_lists_and_too_many_ranges_are_errors_not_panics() {
        let mut k = vec![0u8; 4096];
        k[..6].copy_from_slice(b"\x7fELF\x02\x01");
        k[18] = 62;
        k[54..56].copy_from_slice(&56u16.to_le_bytes());
        k[56..58].copy_from_slice(&0xffffu16.to_le_bytes());
        for phoff in [u64::MAX, u64::MAX - 40, 1 << 40, 4000] {
            k[32..40].copy_from_slice(&phoff.to_le_bytes());
            assert!(
                kcore::loads(&k, (EM_X86_64, "EM_X86_64")).is_err(),
                "phoff {phoff:#x}"
            );
        }
        // A kcore that cannot be read costs only the defaults.
        let mut host = crash_host();
        host.set_bytes(KCORE, &k);
        let info = CrashInfo::gather(&host, false).unwrap();
        assert_eq!(info.page_offset, DEFAULT_PAGE_OFFSET);
        assert!(info.kernel_text.is_some(), "from kallsyms");
        host.set(&format!("{CPU_DIR}/possible"), "0-4294967295\n");
        let err = CrashInfo::gather(&host, false).unwrap_err();
        assert!(
            err.contains("/sys/devices/system/cpu/possible") && err.contains("8192"),
            "{err}"
        );
        host.set(&format!("{CPU_DIR}/possible"), "0-8191\n");
        assert!(CrashInfo::gather(&host, false).is_ok());
        let note = CoreSegment {
            kind: PT_NOTE,
            paddr: 0x1000,
            vaddr: 0,
            size: 0x100,
        };
        assert!(elfcorehdr(&vec![note.clone(); MAX_CORE_SEGMENTS]).is_ok());
        let err = elfcorehdr(&vec![note; MAX_CORE_SEGMENTS + 1]).unwrap_err();
        assert!(
            err.contains("/proc/iomem") && err.contains("65534"),
            "{err}"
        );
    }

    #[test]
    fn page_offset_comes_from_kcore() {
        let mut k = vec![0u8; 64 + 2 * 56];
        k[..6].copy_from_slice(b"\x7fELF\x02\x01");
        k[18] = 62; // EM_X86_64
        k[32..40].copy_from_slice(&64u64.to_le_bytes());
        k[54..56].copy_from_slice(&56u16.to_le_bytes());
        k[56..58].copy_from_slice(&2u16.to_le_bytes());
        fn ph(k: &mut [u8], i: usize, vaddr: u64, paddr: u64) {
            let at = 64 + i * 56;
            k[at..at + 4].copy_from_slice(&PT_LOAD.to_le_bytes());
            k[at + 16..at + 24].copy_from_slice(&vaddr.to_le_bytes());
            k[at + 24..at + 32].copy_from_slice(&paddr.to_le_bytes());
        }
        let loads = |k: &[u8]| kcore::loads(k, (EM_X86_64, "EM_X86_64")).unwrap();
        ph(&mut k, 0, 0xffff_ffff_9a00_0000, 0x100_0000); // kernel text: skipped
        ph(&mut k, 1, 0xffff_9b3c_8010_0000, 0x10_0000);
        assert_eq!(
            page_offset_from_kcore(&loads(&k)),
            Some(0xffff_9b3c_8000_0000)
        );
        // 5-level paging (as seen in QEMU -cpu max): the direct map lies lower.
        ph(&mut k, 1, 0xff47_df84_8000_1000, 0x1000);
        assert_eq!(
            page_offset_from_kcore(&loads(&k)),
            Some(0xff47_df84_8000_0000)
        );
        // The one entry in the kernel image mapping is the text.
        k[64 + 40..64 + 48].copy_from_slice(&0x2a0_0000u64.to_le_bytes());
        assert_eq!(
            text_from_kcore(&loads(&k)),
            Some((0xffff_ffff_9a00_0000, 0x2a0_0000))
        );
    }

    /// /proc/kallsyms takes seconds to produce on a small machine: with
    /// KCORE_TEXT it is never opened, whatever it says.
    #[test]
    fn kernel_text_comes_from_kcore_before_kallsyms() {
        let mut host = crash_host();
        let mut k = vec![0u8; 64 + 56];
        k[..6].copy_from_slice(b"\x7fELF\x02\x01");
        k[18] = 62;
        k[32] = 64;
        k[54] = 56;
        k[56] = 1;
        k[64] = 1; // PT_LOAD
        k[64 + 16..64 + 24].copy_from_slice(&0xffff_ffff_a100_0000u64.to_le_bytes());
        k[64 + 24..64 + 32].copy_from_slice(&0x100_0000u64.to_le_bytes());
        k[64 + 40..64 + 48].copy_from_slice(&0x2b0_0000u64.to_le_bytes());
        host.set_bytes(KCORE, &k);
        host.set(
            KALLSYMS,
            "ffffffff9a000000 T _text\nffffffff9c800000 B _end\n",
        );
        let info = CrashInfo::gather(&host, false).unwrap();
        assert_eq!(
            info.kernel_text,
            Some((0x0100_0000, 0xffff_ffff_a100_0000, 0x2b0_0000))
        );
    }

    #[test]
    fn memmap_cmdline_lists_ram_and_acpi_only() {
        let region = |start, end, kind| MemoryRegion {
            range: Range::new(start, end),
            kind,
        };
        let capture = [
            region(0, 0x9fc00, E820Type::Ram),
            region(0x9fc00, 0xa0000, E820Type::Reserved),
            region(0x10_0000, 0x11_0000, E820Type::Ram),
            region(0x6500_0000, 0x7500_0000, E820Type::Ram),
            region(0x7000_0000, 0x7000_1000, E820Type::Reserved),
            region(0x7ffe_0000, 0x7ffe_0800, E820Type::Acpi),
            region(0x7ffe_0800, 0x7ffe_1000, E820Type::Nvs),
            region(0x1_0000_0000, 0x1_4000_0000, E820Type::PmemLegacy),
        ];
        assert_eq!(
            memmap_cmdline(&capture),
            "memmap=exactmap memmap=639K@0K memmap=262144K@1654784K \
             memmap=2K#2097024K memmap=2K#2097026K memmap=1048576K!4194304K",
            "64 KiB of RAM is left out; reserved ranges are not listed"
        );
    }
}
