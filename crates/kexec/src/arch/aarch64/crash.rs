//! arm64: what a kdump capture kernel needs on the kexec_load path — the
//! ELF64 core header ("elfcorehdr") that it serves /proc/vmcore from, built in
//! user space the way the kernel's own loader (crash_prepare_elf64_headers,
//! called by arm64's kexec_file_load with the kernel map) builds it:
//! - a PT_NOTE per possible CPU (its crash_notes) and one for vmcoreinfo;
//! - a PT_LOAD for the kernel image, [_text, _end) at its kimage address:
//!   makedumpfile and crash need it to read kernel symbols;
//! - a PT_LOAD per System RAM range outside the crash regions, at its
//!   linear-map address PAGE_OFFSET + paddr - PHYS_OFFSET.
//!
//! The kernel image's addresses come from /proc/kcore, whose KCORE_TEXT
//! program header is [_text, _end) with p_paddr = __pa_symbol(_text). That
//! matters on Debian 12's arm64 6.1 kernel: built without KALLSYMS_ALL, its
//! /proc/kallsyms has no `_text` (it lies before `_stext`, outside the text
//! ranges kallsyms keeps), where kexec-tools looks for it and, not finding it,
//! writes a kernel-text header at address −1 that breaks the dump. When
//! /proc/kcore has no text entry we fall back to /proc/kallsyms and the
//! "Kernel code" / "Kernel data" resources of /proc/iomem.

use crate::arch::kcore::{self, unreadable, KcoreLoad};
use crate::memory::iomem::{self, Resource};
use crate::memory::ranges::Ranges;
use crate::memory::{parse_hex as hex, Range};
use crate::sys::Host;

/// One program header of the core file (architecture-neutral, shared with x86_64).
pub use crate::arch::x86_64::crash::CoreSegment;
/// The most program headers an elfcorehdr can have (e_phnum is 16 bits).
pub use crate::arch::x86_64::crash::MAX_CORE_SEGMENTS;

/// Where sysfs lists the possible CPUs and each one's crash_notes.
pub const CPU_DIR: &str = "/sys/devices/system/cpu";
/// The address and size of the running kernel's vmcoreinfo note.
pub const VMCOREINFO: &str = "/sys/kernel/vmcoreinfo";
/// Kernel symbols: the fallback for the kernel image's virtual address.
pub const KALLSYMS: &str = "/proc/kallsyms";
/// The running kernel's own core file: its program headers map the linear
/// map (KCORE_RAM) and the kernel image (KCORE_TEXT) to physical addresses.
pub use crate::arch::kcore::KCORE;
/// The size of a CPU's crash_notes when crash_notes_size is missing (kernels
/// before 4.3): generous, as on x86_64; the capture kernel reads only the
/// notes it finds inside.
pub const DEFAULT_NOTE_SIZE: u64 = 1024;
/// The most CPUs an arm64 kernel supports (NR_CPUS is at most 4096).
pub const MAX_CPUS: usize = 4096;
/// e_machine of arm64.
pub const EM_AARCH64: u16 = 183;

const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const ET_CORE: u16 = 4;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
/// /proc/kcore marks entries without a physical address (vmalloc, modules,
/// vmemmap) with p_paddr = −1.
const NO_PADDR: u64 = u64::MAX;

/// A CPU's crash_notes buffer, where the dying kernel saves its registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuNote {
    /// The CPU's number (cpuN in sysfs).
    pub cpu: u32,
    /// Physical address of its crash_notes.
    pub paddr: u64,
    /// Its size in bytes.
    pub size: u64,
}

/// Where the kernel image's address came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextSource {
    /// /proc/kcore's KCORE_TEXT program header: [_text, _end) exactly.
    Kcore,
    /// /proc/kallsyms (the named symbol) with /proc/iomem's "Kernel code"
    /// (and "Kernel data") resources.
    Kallsyms(&'static str),
}

/// The kernel image as the core header maps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelText {
    /// Its physical start.
    pub paddr: u64,
    /// Its virtual start, in the kimage region (not the linear map).
    pub vaddr: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Where these numbers came from.
    pub source: TextSource,
}

/// The running kernel's crash-relevant facts (root only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashInfo {
    /// Each possible CPU's crash_notes, in CPU order.
    pub cpu_notes: Vec<CpuNote>,
    /// (physical address, size) of the vmcoreinfo note.
    pub vmcoreinfo: (u64, u64),
    /// The top-level System RAM ranges of /proc/iomem, in address order.
    pub ram: Vec<Range>,
    /// The kernel image.
    pub kernel_text: KernelText,
    /// The linear map's virtual base (PAGE_OFFSET = −2^VA_BITS).
    pub page_offset: u64,
    /// The physical address the linear map starts at (PHYS_OFFSET, i.e.
    /// memstart_addr; below RAM, even "negative", when KASLR moves the
    /// linear map). page_offset + paddr − phys_offset (wrapping) is exactly
    /// /proc/kcore's mapping of RAM.
    pub phys_offset: u64,
}

/// "0-3,5" (a sysfs CPU list) as numbers; None when malformed or past
/// MAX_CPUS, so a corrupt list cannot make us read billions of files.
fn cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
            None => {
                let n = part.parse::<u32>().ok()?;
                (n, n)
            }
        };
        // At most MAX_CPUS in all: b - a + 1 more must fit.
        if b < a || cpus.len() + ((b - a) as usize) >= MAX_CPUS {
            return None;
        }
        cpus.extend(a..=b);
    }
    Some(cpus)
}

/// What /proc/kcore tells: the linear map's offsets and, when it has a
/// KCORE_TEXT entry, the kernel image.
#[derive(Clone, Debug, PartialEq, Eq)]
struct KcoreMap {
    page_offset: u64,
    phys_offset: u64,
    text: Option<KernelText>,
}

/// Sorts kcore's PT_LOADs with a physical address into the linear map
/// (KCORE_RAM) and the kernel image (KCORE_TEXT). On arm64 the linear map
/// lies below PAGE_END and everything else — modules, vmalloc, the kernel
/// image inside vmalloc, vmemmap — above it; the entries without a physical
/// address (vmalloc, modules) start no lower than PAGE_END, so the lowest of
/// them splits the two. Without such an entry, the linear map is the
/// entries with the fewest leading one bits (PAGE_END = −2^(VA_BITS−1)).
fn kcore_map(loads: &[KcoreLoad]) -> Result<KcoreMap, String> {
    let mapped: Vec<&KcoreLoad> = loads
        .iter()
        .filter(|l| l.paddr != NO_PADDR && l.size > 0)
        .collect();
    let split = loads
        .iter()
        .filter(|l| l.paddr == NO_PADDR)
        .map(|l| l.vaddr)
        .min();
    let fewest_ones = mapped.iter().map(|l| l.vaddr.leading_ones()).min();
    let in_linear_map = |l: &KcoreLoad| match split {
        Some(split) => l.vaddr < split,
        None => Some(l.vaddr.leading_ones()) == fewest_ones,
    };
    let (linear, image): (Vec<&KcoreLoad>, Vec<&KcoreLoad>) =
        mapped.into_iter().partition(|l| in_linear_map(l));
    let first = linear.iter().min_by_key(|l| l.vaddr).ok_or(format!(
        "{KCORE}: no program header maps RAM into the linear map (no KCORE_RAM entry), so the linear map's address is unknown"
    ))?;
    let delta = first.vaddr.wrapping_sub(first.paddr);
    if let Some(odd) = linear
        .iter()
        .find(|l| l.vaddr.wrapping_sub(l.paddr) != delta)
    {
        return Err(format!(
            "{KCORE}: RAM entries disagree on the linear map: {:#x} maps {:#x}, but {:#x} maps {:#x}",
            first.vaddr, first.paddr, odd.vaddr, odd.paddr
        ));
    }
    // PAGE_OFFSET = −2^VA_BITS: the lowest linear address with every bit
    // below its leading ones cleared. Exact when the linear map spans half
    // the kernel's address space (VA_BITS ≤ 48); phys_offset is chosen so
    // that page_offset − phys_offset is kcore's own mapping in any case.
    let ones = first.vaddr.leading_ones();
    let page_offset = if ones == 0 {
        0
    } else {
        u64::MAX << (64 - ones)
    };
    let phys_offset = page_offset.wrapping_sub(delta);
    // KCORE_TEXT is the one mapped entry outside the linear map.
    let text = match image.as_slice() {
        [t] if t.vaddr != 0 && t.paddr != 0 => Some(KernelText {
            paddr: t.paddr,
            vaddr: t.vaddr,
            size: t.size,
            source: TextSource::Kcore,
        }),
        _ => None,
    };
    Ok(KcoreMap {
        page_offset,
        phys_offset,
        text,
    })
}

/// Reads /proc/kcore's ELF header, then exactly its program headers: a read
/// past them would copy kernel memory.
fn read_kcore(host: &dyn Host) -> Result<KcoreMap, String> {
    kcore_map(&kcore_loads(&kcore::read_head(host)?)?)
}

/// The PT_LOADs of an arm64 /proc/kcore header.
fn kcore_loads(head: &[u8]) -> Result<Vec<KcoreLoad>, String> {
    kcore::loads(head, (EM_AARCH64, "EM_AARCH64"))
}

/// The symbols the fallback needs, read in one pass over /proc/kallsyms.
#[derive(Default)]
struct Symbols {
    text: Option<u64>,
    stext: Option<u64>,
    init_begin: Option<u64>,
    end: Option<u64>,
}

fn read_symbols(host: &dyn Host) -> std::io::Result<Symbols> {
    let mut syms = Symbols::default();
    host.scan_lines(KALLSYMS, &mut |line| {
        let mut words = line.split_whitespace();
        let (addr, _, name) = match (words.next(), words.next(), words.next()) {
            (Some(addr), Some(kind), Some(name)) => (addr, kind, name),
            _ => return true,
        };
        // Module symbols ("[module]" as a 4th word) come after the kernel's.
        if words.next().is_some() {
            return false;
        }
        // Hidden addresses (kptr_restrict) read as zeros: not known.
        let addr = u64::from_str_radix(addr, 16).ok().filter(|&a| a != 0);
        match name {
            "_text" => syms.text = addr,
            "_stext" => syms.stext = addr,
            "__init_begin" => syms.init_begin = addr,
            "_end" => syms.end = addr,
            _ => {}
        }
        !(syms.text.is_some()
            && syms.stext.is_some()
            && syms.init_begin.is_some()
            && syms.end.is_some())
    })?;
    Ok(syms)
}

/// The kernel image from /proc/kallsyms and /proc/iomem: "Kernel code" runs
/// from the image's start (_stext on 5.13 to 6.17, _text before and after)
/// to __init_begin, "Kernel data" ends at _end. So the start's virtual
/// address is __init_begin − the code's length on any kernel; without
/// __init_begin it is taken as _stext, else _text.
fn text_from_kallsyms(host: &dyn Host, resources: &[Resource]) -> Result<KernelText, String> {
    let code = resources
        .iter()
        .find(|r| r.name == "Kernel code" && r.range.size() > 1)
        .map(|r| r.range)
        .ok_or(format!("{} has no \"Kernel code\" resource", iomem::PATH))?;
    let syms = read_symbols(host).map_err(|e| unreadable(KALLSYMS, e))?;
    let (vaddr, symbol) = if let Some(init) = syms.init_begin.filter(|&a| a > code.size()) {
        (init - code.size(), "__init_begin")
    } else if let Some(stext) = syms.stext {
        (stext, "_stext")
    } else if let Some(text) = syms.text {
        (text, "_text")
    } else {
        return Err(format!(
            "{KALLSYMS} shows none of __init_begin, _stext, _text (hidden by kptr_restrict, or not root?)"
        ));
    };
    let data_end = resources
        .iter()
        .find(|r| r.name == "Kernel data" && r.range.end > code.start)
        .map(|r| r.range.end);
    let size = match (data_end, syms.end) {
        (Some(end), _) => end - code.start,
        (None, Some(end)) if end > vaddr => end - vaddr,
        _ => code.size(),
    };
    Ok(KernelText {
        paddr: code.start,
        vaddr,
        size,
        source: TextSource::Kallsyms(symbol),
    })
}

impl CrashInfo {
    /// Reads the facts above from sysfs, /proc/iomem, /proc/kcore and, when
    /// /proc/kcore shows no kernel image, /proc/kallsyms. The error names
    /// the file that could not be read or parsed, and what was missing.
    pub fn gather(host: &dyn Host) -> Result<CrashInfo, String> {
        let possible_path = format!("{CPU_DIR}/possible");
        let possible = host
            .read_text(&possible_path)
            .map_err(|e| unreadable(&possible_path, e))?;
        let cpus = cpu_list(&possible).ok_or(format!(
            "{possible_path}: {:?} is not a CPU list of at most {MAX_CPUS} CPUs (the most arm64 supports)",
            possible.trim()
        ))?;
        let mut cpu_notes = Vec::new();
        for cpu in cpus {
            let path = format!("{CPU_DIR}/cpu{cpu}/crash_notes");
            let paddr = match host.read_text(&path) {
                Ok(text) => hex(&text)
                    .filter(|&a| a != 0)
                    .ok_or(format!("{path}: {:?} is not a hex address", text.trim()))?,
                // Possible but not present: no sysfs directory (kexec-tools skips these too).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(unreadable(&path, e)),
            };
            let size = host
                .read_text(&format!("{CPU_DIR}/cpu{cpu}/crash_notes_size"))
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(DEFAULT_NOTE_SIZE);
            cpu_notes.push(CpuNote { cpu, paddr, size });
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
            (Some(addr), Some(size)) if addr != 0 && size != 0 => (addr, size),
            _ => {
                return Err(format!(
                    "{VMCOREINFO}: {:?} is not \"address size\" in hex",
                    info.trim()
                ))
            }
        };
        let iomem_text = host
            .read_text(iomem::PATH)
            .map_err(|e| unreadable(iomem::PATH, e))?;
        let resources = iomem::parse(&iomem_text).map_err(|e| e.to_string())?;
        let ram = iomem::system_ram(&resources);
        if ram.is_empty() {
            return Err(format!(
                "{} shows no System RAM addresses (hidden: crash loads need root)",
                iomem::PATH
            ));
        }
        let kcore = read_kcore(host)?;
        let kernel_text = match kcore.text.clone() {
            Some(text) => text,
            None => text_from_kallsyms(host, &resources).map_err(|why| {
                format!("the kernel image's address is unknown: {KCORE} has no kernel text entry (KCORE_TEXT), and {why}")
            })?,
        };
        let image = Range::new(
            kernel_text.paddr,
            kernel_text.paddr.saturating_add(kernel_text.size),
        );
        if kernel_text.size == 0
            || kernel_text.vaddr == u64::MAX
            || !Ranges::new(ram.iter().copied()).contains(&image)
        {
            return Err(format!(
                "the kernel image at {image} (virtual {:#x}, from {:?}) is not inside System RAM of {}",
                kernel_text.vaddr,
                kernel_text.source,
                iomem::PATH
            ));
        }
        Ok(CrashInfo {
            cpu_notes,
            vmcoreinfo,
            ram,
            kernel_text,
            page_offset: kcore.page_offset,
            phys_offset: kcore.phys_offset,
        })
    }

    /// The linear-map address of physical address `paddr`.
    pub fn linear(&self, paddr: u64) -> u64 {
        self.page_offset
            .wrapping_add(paddr)
            .wrapping_sub(self.phys_offset)
    }

    /// The program headers, each with what it is: notes, the kernel image,
    /// then RAM outside `exclude`.
    fn labeled(&self, exclude: &[Range]) -> Vec<(CoreSegment, String)> {
        let mut out: Vec<(CoreSegment, String)> = self
            .cpu_notes
            .iter()
            .map(|n| {
                let seg = CoreSegment {
                    kind: PT_NOTE,
                    paddr: n.paddr,
                    vaddr: 0,
                    size: n.size,
                };
                (seg, format!("cpu{} crash_notes", n.cpu))
            })
            .collect();
        let vmcoreinfo = CoreSegment {
            kind: PT_NOTE,
            paddr: self.vmcoreinfo.0,
            vaddr: 0,
            size: self.vmcoreinfo.1,
        };
        out.push((vmcoreinfo, "vmcoreinfo".into()));
        let t = &self.kernel_text;
        let from = match t.source {
            TextSource::Kcore => format!("{KCORE} KCORE_TEXT"),
            TextSource::Kallsyms(sym) => format!("{KALLSYMS} {sym} + {} Kernel code", iomem::PATH),
        };
        let text = CoreSegment {
            kind: PT_LOAD,
            paddr: t.paddr,
            vaddr: t.vaddr,
            size: t.size,
        };
        out.push((text, format!("kernel image (from {from})")));
        let mut ram = Ranges::new(self.ram.iter().copied());
        for r in exclude {
            ram = ram.minus(*r);
        }
        for r in ram.iter() {
            let seg = CoreSegment {
                kind: PT_LOAD,
                paddr: r.start,
                vaddr: self.linear(r.start),
                size: r.size(),
            };
            out.push((seg, "System RAM".into()));
        }
        out
    }

    /// The program headers: notes, the kernel image, then RAM outside
    /// `exclude` (the crash regions).
    pub fn segments(&self, exclude: &[Range]) -> Vec<CoreSegment> {
        self.labeled(exclude).into_iter().map(|(s, _)| s).collect()
    }

    /// The elfcorehdr bytes: notes, the kernel text, then RAM outside
    /// `exclude` (the crash regions). An error when there are more program
    /// headers than e_phnum holds, or a load without an address.
    pub fn elfcorehdr(&self, exclude: &[Range]) -> Result<Vec<u8>, String> {
        let segments = self.segments(exclude);
        if segments.len() > MAX_CORE_SEGMENTS {
            return Err(format!(
                "the CPU notes of {CPU_DIR} and the RAM ranges of {} make {} program headers, but an elfcorehdr holds at most {MAX_CORE_SEGMENTS} (e_phnum is 16 bits)",
                iomem::PATH,
                segments.len()
            ));
        }
        if let Some(bad) = segments
            .iter()
            .find(|s| s.kind == PT_LOAD && (s.vaddr == u64::MAX || s.paddr == u64::MAX))
        {
            return Err(format!(
                "a PT_LOAD at paddr {:#x} vaddr {:#x} has no address (−1): the dump would be unreadable",
                bad.paddr, bad.vaddr
            ));
        }
        let mut h = vec![0u8; EHDR_SIZE + segments.len() * PHDR_SIZE];
        h[0..4].copy_from_slice(b"\x7fELF");
        h[4] = 2; // ELFCLASS64
        h[5] = 1; // little endian: the only byte order we load arm64 kernels in
        h[6] = 1; // EV_CURRENT
        h[16..18].copy_from_slice(&ET_CORE.to_le_bytes());
        h[18..20].copy_from_slice(&EM_AARCH64.to_le_bytes());
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
            // p_offset: the capture kernel reads old memory by physical address.
            p[8..16].copy_from_slice(&s.paddr.to_le_bytes());
            p[16..24].copy_from_slice(&s.vaddr.to_le_bytes());
            p[24..32].copy_from_slice(&s.paddr.to_le_bytes());
            p[32..40].copy_from_slice(&s.size.to_le_bytes());
            p[40..48].copy_from_slice(&s.size.to_le_bytes());
        }
        Ok(h)
    }

    /// One line per segment for --debug, after a line on the linear map.
    pub fn describe(&self, exclude: &[Range]) -> String {
        let mut lines = vec![format!(
            "elfcorehdr (EM_AARCH64): linear map PAGE_OFFSET {:#x} PHYS_OFFSET {:#x}",
            self.page_offset, self.phys_offset
        )];
        for (s, what) in self.labeled(exclude) {
            let end = s.paddr.saturating_add(s.size).saturating_sub(1);
            lines.push(if s.kind == PT_NOTE {
                format!("  PT_NOTE {:#x}-{end:#x} {what}", s.paddr)
            } else {
                format!(
                    "  PT_LOAD {:#x}-{end:#x} at virtual {:#x} {what}",
                    s.paddr, s.vaddr
                )
            });
        }
        lines.join("\n")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sys::FakeHost;
    use object::elf::{FileHeader64, ProgramHeader64};
    use object::read::elf::{FileHeader, ProgramHeader};
    use object::LittleEndian as LE;

    /// The QEMU virt machine's RAM: 1 GiB at 1 GiB.
    pub const RAM: Range = Range {
        start: 0x4000_0000,
        end: 0x8000_0000,
    };
    /// A "reserved" (nomap, e.g. UEFI runtime) hole that splits RAM.
    pub const NOMAP: Range = Range {
        start: 0x5c00_0000,
        end: 0x5c10_0000,
    };
    /// crashkernel=256M, as /proc/iomem's "Crash kernel" shows it.
    pub const CRASH_KERNEL: Range = Range {
        start: 0x6f00_0000,
        end: 0x7f00_0000,
    };
    /// _text under KASLR: inside vmalloc, above PAGE_END.
    pub const TEXT_VADDR: u64 = 0xffff_d2f5_8a20_0000;
    /// __pa_symbol(_text).
    pub const TEXT_PADDR: u64 = 0x4020_0000;
    /// _end − _text.
    pub const TEXT_SIZE: u64 = 0x2a5_0000;
    /// 48-bit VA.
    pub const PAGE_OFFSET: u64 = 0xffff_0000_0000_0000;
    /// memstart_addr: the start of RAM (no linear-map randomization).
    pub const PHYS_OFFSET: u64 = 0x4000_0000;
    const VMALLOC_START: u64 = 0xffff_8000_0800_0000;

    /// A /proc/kcore header as arm64 6.1 writes it: PT_NOTE, KCORE_TEXT,
    /// vmalloc, modules, then each RAM range (KCORE_RAM) and its vmemmap.
    /// `loads` are (vaddr, paddr, size) in that order after the note.
    pub fn kcore(loads: &[(u64, u64, u64)]) -> Vec<u8> {
        let phnum = 1 + loads.len();
        let mut k = vec![0u8; EHDR_SIZE + phnum * PHDR_SIZE + 0x100];
        k[0..4].copy_from_slice(b"\x7fELF");
        k[4] = 2;
        k[5] = 1;
        k[6] = 1;
        k[16..18].copy_from_slice(&ET_CORE.to_le_bytes());
        k[18..20].copy_from_slice(&EM_AARCH64.to_le_bytes());
        k[32..40].copy_from_slice(&(EHDR_SIZE as u64).to_le_bytes());
        k[52..54].copy_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
        k[54..56].copy_from_slice(&(PHDR_SIZE as u16).to_le_bytes());
        k[56..58].copy_from_slice(&(phnum as u16).to_le_bytes());
        k[EHDR_SIZE..EHDR_SIZE + 4].copy_from_slice(&PT_NOTE.to_le_bytes());
        for (i, &(vaddr, paddr, size)) in loads.iter().enumerate() {
            let p = EHDR_SIZE + (i + 1) * PHDR_SIZE;
            k[p..p + 4].copy_from_slice(&PT_LOAD.to_le_bytes());
            k[p + 16..p + 24].copy_from_slice(&vaddr.to_le_bytes());
            k[p + 24..p + 32].copy_from_slice(&paddr.to_le_bytes());
            k[p + 32..p + 40].copy_from_slice(&size.to_le_bytes());
            k[p + 40..p + 48].copy_from_slice(&size.to_le_bytes());
        }
        k
    }

    /// The kcore of the machine below, with the linear map at `page_offset`
    /// for `phys_offset`.
    pub fn virt_kcore(page_offset: u64, phys_offset: u64) -> Vec<u8> {
        let lm = |p: u64| page_offset.wrapping_add(p).wrapping_sub(phys_offset);
        kcore(&[
            (TEXT_VADDR, TEXT_PADDR, TEXT_SIZE),
            (VMALLOC_START, NO_PADDR, 0x7bf7_f7e0_0000),
            (0xffff_8000_0000_0000, NO_PADDR, 0x800_0000),
            (lm(RAM.start), RAM.start, NOMAP.start - RAM.start),
            (0xffff_fc00_0000_0000, NO_PADDR, 0x70_0000),
            (lm(NOMAP.end), NOMAP.end, RAM.end - NOMAP.end),
            (0xffff_fc00_0170_4000, NO_PADDR, 0x8f_c000),
        ])
    }

    /// A QEMU virt arm64 machine (Debian 12's 6.1 kernel, 2 CPUs, 1 GiB at
    /// 0x4000_0000, crashkernel=256M) with the files a crash load reads:
    /// /proc/kcore with KCORE_TEXT and KCORE_RAM, and a /proc/kallsyms
    /// WITHOUT `_text`, as that kernel has.
    pub fn crash_host() -> FakeHost {
        let mut host = FakeHost::typical();
        host.set("/proc/sys/kernel/osrelease", "6.1.0-31-arm64\n");
        host.set(
            "/proc/cpuinfo",
            "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics\n",
        );
        host.set(
            "/proc/cmdline",
            "BOOT_IMAGE=/boot/vmlinuz-6.1.0-31-arm64 root=/dev/vda2 ro crashkernel=256M\n",
        );
        host.set(
            iomem::PATH,
            "04000000-07ffffff : 0.flash1\n\
             09000000-09000fff : pl011@9000000\n\
             \x20 09000000-09000fff : 9000000.pl011 pl011@9000000\n\
             40000000-5bffffff : System RAM\n\
             \x20 40210000-415fffff : Kernel code\n\
             \x20 41600000-41dfffff : reserved\n\
             \x20 41e00000-42c4ffff : Kernel data\n\
             5c000000-5c0fffff : reserved\n\
             5c100000-7fffffff : System RAM\n\
             \x20 6f000000-7effffff : Crash kernel\n\
             \x20 7fbd0000-7fffffff : reserved\n\
             4010000000-401fffffff : PCI ECAM\n",
        );
        host.set(&format!("{CPU_DIR}/possible"), "0-1\n");
        host.set(&format!("{CPU_DIR}/cpu0/crash_notes"), "7fbd3a48\n");
        host.set(&format!("{CPU_DIR}/cpu0/crash_notes_size"), "344\n");
        host.set(&format!("{CPU_DIR}/cpu1/crash_notes"), "7fbeea48\n");
        host.set(&format!("{CPU_DIR}/cpu1/crash_notes_size"), "344\n");
        host.set(VMCOREINFO, "0x000000007ff3e000 1024\n");
        host.set_bytes(KCORE, &virt_kcore(PAGE_OFFSET, PHYS_OFFSET));
        // KALLSYMS_ALL off: _text (before _stext) is not listed.
        host.set(
            KALLSYMS,
            "ffffd2f58a210000 T _stext\n\
             ffffd2f58a210000 T __do_softirq\n\
             ffffd2f58b5f0000 T _etext\n\
             ffffd2f58b600000 T __init_begin\n\
             ffffd2f58b600000 T _sinittext\n\
             ffffd2f58b6a0000 T _einittext\n\
             ffffd2f58bb00000 t fuse_init\t[fuse]\n",
        );
        host
    }

    /// The core header's program headers, read back with the `object` crate.
    fn parse(h: &[u8]) -> Vec<(u32, u64, u64, u64)> {
        let ehdr = FileHeader64::<LE>::parse(h).expect("an ELF64 header");
        assert_eq!(ehdr.e_type.get(LE), object::elf::FileType(ET_CORE));
        assert_eq!(ehdr.e_machine.get(LE), object::elf::EM_AARCH64);
        let phdrs: &[ProgramHeader64<LE>] = ehdr.program_headers(LE, h).expect("program headers");
        phdrs
            .iter()
            .map(|p| {
                assert_eq!(p.p_filesz(LE), p.p_memsz(LE));
                assert_eq!(
                    p.p_offset(LE),
                    p.p_paddr(LE),
                    "p_offset is the physical address"
                );
                (p.p_type(LE).0, p.p_vaddr(LE), p.p_paddr(LE), p.p_memsz(LE))
            })
            .collect()
    }

    #[test]
    fn gathers_notes_ram_text_and_the_linear_map_from_kcore() {
        let info = CrashInfo::gather(&crash_host()).unwrap();
        assert_eq!(
            info.cpu_notes,
            vec![
                CpuNote {
                    cpu: 0,
                    paddr: 0x7fbd_3a48,
                    size: 344
                },
                CpuNote {
                    cpu: 1,
                    paddr: 0x7fbe_ea48,
                    size: 344
                },
            ]
        );
        assert_eq!(info.vmcoreinfo, (0x7ff3_e000, 0x1024));
        assert_eq!(
            info.ram,
            vec![
                Range::new(RAM.start, NOMAP.start),
                Range::new(NOMAP.end, RAM.end)
            ]
        );
        assert_eq!(
            info.kernel_text,
            KernelText {
                paddr: TEXT_PADDR,
                vaddr: TEXT_VADDR,
                size: TEXT_SIZE,
                source: TextSource::Kcore
            }
        );
        assert_eq!(
            (info.page_offset, info.phys_offset),
            (PAGE_OFFSET, PHYS_OFFSET)
        );
        assert_eq!(info.linear(0x4800_0000), 0xffff_0000_0800_0000);
    }

    #[test]
    fn elfcorehdr_has_notes_the_kernel_image_and_ram_outside_the_crash_region() {
        let info = CrashInfo::gather(&crash_host()).unwrap();
        let h = info.elfcorehdr(&[CRASH_KERNEL]).unwrap();
        let phdrs = parse(&h);
        let notes: Vec<_> = phdrs.iter().filter(|p| p.0 == PT_NOTE).collect();
        assert_eq!(
            notes,
            [
                &(PT_NOTE, 0, 0x7fbd_3a48, 344),
                &(PT_NOTE, 0, 0x7fbe_ea48, 344),
                &(PT_NOTE, 0, 0x7ff3_e000, 0x1024)
            ]
        );
        let loads: Vec<_> = phdrs.iter().filter(|p| p.0 == PT_LOAD).copied().collect();
        let lm = |p: u64| PAGE_OFFSET + p - PHYS_OFFSET;
        assert_eq!(
            loads,
            [
                (PT_LOAD, TEXT_VADDR, TEXT_PADDR, TEXT_SIZE),
                (PT_LOAD, lm(RAM.start), RAM.start, NOMAP.start - RAM.start),
                (
                    PT_LOAD,
                    lm(NOMAP.end),
                    NOMAP.end,
                    CRASH_KERNEL.start - NOMAP.end
                ),
                (
                    PT_LOAD,
                    lm(CRASH_KERNEL.end),
                    CRASH_KERNEL.end,
                    RAM.end - CRASH_KERNEL.end
                ),
            ]
        );
        for &(_, vaddr, paddr, size) in &loads {
            assert_ne!(vaddr, u64::MAX, "no load at −1");
            assert!(!Range::new(paddr, paddr + size).overlaps(&CRASH_KERNEL));
        }
        // The kernel text lies in the kimage region, not the linear map.
        assert!(loads[0].1 >= 0xffff_8000_0000_0000, "above PAGE_END");
        assert_eq!(h.len(), EHDR_SIZE + phdrs.len() * PHDR_SIZE);
        assert_eq!(phdrs.len(), info.segments(&[CRASH_KERNEL]).len());
    }

    #[test]
    fn describe_has_a_line_per_segment() {
        let info = CrashInfo::gather(&crash_host()).unwrap();
        let text = info.describe(&[CRASH_KERNEL]);
        assert_eq!(text.lines().count(), 1 + 7, "{text}");
        assert!(
            text.contains("PT_NOTE 0x7fbd3a48-0x7fbd3b9f cpu0 crash_notes"),
            "{text}"
        );
        assert!(
            text.contains(
                "PT_LOAD 0x40200000-0x42c4ffff at virtual 0xffffd2f58a200000 kernel image (from /proc/kcore KCORE_TEXT)"
            ),
            "{text}"
        );
        assert!(
            text.contains("PT_LOAD 0x7f000000-0x7fffffff at virtual 0xffff00003f000000 System RAM"),
            "{text}"
        );
    }

    /// KASLR can move the linear map: memstart_addr drops below RAM (even
    /// "negative"), and RAM maps higher in the linear region.
    #[test]
    fn a_randomized_linear_map_is_followed() {
        let mut host = crash_host();
        let phys_offset = PHYS_OFFSET.wrapping_sub(0x25_8000_0000);
        host.set_bytes(KCORE, &virt_kcore(PAGE_OFFSET, phys_offset));
        let info = CrashInfo::gather(&host).unwrap();
        assert_eq!(info.page_offset, PAGE_OFFSET);
        assert_eq!(info.linear(RAM.start), 0xffff_0025_8000_0000);
        let loads = parse(&info.elfcorehdr(&[CRASH_KERNEL]).unwrap());
        assert_eq!(
            loads[4],
            (
                PT_LOAD,
                0xffff_0025_8000_0000,
                RAM.start,
                NOMAP.start - RAM.start
            )
        );
        // 39-bit VA (4 KiB pages, 3 levels): PAGE_OFFSET 0xffffff8000000000.
        host.set_bytes(KCORE, &{
            let mut k = virt_kcore(0xffff_ff80_0000_0000, PHYS_OFFSET);
            // vmalloc/modules/vmemmap and the image move up with VA_BITS.
            for (i, v) in [
                (1, 0xffff_ffc0_0a20_0000u64),
                (2, 0xffff_ffc0_0800_0000),
                (3, 0xffff_ffc0_0000_0000),
                (5, 0xffff_fffe_0000_0000),
                (7, 0xffff_fffe_0170_4000),
            ] {
                let p = EHDR_SIZE + i * PHDR_SIZE;
                k[p + 16..p + 24].copy_from_slice(&v.to_le_bytes());
            }
            k
        });
        let info = CrashInfo::gather(&host).unwrap();
        assert_eq!(
            (info.page_offset, info.phys_offset),
            (0xffff_ff80_0000_0000, PHYS_OFFSET)
        );
        assert_eq!(info.kernel_text.vaddr, 0xffff_ffc0_0a20_0000);
    }

    /// Without a KCORE_TEXT entry, Debian 12's kallsyms (no `_text`) still
    /// gives the image: __init_begin − the "Kernel code" length, else _stext.
    #[test]
    fn without_kcore_text_kallsyms_and_iomem_give_the_image() {
        let mut host = crash_host();
        let lm = |p: u64| PAGE_OFFSET + p - PHYS_OFFSET;
        let no_text = kcore(&[
            (VMALLOC_START, NO_PADDR, 0x7bf7_f7e0_0000),
            (lm(RAM.start), RAM.start, NOMAP.start - RAM.start),
            (lm(NOMAP.end), NOMAP.end, RAM.end - NOMAP.end),
        ]);
        host.set_bytes(KCORE, &no_text);
        let info = CrashInfo::gather(&host).unwrap();
        // "Kernel code" starts at __pa_symbol(_stext) on 6.1; through "Kernel data"'s end.
        let want = KernelText {
            paddr: 0x4021_0000,
            vaddr: 0xffff_d2f5_8a21_0000,
            size: 0x42c5_0000 - 0x4021_0000,
            source: TextSource::Kallsyms("__init_begin"),
        };
        assert_eq!(info.kernel_text, want);
        assert_eq!(info.page_offset, PAGE_OFFSET);
        let loads = parse(&info.elfcorehdr(&[CRASH_KERNEL]).unwrap());
        assert_eq!(loads[3], (PT_LOAD, want.vaddr, want.paddr, want.size));

        host.set(
            KALLSYMS,
            "ffffd2f58a210000 T _stext\nffffd2f58b5f0000 T _etext\n",
        );
        let info = CrashInfo::gather(&host).unwrap();
        assert_eq!(
            info.kernel_text,
            KernelText {
                source: TextSource::Kallsyms("_stext"),
                ..want
            }
        );

        // Hidden by kptr_restrict: zeros.
        host.set(
            KALLSYMS,
            "0000000000000000 T _stext\n0000000000000000 T __init_begin\n",
        );
        let err = CrashInfo::gather(&host).unwrap_err();
        assert!(
            err.contains("/proc/kcore has no kernel text entry (KCORE_TEXT)")
                && err.contains("/proc/kallsyms shows none of __init_begin, _stext, _text"),
            "{err}"
        );
        host.unset(KALLSYMS);
        let err = CrashInfo::gather(&host).unwrap_err();
        assert!(err.contains("cannot read /proc/kallsyms"), "{err}");
    }

    #[test]
    fn an_unreadable_or_useless_kcore_is_named() {
        let mut host = crash_host();
        host.unset(KCORE);
        let err = CrashInfo::gather(&host).unwrap_err();
        assert!(err.starts_with("cannot read /proc/kcore"), "{err}");

        // Only the kernel image and vmalloc: no KCORE_RAM.
        host.set_bytes(
            KCORE,
            &kcore(&[
                (TEXT_VADDR, TEXT_PADDR, TEXT_SIZE),
                (VMALLOC_START, NO_PADDR, 1 << 40),
            ]),
        );
        let err = CrashInfo::gather(&host).unwrap_err();
        assert!(
            err.contains("/proc/kcore") && err.contains("no KCORE_RAM"),
            "{err}"
        );

        // An x86_64 kcore.
        let mut k = virt_kcore(PAGE_OFFSET, PHYS_OFFSET);
        k[18..20].copy_from_slice(&62u16.to_le_bytes());
        host.set_bytes(KCORE, &k);
        let err = CrashInfo::gather(&host).unwrap_err();
        assert!(
            err.contains("e_machine is 62, not EM_AARCH64 (183)"),
            "{err}"
        );
    }

    /// procfs data is input too: corrupt headers are errors, not panics.
    #[test]
    fn corrupt_kcore_headers_are_errors_not_panics() {
        let good = virt_kcore(PAGE_OFFSET, PHYS_OFFSET);
        for phoff in [u64::MAX, u64::MAX - 40, 1 << 40, 4000, 65] {
            let mut k = good.clone();
            k[32..40].copy_from_slice(&phoff.to_le_bytes());
            assert!(kcore_loads(&k).is_err() || phoff == 65, "phoff {phoff:#x}");
            let mut host = crash_host();
            host.set_bytes(KCORE, &k);
            let _ = CrashInfo::gather(&host);
        }
        let mut k = good.clone();
        k[56..58].copy_from_slice(&0xffffu16.to_le_bytes());
        assert!(kcore_loads(&k)
            .unwrap_err()
            .contains("65535 program headers"));
        assert!(kcore_loads(&good[..40]).is_err());
        assert!(kcore_map(&[]).is_err());
    }

    #[test]
    fn cpu_lists_are_bounded_and_missing_cpus_skipped() {
        assert_eq!(cpu_list("0-2,5\n"), Some(vec![0, 1, 2, 5]));
        assert_eq!(cpu_list("0-4095"), Some((0..4096).collect()));
        assert_eq!(cpu_list("0-4096"), None);
        assert_eq!(cpu_list("0-4294967295"), None);
        assert_eq!(cpu_list("0-9,a"), None);
        let mut host = crash_host();
        host.set(&format!("{CPU_DIR}/possible"), "0-3\n");
        let info = CrashInfo::gather(&host).unwrap();
        assert_eq!(
            info.cpu_notes.len(),
            2,
            "cpu2 and cpu3 have no sysfs directory"
        );
        host.set(&format!("{CPU_DIR}/possible"), "0-4294967295\n");
        let err = CrashInfo::gather(&host).unwrap_err();
        assert!(
            err.contains("/sys/devices/system/cpu/possible") && err.contains("4096"),
            "{err}"
        );
        host.set(&format!("{CPU_DIR}/possible"), "0-1\n");
        host.unset(VMCOREINFO);
        let err = CrashInfo::gather(&host).unwrap_err();
        assert!(err.contains("cannot read /sys/kernel/vmcoreinfo"), "{err}");
    }

    #[test]
    fn hidden_iomem_and_too_many_ranges_are_errors() {
        let mut host = crash_host();
        host.set(iomem::PATH, "00000000-00000000 : System RAM\n");
        let err = CrashInfo::gather(&host).unwrap_err();
        assert!(err.contains("/proc/iomem shows no System RAM"), "{err}");

        let mut info = CrashInfo::gather(&crash_host()).unwrap();
        info.ram = (0..MAX_CORE_SEGMENTS as u64)
            .map(|i| Range::new(i * 0x2000, i * 0x2000 + 0x1000))
            .collect();
        let err = info.elfcorehdr(&[]).unwrap_err();
        assert!(
            err.contains("/proc/iomem") && err.contains("65534"),
            "{err}"
        );
        info.kernel_text.vaddr = u64::MAX;
        info.ram = vec![RAM];
        let err = info.elfcorehdr(&[]).unwrap_err();
        assert!(err.contains("−1"), "{err}");
    }
}
