//! Compressed kernels and EFI zboot images, unpacked in user space: no
//! kernel's kexec_file_load takes them (arm64's takes a raw Image only) and
//! our kexec_load builders need the Image itself. A kernel file that is
//! gzip data, or an EFI zboot image ("MZ", then "zimg" at offset 4, with a
//! gzip or zstd payload), is decompressed once, streaming, into a sealed
//! memfd that both system calls then take as the kernel file; its size is
//! bounded, so a decompression bomb is refused, not followed.
//!
//! ```rust
//! use kexec::image::compressed::{detect, Compression};
//! let mut zboot = vec![0u8; 64];
//! zboot[..2].copy_from_slice(b"MZ");
//! zboot[4..8].copy_from_slice(b"zimg");
//! zboot[8..12].copy_from_slice(&64u32.to_le_bytes()); // payload offset
//! zboot[12..16].copy_from_slice(&0u32.to_le_bytes()); // payload size
//! zboot[0x18..0x1c].copy_from_slice(b"zstd");
//! let packed = detect("vmlinuz.efi", &zboot, 64).unwrap().unwrap();
//! assert_eq!(packed.compression, Compression::Zstd);
//! assert_eq!(packed.payload, 64..64);
//! assert!(detect("Image", b"ARMd", 4).unwrap().is_none());
//! ```

use std::io::{self, Read, Write};
use std::ops::Range;

/// Bytes an unpacked kernel may take: far above any real kernel (Debian's
/// arm64 Image is about 40 MiB), so only a decompression bomb reaches it.
pub const MAX_UNPACKED: u64 = 1 << 30;

/// Memory an LZMA/xz decoder may take for its dictionary: the kernel's own
/// files use 32 MiB (xz) and 64 MiB (`lzma -9`); a header asking for more
/// than this is refused before anything is allocated.
pub const MAX_DICTIONARY: u64 = 256 << 20;

/// A compression a kernel file may use. Each is found by its magic, never
/// by the file's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip (RFC 1952): `Image.gz`, `vmlinux.gz`, most zboot images.
    Gzip,
    /// zstd (RFC 8878).
    Zstd,
    /// xz, with any filter chain xz-utils writes (the kernel's own xz
    /// images use the x86 BCJ filter before LZMA2).
    Xz,
    /// The legacy `.lzma` format (`lzma -9`, as the kernel's build writes it).
    Lzma,
    /// LZ4's legacy frame, as the kernel's build writes it (`lz4 -l`).
    Lz4Legacy,
    /// LZ4's frame format (what `lz4` writes by default).
    Lz4,
    /// bzip2.
    Bzip2,
}

/// Magic of LZ4's legacy frame (0x184C2102, little-endian).
const LZ4_LEGACY_MAGIC: [u8; 4] = [0x02, 0x21, 0x4c, 0x18];
/// An LZ4 legacy block holds at most 8 MiB once decompressed.
const LZ4_LEGACY_BLOCK: usize = 8 << 20;

impl Compression {
    /// Every compression, in the order their magics are tried.
    pub const ALL: [Compression; 7] = [
        Compression::Gzip,
        Compression::Zstd,
        Compression::Xz,
        Compression::Lzma,
        Compression::Lz4Legacy,
        Compression::Lz4,
        Compression::Bzip2,
    ];

    /// Its name, as the zboot header and people say it.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Lzma => "lzma",
            Compression::Lz4Legacy => "lz4 (legacy frame)",
            Compression::Lz4 => "lz4",
            Compression::Bzip2 => "bzip2",
        }
    }

    /// What a file of it is, for people.
    pub fn data(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip-compressed data",
            Compression::Zstd => "zstd-compressed data",
            Compression::Xz => "xz-compressed data",
            Compression::Lzma => "lzma-compressed data",
            Compression::Lz4Legacy => "lz4-compressed data (legacy frame)",
            Compression::Lz4 => "lz4-compressed data",
            Compression::Bzip2 => "bzip2-compressed data",
        }
    }

    /// What an EFI zboot image with this payload is, for people.
    fn in_zboot(self) -> &'static str {
        match self {
            Compression::Gzip => "an EFI zboot image (gzip)",
            Compression::Zstd => "an EFI zboot image (zstd)",
            Compression::Xz => "an EFI zboot image (xz)",
            Compression::Lzma => "an EFI zboot image (lzma)",
            Compression::Lz4Legacy | Compression::Lz4 => "an EFI zboot image (lz4)",
            Compression::Bzip2 => "an EFI zboot image (bzip2)",
        }
    }

    /// Whether `head` starts with this compression's magic.
    pub fn matches(self, head: &[u8]) -> bool {
        match self {
            Compression::Gzip => head.starts_with(b"\x1f\x8b\x08"),
            Compression::Zstd => head.starts_with(b"\x28\xb5\x2f\xfd"),
            Compression::Xz => head.starts_with(b"\xfd7zXZ\0"),
            // No magic: the properties byte lc=3 lp=0 pb=2 (0x5d) that every
            // lzma tool writes, and a dictionary size below 16 MiB << 8.
            Compression::Lzma => {
                head.len() >= 13 && head[0] == 0x5d && head[4] < 0x10 && {
                    let dict = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
                    dict >= 4096
                }
            }
            Compression::Lz4Legacy => head.starts_with(&LZ4_LEGACY_MAGIC),
            Compression::Lz4 => head.starts_with(&[0x04, 0x22, 0x4d, 0x18]),
            Compression::Bzip2 => {
                head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3])
            }
        }
    }

    /// The compression whose magic `head` starts with.
    pub fn of(head: &[u8]) -> Option<Compression> {
        Compression::ALL.into_iter().find(|c| c.matches(head))
    }

    /// The compression a zboot header's type name stands for.
    fn of_zboot_name(name: &str) -> Option<Compression> {
        match name {
            "gzip" => Some(Compression::Gzip),
            "zstd" | "zstd22" => Some(Compression::Zstd),
            "xzkern" | "xz" => Some(Compression::Xz),
            "lzma" => Some(Compression::Lzma),
            "lz4" => Some(Compression::Lz4Legacy),
            "bzip2" => Some(Compression::Bzip2),
            _ => None,
        }
    }

    /// A reader of the bytes `payload` decompresses to.
    fn decoder<'a>(self, payload: &'a [u8]) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            // One member: what follows it (the kernel's build appends the
            // size, zboot pads) is not part of the kernel.
            Compression::Gzip => Box::new(flate2::read::GzDecoder::new(payload)),
            Compression::Zstd => Box::new(
                ruzstd::decoding::StreamingDecoder::new(payload)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?,
            ),
            Compression::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
                payload,
                false,
                (MAX_DICTIONARY >> 10) as u32,
            )),
            Compression::Lzma => Box::new(
                lzma_rust2::LzmaReader::new_mem_limit(payload, (MAX_DICTIONARY >> 10) as u32, None)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?,
            ),
            Compression::Lz4Legacy => Box::new(Lz4Legacy::new(payload)),
            Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(payload)),
            Compression::Bzip2 => Box::new(bzip2::read::BzDecoder::new(payload)),
        })
    }
}

/// A reader of LZ4's legacy frame: the magic, then blocks of a 32-bit
/// little-endian compressed size and at most 8 MiB once decompressed; the
/// magic may come again (concatenated frames). The frame has no end mark:
/// it ends with the data, or at a size no block can have, which is how the
/// 4-byte uncompressed size the kernel's build appends is told apart.
struct Lz4Legacy<'a> {
    rest: &'a [u8],
    block: Vec<u8>,
    at: usize,
    len: usize,
}

impl<'a> Lz4Legacy<'a> {
    fn new(frame: &'a [u8]) -> Self {
        Lz4Legacy {
            rest: frame,
            block: Vec::new(),
            at: 0,
            len: 0,
        }
    }

    /// Decompresses the next block; false at the end of the frame.
    fn next_block(&mut self) -> io::Result<bool> {
        loop {
            if self.rest.starts_with(&LZ4_LEGACY_MAGIC) {
                self.rest = &self.rest[4..];
                continue;
            }
            if self.rest.len() < 4 {
                return Ok(false);
            }
            let size = u32::from_le_bytes(self.rest[..4].try_into().expect("4 bytes")) as usize;
            let after = &self.rest[4..];
            // The appended size is the last 4 bytes; a real block follows
            // its size and is never bigger than LZ4's bound for 8 MiB.
            if after.is_empty() || size > LZ4_LEGACY_BLOCK + LZ4_LEGACY_BLOCK / 255 + 16 {
                return Ok(false);
            }
            if size > after.len() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "an lz4 block of {size} bytes, but only {} bytes are left: the data is cut short",
                        after.len()
                    ),
                ));
            }
            if self.block.is_empty() {
                self.block = vec![0; LZ4_LEGACY_BLOCK];
            }
            self.len =
                lz4_flex::block::decompress_into(&after[..size], &mut self.block).map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidData, format!("lz4 block: {e}"))
                })?;
            self.at = 0;
            self.rest = &after[size..];
            return Ok(true);
        }
    }
}

impl Read for Lz4Legacy<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.len {
            if !self.next_block()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.len - self.at);
        buf[..n].copy_from_slice(&self.block[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A packed kernel: what wraps it and where its compressed bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed {
    /// What the file is, for people: "gzip-compressed data", "an EFI zboot image (gzip)".
    pub what: &'static str,
    /// The compression of the payload.
    pub compression: Compression,
    /// The payload's bytes in the file.
    pub payload: Range<usize>,
}

/// The offsets of the EFI zboot header (drivers/firmware/efi/libstub/zboot-header.S).
pub mod zboot {
    /// "zimg": the image type, after the "MZ" DOS header magic.
    pub const IMAGE_TYPE: usize = 4;
    /// u32 LE: where the compressed payload starts.
    pub const PAYLOAD_OFFSET: usize = 8;
    /// u32 LE: its size.
    pub const PAYLOAD_SIZE: usize = 12;
    /// NUL-terminated: the compression's name ("gzip", "zstd", ...).
    pub const COMPRESSION: usize = 0x18;
    /// Bytes of header read.
    pub const HEADER_LEN: usize = 0x38;
}

fn u32_at(head: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(head[at..at + 4].try_into().expect("4 bytes"))
}

/// Whether the file (its first bytes `head`, its size `size`) is a packed
/// kernel, and where its payload is; Err names the file, the field and its
/// value when the zboot header is wrong.
pub fn detect(file: &str, head: &[u8], size: u64) -> Result<Option<Packed>, String> {
    if let Some(compression) = Compression::of(head) {
        return Ok(Some(Packed {
            what: compression.data(),
            compression,
            payload: 0..size as usize,
        }));
    }
    if !(head.starts_with(b"MZ")
        && head.get(zboot::IMAGE_TYPE..zboot::IMAGE_TYPE + 4) == Some(b"zimg"))
    {
        return Ok(None);
    }
    if head.len() < zboot::HEADER_LEN {
        return Err(format!(
            "{file}: an EFI zboot image cut short: {} bytes, shorter than its 0x{:x}-byte header",
            head.len(),
            zboot::HEADER_LEN
        ));
    }
    let offset = u64::from(u32_at(head, zboot::PAYLOAD_OFFSET));
    let len = u64::from(u32_at(head, zboot::PAYLOAD_SIZE));
    if offset + len > size {
        return Err(format!(
            "{file}: EFI zboot header: payload_offset 0x{offset:x} + payload_size 0x{len:x} end past the file's {size} bytes"
        ));
    }
    let name_field = &head[zboot::COMPRESSION..zboot::HEADER_LEN];
    let name_len = name_field
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(name_field.len());
    let name = String::from_utf8_lossy(&name_field[..name_len]).into_owned();
    let Some(compression) = Compression::of_zboot_name(&name) else {
        return Err(format!(
            "{file}: EFI zboot header: compression type {name:?} at offset 0x{:x}: only gzip, zstd, xz, lzma, lz4 and bzip2 payloads are unpacked",
            zboot::COMPRESSION
        ));
    };
    Ok(Some(Packed {
        what: compression.in_zboot(),
        compression,
        payload: offset as usize..(offset + len) as usize,
    }))
}

/// What unpacking a packed kernel made: the steps `--dry-run` shows
/// (container, its size and digest, then what came out of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unpacked {
    /// What the file was: "gzip-compressed data", "an EFI zboot image (zstd)".
    pub what: &'static str,
    /// The packed file's size.
    pub packed_size: u64,
    /// SHA-256 of the packed file, as `sha256sum` shows it.
    pub packed_sha256: [u8; 32],
    /// The unpacked kernel's size.
    pub size: u64,
    /// SHA-256 of the unpacked kernel: what the system calls are given.
    pub sha256: [u8; 32],
}

impl Unpacked {
    /// "gzip-compressed data, 5.1 MiB, sha256 1a2b3c4d5e6f7a8b… → 12.0 MiB,
    /// sha256 …": the steps, for people.
    pub fn describe(&self) -> String {
        let short = |d: &[u8; 32]| crate::hex::encode(&d[..8]);
        format!(
            "{}, {}, sha256 {}… → unpacked {}, sha256 {}…",
            self.what,
            crate::memory::human_size(self.packed_size),
            short(&self.packed_sha256),
            crate::memory::human_size(self.size),
            short(&self.sha256)
        )
    }
}

/// Writes what stops counting at `limit` bytes (past it, an error) and,
/// when asked, hashes what it writes.
struct Bounded<W> {
    out: W,
    written: u64,
    limit: u64,
    sha256: Option<sha2::Sha256>,
}

impl<W: Write> Write for Bounded<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > self.limit {
            return Err(io::Error::new(io::ErrorKind::FileTooLarge, "limit"));
        }
        let n = self.out.write(buf)?;
        if let Some(sha256) = &mut self.sha256 {
            sha2::Digest::update(sha256, &buf[..n]);
        }
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The first `len` bytes the payload unpacks to (fewer when it is
/// shorter or broken): enough to probe what is inside before unpacking it all.
pub fn peek(packed: &Packed, bytes: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(Ok(decoder)) = bytes
        .get(packed.payload.clone())
        .map(|payload| packed.compression.decoder(payload))
    {
        // What came out before an error stays in `out`.
        let _ = decoder.take(len as u64).read_to_end(&mut out);
    }
    out
}

/// As [`peek`], but an error when the payload fails before `len` bytes
/// (or its end) came out: the bytes that did come out are not a kernel's.
pub fn peek_checked(packed: &Packed, bytes: &[u8], len: usize) -> io::Result<Vec<u8>> {
    let payload = bytes.get(packed.payload.clone()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "its payload {:?} lies past its {} bytes",
                packed.payload,
                bytes.len()
            ),
        )
    })?;
    let mut out = Vec::new();
    packed
        .compression
        .decoder(payload)?
        .take(len as u64)
        .read_to_end(&mut out)?;
    Ok(out)
}

/// Decompresses the payload of `packed` from the file's bytes (all of
/// them) into `out`, no more than `limit` bytes; returns what it made.
/// Errors name the file and what failed.
pub fn unpack(
    file: &str,
    packed: &Packed,
    bytes: &[u8],
    out: &mut dyn Write,
    limit: u64,
) -> Result<Unpacked, String> {
    let (size, sha256) = decode(file, packed, bytes, out, limit, true)?;
    Ok(Unpacked {
        what: packed.what,
        packed_size: bytes.len() as u64,
        packed_sha256: <sha2::Sha256 as sha2::Digest>::digest(bytes).into(),
        size,
        sha256: sha2::Digest::finalize(sha256.expect("asked for")).into(),
    })
}

/// As [`unpack`] without the digests (which under emulation cost as much
/// as the decompression): for a payload that is unpacked to be laid out
/// and loaded, whose bytes the purgatory's digests cover anyway. Returns
/// the unpacked size.
pub fn unpack_unhashed(
    file: &str,
    packed: &Packed,
    bytes: &[u8],
    out: &mut dyn Write,
    limit: u64,
) -> Result<u64, String> {
    decode(file, packed, bytes, out, limit, false).map(|(size, _)| size)
}

/// Decompresses into `out` through [`Bounded`]; errors name the file.
fn decode(
    file: &str,
    packed: &Packed,
    bytes: &[u8],
    out: &mut dyn Write,
    limit: u64,
    hash: bool,
) -> Result<(u64, Option<sha2::Sha256>), String> {
    let payload = bytes.get(packed.payload.clone()).ok_or_else(|| {
        format!(
            "{file}: its payload {:?} lies past its {} bytes",
            packed.payload,
            bytes.len()
        )
    })?;
    let mut bounded = Bounded {
        out,
        written: 0,
        limit,
        sha256: hash.then(sha2::Digest::new),
    };
    let copied = packed
        .compression
        .decoder(payload)
        .and_then(|mut decoder| io::copy(&mut decoder, &mut bounded));
    match copied {
        Ok(size) => Ok((size, bounded.sha256)),
        Err(e) if e.kind() == io::ErrorKind::FileTooLarge => Err(format!(
            "{file}: {} unpacks to more than {}, more than any kernel or than a load may take here: refusing it (a decompression bomb?)",
            packed.what,
            crate::memory::human_size(limit)
        )),
        Err(e) => Err(format!(
            "{file}: cannot unpack it ({}, {} payload): {e}",
            packed.what,
            packed.compression.name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{compress, gzip_bytes as gzip};

    /// An EFI zboot image around `payload`, as the kernel's build lays it out.
    pub(crate) fn zboot(payload: &[u8], compression: &str) -> Vec<u8> {
        let offset = 0x200usize;
        let mut z = vec![0u8; offset];
        z[..2].copy_from_slice(b"MZ");
        z[4..8].copy_from_slice(b"zimg");
        z[8..12].copy_from_slice(&(offset as u32).to_le_bytes());
        z[12..16].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        z[0x18..0x18 + compression.len()].copy_from_slice(compression.as_bytes());
        z.extend_from_slice(payload);
        z.extend_from_slice(&[0u8; 0x100]); // the PE's other sections
        z
    }

    fn unpacked(file: &[u8], limit: u64) -> Result<Vec<u8>, String> {
        let packed = detect("k", file, file.len() as u64)?.expect("packed");
        let mut out = Vec::new();
        let made = unpack("k", &packed, file, &mut out, limit)?;
        assert_eq!(made.size, out.len() as u64);
        assert_eq!(made.packed_size, file.len() as u64);
        assert_eq!(
            made.sha256,
            <[u8; 32]>::from(<sha2::Sha256 as sha2::Digest>::digest(&out))
        );
        Ok(out)
    }

    /// Bytes that compress like code: runs, repeats and noise, with the
    /// x86 call and jump opcodes the BCJ filter rewrites.
    fn kernel_like(len: usize) -> Vec<u8> {
        let mut x = 0x1234_5678u32;
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                match i % 97 {
                    0 => 0xe8,
                    1 => 0xe9,
                    2..=40 => (i / 97) as u8,
                    _ => (x % 7) as u8,
                }
            })
            .collect()
    }

    #[test]
    fn every_compression_is_found_by_magic_and_unpacks_to_the_image() {
        // Past one 8 MiB LZ4 legacy block, so blocks are chained.
        let image = kernel_like(9 << 20);
        for c in Compression::ALL {
            let file = compress(c, &image);
            let packed = detect("k", &file, file.len() as u64)
                .unwrap()
                .expect("packed");
            assert_eq!(packed.compression, c, "{}", c.name());
            assert_eq!(
                unpacked(&file, MAX_UNPACKED).unwrap(),
                image,
                "{}",
                c.name()
            );
            assert_eq!(peek(&packed, &file, 100), image[..100], "{}", c.name());
            // What the kernel's build appends (the size, 4 bytes LE) is
            // not part of the kernel.
            let mut with_size = file.clone();
            with_size.extend_from_slice(&(image.len() as u32).to_le_bytes());
            assert_eq!(
                unpacked(&with_size, MAX_UNPACKED).unwrap(),
                image,
                "{} with its size appended",
                c.name()
            );
        }
    }

    #[test]
    fn a_cut_short_file_is_an_error_never_a_shorter_kernel() {
        let image = kernel_like(3 << 20);
        for c in Compression::ALL {
            let file = compress(c, &image);
            for cut in [file.len() / 3, file.len() - 9] {
                match unpacked(&file[..cut], MAX_UNPACKED) {
                    Err(e) => assert!(e.contains("cannot unpack it"), "{}: {e}", c.name()),
                    Ok(out) => panic!(
                        "{} cut to {cut} of {} bytes unpacked to {} bytes without an error",
                        c.name(),
                        file.len(),
                        out.len()
                    ),
                }
            }
        }
    }

    #[test]
    fn zboot_payloads_of_each_compression_unpack_to_the_image() {
        let image: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for (name, c) in [
            ("gzip", Compression::Gzip),
            ("zstd22", Compression::Zstd),
            ("xzkern", Compression::Xz),
            ("lzma", Compression::Lzma),
            ("lz4", Compression::Lz4Legacy),
            ("bzip2", Compression::Bzip2),
        ] {
            let z = zboot(&compress(c, &image), name);
            assert_eq!(unpacked(&z, MAX_UNPACKED).unwrap(), image, "zboot {name}");
        }
    }

    #[test]
    fn a_bomb_is_refused_at_the_limit() {
        let zeros = vec![0u8; 1 << 20];
        let e = unpacked(&gzip(&zeros), 4096).unwrap_err();
        assert!(
            e.contains("more than 4 KiB") && e.contains("decompression bomb"),
            "{e}"
        );
    }

    #[test]
    fn bad_zboot_headers_name_the_field() {
        let mut z = zboot(b"xx", "lzo");
        let e = detect("vmlinuz.efi", &z, z.len() as u64).unwrap_err();
        assert!(
            e.contains("compression type \"lzo\"") && e.contains("0x18"),
            "{e}"
        );
        z[12..16].copy_from_slice(&0xffff_0000u32.to_le_bytes());
        let e = detect("vmlinuz.efi", &z, z.len() as u64).unwrap_err();
        assert!(e.contains("payload_size 0xffff0000"), "{e}");
        let e = detect("vmlinuz.efi", &z[..0x20], 0x20).unwrap_err();
        assert!(e.contains("cut short"), "{e}");
        let e = unpacked(&zboot(b"not gzip at all", "gzip"), MAX_UNPACKED).unwrap_err();
        assert!(
            e.contains("cannot unpack it (an EFI zboot image (gzip)"),
            "{e}"
        );
    }

    #[test]
    fn plain_kernels_are_not_packed() {
        assert_eq!(detect("k", b"MZ\0\0PE\0\0", 8), Ok(None));
        assert_eq!(
            detect("k", &crate::testing::bzimage64_sample(), 1),
            Ok(None)
        );
    }
}
