//! Sets of physical ranges: the free memory a loader may place segments in.
//! A small algebra — minus, intersect, find space — in the manner of
//! u-root's pkg/boot/kexec.

use super::Range;

/// Sorted, non-overlapping, non-empty ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ranges(Vec<Range>);

/// Where in the free space a buffer should go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub size: u64,
    pub align: u64,
    /// Lowest start address allowed.
    pub min: u64,
    /// The buffer must end at or below this address (exclusive end).
    pub max: u64,
    /// Highest fitting address first (true), or lowest (false).
    pub top_down: bool,
}

fn align_up(n: u64, align: u64) -> Option<u64> {
    n.checked_add(align - 1).map(|v| v / align * align)
}

fn align_down(n: u64, align: u64) -> u64 {
    n / align * align
}

impl Ranges {
    pub fn new(ranges: impl IntoIterator<Item = Range>) -> Ranges {
        let mut all: Vec<Range> = ranges.into_iter().filter(|r| r.end > r.start).collect();
        all.sort_by_key(|r| r.start);
        let mut merged: Vec<Range> = Vec::with_capacity(all.len());
        for r in all {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        Ranges(merged)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Range> {
        self.0.iter()
    }

    pub fn total(&self) -> u64 {
        self.0.iter().map(Range::size).sum()
    }

    /// These ranges without `cut`.
    pub fn minus(&self, cut: Range) -> Ranges {
        let mut out = Vec::with_capacity(self.0.len() + 1);
        for r in &self.0 {
            if !r.overlaps(&cut) {
                out.push(*r);
                continue;
            }
            if r.start < cut.start {
                out.push(Range::new(r.start, cut.start));
            }
            if cut.end < r.end {
                out.push(Range::new(cut.end, r.end));
            }
        }
        Ranges(out)
    }

    /// These ranges clipped to `window`.
    pub fn intersect(&self, window: Range) -> Ranges {
        Ranges::new(
            self.0
                .iter()
                .filter(|r| r.overlaps(&window))
                .map(|r| Range::new(r.start.max(window.start), r.end.min(window.end))),
        )
    }

    pub fn contains(&self, range: &Range) -> bool {
        self.0.iter().any(|r| r.contains(range))
    }

    /// The address of a free, aligned buffer as `p` asks, if there is one.
    pub fn find_space(&self, p: Placement) -> Option<u64> {
        let align = p.align.max(1);
        let window = Range::new(p.min, p.max);
        let candidates = self.intersect(window);
        let fits = |r: &Range| -> Option<u64> {
            if p.top_down {
                let start = align_down(r.end.checked_sub(p.size)?, align);
                (start >= r.start).then_some(start)
            } else {
                let start = align_up(r.start, align)?;
                (start.checked_add(p.size)? <= r.end).then_some(start)
            }
        };
        if p.top_down {
            candidates.0.iter().rev().find_map(fits)
        } else {
            candidates.0.iter().find_map(fits)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    fn ram() -> Ranges {
        Ranges::new([Range::new(0x1000, 0x9f000), Range::new(MIB, 2 * GIB)])
    }

    #[test]
    fn merges_and_sorts() {
        let r = Ranges::new([
            Range::new(10, 20),
            Range::new(0, 5),
            Range::new(15, 30),
            Range::new(5, 5),
        ]);
        assert_eq!(r.0, vec![Range::new(0, 5), Range::new(10, 30)]);
        assert_eq!(r.total(), 25);
    }

    #[test]
    fn minus_splits_and_trims() {
        let r = ram().minus(Range::new(16 * MIB, 32 * MIB));
        assert_eq!(r.0[1], Range::new(MIB, 16 * MIB));
        assert_eq!(r.0[2], Range::new(32 * MIB, 2 * GIB));
        assert_eq!(ram().minus(Range::new(0, 4 * GIB)).0, vec![]);
    }

    #[test]
    fn top_down_takes_the_highest_aligned_hole() {
        let p = Placement {
            size: 3 * MIB,
            align: 2 * MIB,
            min: MIB,
            max: u64::MAX,
            top_down: true,
        };
        assert_eq!(ram().find_space(p), Some(2 * GIB - 4 * MIB));
    }

    #[test]
    fn bottom_up_and_bounds() {
        let p = Placement {
            size: 0x2000,
            align: 0x1000,
            min: 0x3000,
            max: u64::MAX,
            top_down: false,
        };
        assert_eq!(ram().find_space(p), Some(0x3000));
        let p = Placement {
            size: 0x100000,
            align: 0x1000,
            min: 0x3000,
            max: MIB,
            top_down: false,
        };
        assert_eq!(ram().find_space(p), None, "the low range is too small");
        let p = Placement {
            size: MIB,
            align: 0x1000,
            min: 0,
            max: 4 * GIB,
            top_down: true,
        };
        assert_eq!(ram().find_space(p), Some(2 * GIB - MIB));
    }

    #[test]
    fn fragmented_memory_is_searched_past_small_holes() {
        let frag = Ranges::new((0..64).map(|i| Range::new(i * 4 * MIB, i * 4 * MIB + MIB)))
            .minus(Range::new(0, MIB));
        let p = Placement {
            size: 2 * MIB,
            align: 0x1000,
            min: 0,
            max: u64::MAX,
            top_down: true,
        };
        assert_eq!(frag.find_space(p), None);
        let big = Ranges::new(frag.iter().copied().chain([Range::new(5 * GIB, 6 * GIB)]));
        assert_eq!(big.find_space(p), Some(6 * GIB - 2 * MIB));
        let below_4g = Placement { max: 4 * GIB, ..p };
        assert_eq!(big.find_space(below_4g), None);
    }
}
