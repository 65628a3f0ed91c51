//! Kernel image formats. One format per file; each reads its own header and
//! leaves the judgement of what a kernel accepts to `rules`.

pub mod bzimage;
pub mod pe;

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

/// A file given on the command line, opened once: the same descriptor is
/// checked and handed to the kernel, so nothing can swap it in between.
#[derive(Debug)]
pub struct Input {
    pub path: PathBuf,
    pub file: File,
    pub size: u64,
    pub is_regular: bool,
}

/// Bytes read from the start of a kernel for probing.
pub const PROBE_BYTES: usize = 64 * 1024;

impl Input {
    pub fn open(path: &Path) -> io::Result<Input> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        Ok(Input {
            path: path.to_path_buf(),
            size: meta.size(),
            is_regular: meta.file_type().is_file(),
            file,
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

    /// The whole file, read through the open descriptor.
    pub fn read_all(&self) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; self.size as usize];
        let mut done = 0;
        while done < buf.len() {
            let n = self.file.read_at(&mut buf[done..], done as u64)?;
            if n == 0 {
                buf.truncate(done);
                break;
            }
            done += n;
        }
        Ok(buf)
    }

    pub fn display(&self) -> String {
        crate::plan::path_text(&self.path)
    }
}
