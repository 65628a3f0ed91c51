//! The cache of kernels decompressed at load: a bzImage's vmlinux unpacked
//! and laid out ([`Unrelocated`]), kept by the XXH3-128 of the bzImage's
//! bytes, so that loading the same kernel again skips the decompression
//! (on Debian's xz kernels, most of a load's time). Relocation, which
//! depends on each load's random virtual slot, is done at every load.
//!
//! A file is the image, the three relocation lists (32-bit words) and a
//! trailer: a magic, the sizes, the bzImage's digest and the XXH3-128 of
//! all that comes before it. A file whose check fails is made again.

use super::decompressed::{Relocs, Unrelocated};
use crate::sys::Host;
use xxhash_rust::xxh3::Xxh3;

const MAGIC: &[u8; 16] = b"kexec-rs vmlinux";
/// Bumped whenever what an [`Unrelocated`] holds changes meaning.
const VERSION: u64 = 1;
const TRAILER: usize = 160;
/// The trailer's bytes the content digest covers (the digest itself and
/// the padding after it are not).
const DIGESTED: usize = 120;

/// The cache's key for a bzImage: the XXH3-128 of all its bytes.
pub fn key(kernel: &[u8]) -> u128 {
    // The streaming hasher the digests use (one copy of XXH3 in the binary).
    let mut digest = Xxh3::new();
    digest.update(kernel);
    digest.digest128()
}

/// The cache file's name for `key`.
pub fn name(key: u128) -> String {
    format!("{key:032x}.vmlinux")
}

/// The bytes that follow the image in a cache file: the relocation lists
/// and the trailer.
pub fn encode_tail(unpacked: &Unrelocated, key: u128) -> Vec<u8> {
    let empty = Relocs::default();
    let relocs = unpacked.relocs.as_ref().unwrap_or(&empty);
    let mut tail = Vec::with_capacity(4 * relocs.len() + TRAILER);
    for r in relocs
        .add32
        .iter()
        .chain(&relocs.sub32)
        .chain(&relocs.add64)
    {
        tail.extend_from_slice(&r.to_le_bytes());
    }
    let mut trailer = [0u8; TRAILER];
    trailer[..16].copy_from_slice(MAGIC);
    let fields = [
        VERSION,
        unpacked.image.len() as u64,
        unpacked.span,
        unpacked.relocatable_end,
        unpacked.entry_offset,
        unpacked.needed_size,
        relocs.add32.len() as u64,
        relocs.sub32.len() as u64,
        relocs.add64.len() as u64,
        u64::from(unpacked.relocs.is_some()),
        relocs.start as u64,
    ];
    for (i, f) in fields.iter().enumerate() {
        trailer[16 + 8 * i..24 + 8 * i].copy_from_slice(&f.to_le_bytes());
    }
    // 16 + 11 * 8 = 104: the compression's name, then the key.
    let compression = unpacked.compression.as_bytes();
    trailer[104..104 + compression.len().min(8)]
        .copy_from_slice(&compression[..compression.len().min(8)]);
    trailer[112..DIGESTED].copy_from_slice(&key.to_le_bytes()[..8]);
    let mut digest = Xxh3::new();
    digest.update(&unpacked.image);
    digest.update(&tail);
    digest.update(&trailer[..DIGESTED]);
    trailer[DIGESTED..DIGESTED + 16].copy_from_slice(&digest.digest128().to_le_bytes());
    tail.extend_from_slice(&trailer);
    tail
}

/// Reads a cache file back; `bytes` becomes the image (no copy). Errors
/// say what failed the check.
pub fn decode(mut bytes: Vec<u8>, key: u128) -> Result<Unrelocated, String> {
    let trailer_at = bytes
        .len()
        .checked_sub(TRAILER)
        .ok_or("shorter than its trailer")?;
    let trailer = bytes[trailer_at..].to_vec();
    if &trailer[..16] != MAGIC {
        return Err("no trailer (a file of another kind, or cut short)".into());
    }
    let field =
        |i: usize| u64::from_le_bytes(trailer[16 + 8 * i..24 + 8 * i].try_into().expect("8 bytes"));
    if field(0) != VERSION {
        return Err("written by another version of kexec".into());
    }
    if trailer[112..DIGESTED] != key.to_le_bytes()[..8] {
        return Err("made from another kernel file".into());
    }
    let mut digest = Xxh3::new();
    digest.update(&bytes[..trailer_at]);
    digest.update(&trailer[..DIGESTED]);
    if digest.digest128().to_le_bytes()[..] != trailer[DIGESTED..DIGESTED + 16] {
        return Err("its XXH3-128 does not match its trailer's (damaged)".into());
    }
    let image_len = field(1) as usize;
    let counts = [field(6) as usize, field(7) as usize, field(8) as usize];
    let words: usize = counts.iter().sum();
    if image_len.checked_add(words * 4) != Some(trailer_at) {
        return Err("its image and relocation counts do not add up to its size".into());
    }
    let mut list = {
        let mut at = image_len;
        let bytes = &bytes;
        move |n: usize| -> Vec<u32> {
            let v = bytes[at..at + 4 * n]
                .chunks_exact(4)
                .map(|w| u32::from_le_bytes(w.try_into().expect("4 bytes")))
                .collect();
            at += 4 * n;
            v
        }
    };
    let (add32, sub32, add64) = (list(counts[0]), list(counts[1]), list(counts[2]));
    let relocs = (field(9) == 1).then_some(Relocs {
        add32,
        sub32,
        add64,
        start: field(10) as usize,
    });
    let compression = String::from_utf8_lossy(&trailer[104..112])
        .trim_end_matches('\0')
        .to_string();
    bytes.truncate(image_len);
    Ok(Unrelocated {
        image: bytes,
        span: field(2),
        relocatable_end: field(3),
        entry_offset: field(4),
        needed_size: field(5),
        relocs,
        compression,
    })
}

/// What the cache had for `key`: the kernel, or why not (None: nothing
/// kept, or no cache).
pub fn load(host: &dyn Host, key: u128) -> Result<Option<Unrelocated>, String> {
    match host.read_cache_file(&name(key)) {
        Ok(bytes) => decode(bytes, key).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Keeps `unpacked` for the next load of the same file (best effort: a
/// load never fails for the cache); true when it was kept.
pub fn store(host: &dyn Host, key: u128, unpacked: &Unrelocated) -> bool {
    let tail = encode_tail(unpacked, key);
    host.write_cache_file(&name(key), &[&unpacked.image, &tail])
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(relocs: bool) -> Unrelocated {
        Unrelocated {
            image: (0..5000u32).map(|i| (i % 251) as u8).collect(),
            span: 0x3000,
            relocatable_end: 0x1400,
            entry_offset: 0x40,
            needed_size: 0x3100,
            relocs: relocs.then(|| Relocs {
                add32: vec![0x8100_0010, 0x8100_0020],
                sub32: vec![0x8100_0030],
                add64: vec![0x8100_0040, 0x8100_0050, 0x8100_0060],
                start: 0x1118,
            }),
            compression: "xz".into(),
        }
    }

    fn file(u: &Unrelocated, key: u128) -> Vec<u8> {
        [u.image.clone(), encode_tail(u, key)].concat()
    }

    #[test]
    fn what_is_kept_comes_back_the_same() {
        for relocs in [true, false] {
            let u = sample(relocs);
            assert_eq!(decode(file(&u, 7), 7).unwrap(), u);
        }
    }

    #[test]
    fn a_damaged_cut_or_foreign_file_is_refused_by_what_failed() {
        let u = sample(true);
        let good = file(&u, 7);
        assert!(decode(good.clone(), 8)
            .unwrap_err()
            .contains("another kernel file"));
        for at in [0, 4999, 5000, good.len() - TRAILER + 30, good.len() - 50] {
            let mut bad = good.clone();
            bad[at] ^= 1;
            let why = decode(bad, 7).unwrap_err();
            assert!(
                why.contains("damaged") || why.contains("version"),
                "{at}: {why}"
            );
        }
        let why = decode(good[100..].to_vec(), 7).unwrap_err();
        assert!(why.contains("damaged"), "{why}");
        assert!(decode(good[..good.len() - 1].to_vec(), 7)
            .unwrap_err()
            .contains("no trailer"));
        assert!(decode(vec![1, 2, 3], 7).unwrap_err().contains("shorter"));
    }

    #[test]
    fn the_fake_host_keeps_and_returns_it() {
        let host = crate::sys::FakeHost::typical();
        let u = sample(true);
        assert_eq!(load(&host, 9).unwrap(), None);
        assert!(store(&host, 9, &u));
        assert_eq!(load(&host, 9).unwrap(), Some(u));
    }
}
