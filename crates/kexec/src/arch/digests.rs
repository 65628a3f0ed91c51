//! The digests our purgatories check before they enter the next kernel,
//! of the bytes each segment loads, taken in pieces so that every CPU
//! hashes at load time. A segment larger than a piece (an initrd) gets one
//! digest per piece; the purgatory checks the pieces one after another, the
//! same bytes as one digest would cover, so the reboot path pays nothing
//! for them.
//!
//! Which hash is the architecture's choice ([`Algorithm`]): the check
//! guards against accidental corruption between the load and the jump
//! (stray DMA, bad memory, a driver writing where it should not), not
//! against an attacker, who could rewrite the digest table and the
//! purgatory as easily as the segments they describe, since all of them
//! lie in the same memory. x86_64 takes XXH3-128: a 128-bit hash that
//! misses a random corruption with probability 2^-128 and hashes several
//! times faster than SHA-256 on CPUs without SHA extensions (Intel before
//! Ice Lake, and QEMU's TCG), where SHA-256 was most of a kexec_load's
//! user-space time and seconds of the reboot path. arm64 keeps SHA-256,
//! which its CPUs' SHA2 instructions make fast and whose byte-wise code
//! suits the arm64 purgatory's MMU-off memory.
//!
//! ```
//! use kexec::arch::digests::{piece_len, pieces, Algorithm, PIECE_MIN};
//! // An 8 MiB kernel and a 76 MiB initrd: pieces of 16 MiB.
//! let len = piece_len(&[8 << 20, 76 << 20]);
//! assert_eq!(len, PIECE_MIN);
//! assert_eq!(pieces(76 << 20, len).count(), 5);
//! // XXH3-128's digest takes the first 16 of the table's 32 bytes.
//! let d = Algorithm::Xxh3_128.digest(b"");
//! assert_eq!(&d[16..], &[0u8; 16]);
//! assert_eq!(Algorithm::Sha256.name(), "sha256");
//! ```

use crate::plan::Segment;
use purgatory_abi::MAX_REGIONS;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};
use xxhash_rust::xxh3::Xxh3;

/// The hash of the purgatory's check (see the module's documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// SHA-256: 32 bytes.
    Sha256,
    /// XXH3-128 (seed 0): 16 bytes, big-endian (the canonical form
    /// `xxh128sum` prints), then 16 zero bytes.
    Xxh3_128,
}

impl Algorithm {
    /// The name in plans, records and messages: "sha256", "xxh3-128".
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Xxh3_128 => "xxh3-128",
        }
    }

    /// The algorithm a name (from [`Algorithm::name`]) stands for.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        [Algorithm::Sha256, Algorithm::Xxh3_128]
            .into_iter()
            .find(|a| a.name() == name)
    }

    /// A hasher to feed in chunks.
    pub fn hasher(self) -> Hasher {
        match self {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Xxh3_128 => Hasher::Xxh3(Box::new(Xxh3::new())),
        }
    }

    /// A digest of this hash in hex: its 32 bytes for SHA-256, 16 for
    /// XXH3-128.
    pub fn hex(self, digest: &[u8; 32]) -> String {
        let len = match self {
            Algorithm::Sha256 => 32,
            Algorithm::Xxh3_128 => 16,
        };
        crate::hex::encode(&digest[..len])
    }

    /// The digest of `bytes`, in the purgatory table's 32 bytes.
    pub fn digest(self, bytes: &[u8]) -> [u8; 32] {
        let mut h = self.hasher();
        h.update(bytes);
        h.finish()
    }
}

/// A digest being taken, chunk by chunk.
pub enum Hasher {
    /// SHA-256's state.
    Sha256(Sha256),
    /// XXH3's state (boxed: its buffer is over half a kilobyte).
    Xxh3(Box<Xxh3>),
}

impl Hasher {
    /// Adds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Xxh3(h) => h.update(bytes),
        }
    }

    /// The digest in the purgatory table's 32 bytes.
    pub fn finish(self) -> [u8; 32] {
        match self {
            Hasher::Sha256(h) => h.finalize().into(),
            Hasher::Xxh3(h) => {
                let mut out = [0u8; 32];
                out[..16].copy_from_slice(&h.digest128().to_be_bytes());
                out
            }
        }
    }
}

/// A piece is at least this long: a thread's start and a table entry are
/// not worth less.
pub const PIECE_MIN: u64 = 16 << 20;

/// Most threads that hash at once.
const THREADS_MAX: usize = 16;

/// `len` bytes from `offset` of a segment's data hash to `digest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Where the piece starts in the segment's data.
    pub offset: u64,
    /// Its length.
    pub len: u64,
    /// The hash `digest` is of.
    pub algorithm: Algorithm,
    /// The digest of its bytes (see [`Hasher::finish`]).
    pub digest: [u8; 32],
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

impl Piece {
    /// The digest in hex ([`Algorithm::hex`]).
    pub fn hex(&self) -> String {
        self.algorithm.hex(&self.digest)
    }
}

/// The `algorithm` digest of all the bytes `segment` loads (one piece).
pub fn segment_digest(segment: &Segment, algorithm: Algorithm) -> [u8; 32] {
    hash_piece(segment, 0, segment.data.len() as u64, algorithm).digest
}

/// The pieces of `segment` at `piece_len`, hashed here (one thread).
pub fn segment_pieces(segment: &Segment, piece_len: u64, algorithm: Algorithm) -> Vec<Piece> {
    pieces(segment.data.len() as u64, piece_len)
        .map(|(offset, len)| hash_piece(segment, offset, len, algorithm))
        .collect()
}

fn hash_piece(segment: &Segment, offset: u64, len: u64, algorithm: Algorithm) -> Piece {
    let mut h = algorithm.hasher();
    segment
        .data
        .for_each_chunk_in(offset as usize, len as usize, |chunk| h.update(chunk));
    Piece {
        offset,
        len,
        algorithm,
        digest: h.finish(),
    }
}

/// Takes the `algorithm` digests of every segment in `segments`, their
/// pieces hashed on every CPU.
pub fn take(segments: &mut [Segment], algorithm: Algorithm) {
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
        (i, hash_piece(&shared[i], offset, len, algorithm))
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
/// from the digests taken at load time, else hashed here with `algorithm`
/// (taken digests must be of the same).
pub fn regions(segments: &[&Segment], algorithm: Algorithm) -> Vec<purgatory_abi::Region> {
    let lens: Vec<u64> = segments.iter().map(|s| s.data.len() as u64).collect();
    let piece_len = piece_len(&lens);
    segments
        .iter()
        .flat_map(|s| {
            let pieces = s
                .digest
                .clone()
                .unwrap_or_else(|| segment_pieces(s, piece_len, algorithm));
            debug_assert!(pieces.iter().all(|p| p.algorithm == algorithm));
            pieces.into_iter().map(|p| purgatory_abi::Region {
                start: s.mem + p.offset,
                len: p.len,
                digest: p.digest,
            })
        })
        .collect()
}

/// One digest for a list of pieces of one algorithm: the digest itself for
/// one piece, else the digest of their digests in order (what the crash
/// journal records of a file hashed in pieces).
pub fn combined(pieces: &[Piece]) -> [u8; 32] {
    match pieces {
        [one] => one.digest,
        _ => {
            let mut h = pieces
                .first()
                .map_or(Algorithm::Sha256, |p| p.algorithm)
                .hasher();
            for p in pieces {
                h.update(&p.digest);
            }
            h.finish()
        }
    }
}

/// The digest of `len` bytes of `file` from `offset`, read a megabyte at
/// a time; a file that ends sooner has changed under us.
pub fn file_range(
    file: &std::fs::File,
    offset: u64,
    len: u64,
    algorithm: Algorithm,
) -> std::io::Result<[u8; 32]> {
    use std::os::unix::fs::FileExt;
    let mut h = algorithm.hasher();
    let mut buf = vec![0u8; (1 << 20).min(len as usize)];
    let mut done = 0u64;
    while done < len {
        let want = buf.len().min((len - done) as usize);
        match file.read_at(&mut buf[..want], offset + done) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                h.update(&buf[..n]);
                done += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(h.finish())
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
    fn every_piece_is_the_digest_of_its_bytes() {
        let bytes: Vec<u8> = (0..(PIECE_MIN as usize * 2 + 5000))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        for algorithm in [Algorithm::Sha256, Algorithm::Xxh3_128] {
            let mut segs = vec![segment(bytes.clone()), segment(b"small".to_vec())];
            take(&mut segs, algorithm);
            let big = segs[0].digest.as_ref().unwrap();
            assert_eq!(big.len(), 3);
            for p in big {
                let piece = &bytes[p.offset as usize..(p.offset + p.len) as usize];
                assert_eq!(
                    (p.algorithm, p.digest),
                    (algorithm, algorithm.digest(piece))
                );
            }
            assert_eq!(big.iter().map(|p| p.len).sum::<u64>(), bytes.len() as u64);
            let small = segs[1].digest.as_ref().unwrap();
            assert_eq!(small.len(), 1);
            assert_eq!(small[0].digest, algorithm.digest(b"small"));
            assert_eq!(combined(small), small[0].digest);
            assert_eq!(segment_pieces(&segs[0], PIECE_MIN, algorithm), *big);
            // The purgatory's table: one entry per piece, at the piece's address.
            let refs: Vec<&Segment> = segs.iter().collect();
            let table = regions(&refs, algorithm);
            assert_eq!(table.len(), 4);
            assert_eq!(
                (table[1].start, table[1].len, table[1].digest),
                (0x100_0000 + PIECE_MIN, PIECE_MIN, big[1].digest)
            );
            assert_eq!((table[3].len, table[3].digest), (5, small[0].digest));
        }
    }

    #[test]
    fn the_digests_are_the_published_ones() {
        // SHA-256 and XXH3-128 (seed 0) of "abc", as their references give them.
        assert_eq!(
            crate::hex::encode(&Algorithm::Sha256.digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let xxh3 = Algorithm::Xxh3_128.digest(b"abc");
        assert_eq!(
            u128::from_be_bytes(xxh3[..16].try_into().unwrap()),
            xxhash_rust::xxh3::xxh3_128(b"abc")
        );
        assert_eq!(&xxh3[16..], &[0; 16]);
        // Fed in chunks or whole, the same digest.
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
        for algorithm in [Algorithm::Sha256, Algorithm::Xxh3_128] {
            let mut h = algorithm.hasher();
            for chunk in bytes.chunks(777) {
                h.update(chunk);
            }
            assert_eq!(h.finish(), algorithm.digest(&bytes));
            assert_eq!(Algorithm::from_name(algorithm.name()), Some(algorithm));
        }
    }

    #[test]
    fn parallel_results_come_back_in_job_order() {
        let got = in_parallel(100, |i| i * i);
        assert_eq!(got, (0..100).map(|i| i * i).collect::<Vec<_>>());
        assert!(in_parallel(0, |i| i).is_empty());
    }
}
