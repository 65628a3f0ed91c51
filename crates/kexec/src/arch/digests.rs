//! The digests our purgatories check before they enter the next kernel:
//! SHA-256 of the bytes each segment loads, taken in pieces so that every
//! CPU hashes at load time. A segment larger than a piece (an initrd) gets
//! one digest per piece; the purgatory checks the pieces one after another,
//! the same bytes as one digest would cover, so the reboot path pays
//! nothing for them. On a CPU without SHA extensions (Intel before Ice
//! Lake, and TCG) hashing is most of a kexec_load's user-space time.
//!
//! ```
//! use kexec::arch::digests::{piece_len, pieces, PIECE_MIN};
//! // An 8 MiB kernel and a 76 MiB initrd: pieces of 16 MiB.
//! let len = piece_len(&[8 << 20, 76 << 20]);
//! assert_eq!(len, PIECE_MIN);
//! assert_eq!(pieces(76 << 20, len).count(), 5);
//! ```

use crate::plan::Segment;
use purgatory_abi::MAX_REGIONS;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A piece is at least this long: a thread's start and a table entry are
/// not worth less.
pub const PIECE_MIN: u64 = 16 << 20;

/// Most threads that hash at once.
const THREADS_MAX: usize = 16;

/// `len` bytes from `offset` of a segment's data hash to `sha256`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Where the piece starts in the segment's data.
    pub offset: u64,
    /// Its length.
    pub len: u64,
    /// The SHA-256 of its bytes.
    pub sha256: [u8; 32],
}

/// The piece length for segments of `lens` bytes: [`PIECE_MIN`], or more
/// (a multiple of 4 KiB) so that all their pieces fit the purgatory's
/// table of [`MAX_REGIONS`] entries. Each segment adds at most one piece
/// over its share of the total, hence the table less one per segment.
pub fn piece_len(lens: &[u64]) -> u64 {
    let room = MAX_REGIONS.saturating_sub(lens.len()) as u64;
    if room == 0 {
        return u64::MAX;
    }
    let total: u64 = lens.iter().sum();
    total.div_ceil(room).next_multiple_of(4096).max(PIECE_MIN)
}

/// The (offset, length) of the pieces of `len` bytes: one for an empty
/// segment, so every checked segment has an entry.
pub fn pieces(len: u64, piece_len: u64) -> impl Iterator<Item = (u64, u64)> {
    let count = len.div_ceil(piece_len).max(1);
    (0..count).map(move |i| {
        let offset = i * piece_len;
        (offset, piece_len.min(len - offset))
    })
}

/// Runs `job(0..count)` on every CPU (at most 16 threads,
/// each taking the next job as it finishes one) and returns the results in
/// job order. One CPU, or one job, runs them here.
pub fn in_parallel<T: Send>(count: usize, job: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = crate::sys::linux::usable_cpus().min(THREADS_MAX).min(count);
    if threads <= 1 {
        return (0..count).map(job).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            return mine;
                        }
                        mine.push((i, job(i)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

/// The pieces of `segment` at `piece_len`, hashed here (one thread).
pub fn segment_pieces(segment: &Segment, piece_len: u64) -> Vec<Piece> {
    pieces(segment.data.len() as u64, piece_len)
        .map(|(offset, len)| hash_piece(segment, offset, len))
        .collect()
}

fn hash_piece(segment: &Segment, offset: u64, len: u64) -> Piece {
    let mut h = Sha256::new();
    segment
        .data
        .for_each_chunk_in(offset as usize, len as usize, |chunk| h.update(chunk));
    Piece {
        offset,
        len,
        sha256: h.finalize().into(),
    }
}

/// Takes the digests of every segment in `segments`, their pieces hashed on
/// every CPU.
pub fn take(segments: &mut [Segment]) {
    let lens: Vec<u64> = segments.iter().map(|s| s.data.len() as u64).collect();
    let piece_len = piece_len(&lens);
    let jobs: Vec<(usize, u64, u64)> = lens
        .iter()
        .enumerate()
        .flat_map(|(i, &len)| pieces(len, piece_len).map(move |(o, l)| (i, o, l)))
        .collect();
    let shared: &[Segment] = segments;
    let hashed = in_parallel(jobs.len(), |j| {
        let (i, offset, len) = jobs[j];
        (i, hash_piece(&shared[i], offset, len))
    });
    for s in segments.iter_mut() {
        s.digest = Some(Vec::new());
    }
    for (i, piece) in hashed {
        if let Some(list) = segments[i].digest.as_mut() {
            list.push(piece);
        }
    }
}

/// The purgatory's table for `segments`: one entry per piece, in order,
/// from the digests taken at load time, else hashed here.
pub fn regions(segments: &[&Segment]) -> Vec<purgatory_abi::Region> {
    let lens: Vec<u64> = segments.iter().map(|s| s.data.len() as u64).collect();
    let piece_len = piece_len(&lens);
    segments
        .iter()
        .flat_map(|s| {
            let pieces = s
                .digest
                .clone()
                .unwrap_or_else(|| segment_pieces(s, piece_len));
            pieces.into_iter().map(|p| purgatory_abi::Region {
                start: s.mem + p.offset,
                len: p.len,
                digest: p.sha256,
            })
        })
        .collect()
}

/// One SHA-256 for a list of pieces: the digest itself for one piece,
/// else the SHA-256 of their digests in order (what the crash journal
/// records of a file hashed in pieces).
pub fn combined(pieces: &[Piece]) -> [u8; 32] {
    match pieces {
        [one] => one.sha256,
        _ => {
            let mut h = Sha256::new();
            for p in pieces {
                h.update(p.sha256);
            }
            h.finalize().into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::SegmentData;

    fn segment(bytes: Vec<u8>) -> Segment {
        Segment {
            purpose: "test".into(),
            mem: 0x100_0000,
            memsz: bytes.len() as u64,
            data: SegmentData::Bytes(bytes),
            digest: None,
        }
    }

    #[test]
    fn pieces_cover_the_bytes_once_in_order() {
        let cut: Vec<_> = pieces(40, 16).collect();
        assert_eq!(cut, [(0, 16), (16, 16), (32, 8)]);
        assert_eq!(pieces(32, 16).collect::<Vec<_>>(), [(0, 16), (16, 16)]);
        assert_eq!(pieces(0, 16).collect::<Vec<_>>(), [(0, 0)]);
    }

    #[test]
    fn the_table_is_never_overfilled() {
        // A 4 GiB initrd: pieces grow so that all fit the purgatory's table.
        let lens = [10 << 20, 4 << 30, 4096];
        let len = piece_len(&lens);
        let count: usize = lens.iter().map(|&l| pieces(l, len).count()).sum();
        assert!(count <= MAX_REGIONS, "{count} pieces of {len:#x}");
        assert_eq!(len % 4096, 0);
        assert_eq!(piece_len(&[1 << 20; MAX_REGIONS]), u64::MAX);
    }

    #[test]
    fn every_piece_is_the_sha256_of_its_bytes() {
        let bytes: Vec<u8> = (0..(PIECE_MIN as usize * 2 + 5000))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let mut segs = vec![segment(bytes.clone()), segment(b"small".to_vec())];
        take(&mut segs);
        let big = segs[0].digest.as_ref().unwrap();
        assert_eq!(big.len(), 3);
        for p in big {
            let want: [u8; 32] =
                Sha256::digest(&bytes[p.offset as usize..(p.offset + p.len) as usize]).into();
            assert_eq!(p.sha256, want);
        }
        assert_eq!(big.iter().map(|p| p.len).sum::<u64>(), bytes.len() as u64);
        let small = segs[1].digest.as_ref().unwrap();
        assert_eq!(small.len(), 1);
        assert_eq!(small[0].sha256, <[u8; 32]>::from(Sha256::digest(b"small")));
        assert_eq!(combined(small), small[0].sha256);
        assert_eq!(segment_pieces(&segs[0], PIECE_MIN), *big);
        // The purgatory's table: one entry per piece, at the piece's address.
        let refs: Vec<&Segment> = segs.iter().collect();
        let table = regions(&refs);
        assert_eq!(table.len(), 4);
        assert_eq!(
            (table[1].start, table[1].len, table[1].digest),
            (0x100_0000 + PIECE_MIN, PIECE_MIN, big[1].sha256)
        );
        assert_eq!((table[3].len, table[3].digest), (5, small[0].sha256));
    }

    #[test]
    fn parallel_results_come_back_in_job_order() {
        let got = in_parallel(100, |i| i * i);
        assert_eq!(got, (0..100).map(|i| i * i).collect::<Vec<_>>());
        assert!(in_parallel(0, |i| i).is_empty());
    }
}
