//! Input files without copies: read-only mappings whose pages kexec_load
//! reads straight from the page cache, and sealed memfds that turn a pipe,
//! FIFO or device into the regular file kexec_file_load needs.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};

/// A whole file mapped read-only and private. Pages are read on first
/// touch and can be dropped again with `release`, so a huge initrd is never
/// resident all at once in this process.
///
/// Like every file mapping, its bytes are only as stable as the file: a
/// file truncated by someone else while mapped makes access past the new
/// end fault (SIGBUS). Our memfds are sealed against that; the purgatory's
/// digests catch a regular file rewritten between the plan and the jump.
pub struct Mapping {
    ptr: *const u8,
    len: usize,
    /// Bytes built in memory that stand in for a file ([`Mapping::owning`]).
    owned: Option<Vec<u8>>,
}

// SAFETY: the mapping is read-only and owned; sharing &[u8] views of it
// between threads is as safe as sharing any immutable buffer.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        crate::layout::PAGE_SIZE as usize
    }
}

impl Mapping {
    /// Maps the first `len` bytes of `file` (its size when opened).
    pub fn map(file: &File, len: u64) -> io::Result<Mapping> {
        let len = usize::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
        if len == 0 {
            return Ok(Mapping::owning(Vec::new()));
        }
        // SAFETY: a fresh mapping chosen by the kernel; nothing else aliases it.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping {
            ptr: ptr as *const u8,
            len,
            owned: None,
        })
    }

    /// Bytes built in memory (a kernel decompressed at load), shared as
    /// a file's mapping is, so that a segment views them instead of
    /// copying them; `release` leaves them in place.
    pub fn owning(bytes: Vec<u8>) -> Mapping {
        Mapping {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
            owned: Some(bytes),
        }
    }

    /// The mapped bytes; pages are read from the file when first touched.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: ptr..ptr+len is mapped readable for the life of self, or
        // lies in `owned`, whose heap buffer never moves or changes.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The mapping's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping holds no bytes (an empty file).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops this process's copies of the pages holding bytes
    /// `start..end`: they were read (hashed) and are read again from the
    /// page cache when touched next. Keeps a dry run's memory bounded.
    pub fn release(&self, start: usize, end: usize) {
        let page = page_size();
        let start = start / page * page;
        let end = end.min(self.len).div_ceil(page) * page;
        if self.owned.is_some() || start >= end {
            return;
        }
        // SAFETY: the range lies inside our private read-only mapping; the
        // pages hold no private changes, so MADV_DONTNEED only drops them
        // and the next access reads the same file contents again.
        unsafe {
            libc::madvise(
                self.ptr.add(start) as *mut libc::c_void,
                end - start,
                libc::MADV_DONTNEED,
            );
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if self.owned.is_none() {
            // SAFETY: unmaps exactly what `map` mapped; no view outlives self.
            unsafe {
                libc::munmap(self.ptr as *mut libc::c_void, self.len);
            }
        }
    }
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mapping({} bytes)", self.len)
    }
}

/// The seals a memfd handed to the kernel carries: nobody can change it,
/// grow it, shrink it, or unseal it.
pub const INPUT_SEALS: i32 =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// A new, empty memfd that can be sealed (close-on-exec).
pub fn memfd(name: &str) -> io::Result<File> {
    let name = CString::new(name.replace('\0', "")).unwrap_or_default();
    // SAFETY: name is a valid C string; the returned fd is ours alone.
    let fd =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Seals a memfd with `INPUT_SEALS` once its bytes are written.
pub fn seal(file: &File) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with integer arguments.
    let ret = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, INPUT_SEALS) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The seals on a file (0 for files that cannot be sealed).
pub fn seals(file: &File) -> io::Result<i32> {
    // SAFETY: fcntl on a descriptor we own, with integer arguments.
    let ret = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GET_SEALS) };
    if ret < 0 {
        let err = io::Error::last_os_error();
        return if err.raw_os_error() == Some(libc::EINVAL) {
            Ok(0)
        } else {
            Err(err)
        };
    }
    Ok(ret)
}

/// The largest resident set any waited-for child of this process reached,
/// in bytes (getrusage RUSAGE_CHILDREN): how the memory-bound test measures
/// the `kexec` command.
pub fn children_peak_rss() -> io::Result<u64> {
    // SAFETY: getrusage fills the zeroed struct we pass and nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: see above.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // ru_maxrss is in KiB on Linux.
    Ok(u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::FileExt;

    #[test]
    fn a_sealed_memfd_keeps_its_bytes_and_refuses_changes() {
        let mut f = memfd("test").unwrap();
        f.write_all(b"initrd bytes").unwrap();
        seal(&f).unwrap();
        assert_eq!(seals(&f).unwrap() & INPUT_SEALS, INPUT_SEALS);
        assert!(f.write_at(b"x", 0).is_err());
        assert!(f.set_len(1).is_err());
        let map = Mapping::map(&f, 12).unwrap();
        assert_eq!(map.bytes(), b"initrd bytes");
        map.release(0, 12);
        assert_eq!(map.bytes(), b"initrd bytes", "released pages read back");
    }
}
