//! Physical memory as the running kernel describes it.

pub mod iomem;
pub mod memmap;
pub mod ranges;

use serde::Serialize;
use std::fmt;

/// A physical address range, half-open: [start, end).
///
/// It prints inclusive, the way /proc/iomem shows ranges:
///
/// ```rust
/// use kexec::memory::Range;
/// let low = Range::new(0x1000, 0x2000);
/// assert_eq!(low.size(), 0x1000);
/// assert_eq!(low.to_string(), "0x1000-0x1fff");
/// // Adjacent ranges touch but do not overlap.
/// assert!(!low.overlaps(&Range::new(0x2000, 0x3000)));
/// assert!(low.overlaps(&Range::new(0x1fff, 0x3000)));
/// assert!(low.contains(&Range::new(0x1800, 0x2000)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct Range {
    /// The first address in the range.
    pub start: u64,
    /// The first address past the range.
    pub end: u64,
}

impl Range {
    /// The range [start, end); `end` must not be below `start`.
    pub fn new(start: u64, end: u64) -> Range {
        Range { start, end }
    }
    /// Its length in bytes.
    pub fn size(&self) -> u64 {
        self.end - self.start
    }
    /// Whether `other` lies wholly inside this range.
    pub fn contains(&self, other: &Range) -> bool {
        other.start >= self.start && other.end <= self.end
    }
    /// Whether the two ranges share at least one address.
    pub fn overlaps(&self, other: &Range) -> bool {
        self.start < other.end && other.start < self.end
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Printed inclusive, the way /proc/iomem shows it.
        write!(f, "{:#x}-{:#x}", self.start, self.end.saturating_sub(1))
    }
}

/// A hex number as sysfs prints addresses: "0x1f000", "1f000", with or
/// without a newline.
///
/// ```rust
/// use kexec::memory::parse_hex;
/// assert_eq!(parse_hex("0x1f000\n"), Some(0x1f000));
/// assert_eq!(parse_hex("1f000"), Some(0x1f000));
/// assert_eq!(parse_hex("not hex"), None);
/// ```
pub fn parse_hex(text: &str) -> Option<u64> {
    let t = text.trim();
    u64::from_str_radix(t.strip_prefix("0x").unwrap_or(t), 16).ok()
}

/// "256 MiB", "1.5 GiB", "12 KiB": sizes people read, to a tenth, rounded down.
///
/// ```rust
/// use kexec::memory::human_size;
/// assert_eq!(human_size(256 << 20), "256 MiB");
/// assert_eq!(human_size(3 << 29), "1.5 GiB");
/// assert_eq!(human_size(100), "100 bytes");
/// ```
pub fn human_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, scale) in UNITS {
        if bytes >= scale {
            let whole = bytes / scale;
            let tenth = (bytes % scale) * 10 / scale;
            return if tenth == 0 {
                format!("{whole} {unit}")
            } else {
                format!("{whole}.{tenth} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_size(256 << 20), "256 MiB");
        assert_eq!(human_size(3 << 29), "1.5 GiB");
        assert_eq!(human_size(100), "100 bytes");
    }

    #[test]
    fn ranges_are_half_open() {
        let a = Range::new(0x1000, 0x2000);
        assert!(!a.overlaps(&Range::new(0x2000, 0x3000)));
        assert!(a.overlaps(&Range::new(0x1fff, 0x3000)));
        assert_eq!(a.to_string(), "0x1000-0x1fff");
    }
}
