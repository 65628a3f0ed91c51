//! Kernel image formats. One format per file; each reads its own header and
//! leaves the judgement of what a kernel accepts to `rules`.

pub mod arm64_image;
pub mod bzimage;
pub mod bzimage64;
pub mod compressed;
pub mod elf_x86_64;
pub mod format;
pub mod identify;
pub mod pe;
pub mod uki;

pub use format::{KernelFormat, FORMATS};
pub use identify::identify;

use crate::sys::mapping::Mapping;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// A file given on the command line, opened once: the same descriptor is
/// checked and handed to the kernel, so nothing can swap it in between.
#[derive(Debug)]
pub struct Input {
    /// The path as given.
    pub path: PathBuf,
    /// The open file: the one descriptor every check and the kernel use.
    pub file: File,
    /// Its size in bytes (of the memfd, for a streamed input).
    pub size: u64,
    /// Whether it is a regular file (a memfd counts).
    pub is_regular: bool,
    /// What `path` was when it had no size to go by (a pipe, a FIFO, a
    /// device, a procfs file): its bytes were read to EOF, once, into a
    /// sealed memfd, which `file` now is — a regular file both system
    /// calls can take.
    pub streamed_from: Option<&'static str>,
    /// What the file was when it was a packed kernel (gzip data, an EFI
    /// zboot image), with sizes and digests: `file` is then the sealed
    /// memfd it was unpacked into.
    pub unpacked_from: Option<Box<compressed::Unpacked>>,
    /// Where in the file at `path` the bytes came from when they are a part
    /// of it ("the .linux section of a unified kernel image"): `file` is
    /// then a sealed memfd of that part.
    pub extracted_from: Option<uki::UkiPart>,
}

/// Bytes read from the start of a kernel for probing.
pub const PROBE_BYTES: usize = 64 * 1024;

/// Why a file's bytes cannot be learnt from its metadata, or None.
fn stream_kind(path: &Path, meta: &std::fs::Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_dir() || (kind.is_file() && meta.size() > 0) {
        None
    } else if kind.is_file() {
        Some("a file whose size reads as 0 (procfs, sysfs)")
    } else if kind.is_fifo() {
        // /dev/fd/N and /proc/self/fd/N of a pipe read as "pipe:[inode]".
        match std::fs::read_link(path) {
            Ok(target) if target.as_os_str().as_encoded_bytes().starts_with(b"pipe:") => {
                Some("a pipe")
            }
            _ => Some("a FIFO"),
        }
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else {
        Some("a socket")
    }
}

impl Input {
    /// Opens `path` with no limit on what a stream may hold; see
    /// [`Input::open_within`].
    pub fn open(path: &Path) -> io::Result<Input> {
        Input::open_within(path, u64::MAX)
    }

    /// Opens `path`; a pipe, FIFO, device or size-less file is read to EOF
    /// into a sealed memfd, but no further than `limit` bytes (the most any
    /// load could take), so `/dev/zero` cannot fill the memory.
    pub fn open_within(path: &Path, limit: u64) -> io::Result<Input> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let Some(kind) = stream_kind(path, &meta) else {
            return Ok(Input {
                path: path.to_path_buf(),
                size: meta.size(),
                is_regular: meta.file_type().is_file(),
                file,
                streamed_from: None,
                unpacked_from: None,
                extracted_from: None,
            });
        };
        let mut memfd = crate::sys::mapping::memfd("kexec-input")?;
        let copied = io::copy(&mut (&file).take(limit.saturating_add(1)), &mut memfd)?;
        if copied > limit {
            return Err(io::Error::other(format!(
                "it is {kind}, and it held more than {} without reaching its end, more than any load can take here; stopped reading",
                crate::memory::human_size(limit)
            )));
        }
        if copied == 0 && meta.file_type().is_file() {
            // A truly empty regular file: judged as one.
            return Ok(Input {
                path: path.to_path_buf(),
                size: 0,
                is_regular: true,
                file,
                streamed_from: None,
                unpacked_from: None,
                extracted_from: None,
            });
        }
        crate::sys::mapping::seal(&memfd)?;
        Ok(Input {
            path: path.to_path_buf(),
            file: memfd,
            size: copied,
            is_regular: true,
            streamed_from: Some(kind),
            unpacked_from: None,
            extracted_from: None,
        })
    }

    /// When this is a packed kernel (gzip, zstd, xz, lzma, lz4 or bzip2
    /// data, an EFI zboot image), the kernel inside, unpacked once into a
    /// sealed memfd that both system calls take as the kernel file; an
    /// error naming what is inside when that is not a kernel this machine
    /// boots, or naming the failure when it does not unpack; else itself.
    /// `head` is its first bytes; it unpacks to no more than `limit` bytes
    /// (and never more than [`compressed::MAX_UNPACKED`]).
    pub fn unpacked(self, head: &[u8], limit: u64) -> Result<Input, String> {
        let name = self.display();
        let Some(packed) = compressed::detect(&name, head, self.size)? else {
            return Ok(self);
        };
        let fail = |e: io::Error| format!("{name}: unpacking it into a memfd: {e}");
        let map = self.map().map_err(fail)?;
        let inner = compressed::peek_checked(&packed, map.bytes(), PROBE_BYTES).map_err(|e| {
            format!(
                "{name}: cannot unpack it ({}, {} payload): {e}",
                packed.what,
                packed.compression.name()
            )
        })?;
        if !format::probe(&inner).is_some_and(|f| format::boots_on(f, std::env::consts::ARCH)) {
            // Unpacking is ours to do, so what is inside is what to name.
            let (what, advice) = identify::identify_with_advice(&inner).unwrap_or((
                "data no kernel format takes",
                ": not a kernel this kexec boots",
            ));
            let advice = if advice.is_empty() {
                ": not a kernel"
            } else {
                advice
            };
            return Err(format!(
                "{name}: {}, which unpacks to {what}{advice}",
                packed.what
            ));
        }
        let mut memfd = crate::sys::mapping::memfd("kexec-unpacked").map_err(fail)?;
        let unpacked = compressed::unpack(
            &name,
            &packed,
            map.bytes(),
            &mut memfd,
            limit.min(compressed::MAX_UNPACKED),
        )?;
        drop(map);
        crate::sys::mapping::seal(&memfd).map_err(fail)?;
        Ok(Input {
            path: self.path,
            file: memfd,
            size: unpacked.size,
            is_regular: true,
            streamed_from: self.streamed_from,
            unpacked_from: Some(Box::new(unpacked)),
            extracted_from: self.extracted_from,
        })
    }

    /// Reads up to `len` bytes from the start through the open descriptor.
    pub fn head(&self, len: usize) -> io::Result<Vec<u8>> {
        if !self.is_regular {
            // Directories and devices are judged by their type, not content.
            return Ok(Vec::new());
        }
        let want = len.min(self.size as usize);
        let mut buf = vec![0u8; want];
        let mut done = 0;
        while done < want {
            let n = self.file.read_at(&mut buf[done..], done as u64)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        buf.truncate(done);
        Ok(buf)
    }

    /// The file mapped read-only: its pages are read when touched, and
    /// kexec_load takes them as they are, without a copy.
    pub fn map(&self) -> io::Result<std::sync::Arc<Mapping>> {
        Mapping::map(&self.file, self.size).map(std::sync::Arc::new)
    }

    /// The path for messages: bytes that are not UTF-8 shown as \xNN.
    pub fn display(&self) -> String {
        crate::plan::path_text(&self.path)
    }

    /// The path and, for a streamed input, where its bytes came from:
    /// "/dev/fd/63 (a pipe, read to EOF: 12.3 MiB)".
    pub fn describe(&self) -> String {
        if let Some(part) = self.extracted_from {
            let unpacked = self
                .unpacked_from
                .as_ref()
                .map_or(String::new(), |u| format!(", {}", u.describe()));
            return format!(
                "{} ({}{unpacked}, in a sealed memfd: {})",
                self.display(),
                part.describe(),
                crate::memory::human_size(self.size)
            );
        }
        if let Some(u) = &self.unpacked_from {
            return format!("{} ({}, in a sealed memfd)", self.display(), u.describe());
        }
        match self.streamed_from {
            Some(kind) if self.size == 0 => format!("{} ({kind}, read to EOF)", self.display()),
            Some(kind) => format!(
                "{} ({kind}, read to EOF: {})",
                self.display(),
                crate::memory::human_size(self.size)
            ),
            None => self.display(),
        }
    }
}
