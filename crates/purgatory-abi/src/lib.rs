//! The purgatory's parameter block, shared by the loader (crates/kexec),
//! which writes it into the purgatory image, and the purgatory
//! (crates/purgatory), which reads it in place as a `#[repr(C)]` static.
//! The arm64 purgatory (crates/purgatory-aarch64) reads the same block:
//! there `rsi` is what x0 holds at the kernel's entry (the device tree's
//! address) and `serial_port` is the MMIO base of a PL011 UART.
//!
//! The wire format is little-endian and fixed by [`offset`]; compile-time
//! assertions below tie the struct's layout to those numbers, so neither
//! side can drift from the other.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use core::mem::{offset_of, size_of};

/// "KXPURG01": the layout version of [`Params`].
pub const PARAMS_MAGIC: u64 = 0x3130_4752_5550_584b;
/// Entries the digest table holds: a segment's bytes may be checked in
/// several pieces (the loader hashes them on every CPU), and kexec_load
/// takes at most 16 segments.
pub const MAX_REGIONS: usize = 32;
/// -i/--no-checks: do not verify the digests.
pub const FLAG_SKIP_CHECKS: u64 = 1 << 0;
/// --console-serial: print on the 16550 UART at `serial_port` (arm64: on
/// the PL011 whose registers are at `serial_port`).
pub const FLAG_SERIAL: u64 = 1 << 1;
/// --reset-vga: program the VGA back into 80x25 text mode first.
pub const FLAG_RESET_VGA: u64 = 1 << 2;
/// --console-vga: also print on the VGA text screen.
pub const FLAG_CONSOLE_VGA: u64 = 1 << 3;
/// The digests are XXH3-128 (seed 0; 16 bytes, big-endian as `xxh128sum`
/// prints it, then 16 zero bytes), not SHA-256. The x86_64 loader always sets it; a
/// purgatory that cannot compute the hash a block names halts.
pub const FLAG_DIGEST_XXH3: u64 = 1 << 4;

/// Byte offsets of the fields, each a little-endian u64 unless noted.
pub mod offset {
    /// [`super::PARAMS_MAGIC`].
    pub const MAGIC: usize = 0;
    /// The block's size in bytes ([`super::PARAMS_SIZE`]).
    pub const SIZE: usize = 8;
    /// Where the purgatory jumps.
    pub const ENTRY: usize = 16;
    /// What rsi holds at that jump (arm64: x0).
    pub const RSI: usize = 24;
    /// `FLAG_*` bits.
    pub const FLAGS: usize = 32;
    /// The UART's I/O port (arm64: the PL011's MMIO base).
    pub const SERIAL_PORT: usize = 40;
    /// The UART's divisor of 115200 baud.
    pub const SERIAL_DIVISOR: usize = 48;
    /// How many entries of the digest table are used.
    pub const REGION_COUNT: usize = 56;
    /// The digest table: [`super::MAX_REGIONS`] entries of [`REGION_SIZE`] bytes.
    pub const REGIONS: usize = 64;
    /// Inside an entry: the segment's address.
    pub const REGION_START: usize = 0;
    /// Inside an entry: the segment's size in memory.
    pub const REGION_LEN: usize = 8;
    /// Inside an entry: the 32 bytes of the digest (SHA-256, or XXH3-128
    /// and zeros with [`super::FLAG_DIGEST_XXH3`]).
    pub const REGION_DIGEST: usize = 16;
    /// Bytes of an entry.
    pub const REGION_SIZE: usize = 48;
}

/// Bytes of the whole block.
pub const PARAMS_SIZE: usize = offset::REGIONS + MAX_REGIONS * offset::REGION_SIZE;

/// One piece to verify: `len` bytes at `start` must hash to `digest` (a
/// segment, or a piece of one).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Physical address of the segment.
    pub start: u64,
    /// How many bytes from `start` are checked: those the segment loads (its
    /// zero fill is the next kernel's scratch or bss).
    pub len: u64,
    /// The digest of those bytes: SHA-256, or with [`FLAG_DIGEST_XXH3`]
    /// XXH3-128 in the first 16 bytes and zeros after.
    pub digest: [u8; 32],
}

impl Region {
    /// An unused table entry.
    pub const EMPTY: Region = Region {
        start: 0,
        len: 0,
        digest: [0; 32],
    };
}

/// The parameter block.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// [`PARAMS_MAGIC`].
    pub magic: u64,
    /// [`PARAMS_SIZE`], so a loader with another layout is caught.
    pub size: u64,
    /// Where to jump (the kernel's startup_64; arm64: the Image's first byte).
    pub entry: u64,
    /// What rsi holds at the jump (boot_params). On arm64 this is x0 (the
    /// device tree's physical address); x1 to x3 are 0 there.
    pub rsi: u64,
    /// `FLAG_*` bits.
    pub flags: u64,
    /// The UART's I/O port (with [`FLAG_SERIAL`]). On arm64 this is the
    /// physical MMIO base of a PL011 UART (0x0900_0000 on QEMU's virt).
    pub serial_port: u64,
    /// The UART's divisor of 115200 baud (with [`FLAG_SERIAL`]); unused on
    /// arm64, whose purgatory keeps the PL011 as the kernel left it.
    pub serial_divisor: u64,
    /// Entries of `regions` in use.
    pub region_count: u64,
    /// The digest table.
    pub regions: [Region; MAX_REGIONS],
}

// The struct the purgatory reads is the wire format the loader writes.
const _: () = {
    assert!(size_of::<Params>() == PARAMS_SIZE);
    assert!(offset_of!(Params, magic) == offset::MAGIC);
    assert!(offset_of!(Params, size) == offset::SIZE);
    assert!(offset_of!(Params, entry) == offset::ENTRY);
    assert!(offset_of!(Params, rsi) == offset::RSI);
    assert!(offset_of!(Params, flags) == offset::FLAGS);
    assert!(offset_of!(Params, serial_port) == offset::SERIAL_PORT);
    assert!(offset_of!(Params, serial_divisor) == offset::SERIAL_DIVISOR);
    assert!(offset_of!(Params, region_count) == offset::REGION_COUNT);
    assert!(offset_of!(Params, regions) == offset::REGIONS);
    assert!(size_of::<Region>() == offset::REGION_SIZE);
    assert!(offset_of!(Region, start) == offset::REGION_START);
    assert!(offset_of!(Region, len) == offset::REGION_LEN);
    assert!(offset_of!(Region, digest) == offset::REGION_DIGEST);
};

impl Params {
    /// The block as the purgatory is built with it: magic and size set,
    /// everything else zero (no console, no regions).
    pub const EMPTY: Params = Params {
        magic: PARAMS_MAGIC,
        size: PARAMS_SIZE as u64,
        entry: 0,
        rsi: 0,
        flags: 0,
        serial_port: 0,
        serial_divisor: 0,
        region_count: 0,
        regions: [Region::EMPTY; MAX_REGIONS],
    };

    /// The block's bytes, as the purgatory will find them in memory.
    pub fn to_bytes(&self) -> [u8; PARAMS_SIZE] {
        fn put(out: &mut [u8], at: usize, value: u64) {
            out[at..at + 8].copy_from_slice(&value.to_le_bytes());
        }
        let mut out = [0u8; PARAMS_SIZE];
        put(&mut out, offset::MAGIC, self.magic);
        put(&mut out, offset::SIZE, self.size);
        put(&mut out, offset::ENTRY, self.entry);
        put(&mut out, offset::RSI, self.rsi);
        put(&mut out, offset::FLAGS, self.flags);
        put(&mut out, offset::SERIAL_PORT, self.serial_port);
        put(&mut out, offset::SERIAL_DIVISOR, self.serial_divisor);
        put(&mut out, offset::REGION_COUNT, self.region_count);
        for (i, region) in self.regions.iter().enumerate() {
            let at = offset::REGIONS + i * offset::REGION_SIZE;
            put(&mut out, at + offset::REGION_START, region.start);
            put(&mut out, at + offset::REGION_LEN, region.len);
            let digest = at + offset::REGION_DIGEST;
            out[digest..digest + 32].copy_from_slice(&region.digest);
        }
        out
    }

    /// Reads a block from its bytes; None when `bytes` is shorter than
    /// [`PARAMS_SIZE`]. Magic and size are returned as found, not checked.
    pub fn from_bytes(bytes: &[u8]) -> Option<Params> {
        let block = bytes.get(..PARAMS_SIZE)?;
        let get = |at: usize| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&block[at..at + 8]);
            u64::from_le_bytes(word)
        };
        let mut params = Params {
            magic: get(offset::MAGIC),
            size: get(offset::SIZE),
            entry: get(offset::ENTRY),
            rsi: get(offset::RSI),
            flags: get(offset::FLAGS),
            serial_port: get(offset::SERIAL_PORT),
            serial_divisor: get(offset::SERIAL_DIVISOR),
            region_count: get(offset::REGION_COUNT),
            regions: [Region::EMPTY; MAX_REGIONS],
        };
        for (i, region) in params.regions.iter_mut().enumerate() {
            let at = offset::REGIONS + i * offset::REGION_SIZE;
            region.start = get(at + offset::REGION_START);
            region.len = get(at + offset::REGION_LEN);
            let digest = at + offset::REGION_DIGEST;
            region.digest.copy_from_slice(&block[digest..digest + 32]);
        }
        Some(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Params {
        let mut p = Params {
            entry: 0x100_0200,
            rsi: 0x9000,
            flags: FLAG_SERIAL | FLAG_CONSOLE_VGA,
            serial_port: 0x3f8,
            serial_divisor: 12,
            region_count: MAX_REGIONS as u64,
            ..Params::EMPTY
        };
        for (i, r) in p.regions.iter_mut().enumerate() {
            let i = i as u64;
            *r = Region {
                start: 0x100_0000 + (i << 20),
                len: 0x1000 + i,
                digest: [i as u8 + 1; 32],
            };
        }
        p
    }

    #[test]
    fn serialized_block_round_trips_through_the_reader() {
        let p = sample();
        assert_eq!(Params::from_bytes(&p.to_bytes()), Some(p));
        assert_eq!(
            Params::from_bytes(&Params::EMPTY.to_bytes()),
            Some(Params::EMPTY)
        );
        assert_eq!(Params::from_bytes(&p.to_bytes()[..PARAMS_SIZE - 1]), None);
    }

    /// The bytes sit where the documented offsets say, independently of the
    /// reader (a mistake made the same way in both would round-trip).
    #[test]
    fn bytes_follow_the_documented_offsets() {
        let b = sample().to_bytes();
        let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        assert_eq!(PARAMS_SIZE, 1600);
        assert_eq!(&b[0..8], b"KXPURG01");
        assert_eq!(word(8), 1600);
        assert_eq!(word(16), 0x100_0200);
        assert_eq!(word(24), 0x9000);
        assert_eq!(word(32), 0b1010);
        assert_eq!(word(40), 0x3f8);
        assert_eq!(word(48), 12);
        assert_eq!(word(56), 32);
        for i in 0..MAX_REGIONS {
            let at = 64 + i * 48;
            assert_eq!(word(at), 0x100_0000 + ((i as u64) << 20));
            assert_eq!(word(at + 8), 0x1000 + i as u64);
            assert_eq!(b[at + 16..at + 48], [i as u8 + 1; 32]);
        }
    }

    #[test]
    fn flag_bits_are_distinct() {
        let flags = [
            FLAG_SKIP_CHECKS,
            FLAG_SERIAL,
            FLAG_RESET_VGA,
            FLAG_CONSOLE_VGA,
        ];
        assert_eq!(flags.iter().fold(0, |a, f| a | f), 0b1111);
    }
}
