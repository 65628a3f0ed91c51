//! Our purgatory (crates/purgatory), built by build.rs and embedded here,
//! and how a loader places and configures it: relocate the blob to its load
//! address and fill its parameter block (entry, rsi, segment digests,
//! console). The block is `Params` of crates/purgatory-abi, the type the
//! purgatory reads.

use crate::arch::digests::Algorithm;
use crate::plan::Segment;
use purgatory_abi::{
    Params, Region, FLAG_CONSOLE_VGA, FLAG_RESET_VGA, FLAG_SERIAL, FLAG_SKIP_CHECKS,
};

mod layout {
    include!(concat!(env!("OUT_DIR"), "/purgatory_layout.rs"));
}

static BLOB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/purgatory.bin"));

pub use purgatory_abi::{FLAG_DIGEST_XXH3, MAX_REGIONS, PARAMS_MAGIC, PARAMS_SIZE};

/// A 16550 UART for the purgatory's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SerialConsole {
    /// The UART's I/O port (0x3f8 for ttyS0).
    pub port: u16,
    /// Its line speed in bits per second.
    pub baud: u32,
}

/// What the purgatory does between the jump and the next kernel: it fills
/// the parameter block of the purgatory image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurgatoryConfig {
    /// Where the purgatory jumps: the kernel's 64-bit entry.
    pub entry: u64,
    /// What rsi holds at that jump: the boot_params address.
    pub rsi: u64,
    /// -i/--no-checks: do not verify the digests.
    pub skip_checks: bool,
    /// Print progress on this serial port (--console-serial).
    pub console: Option<SerialConsole>,
    /// --reset-vga: program the VGA back into 80x25 text mode first.
    pub reset_vga: bool,
    /// --console-vga: also print on the VGA text screen (0xb8000).
    pub console_vga: bool,
}

/// Bytes the purgatory occupies in memory (its image plus zeroed .bss/stack).
pub fn memsz() -> u64 {
    layout::MEMSZ
}

/// The purgatory's entry point when it is loaded at `base`.
pub fn entry(base: u64) -> u64 {
    base + layout::ENTRY
}

/// The hash our x86_64 purgatory checks: XXH3-128, which the purgatory
/// computes with SSE2 (why not SHA-256: see [`crate::arch::digests`]).
pub const ALGORITHM: Algorithm = Algorithm::Xxh3_128;

/// The digest ([`ALGORITHM`]) of the bytes a segment loads. The zero fill
/// behind them (up to memsz) is not hashed: the kernel zero-fills it at
/// load, and what lies there is the next kernel's scratch (a bzImage's
/// init_size: 56 of Debian 6.1's 64 MiB kernel segment) or bss, which the
/// kernel overwrites or clears itself before use. kexec-tools hashes the
/// fill too, at load and again on every `kexec -e`.
pub fn segment_digest(segment: &Segment) -> [u8; 32] {
    crate::arch::digests::segment_digest(segment, ALGORITHM)
}

/// How many bytes from its start the purgatory checks in `segment`: those
/// it loads (see [`segment_digest`]).
pub fn checked_len(segment: &Segment) -> u64 {
    segment.data.len() as u64
}

/// The parameter block for `config` and the table `regions` (at most
/// MAX_REGIONS).
fn params(config: &PurgatoryConfig, regions: &[Region]) -> Params {
    let mut flags = FLAG_DIGEST_XXH3;
    if config.skip_checks {
        flags |= FLAG_SKIP_CHECKS;
    }
    if config.console.is_some() {
        flags |= FLAG_SERIAL;
    }
    if config.reset_vga {
        flags |= FLAG_RESET_VGA;
    }
    if config.console_vga {
        flags |= FLAG_CONSOLE_VGA;
    }
    let mut params = Params {
        entry: config.entry,
        rsi: config.rsi,
        flags,
        serial_port: config.console.map_or(0, |c| u64::from(c.port)),
        serial_divisor: config
            .console
            .map_or(0, |c| u64::from(115_200 / c.baud.max(1))),
        region_count: regions.len() as u64,
        ..Params::EMPTY
    };
    params.regions[..regions.len()].copy_from_slice(regions);
    params
}

fn put(image: &mut [u8], at: usize, value: u64) {
    image[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// The purgatory image for `base`, verifying `segments` (none of them the
/// purgatory itself; each with its digest taken) before it jumps as
/// `config` says, a piece at a time (see [`crate::arch::digests`]).
/// Err(count) when there are more segments, or pieces, than its digest
/// table holds (MAX_REGIONS).
pub fn image(base: u64, config: &PurgatoryConfig, segments: &[&Segment]) -> Result<Vec<u8>, usize> {
    if segments.len() > MAX_REGIONS {
        return Err(segments.len());
    }
    // -i: the purgatory checks nothing, so nothing is hashed for it.
    let regions = match config.skip_checks {
        true => Vec::new(),
        false => crate::arch::digests::regions(segments, ALGORITHM),
    };
    if regions.len() > MAX_REGIONS {
        return Err(regions.len());
    }
    // The checks below compare the embedded blob with the shared layout:
    // both come from this source tree at build time, so no input can trip
    // them (the unit test below runs them on every build).
    assert_eq!(
        layout::PARAMS_SIZE as usize,
        PARAMS_SIZE,
        "purgatory Params layout changed"
    );
    let mut image = BLOB.to_vec();
    for &(offset, addend) in layout::RELOCATIONS {
        put(
            &mut image,
            offset as usize,
            base.wrapping_add(addend as u64),
        );
    }
    let block = layout::PARAMS as usize..layout::PARAMS as usize + PARAMS_SIZE;
    assert_eq!(
        Params::from_bytes(&image[block.clone()]).map(|p| p.magic),
        Some(PARAMS_MAGIC),
        "embedded purgatory has another parameter layout"
    );
    image[block].copy_from_slice(&params(config, &regions).to_bytes());
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_is_a_relocatable_purgatory() {
        assert!(!BLOB.is_empty() && BLOB.len() as u64 <= memsz());
        assert!(
            memsz() < 128 * 1024,
            "the purgatory stays small: {:#x}",
            memsz()
        );
        assert!(layout::ENTRY < BLOB.len() as u64);
        let config = PurgatoryConfig {
            entry: 0x100_0200,
            rsi: 0x9000,
            skip_checks: false,
            console: None,
            reset_vga: false,
            console_vga: false,
        };
        let seg = Segment {
            digest: None,
            purpose: "kernel".into(),
            data: vec![1, 2, 3].into(),
            mem: 0x100_0000,
            memsz: 0x2000,
        };
        let a = image(0x10_0000, &config, &[&seg]).unwrap();
        let b = image(0x20_0000, &config, &[&seg]).unwrap();
        // Only the relocated words differ between two load addresses.
        let differing: Vec<usize> = (0..a.len() - 7)
            .step_by(8)
            .filter(|&i| a[i..i + 8] != b[i..i + 8])
            .collect();
        let expected: Vec<usize> = layout::RELOCATIONS
            .iter()
            .map(|&(o, _)| o as usize)
            .collect();
        assert_eq!(differing, expected);
        let p = layout::PARAMS as usize;
        assert_eq!(
            u64::from_le_bytes(a[p + 16..p + 24].try_into().unwrap()),
            0x100_0200
        );
        assert_eq!(a[p + 64 + 16..p + 64 + 48], segment_digest(&seg));
        assert_eq!(
            a[p + 32],
            FLAG_DIGEST_XXH3 as u8,
            "no flags asked for but the hash"
        );
        // The VGA options reach the purgatory as flag bits.
        let vga = PurgatoryConfig {
            reset_vga: true,
            console_vga: true,
            ..config
        };
        let c = image(0x10_0000, &vga, &[&seg]).unwrap();
        assert_eq!(
            u64::from_le_bytes(c[p + 32..p + 40].try_into().unwrap()),
            FLAG_DIGEST_XXH3 | FLAG_RESET_VGA | FLAG_CONSOLE_VGA
        );
    }

    /// What image() leaves in the blob is what the purgatory will read:
    /// decoded by the shared type, every field is the one asked for.
    #[test]
    fn parameter_block_decodes_through_the_shared_type() {
        let config = PurgatoryConfig {
            entry: 0x1234_5000,
            rsi: 0x8000,
            skip_checks: false,
            console: Some(SerialConsole {
                port: 0x2f8,
                baud: 9600,
            }),
            reset_vga: false,
            console_vga: true,
        };
        let segs: Vec<Segment> = (0..3u8)
            .map(|i| Segment {
                digest: None,
                purpose: "x".into(),
                data: vec![i; 100].into(),
                mem: 0x100_0000 * u64::from(i + 1),
                memsz: 0x1000,
            })
            .collect();
        let refs: Vec<&Segment> = segs.iter().collect();
        let img = image(0x10_0000, &config, &refs).unwrap();
        let p = Params::from_bytes(&img[layout::PARAMS as usize..]).unwrap();
        assert_eq!((p.magic, p.size), (PARAMS_MAGIC, 64 + 48 * 32));
        assert_eq!((p.entry, p.rsi), (0x1234_5000, 0x8000));
        assert_eq!(p.flags, FLAG_DIGEST_XXH3 | FLAG_SERIAL | FLAG_CONSOLE_VGA);
        assert_eq!((p.serial_port, p.serial_divisor), (0x2f8, 12));
        assert_eq!(p.region_count, 3);
        for (region, seg) in p.regions.iter().zip(&segs) {
            assert_eq!(
                (region.start, region.len),
                (seg.mem, 100),
                "the loaded bytes only"
            );
            assert_eq!(region.digest, segment_digest(seg));
        }
        assert!(p.regions[3..].iter().all(|r| *r == Region::EMPTY));
        // -i: the skip flag, and nothing hashed for a purgatory that checks nothing.
        let skip = PurgatoryConfig {
            skip_checks: true,
            ..config
        };
        let img = image(0x10_0000, &skip, &refs).unwrap();
        let p = Params::from_bytes(&img[layout::PARAMS as usize..]).unwrap();
        assert_eq!(
            p.flags,
            FLAG_DIGEST_XXH3 | FLAG_SKIP_CHECKS | FLAG_SERIAL | FLAG_CONSOLE_VGA
        );
        assert_eq!(p.region_count, 0);
        // The blob as built holds the shared type's initial block.
        let blob = &BLOB[layout::PARAMS as usize..];
        assert_eq!(Params::from_bytes(blob), Some(Params::EMPTY));
    }

    #[test]
    fn more_segments_than_the_digest_table_holds_are_an_error() {
        let config = PurgatoryConfig {
            entry: 0,
            rsi: 0,
            skip_checks: false,
            console: None,
            console_vga: false,
            reset_vga: false,
        };
        let seg = Segment {
            digest: None,
            purpose: "x".into(),
            data: Vec::new().into(),
            mem: 0,
            memsz: 0x1000,
        };
        assert!(image(0x10_0000, &config, &[&seg; MAX_REGIONS]).is_ok());
        assert_eq!(
            image(0x10_0000, &config, &[&seg; MAX_REGIONS + 1]),
            Err(MAX_REGIONS + 1)
        );
    }

    #[test]
    fn digest_covers_the_loaded_bytes_not_the_zero_fill() {
        let short = Segment {
            digest: None,
            purpose: "x".into(),
            data: vec![7; 10].into(),
            mem: 0,
            memsz: 4096,
        };
        let other = Segment {
            data: vec![8; 10].into(),
            ..short.clone()
        };
        assert_eq!(
            segment_digest(&short),
            Algorithm::Xxh3_128.digest(&[7u8; 10])
        );
        assert_ne!(segment_digest(&short), segment_digest(&other));
        assert_eq!(checked_len(&short), 10);
    }
}
