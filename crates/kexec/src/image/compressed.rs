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

/// A compression a kernel file may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip (RFC 1952), as `Image.gz` and most zboot images.
    Gzip,
    /// zstd, as some zboot images.
    Zstd,
}

impl Compression {
    /// Its name, as the zboot header and people say it.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
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
    if head.starts_with(b"\x1f\x8b\x08") {
        return Ok(Some(Packed {
            what: "gzip-compressed data",
            compression: Compression::Gzip,
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
    let (compression, what) = match name.as_str() {
        "gzip" => (Compression::Gzip, "an EFI zboot image (gzip)"),
        "zstd" => (Compression::Zstd, "an EFI zboot image (zstd)"),
        other => {
            return Err(format!(
                "{file}: EFI zboot header: compression type {other:?} at offset 0x{:x}: only gzip and zstd payloads are unpacked",
                zboot::COMPRESSION
            ))
        }
    };
    Ok(Some(Packed {
        what,
        compression,
        payload: offset as usize..(offset + len) as usize,
    }))
}

/// Writes what stops counting at `limit` bytes: past it, an error.
struct Bounded<W> {
    out: W,
    written: u64,
    limit: u64,
}

impl<W: Write> Write for Bounded<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > self.limit {
            return Err(io::Error::new(io::ErrorKind::FileTooLarge, "limit"));
        }
        let n = self.out.write(buf)?;
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
    let Some(payload) = bytes.get(packed.payload.clone()) else {
        return out;
    };
    let _ = match packed.compression {
        Compression::Gzip => flate2::read::GzDecoder::new(payload)
            .take(len as u64)
            .read_to_end(&mut out),
        Compression::Zstd => match ruzstd::decoding::StreamingDecoder::new(payload) {
            Ok(decoder) => decoder.take(len as u64).read_to_end(&mut out),
            Err(_) => Ok(0),
        },
    };
    out
}

/// Decompresses the payload of `packed` from the file's bytes into `out`,
/// no more than `limit` bytes; returns how many were written. Errors name
/// the file and what failed.
pub fn unpack(
    file: &str,
    packed: &Packed,
    bytes: &[u8],
    out: &mut dyn Write,
    limit: u64,
) -> Result<u64, String> {
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
    };
    let copied = match packed.compression {
        Compression::Gzip => {
            // Image.gz is one gzip member; trailing zero padding is ignored.
            let mut decoder = flate2::read::GzDecoder::new(payload);
            io::copy(&mut decoder, &mut bounded)
        }
        Compression::Zstd => match ruzstd::decoding::StreamingDecoder::new(payload) {
            Ok(mut decoder) => io::copy(&mut decoder as &mut dyn Read, &mut bounded),
            Err(e) => Err(io::Error::other(e.to_string())),
        },
    };
    match copied {
        Ok(n) => Ok(n),
        Err(e) if e.kind() == io::ErrorKind::FileTooLarge => Err(format!(
            "{file}: {} unpacks to more than {}, more than any kernel: refusing it (a decompression bomb?)",
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

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

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
        unpack("k", &packed, file, &mut out, limit)?;
        Ok(out)
    }

    #[test]
    fn gzip_and_both_zboot_payloads_unpack_to_the_image() {
        let image: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(unpacked(&gzip(&image), MAX_UNPACKED).unwrap(), image);
        assert_eq!(
            unpacked(&zboot(&gzip(&image), "gzip"), MAX_UNPACKED).unwrap(),
            image
        );
        let zstd = ruzstd::encoding::compress_to_vec(
            image.as_slice(),
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        assert_eq!(
            unpacked(&zboot(&zstd, "zstd"), MAX_UNPACKED).unwrap(),
            image
        );
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
        let mut z = zboot(b"xx", "lzma");
        let e = detect("vmlinuz.efi", &z, z.len() as u64).unwrap_err();
        assert!(
            e.contains("compression type \"lzma\"") && e.contains("0x18"),
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
