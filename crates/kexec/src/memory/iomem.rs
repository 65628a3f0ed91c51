//! /proc/iomem: the kernel's resource tree, one "start-end : name" line per
//! resource, nested by two-space indentation, ends inclusive.

use super::Range;

/// The file parsed here.
pub const PATH: &str = "/proc/iomem";
/// The name of the ranges reserved by crashkernel=.
pub const CRASH_KERNEL: &str = "Crash kernel";
/// The name of RAM ranges.
pub const SYSTEM_RAM: &str = "System RAM";

/// One line of /proc/iomem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Its range, converted to half-open.
    pub range: Range,
    /// Its name ("System RAM", "Kernel code", ...).
    pub name: String,
    /// Its nesting level: 0 at the top, one more per two spaces of indent.
    pub depth: usize,
}

/// A line of /proc/iomem that is not "start-end : name".
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{PATH} line {line}: {text:?}: {why}")]
pub struct ParseError {
    /// The line number, from 1.
    pub line: usize,
    /// The line as read.
    pub text: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// Parses /proc/iomem's text into resources, in file order; the first
/// malformed line is an error that names it.
///
/// ```rust
/// use kexec::memory::{iomem, Range};
/// let text = "00001000-0009fbff : System RAM\n\
///             00100000-7ffdffff : System RAM\n\
///             \x20 2a000000-39ffffff : Crash kernel\n";
/// let resources = iomem::parse(text).unwrap();
/// assert_eq!(resources[2].depth, 1);
/// assert_eq!(iomem::crash_regions(&resources), [Range::new(0x2a00_0000, 0x3a00_0000)]);
/// assert_eq!(iomem::system_ram(&resources).len(), 2);
/// assert!(iomem::parse("no colon here").is_err());
/// ```
pub fn parse(text: &str) -> Result<Vec<Resource>, ParseError> {
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let fail = |why| ParseError {
            line: index + 1,
            text: raw.to_string(),
            why,
        };
        let depth = (raw.len() - raw.trim_start().len()) / 2;
        let (span, name) = raw
            .trim_start()
            .split_once(" : ")
            .ok_or_else(|| fail("no \" : \""))?;
        let (start, end) = span
            .split_once('-')
            .ok_or_else(|| fail("no \"-\" in the range"))?;
        let start = u64::from_str_radix(start, 16).map_err(|_| fail("start is not hex"))?;
        let end = u64::from_str_radix(end, 16).map_err(|_| fail("end is not hex"))?;
        if end < start {
            return Err(fail("end before start"));
        }
        out.push(Resource {
            range: Range::new(start, end.saturating_add(1)),
            name: name.to_string(),
            depth,
        });
    }
    Ok(out)
}

/// The "Crash kernel" ranges, in address order. Readers without
/// CAP_SYS_ADMIN see zeroed addresses; those come back as empty ranges
/// at 0 and callers must treat the addresses as unknown.
pub fn crash_regions(resources: &[Resource]) -> Vec<Range> {
    let mut regions: Vec<Range> = resources
        .iter()
        .filter(|r| r.name == CRASH_KERNEL)
        .map(|r| r.range)
        .collect();
    regions.sort_by_key(|r| r.start);
    regions
}

/// The top-level "System RAM" ranges, in address order: where
/// kexec_file_load places a normal load's segments. Empty when the
/// addresses are hidden (zeroed without CAP_SYS_ADMIN).
pub fn system_ram(resources: &[Resource]) -> Vec<Range> {
    let mut ram: Vec<Range> = resources
        .iter()
        .filter(|r| r.depth == 0 && r.name == SYSTEM_RAM && r.range.size() > 1)
        .map(|r| r.range)
        .collect();
    ram.sort_by_key(|r| r.start);
    ram
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "00000000-00000fff : Reserved
00001000-0009fbff : System RAM
00100000-5ffdffff : System RAM
  02000000-02e01fff : Kernel code
  4b000000-5affffff : Crash kernel
5ffe0000-5fffffff : Reserved
fd000000-fdffffff : PCI Bus 0000:00
";

    #[test]
    fn parses_nesting_and_inclusive_ends() {
        let r = parse(SAMPLE).unwrap();
        assert_eq!(r.len(), 7);
        assert_eq!(r[3].name, "Kernel code");
        assert_eq!(r[3].depth, 1);
        assert_eq!(r[1].range, Range::new(0x1000, 0x9fc00));
    }

    #[test]
    fn finds_the_crash_region() {
        let regions = crash_regions(&parse(SAMPLE).unwrap());
        assert_eq!(regions, vec![Range::new(0x4b00_0000, 0x5b00_0000)]);
        assert_eq!(regions[0].size(), 256 << 20);
    }

    #[test]
    fn lists_top_level_system_ram() {
        let ram = system_ram(&parse(SAMPLE).unwrap());
        assert_eq!(
            ram,
            vec![
                Range::new(0x1000, 0x9fc00),
                Range::new(0x10_0000, 0x5ffe_0000)
            ]
        );
        // Hidden addresses (no CAP_SYS_ADMIN) give nothing.
        let hidden = "00000000-00000000 : System RAM\n00000000-00000000 : System RAM\n";
        assert!(system_ram(&parse(hidden).unwrap()).is_empty());
    }

    #[test]
    fn rejects_garbage_naming_the_line() {
        let err = parse("00000000-00000fff : Reserved\nhello\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().contains("line 2"));
    }
}
