//! Our purgatory (crates/purgatory), built by build.rs and embedded here,
//! and how a loader places and configures it: relocate the blob to its load
//! address and fill its parameter block (entry, rsi, segment digests,
//! console). The block's layout mirrors `Params` in crates/purgatory.

use crate::plan::Segment;
use sha2::{Digest, Sha256};

mod layout {
    include!(concat!(env!("OUT_DIR"), "/purgatory_layout.rs"));
}

static BLOB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/purgatory.bin"));

/// "KXPURG01", the parameter block's layout version.
pub const PARAMS_MAGIC: u64 = 0x3130_4752_5550_584b;
pub const MAX_REGIONS: usize = 16;
const FLAG_SKIP_CHECKS: u64 = 1 << 0;
const FLAG_SERIAL: u64 = 1 << 1;
const FLAG_RESET_VGA: u64 = 1 << 2;
const FLAG_CONSOLE_VGA: u64 = 1 << 3;

/// Offsets inside the parameter block.
mod field {
    pub const MAGIC: usize = 0;
    pub const SIZE: usize = 8;
    pub const ENTRY: usize = 16;
    pub const RSI: usize = 24;
    pub const FLAGS: usize = 32;
    pub const SERIAL_PORT: usize = 40;
    pub const SERIAL_DIVISOR: usize = 48;
    pub const REGION_COUNT: usize = 56;
    pub const REGIONS: usize = 64;
    pub const REGION_SIZE: usize = 48;
    pub const END: usize = REGIONS + 16 * REGION_SIZE;
}

/// A 16550 UART for the purgatory's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SerialConsole {
    pub port: u16,
    pub baud: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurgatoryConfig {
    /// Where the purgatory jumps: the kernel's 64-bit entry.
    pub entry: u64,
    /// What rsi holds at that jump: the boot_params address.
    pub rsi: u64,
    /// -i/--no-checks: do not verify the digests.
    pub skip_checks: bool,
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

/// SHA-256 of a segment as it will be in memory: its data, then zeros up to memsz.
pub fn segment_digest(segment: &Segment) -> [u8; 32] {
    let mut h = Sha256::new();
    segment.data.for_each_chunk(|chunk| h.update(chunk));
    let zeros = [0u8; 4096];
    let mut left = segment.memsz.saturating_sub(segment.data.len() as u64);
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        h.update(&zeros[..n]);
        left -= n as u64;
    }
    h.finalize().into()
}

fn put(image: &mut [u8], at: usize, value: u64) {
    image[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// The purgatory image for `base`, verifying `segments` (none of them the
/// purgatory itself; each with its digest taken) before it jumps as
/// `config` says. Err(count) when there are more segments than its digest
/// table holds (MAX_REGIONS).
pub fn image(base: u64, config: &PurgatoryConfig, segments: &[&Segment]) -> Result<Vec<u8>, usize> {
    if segments.len() > MAX_REGIONS {
        return Err(segments.len());
    }
    // The two checks below compare the embedded blob with this file's idea
    // of its layout: both come from this source tree at build time, so no
    // input can trip them (the unit test below runs them on every build).
    assert_eq!(
        layout::PARAMS_SIZE as usize,
        field::END,
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
    let p = layout::PARAMS as usize;
    let at = |field: usize| p + field;
    assert_eq!(
        u64::from_le_bytes(
            image[at(field::MAGIC)..at(field::MAGIC) + 8]
                .try_into()
                .unwrap()
        ),
        PARAMS_MAGIC,
        "embedded purgatory has another parameter layout"
    );
    put(&mut image, at(field::SIZE), field::END as u64);
    put(&mut image, at(field::ENTRY), config.entry);
    put(&mut image, at(field::RSI), config.rsi);
    let mut flags = 0;
    if config.skip_checks {
        flags |= FLAG_SKIP_CHECKS;
    }
    if let Some(console) = config.console {
        flags |= FLAG_SERIAL;
        put(&mut image, at(field::SERIAL_PORT), u64::from(console.port));
        put(
            &mut image,
            at(field::SERIAL_DIVISOR),
            u64::from(115_200 / console.baud.max(1)),
        );
    }
    if config.reset_vga {
        flags |= FLAG_RESET_VGA;
    }
    if config.console_vga {
        flags |= FLAG_CONSOLE_VGA;
    }
    put(&mut image, at(field::FLAGS), flags);
    put(&mut image, at(field::REGION_COUNT), segments.len() as u64);
    for (i, s) in segments.iter().enumerate() {
        let r = at(field::REGIONS + i * field::REGION_SIZE);
        put(&mut image, r, s.mem);
        put(&mut image, r + 8, s.memsz);
        let digest = s.digest.unwrap_or_else(|| segment_digest(s));
        image[r + 16..r + 48].copy_from_slice(&digest);
    }
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
        assert_eq!(a[p + 32], 0, "no flags asked for");
        // The VGA options reach the purgatory as flag bits.
        let vga = PurgatoryConfig {
            reset_vga: true,
            console_vga: true,
            ..config
        };
        let c = image(0x10_0000, &vga, &[&seg]).unwrap();
        assert_eq!(
            u64::from_le_bytes(c[p + 32..p + 40].try_into().unwrap()),
            FLAG_RESET_VGA | FLAG_CONSOLE_VGA
        );
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
    fn digest_covers_the_zero_fill() {
        let short = Segment {
            digest: None,
            purpose: "x".into(),
            data: vec![7; 10].into(),
            mem: 0,
            memsz: 10,
        };
        let padded = Segment {
            digest: None,
            memsz: 4096,
            ..short.clone()
        };
        let mut explicit = vec![7u8; 10];
        explicit.resize(4096, 0);
        assert_ne!(segment_digest(&short), segment_digest(&padded));
        assert_eq!(
            segment_digest(&padded),
            <[u8; 32]>::from(Sha256::digest(&explicit))
        );
    }
}
