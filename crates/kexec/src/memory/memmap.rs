//! The firmware memory map the next kernel is handed as its e820 table:
//! /sys/firmware/memmap (one directory per entry: start, end inclusive,
//! type), or the top level of /proc/iomem where that is missing.

use super::iomem;
use super::Range;
use crate::sys::Host;
use serde::Serialize;

/// One directory per firmware memory map entry (start, end, type).
pub const SYSFS_MEMMAP: &str = "/sys/firmware/memmap";

/// e820 entry types (arch/x86/include/asm/e820/types.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum E820Type {
    /// Usable RAM (1).
    Ram,
    /// Reserved by the firmware (2).
    Reserved,
    /// ACPI tables, reclaimable once read (3).
    Acpi,
    /// ACPI non-volatile storage (4).
    Nvs,
    /// Unusable memory (5).
    Unusable,
    /// Persistent memory (7).
    Pmem,
    /// Legacy persistent memory (12).
    PmemLegacy,
    /// Soft reserved, e.g. specific-purpose memory (0xefffffff).
    SoftReserved,
}

impl E820Type {
    /// The type's number in an e820 entry.
    pub fn code(self) -> u32 {
        match self {
            E820Type::Ram => 1,
            E820Type::Reserved => 2,
            E820Type::Acpi => 3,
            E820Type::Nvs => 4,
            E820Type::Unusable => 5,
            E820Type::Pmem => 7,
            E820Type::PmemLegacy => 12,
            E820Type::SoftReserved => 0xefff_ffff,
        }
    }

    /// The kernel's names (e820_type_to_string); anything else is reserved.
    pub fn from_name(name: &str) -> E820Type {
        match name.trim() {
            "System RAM" => E820Type::Ram,
            "ACPI Tables" => E820Type::Acpi,
            "ACPI Non-volatile Storage" => E820Type::Nvs,
            "Unusable memory" => E820Type::Unusable,
            "Persistent Memory" => E820Type::Pmem,
            "Persistent Memory (legacy)" => E820Type::PmemLegacy,
            "Soft Reserved" => E820Type::SoftReserved,
            _ => E820Type::Reserved,
        }
    }
}

/// One entry of the firmware memory map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MemoryRegion {
    /// Its physical range.
    pub range: Range,
    /// Its e820 type.
    pub kind: E820Type,
}

/// Why the memory map could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MemmapError {
    /// A sysfs memmap entry is unreadable or malformed.
    #[error("{path}: {why}")]
    Bad {
        /// The file at fault.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// Neither source could be read.
    #[error("neither /sys/firmware/memmap nor /proc/iomem can be read: {0}")]
    Unreadable(std::io::Error),
}

fn parse_hex(path: &str, text: &str) -> Result<u64, MemmapError> {
    super::parse_hex(text).ok_or_else(|| MemmapError::Bad {
        path: path.to_string(),
        why: format!("{:?} is not a hex address", text.trim()),
    })
}

/// Reads the firmware memory map, sorted by address.
pub fn read(host: &dyn Host) -> Result<Vec<MemoryRegion>, MemmapError> {
    match host.list_dir(SYSFS_MEMMAP) {
        Ok(entries) if !entries.is_empty() => from_sysfs(host, &entries),
        _ => from_iomem(host),
    }
}

fn from_sysfs(host: &dyn Host, entries: &[String]) -> Result<Vec<MemoryRegion>, MemmapError> {
    let mut regions = Vec::new();
    for entry in entries {
        let dir = format!("{SYSFS_MEMMAP}/{entry}");
        let read = |field: &str| {
            let path = format!("{dir}/{field}");
            host.read_text(&path)
                .map(|t| (path.clone(), t))
                .map_err(|e| MemmapError::Bad {
                    path,
                    why: e.to_string(),
                })
        };
        let (start_path, start) = read("start")?;
        let (end_path, end) = read("end")?;
        let (_, kind) = read("type")?;
        let start = parse_hex(&start_path, &start)?;
        let end = parse_hex(&end_path, &end)?;
        if end < start {
            return Err(MemmapError::Bad {
                path: dir,
                why: format!("end {end:#x} is below start {start:#x}"),
            });
        }
        regions.push(MemoryRegion {
            range: Range::new(start, end.saturating_add(1)),
            kind: E820Type::from_name(&kind),
        });
    }
    regions.sort_by_key(|r| r.range.start);
    Ok(regions)
}

fn from_iomem(host: &dyn Host) -> Result<Vec<MemoryRegion>, MemmapError> {
    let text = host
        .read_text(iomem::PATH)
        .map_err(MemmapError::Unreadable)?;
    let resources = iomem::parse(&text).map_err(|e| MemmapError::Bad {
        path: iomem::PATH.into(),
        why: e.to_string(),
    })?;
    let mut regions: Vec<MemoryRegion> = resources
        .iter()
        .filter(|r| r.depth == 0)
        .filter_map(|r| {
            let kind = match r.name.as_str() {
                "System RAM" => E820Type::Ram,
                "ACPI Tables" => E820Type::Acpi,
                "ACPI Non-volatile Storage" => E820Type::Nvs,
                "Reserved" | "reserved" => E820Type::Reserved,
                "Persistent Memory" => E820Type::Pmem,
                "Persistent Memory (legacy)" => E820Type::PmemLegacy,
                "Soft Reserved" => E820Type::SoftReserved,
                _ => return None, // PCI windows and device MMIO are not memory
            };
            Some(MemoryRegion {
                range: r.range,
                kind,
            })
        })
        .collect();
    regions.sort_by_key(|r| r.range.start);
    Ok(regions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::FakeHost;

    #[test]
    fn reads_sysfs_entries_with_inclusive_ends() {
        let mut host = FakeHost::typical();
        for (i, (start, end, kind)) in [
            ("0x100000", "0x7ffdffff", "System RAM"),
            ("0x0", "0x9fbff", "System RAM"),
            ("0x7ffe0000", "0x7fffffff", "Reserved"),
            ("0xfffc0000", "0xffffffff", "Reserved"),
        ]
        .iter()
        .enumerate()
        {
            host.set(&format!("{SYSFS_MEMMAP}/{i}/start"), &format!("{start}\n"));
            host.set(&format!("{SYSFS_MEMMAP}/{i}/end"), &format!("{end}\n"));
            host.set(&format!("{SYSFS_MEMMAP}/{i}/type"), &format!("{kind}\n"));
        }
        let map = read(&host).unwrap();
        assert_eq!(map.len(), 4);
        assert_eq!(map[0].range, Range::new(0, 0x9fc00));
        assert_eq!(map[1].range, Range::new(0x100000, 0x7ffe0000));
        assert_eq!(map[2].kind, E820Type::Reserved);
    }

    #[test]
    fn falls_back_to_iomem_top_level() {
        let host = FakeHost::typical();
        let map = read(&host).unwrap();
        assert_eq!(map.iter().filter(|r| r.kind == E820Type::Ram).count(), 2);
        assert_eq!(map[0].kind, E820Type::Reserved);
    }

    #[test]
    fn an_end_at_the_top_of_the_address_space_does_not_wrap() {
        // Regression (fuzz/artifacts/memmap): end 0xffffffffffffffff + 1 wrapped to 0.
        let mut host = FakeHost::typical();
        host.set(&format!("{SYSFS_MEMMAP}/0/start"), "0xfffc0000\n");
        host.set(&format!("{SYSFS_MEMMAP}/0/end"), "0xffffffffffffffff\n");
        host.set(&format!("{SYSFS_MEMMAP}/0/type"), "Reserved\n");
        let map = read(&host).unwrap();
        assert_eq!(map[0].range, Range::new(0xfffc0000, u64::MAX));
    }

    #[test]
    fn bad_values_name_the_file() {
        let mut host = FakeHost::typical();
        host.set(&format!("{SYSFS_MEMMAP}/0/start"), "zz\n");
        host.set(&format!("{SYSFS_MEMMAP}/0/end"), "0x1000\n");
        host.set(&format!("{SYSFS_MEMMAP}/0/type"), "System RAM\n");
        let err = read(&host).unwrap_err().to_string();
        assert!(
            err.contains("/sys/firmware/memmap/0/start") && err.contains("zz"),
            "{err}"
        );
    }
}
