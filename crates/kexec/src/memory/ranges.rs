//! Sets of physical ranges: the free memory a loader may place segments in.
//! A small algebra — minus, intersect, find space — in the manner of
//! u-root's pkg/boot/kexec.

use super::Range;

/// Sorted, non-overlapping, non-empty ranges.
///
/// Free memory is what is left of RAM once the taken ranges are cut out;
/// [`Ranges::find_space`] then places a buffer in it:
///
/// ```rust
/// use kexec::memory::Range;
/// use kexec::memory::ranges::{Placement, Ranges};
/// const MIB: u64 = 1 << 20;
/// let ram = Ranges::new([Range::new(0x1000, 0x9f000), Range::new(MIB, 64 * MIB)]);
/// let free = ram.minus(Range::new(16 * MIB, 32 * MIB));
/// assert_eq!(free.total(), ram.total() - 16 * MIB);
///
/// // 1 MiB, 2 MiB aligned, as high as possible below 32 MiB.
/// let p = Placement { size: MIB, align: 2 * MIB, min: 0, max: 32 * MIB, top_down: true };
/// assert_eq!(free.find_space(p), Some(14 * MIB));
/// // Nothing of 40 MiB is free in one piece.
/// assert_eq!(free.find_space(Placement { size: 40 * MIB, top_down: false, ..p }), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ranges(Vec<Range>);

/// Where in the free space a buffer should go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The buffer's size in bytes.
    pub size: u64,
    /// Its start's alignment (0 and 1: any address); need not be a power of two.
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
    /// The set of `ranges`: sorted, overlapping and touching ranges merged,
    /// empty ones dropped.
    ///
    /// ```rust
    /// use kexec::memory::{ranges::Ranges, Range};
    /// let set = Ranges::new([Range::new(0x3000, 0x4000), Range::new(0x1000, 0x2000),
    ///                        Range::new(0x2000, 0x3000), Range::new(0x8000, 0x8000)]);
    /// assert_eq!(set.iter().copied().collect::<Vec<_>>(), [Range::new(0x1000, 0x4000)]);
    /// ```
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

    /// The ranges, in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Range> {
        self.0.iter()
    }

    /// Bytes in all the ranges together.
    pub fn total(&self) -> u64 {
        self.0.iter().map(Range::size).sum()
    }

    /// These ranges without `cut`.
    pub fn minus(&self, cut: Range) -> Ranges {
        // An empty cut removes nothing; `overlaps` alone would split a range
        // around it and leave a buffer unable to span the seam.
        if cut.end <= cut.start {
            return self.clone();
        }
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

    /// Whether `range` lies wholly inside one of the ranges.
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

    /// How many aligned starts a buffer as `p` asks could take (its
    /// `top_down` does not matter): KASLR's slots.
    pub fn slot_count(&self, p: Placement) -> u64 {
        self.slots(p).map(|(_, n)| n).sum()
    }

    /// The `n`th of the [`slot_count`](Self::slot_count) aligned starts,
    /// counted from the lowest address.
    pub fn nth_slot(&self, p: Placement, mut n: u64) -> Option<u64> {
        let align = p.align.max(1);
        for (first, count) in self.slots(p) {
            if n < count {
                return Some(first + n * align);
            }
            n -= count;
        }
        None
    }

    /// A start chosen uniformly among all aligned starts that fit, by
    /// `random` (as the kernel's decompressor picks a physical KASLR slot).
    pub fn find_random_space(&self, p: Placement, random: u64) -> Option<u64> {
        let count = self.slot_count(p);
        (count > 0)
            .then(|| self.nth_slot(p, random % count))
            .flatten()
    }

    /// Each free range's first fitting aligned start and how many follow.
    fn slots(&self, p: Placement) -> impl Iterator<Item = (u64, u64)> {
        let align = p.align.max(1);
        self.intersect(Range::new(p.min, p.max))
            .0
            .into_iter()
            .filter_map(move |r| {
                let first = align_up(r.start, align)?;
                let last = r.end.checked_sub(p.size)?;
                (first <= last).then(|| (first, (last - first) / align + 1))
            })
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
    fn random_slots_cover_every_aligned_start_and_only_those() {
        // [16M, 24M) holds four 2 MiB starts, [40M, 41M) none, [100M, 104M) two.
        let free = Ranges::new([
            Range::new(16 * MIB, 24 * MIB),
            Range::new(40 * MIB, 41 * MIB),
            Range::new(100 * MIB, 104 * MIB),
        ]);
        let p = Placement {
            size: 2 * MIB,
            align: 2 * MIB,
            min: 0,
            max: u64::MAX,
            top_down: false,
        };
        // 16,18,20,22 and 100,102.
        assert_eq!(free.slot_count(p), 6);
        let all: Vec<u64> = (0..6)
            .map(|n| free.find_random_space(p, n).unwrap() / MIB)
            .collect();
        assert_eq!(all, [16, 18, 20, 22, 100, 102]);
        // The random value wraps: 6 is slot 0 again.
        assert_eq!(free.find_random_space(p, 6), Some(16 * MIB));
        assert_eq!(free.nth_slot(p, 6), None);
        // The window bounds it: min 19M, max 102M leaves 20, 22 and 100 (ends at 102).
        let w = Placement {
            min: 19 * MIB,
            max: 102 * MIB,
            ..p
        };
        assert_eq!(free.slot_count(w), 3);
        assert_eq!(free.find_random_space(w, 2), Some(100 * MIB));
        // Nothing fits: None, never a slot that overlaps used memory.
        assert_eq!(
            free.find_random_space(Placement { size: 9 * MIB, ..p }, 7),
            None
        );
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

    fn set(ranges: &[(u64, u64)]) -> Ranges {
        Ranges::new(ranges.iter().map(|&(s, e)| Range::new(s, e)))
    }

    fn pairs(r: &Ranges) -> Vec<(u64, u64)> {
        r.iter().map(|r| (r.start, r.end)).collect()
    }

    const TOP: u64 = u64::MAX;

    /// Ranges as (start, end) pairs, for tables.
    type Pairs = &'static [(u64, u64)];

    #[test]
    fn new_sorts_merges_and_drops_empty_ranges() {
        // (name, input, expected)
        let cases: &[(&str, Pairs, Pairs)] = &[
            ("empty", &[], &[]),
            ("zero size dropped", &[(5, 5)], &[]),
            ("inverted dropped", &[(9, 5)], &[]),
            ("adjacent merge", &[(0, 5), (5, 9)], &[(0, 9)]),
            (
                "one byte apart stay apart",
                &[(0, 5), (6, 9)],
                &[(0, 5), (6, 9)],
            ),
            ("overlapping merge", &[(0, 6), (5, 9)], &[(0, 9)]),
            ("contained merge", &[(0, 9), (2, 3)], &[(0, 9)]),
            ("unsorted", &[(7, 9), (0, 2)], &[(0, 2), (7, 9)]),
            (
                "touching 0 and the top",
                &[(0, 1), (TOP - 1, TOP)],
                &[(0, 1), (TOP - 1, TOP)],
            ),
            ("whole space", &[(0, TOP), (5, 6)], &[(0, TOP)]),
        ];
        for (name, input, want) in cases {
            assert_eq!(pairs(&set(input)), *want, "{name}");
        }
    }

    #[test]
    fn minus_table() {
        let base: &[(u64, u64)] = &[(0x1000, 0x3000), (0x5000, 0x8000)];
        // (name, cut, expected)
        let cases: &[(&str, (u64, u64), Pairs)] = &[
            (
                "touching below",
                (0, 0x1000),
                &[(0x1000, 0x3000), (0x5000, 0x8000)],
            ),
            (
                "touching above",
                (0x3000, 0x5000),
                &[(0x1000, 0x3000), (0x5000, 0x8000)],
            ),
            (
                "first byte",
                (0x1000, 0x1001),
                &[(0x1001, 0x3000), (0x5000, 0x8000)],
            ),
            (
                "last byte",
                (0x2fff, 0x3000),
                &[(0x1000, 0x2fff), (0x5000, 0x8000)],
            ),
            ("exact range", (0x1000, 0x3000), &[(0x5000, 0x8000)]),
            (
                "middle",
                (0x6000, 0x7000),
                &[(0x1000, 0x3000), (0x5000, 0x6000), (0x7000, 0x8000)],
            ),
            (
                "across both",
                (0x2000, 0x6000),
                &[(0x1000, 0x2000), (0x6000, 0x8000)],
            ),
            ("everything", (0, TOP), &[]),
            (
                "zero size inside",
                (0x2000, 0x2000),
                &[(0x1000, 0x3000), (0x5000, 0x8000)],
            ),
            (
                "inverted",
                (0x2800, 0x2000),
                &[(0x1000, 0x3000), (0x5000, 0x8000)],
            ),
        ];
        for (name, (s, e), want) in cases {
            assert_eq!(pairs(&set(base).minus(Range::new(*s, *e))), *want, "{name}");
        }
    }

    #[test]
    fn intersect_table() {
        let base: &[(u64, u64)] = &[(0, 0x3000), (0x5000, TOP)];
        let cases: &[(&str, (u64, u64), Pairs)] = &[
            ("touching ends give nothing", (0x3000, 0x5000), &[]),
            (
                "one byte each side",
                (0x2fff, 0x5001),
                &[(0x2fff, 0x3000), (0x5000, 0x5001)],
            ),
            ("from 0", (0, 0x10), &[(0, 0x10)]),
            ("to the top", (TOP - 1, TOP), &[(TOP - 1, TOP)]),
            ("zero size window", (0x1000, 0x1000), &[]),
            ("inverted window", (0x2000, 0x1000), &[]),
            ("all", (0, TOP), &[(0, 0x3000), (0x5000, TOP)]),
        ];
        for (name, (s, e), want) in cases {
            assert_eq!(
                pairs(&set(base).intersect(Range::new(*s, *e))),
                *want,
                "{name}"
            );
        }
    }

    #[test]
    fn contains_is_half_open() {
        let r = set(&[(0x1000, 0x3000), (0x3000, 0x4000), (0x5000, 0x6000)]);
        assert!(
            r.contains(&Range::new(0x1000, 0x4000)),
            "merged adjacent ranges"
        );
        assert!(r.contains(&Range::new(0x3fff, 0x4000)));
        assert!(!r.contains(&Range::new(0x3fff, 0x4001)));
        assert!(!r.contains(&Range::new(0xfff, 0x1001)));
        assert!(
            !r.contains(&Range::new(0x3000, 0x5001)),
            "not across a hole"
        );
    }

    struct SpaceCase {
        name: &'static str,
        free: &'static [(u64, u64)],
        size: u64,
        align: u64,
        min: u64,
        max: u64,
        /// Expected address bottom-up, then top-down.
        want: (Option<u64>, Option<u64>),
    }

    const fn case(
        name: &'static str,
        free: &'static [(u64, u64)],
        (size, align): (u64, u64),
        (min, max): (u64, u64),
        want: (Option<u64>, Option<u64>),
    ) -> SpaceCase {
        SpaceCase {
            name,
            free,
            size,
            align,
            min,
            max,
            want,
        }
    }

    const ANY: (u64, u64) = (0, TOP);
    const PAGE: u64 = 0x1000;

    const SPACE_CASES: &[SpaceCase] = &[
        case("empty free set", &[], (PAGE, PAGE), ANY, (None, None)),
        case(
            "exact fit",
            &[(0x1000, 0x3000)],
            (0x2000, PAGE),
            ANY,
            (Some(0x1000), Some(0x1000)),
        ),
        case(
            "one byte too big",
            &[(0x1000, 0x3000)],
            (0x2001, 1),
            ANY,
            (None, None),
        ),
        case(
            "max at the exclusive end",
            &[(0, 0x10000)],
            (PAGE, PAGE),
            (0, 0x10000),
            (Some(0), Some(0xf000)),
        ),
        case(
            "max one below the end",
            &[(0, 0x10000)],
            (PAGE, PAGE),
            (0, 0xffff),
            (Some(0), Some(0xe000)),
        ),
        case(
            "min at the start",
            &[(0x1000, 0x10000)],
            (PAGE, PAGE),
            (0x1000, TOP),
            (Some(0x1000), Some(0xf000)),
        ),
        case(
            "min one past the start",
            &[(0x1000, 0x10000)],
            (PAGE, PAGE),
            (0x1001, TOP),
            (Some(0x2000), Some(0xf000)),
        ),
        case(
            "min and max leave exactly the size",
            &[(0, 0x10000)],
            (PAGE, PAGE),
            (0x3000, 0x4000),
            (Some(0x3000), Some(0x3000)),
        ),
        case(
            "min and max leave one byte less",
            &[(0, 0x10000)],
            (PAGE, 1),
            (0x3000, 0x3fff),
            (None, None),
        ),
        case(
            "min above max",
            &[(0, 0x10000)],
            (PAGE, PAGE),
            (0x4000, 0x1000),
            (None, None),
        ),
        case(
            "adjacent ranges hold one buffer",
            &[(0x1000, 0x2000), (0x2000, 0x4000)],
            (0x3000, PAGE),
            ANY,
            (Some(0x1000), Some(0x1000)),
        ),
        case(
            "overlapping ranges hold one buffer",
            &[(0x1000, 0x3000), (0x2000, 0x4000)],
            (0x3000, PAGE),
            ANY,
            (Some(0x1000), Some(0x1000)),
        ),
        case(
            "a one-byte hole splits",
            &[(0x1000, 0x2000), (0x2001, 0x4000)],
            (0x1fff, 1),
            ANY,
            (Some(0x2001), Some(0x2001)),
        ),
        case(
            "a one-byte hole is not crossed",
            &[(0x1000, 0x2000), (0x2001, 0x4000)],
            (0x2000, 1),
            ANY,
            (None, None),
        ),
        case(
            "range at 0",
            &[(0, PAGE)],
            (PAGE, PAGE),
            ANY,
            (Some(0), Some(0)),
        ),
        case(
            "range up to u64::MAX",
            &[(TOP - 0xffff, TOP)],
            (PAGE, PAGE),
            ANY,
            (Some(TOP - 0xfff - 0xf000), Some(TOP - 0xfff - 0x1000)),
        ),
        case(
            "whole address space",
            &[(0, TOP)],
            (PAGE, PAGE),
            ANY,
            (Some(0), Some(TOP - 0xfff - 0x1000)),
        ),
        case(
            "aligning past u64::MAX",
            &[(TOP - 10, TOP)],
            (1, PAGE),
            ANY,
            (None, None),
        ),
        case(
            "size past u64::MAX",
            &[(PAGE, TOP)],
            (TOP, 1),
            ANY,
            (None, None),
        ),
        case(
            "non-power-of-two alignment",
            &[(0x1000, 0x10000)],
            (100, 3000),
            ANY,
            (Some(6000), Some(63000)),
        ),
        case(
            "non-power-of-two alignment, none fits",
            &[(3001, 5999)],
            (1, 3000),
            ANY,
            (None, None),
        ),
        case(
            "alignment 0 means 1",
            &[(0x1001, 0x2000)],
            (0x10, 0),
            ANY,
            (Some(0x1001), Some(0x1ff0)),
        ),
        case(
            "alignment larger than the range",
            &[(1 << 20, 2 << 20)],
            (PAGE, 4 << 20),
            ANY,
            (None, None),
        ),
        case(
            "alignment larger than a range at 0",
            &[(0, 2 << 20)],
            (PAGE, 4 << 20),
            ANY,
            (Some(0), Some(0)),
        ),
        case(
            "alignment skips to the next range",
            &[(1 << 20, 2 << 20), (4 << 20, 5 << 20)],
            (PAGE, 4 << 20),
            ANY,
            (Some(4 << 20), Some(4 << 20)),
        ),
        case(
            "direction picks the end",
            &[(0x1000, 0x2000), (0x3000, 0x4000)],
            (PAGE, PAGE),
            ANY,
            (Some(0x1000), Some(0x3000)),
        ),
        case(
            "max clamp drops the upper range",
            &[(0x1000, 0x2000), (0x3000, 0x4000)],
            (PAGE, PAGE),
            (0, 0x3fff),
            (Some(0x1000), Some(0x1000)),
        ),
        case(
            "min clamp drops the lower range",
            &[(0x1000, 0x2000), (0x3000, 0x4000)],
            (PAGE, PAGE),
            (0x1001, TOP),
            (Some(0x3000), Some(0x3000)),
        ),
        case(
            "top-down skips a high range too small",
            &[(0x1000, 0x4000), (0x5000, 0x5800)],
            (PAGE, PAGE),
            ANY,
            (Some(0x1000), Some(0x3000)),
        ),
        case(
            "zero size",
            &[(0x1000, 0x3000)],
            (0, PAGE),
            ANY,
            (Some(0x1000), Some(0x3000)),
        ),
        case("zero size, nothing free", &[], (0, PAGE), ANY, (None, None)),
        case(
            "split by min, enough above it",
            &[(0, 0x1010)],
            (0x10, 1),
            (0x1000, TOP),
            (Some(0x1000), Some(0x1000)),
        ),
        case(
            "split by max, enough below it",
            &[(0xff0, 0x1010)],
            (0x10, 1),
            (0, 0x1000),
            (Some(0xff0), Some(0xff0)),
        ),
    ];

    #[test]
    fn find_space_table() {
        for c in SPACE_CASES {
            let free = set(c.free);
            for (top_down, want) in [(false, c.want.0), (true, c.want.1)] {
                let p = Placement {
                    size: c.size,
                    align: c.align,
                    min: c.min,
                    max: c.max,
                    top_down,
                };
                let got = free.find_space(p);
                assert_eq!(got, want, "{} (top_down: {top_down})", c.name);
                // Whatever is found lies in free space, in the window, aligned.
                if let Some(at) = got {
                    let buffer = Range::new(at, at + c.size);
                    assert!(free.contains(&buffer), "{}: {buffer} not free", c.name);
                    assert!(at >= c.min && at + c.size <= c.max, "{}", c.name);
                    assert_eq!(at % c.align.max(1), 0, "{}", c.name);
                }
            }
        }
    }
}
