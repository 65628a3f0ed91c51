//! `vmcore-dmesg`: the crashed kernel's log, read out of an ELF vmcore
//! (`/proc/vmcore` in a kdump capture kernel, or a saved copy of it).
//!
//! [`Vmcore::open`] reads the ELF header and program headers
//! ([`elf`]), finds the note named `VMCOREINFO` among the PT_NOTE segments
//! and parses its `KEY=VALUE` lines ([`VmcoreInfo`]). Kernel virtual
//! addresses become file offsets through the PT_LOAD headers' `p_vaddr`
//! ranges, as kexec-tools' vmcore-dmesg does: a kdump kernel's RAM PT_LOADs
//! carry the direct map's addresses, the kernel text's its own mapping.
//! [`Vmcore::dmesg`] then writes the log in kexec-tools 2.0.25's format
//! ([`dmesg`]): the lockless `printk_ringbuffer` of Linux 5.10 and later,
//! the `printk_log` records of 3.5 to 5.9, or the plain character buffer
//! before them.
//!
//! The file is read where it is needed, through positioned reads and a
//! small cache of 64 KiB pieces: a vmcore is as large as the crashed
//! machine's RAM. Every offset and size taken from the file is checked;
//! a bad one is an [`Error`] naming the file, the field and the rule.
//!
//! ```
//! # let dir = std::env::temp_dir().join(format!("kexec-doc-vmcore-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let path = dir.join("vmcore");
//! # let mut core = kexec::vmcore::testing::LocklessCore::new();
//! # core.record(1_500_000_000, b"Linux version 6.1.0");
//! # std::fs::write(&path, core.build()).unwrap();
//! use kexec::vmcore::Vmcore;
//!
//! let mut vmcore = Vmcore::open(&path).unwrap(); // e.g. "/proc/vmcore"
//! assert!(vmcore.vmcoreinfo().symbol("prb").is_some());
//! let mut log = Vec::new();
//! vmcore.dmesg(&mut log).unwrap();
//! assert_eq!(log, b"[    1.500000] Linux version 6.1.0\n");
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

pub mod dmesg;
pub mod elf;
mod info;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;

pub use dmesg::LogFormat;
pub use info::{BadValue, VmcoreInfo};

use elf::ElfCore;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Why the log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file's contents break a rule of the format (or of the kernel's
    /// structures); the message names the field and the rule.
    #[error("{file}: {message}")]
    Format {
        /// The vmcore, as named by the caller.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Opening or reading the file failed.
    #[error("{file}: {what}: {source}")]
    Read {
        /// The vmcore, as named by the caller.
        file: String,
        /// What was being read.
        what: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// Writing the log out failed (a closed pipe, a full disk).
    #[error("writing the log: {0}")]
    Output(#[source] std::io::Error),
}

/// The bytes of a piece of the cache.
const PIECE: u64 = 64 << 10;
/// Pieces kept: 512 KiB at most.
const PIECES: usize = 8;

/// The open file, read through a small cache of aligned pieces.
pub(crate) struct Source {
    file: File,
    name: String,
    /// (piece offset, bytes read there, last use).
    cache: Vec<(u64, Vec<u8>, u64)>,
    clock: u64,
}

impl Source {
    fn new(file: File, name: String) -> Source {
        Source {
            file,
            name,
            cache: Vec::new(),
            clock: 0,
        }
    }

    /// A [`Error::Format`] about this file.
    pub(crate) fn format(&self, message: impl Into<String>) -> Error {
        Error::Format {
            file: self.name.clone(),
            message: message.into(),
        }
    }

    fn piece(&mut self, at: u64, what: &str) -> Result<usize, Error> {
        self.clock += 1;
        if let Some(i) = self.cache.iter().position(|c| c.0 == at) {
            self.cache[i].2 = self.clock;
            return Ok(i);
        }
        let mut buf = vec![0u8; PIECE as usize];
        let mut got = 0;
        while got < buf.len() {
            match self.file.read_at(&mut buf[got..], at + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Read {
                        file: self.name.clone(),
                        what: format!("reading {what} at file offset {:#x}", at + got as u64),
                        source,
                    })
                }
            }
        }
        buf.truncate(got);
        let entry = (at, buf, self.clock);
        if self.cache.len() < PIECES {
            self.cache.push(entry);
            Ok(self.cache.len() - 1)
        } else {
            let oldest = (0..self.cache.len())
                .min_by_key(|&i| self.cache[i].2)
                .unwrap_or(0);
            self.cache[oldest] = entry;
            Ok(oldest)
        }
    }

    /// Up to `len` (at most one piece) bytes at file offset `at`: fewer
    /// where the file ends.
    pub(crate) fn read_upto(&mut self, at: u64, len: usize, what: &str) -> Result<Vec<u8>, Error> {
        let base = at - at % PIECE;
        let i = self.piece(base, what)?;
        let piece = &self.cache[i].1;
        let from = ((at - base) as usize).min(piece.len());
        Ok(piece[from..piece.len().min(from + len)].to_vec())
    }

    /// `len` bytes at file offset `at`; `what` names them in errors. A
    /// file that ends first is an error ("cut short"). Allocates `len`:
    /// callers bound it.
    pub(crate) fn read(&mut self, at: u64, len: usize, what: &str) -> Result<Vec<u8>, Error> {
        let end = at.checked_add(len as u64).ok_or_else(|| {
            self.format(format!(
                "{what}: file offset {at:#x} + {len} bytes overflows"
            ))
        })?;
        let mut out = Vec::with_capacity(len);
        let mut pos = at;
        while pos < end {
            let base = pos - pos % PIECE;
            let i = self.piece(base, what)?;
            let piece = &self.cache[i].1;
            let from = (pos - base) as usize;
            if from >= piece.len() {
                return Err(self.format(format!(
                    "the file is cut short: {what} ({len} bytes at file offset {at:#x}) \
                     runs past its end at {:#x}",
                    base + piece.len() as u64
                )));
            }
            let take = piece.len().min(from + (end - pos) as usize);
            out.extend_from_slice(&piece[from..take]);
            pos += (take - from) as u64;
        }
        Ok(out)
    }
}

/// An open vmcore: its program headers and VMCOREINFO.
pub struct Vmcore {
    src: Source,
    elf: ElfCore,
    info: VmcoreInfo,
}

impl Vmcore {
    /// Opens `path`, reads its ELF headers and parses its VMCOREINFO note.
    pub fn open(path: impl AsRef<Path>) -> Result<Vmcore, Error> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| Error::Read {
            file: name.clone(),
            what: "cannot open".into(),
            source,
        })?;
        Vmcore::from_file(file, name)
    }

    /// The same for a file already open; `name` is how errors call it.
    pub fn from_file(file: File, name: impl Into<String>) -> Result<Vmcore, Error> {
        let mut src = Source::new(file, name.into());
        let elf = ElfCore::read(&mut src)?;
        let e = elf.endian();
        let segments: Vec<_> = elf.notes().copied().collect();
        let mut found = None;
        for (i, ph) in segments.iter().enumerate() {
            if ph.filesz > elf::MAX_NOTE_SEGMENT {
                return Err(src.format(format!(
                    "PT_NOTE segment {i} is {} bytes (p_filesz), more than the {} this reader takes",
                    ph.filesz,
                    elf::MAX_NOTE_SEGMENT
                )));
            }
            let what = format!("PT_NOTE segment {i} (p_offset, p_filesz)");
            let bytes = src.read(ph.offset, ph.filesz as usize, &what)?;
            if let Some(n) = elf::notes(&bytes, e)
                .into_iter()
                .find(|n| n.name == b"VMCOREINFO" && n.n_type == 0)
            {
                found = Some(VmcoreInfo::parse(n.desc));
                break;
            }
        }
        let info = found.ok_or_else(|| {
            src.format(format!(
                "no VMCOREINFO note among its {} PT_NOTE segment{}",
                segments.len(),
                if segments.len() == 1 { "" } else { "s" }
            ))
        })?;
        Ok(Vmcore { src, elf, info })
    }

    /// The crashed kernel's VMCOREINFO.
    pub fn vmcoreinfo(&self) -> &VmcoreInfo {
        &self.info
    }

    /// The ELF headers.
    pub fn elf(&self) -> &ElfCore {
        &self.elf
    }

    /// Writes the crashed kernel's log to `out`, one record a line, as
    /// kexec-tools' vmcore-dmesg prints it; says which format the kernel
    /// kept it in. What was written before an error stays written.
    pub fn dmesg(&mut self, out: &mut dyn Write) -> Result<LogFormat, Error> {
        dmesg::dump(self, out)
    }

    /// `len` bytes of the crashed kernel's memory at virtual address
    /// `vaddr`, through the PT_LOADs whose `p_vaddr..p_vaddr + p_memsz`
    /// hold them (the first that does, for each byte; past `p_filesz` a
    /// segment reads as zeros). `what` names the bytes in errors. Callers
    /// bound `len`.
    pub fn read_virt(&mut self, vaddr: u64, len: usize, what: &str) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(len);
        let mut addr = vaddr;
        while out.len() < len {
            let want = (len - out.len()) as u64;
            let Some(p) = self
                .elf
                .loads()
                .find(|p| addr.wrapping_sub(p.vaddr) < p.memsz && addr >= p.vaddr)
                .copied()
            else {
                let loads = self.elf.loads().count();
                return Err(self.src.format(if addr == vaddr {
                    format!("virtual address {vaddr:#x} of {what} is in no PT_LOAD (of {loads})")
                } else {
                    format!(
                        "{what} ({len} bytes at virtual address {vaddr:#x}) runs out of the \
                         PT_LOADs at {addr:#x} (of {loads})"
                    )
                }));
            };
            let d = addr - p.vaddr;
            let n = want.min(p.memsz - d);
            let from_file = if d < p.filesz { n.min(p.filesz - d) } else { 0 };
            if from_file > 0 {
                let at = p.offset.checked_add(d).ok_or_else(|| {
                    self.src.format(format!(
                        "{what}: PT_LOAD p_offset {:#x} + {d:#x} overflows",
                        p.offset
                    ))
                })?;
                let bytes = self.src.read(at, from_file as usize, what)?;
                out.extend_from_slice(&bytes);
            }
            out.resize(out.len() + (n - from_file) as usize, 0);
            match addr.checked_add(n) {
                Some(a) => addr = a,
                None if out.len() == len => break,
                None => {
                    return Err(self.src.format(format!(
                        "{what}: virtual address {vaddr:#x} + {len} bytes overflows"
                    )))
                }
            }
        }
        Ok(out)
    }

    /// A [`Error::Format`] about this vmcore.
    fn error(&self, message: impl Into<String>) -> Error {
        self.src.format(message)
    }
}

#[cfg(test)]
mod tests;
