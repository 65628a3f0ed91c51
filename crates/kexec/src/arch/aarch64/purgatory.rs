//! Our arm64 purgatory (crates/purgatory-aarch64), built by build.rs and
//! embedded here when the library is built for aarch64 (or with
//! KEXEC_PURGATORY_AARCH64=1), and how a loader places and configures it:
//! relocate the blob to its load address and fill its parameter block. The
//! block is `Params` of crates/purgatory-abi, shared with x86_64: `rsi` is
//! what x0 holds at the kernel's entry (the device tree) and `serial_port`
//! the MMIO base of a PL011 UART.
//!
//! Without the blob (`kexec_purgatory_aarch64` unset) the library still
//! builds: [`available`] is false and [`image`] says how to get one.

use crate::arch::digests::Algorithm;
use crate::plan::Segment;
use purgatory_abi::MAX_REGIONS;

/// The hash our arm64 purgatory checks: SHA-256, with the CPU's SHA2
/// instructions where it has them (see [`crate::arch::digests`]).
pub const ALGORITHM: Algorithm = Algorithm::Sha256;

#[cfg(kexec_purgatory_aarch64)]
mod layout {
    include!(concat!(env!("OUT_DIR"), "/purgatory_aarch64_layout.rs"));
}

#[cfg(kexec_purgatory_aarch64)]
static BLOB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/purgatory_aarch64.bin"));

/// What the arm64 purgatory does between the jump and the next kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Where the purgatory jumps: the kernel image's first byte.
    pub entry: u64,
    /// What x0 holds at that jump: the device tree's physical address.
    pub dtb: u64,
    /// -i/--no-checks: do not verify the digests.
    pub skip_checks: bool,
    /// Print progress on the PL011 UART whose registers are at this
    /// physical address (0x0900_0000 on QEMU's virt machine).
    pub uart: Option<u64>,
}

/// Why no purgatory image could be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PurgatoryError {
    /// This build of the library carries no arm64 purgatory.
    #[error("this kexec was built without the arm64 purgatory: build it for aarch64 (tests/cross/aarch64.sh) or with KEXEC_PURGATORY_AARCH64=1")]
    NotBuilt,
    /// More segments to verify than the digest table holds.
    #[error("the arm64 purgatory verifies at most {max} segments; this image has {count}", max = MAX_REGIONS)]
    TooManySegments {
        /// How many segments were given.
        count: usize,
    },
}

/// Whether this build carries the arm64 purgatory.
pub fn available() -> bool {
    cfg!(kexec_purgatory_aarch64)
}

/// Bytes the purgatory occupies in memory (its image plus zeroed .bss and
/// stack); None without the purgatory.
pub fn memsz() -> Option<u64> {
    #[cfg(kexec_purgatory_aarch64)]
    return Some(layout::MEMSZ);
    #[cfg(not(kexec_purgatory_aarch64))]
    None
}

/// The purgatory's entry point when it is loaded at `base`; None without
/// the purgatory.
pub fn entry(base: u64) -> Option<u64> {
    #[cfg(kexec_purgatory_aarch64)]
    return Some(base + layout::ENTRY);
    #[cfg(not(kexec_purgatory_aarch64))]
    {
        let _ = base;
        None
    }
}

/// The purgatory image for `base` (page aligned), verifying `segments` (none
/// of them the purgatory itself) before it enters the kernel as `config`
/// says. A segment's digest is the one taken at load time when it has one.
pub fn image(base: u64, config: &Config, segments: &[&Segment]) -> Result<Vec<u8>, PurgatoryError> {
    if segments.len() > MAX_REGIONS {
        return Err(PurgatoryError::TooManySegments {
            count: segments.len(),
        });
    }
    // -i: the purgatory checks nothing, so nothing is hashed for it.
    let regions = match config.skip_checks {
        true => Vec::new(),
        false => crate::arch::digests::regions(segments, ALGORITHM),
    };
    if regions.len() > MAX_REGIONS {
        return Err(PurgatoryError::TooManySegments {
            count: regions.len(),
        });
    }
    #[cfg(kexec_purgatory_aarch64)]
    return Ok(built::image(base, config, &regions));
    #[cfg(not(kexec_purgatory_aarch64))]
    {
        let _ = (base, config, regions);
        Err(PurgatoryError::NotBuilt)
    }
}

#[cfg(kexec_purgatory_aarch64)]
mod built {
    use super::{layout, Config, BLOB};
    use purgatory_abi::{Params, Region, FLAG_SERIAL, FLAG_SKIP_CHECKS, PARAMS_MAGIC, PARAMS_SIZE};

    /// The parameter block for `config` and the table `regions` (at most
    /// MAX_REGIONS).
    pub(super) fn params(config: &Config, regions: &[Region]) -> Params {
        let mut flags = 0;
        if config.skip_checks {
            flags |= FLAG_SKIP_CHECKS;
        }
        if config.uart.is_some() {
            flags |= FLAG_SERIAL;
        }
        let mut params = Params {
            entry: config.entry,
            rsi: config.dtb,
            flags,
            serial_port: config.uart.unwrap_or(0),
            region_count: regions.len() as u64,
            ..Params::EMPTY
        };
        params.regions[..regions.len()].copy_from_slice(regions);
        params
    }

    pub(super) fn image(base: u64, config: &Config, regions: &[Region]) -> Vec<u8> {
        // The checks below compare the embedded blob with the shared layout:
        // both come from this source tree at build time, so no input can
        // trip them (the unit tests run them on every build with the blob).
        assert_eq!(
            layout::PARAMS_SIZE as usize,
            PARAMS_SIZE,
            "arm64 purgatory Params layout changed"
        );
        let mut image = BLOB.to_vec();
        for &(offset, addend) in layout::RELOCATIONS {
            let at = offset as usize;
            image[at..at + 8].copy_from_slice(&base.wrapping_add(addend as u64).to_le_bytes());
        }
        let block = layout::PARAMS as usize..layout::PARAMS as usize + PARAMS_SIZE;
        assert_eq!(
            Params::from_bytes(&image[block.clone()]).map(|p| p.magic),
            Some(PARAMS_MAGIC),
            "embedded arm64 purgatory has another parameter layout"
        );
        image[block].copy_from_slice(&params(config, regions).to_bytes());
        image
    }
}

/// The purgatory's hash, built for the host's tests.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../../../../purgatory-aarch64/src/sha256.rs"]
mod purgatory_sha256;

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(mem: u64, data: Vec<u8>, memsz: u64) -> Segment {
        Segment {
            digest: None,
            purpose: "x".into(),
            data: data.into(),
            mem,
            memsz,
        }
    }

    fn config() -> Config {
        Config {
            entry: 0x4020_0000,
            dtb: 0x4400_0000,
            skip_checks: false,
            uart: Some(0x0900_0000),
        }
    }

    #[test]
    fn more_segments_than_the_digest_table_holds_are_an_error() {
        let seg = segment(0x4000_0000, Vec::new(), 0x1000);
        assert_eq!(
            image(0x4800_0000, &config(), &[&seg; MAX_REGIONS + 1]),
            Err(PurgatoryError::TooManySegments {
                count: MAX_REGIONS + 1
            })
        );
    }

    /// The purgatory's own SHA-256 (its portable rounds; the instruction
    /// path runs only on aarch64, in tests/purgatory-aarch64/run.sh), built
    /// for the host from the same file and compared with the sha2 crate at
    /// every length around the block and padding boundaries, and from an
    /// unaligned start (the byte-read path).
    #[test]
    fn purgatory_sha256_matches_the_sha2_crate() {
        use super::purgatory_sha256;
        use sha2::{Digest, Sha256};
        let data: Vec<u8> = (0..1200u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for offset in [0, 1] {
            for len in (0..200).chain([1023, 1024, 1025, 1199 - offset]) {
                let bytes = &data[offset..offset + len];
                // SAFETY: `bytes` is readable for its length.
                let ours = unsafe { purgatory_sha256::digest(bytes.as_ptr(), len, false) };
                let theirs: [u8; 32] = Sha256::digest(bytes).into();
                assert_eq!(ours, theirs, "offset {offset}, length {len}");
            }
        }
    }

    #[cfg(not(kexec_purgatory_aarch64))]
    #[test]
    fn without_the_blob_nothing_is_offered() {
        assert!(!available());
        assert_eq!((memsz(), entry(0x4800_0000)), (None, None));
        let seg = segment(0x4000_0000, vec![1], 0x1000);
        let err = image(0x4800_0000, &config(), &[&seg]).unwrap_err();
        assert_eq!(err, PurgatoryError::NotBuilt);
        assert!(err.to_string().contains("KEXEC_PURGATORY_AARCH64=1"));
    }

    #[cfg(kexec_purgatory_aarch64)]
    mod with_the_blob {
        use super::super::*;
        use super::{config, segment};
        use purgatory_abi::{Params, Region, FLAG_SERIAL, FLAG_SKIP_CHECKS, PARAMS_MAGIC};

        fn segment_digest(s: &Segment) -> [u8; 32] {
            crate::arch::digests::segment_digest(s, ALGORITHM)
        }

        #[test]
        fn blob_is_a_relocatable_aarch64_purgatory() {
            assert!(available());
            let memsz = memsz().unwrap();
            assert!(!BLOB.is_empty() && BLOB.len() as u64 <= memsz);
            assert!(memsz < 128 * 1024, "the purgatory stays small: {memsz:#x}");
            assert!(layout::ENTRY < BLOB.len() as u64);
            assert_eq!(entry(0x4800_0000), Some(0x4800_0000 + layout::ENTRY));
            // The entry's first instruction is `msr daifset, #0xf`.
            let e = layout::ENTRY as usize;
            assert_eq!(BLOB[e..e + 4], 0xd503_4fdfu32.to_le_bytes());
            // The ELF header is gone: the blob cannot pass for an elfcorehdr.
            assert_ne!(&BLOB[..4], b"\x7fELF");
            let seg = segment(0x4020_0000, vec![1, 2, 3], 0x2000);
            let a = image(0x4800_0000, &config(), &[&seg]).unwrap();
            let b = image(0x4900_0000, &config(), &[&seg]).unwrap();
            // Only the relocated words differ between two load addresses,
            // by the difference of the addresses.
            let differing: Vec<usize> = (0..a.len() - 7)
                .step_by(8)
                .filter(|&i| a[i..i + 8] != b[i..i + 8])
                .collect();
            let expected: Vec<usize> = layout::RELOCATIONS
                .iter()
                .map(|&(o, _)| o as usize)
                .collect();
            assert_eq!(differing, expected);
            for &at in &differing {
                let word = |img: &[u8]| u64::from_le_bytes(img[at..at + 8].try_into().unwrap());
                assert_eq!(word(&b) - word(&a), 0x100_0000);
            }
        }

        /// What image() leaves in the blob is what the purgatory will read:
        /// decoded by the shared type, every field is the one asked for.
        #[test]
        fn parameter_block_decodes_through_the_shared_type() {
            let segs = [
                segment(0x4020_0000, vec![0x1f; 100], 0x1000),
                segment(0x4400_0000, vec![0xd0, 0x0d, 0xfe, 0xed], 0x1000),
            ];
            let mut taken = segs[1].clone();
            taken.digest = Some(vec![crate::arch::digests::Piece {
                offset: 0,
                len: 4,
                algorithm: ALGORITHM,
                digest: [0xab; 32],
            }]);
            let refs = [&segs[0], &taken];
            let img = image(0x4800_0000, &config(), &refs).unwrap();
            let p = Params::from_bytes(&img[layout::PARAMS as usize..]).unwrap();
            assert_eq!((p.magic, p.size), (PARAMS_MAGIC, 64 + 48 * 32));
            assert_eq!((p.entry, p.rsi), (0x4020_0000, 0x4400_0000));
            assert_eq!(p.flags, FLAG_SERIAL);
            assert_eq!((p.serial_port, p.serial_divisor), (0x0900_0000, 0));
            assert_eq!(p.region_count, 2);
            assert_eq!(
                p.regions[0],
                Region {
                    start: 0x4020_0000,
                    len: 100, // the loaded bytes: the zero fill is not checked
                    digest: segment_digest(&segs[0])
                }
            );
            // A digest taken at load time is the one the purgatory checks.
            assert_eq!(p.regions[1].digest, [0xab; 32]);
            assert!(p.regions[2..].iter().all(|r| *r == Region::EMPTY));
            // Without a console and with -i: no serial flag, the skip flag.
            let quiet = Config {
                skip_checks: true,
                uart: None,
                ..config()
            };
            let img = image(0x4800_0000, &quiet, &refs).unwrap();
            let p = Params::from_bytes(&img[layout::PARAMS as usize..]).unwrap();
            assert_eq!((p.flags, p.serial_port), (FLAG_SKIP_CHECKS, 0));
            // The blob as built holds the shared type's initial block.
            let blob = &BLOB[layout::PARAMS as usize..];
            assert_eq!(Params::from_bytes(blob), Some(Params::EMPTY));
        }
    }
}
