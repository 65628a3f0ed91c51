//! The seam between kexec and the running system: the three system calls,
//! sync, network interfaces and the procfs/sysfs files the rules read.
//! `LinuxHost` is the real thing; host-side tests use `FakeHost`, so no test
//! on the development machine ever makes a real load or exec.

pub mod abi;
pub mod errno;
// FakeHost is a test double (the `testing` feature), not part of the
// documented API.
#[cfg(any(test, feature = "testing"))]
#[allow(missing_docs)]
pub mod fake;
pub mod linux;
pub mod mapping;

use crate::plan::Segment;
use abi::{FileFlags, KexecFlags};
use errno::Errno;
use std::io;
use std::os::fd::BorrowedFd;

#[cfg(any(test, feature = "testing"))]
pub use fake::FakeHost;
pub use linux::LinuxHost;

/// Everything kexec asks of the running system. The library reaches the
/// kernel only through this trait, so a front end or a test can pass any
/// implementation: [`LinuxHost`] for real, `FakeHost` in tests.
pub trait Host {
    /// Reads a small text file of procfs or sysfs (e.g. /proc/iomem).
    fn read_text(&self, path: &str) -> io::Result<String>;

    /// Reads a binary file of sysfs (e.g. /sys/kernel/boot_params/data).
    fn read_bytes(&self, path: &str) -> io::Result<Vec<u8>>;

    /// The first `len` bytes of a file that may be huge (e.g. /proc/kcore).
    fn read_head(&self, path: &str, len: usize) -> io::Result<Vec<u8>>;

    /// Names in a procfs/sysfs directory, in numeric-then-text order.
    fn list_dir(&self, path: &str) -> io::Result<Vec<String>>;

    /// Hands the lines of a large text file (e.g. /proc/kallsyms) to `visit`
    /// until it returns false, so a search can stop early.
    fn scan_lines(&self, path: &str, visit: &mut dyn FnMut(&str) -> bool) -> io::Result<()> {
        for line in self.read_text(path)?.lines() {
            if !visit(line) {
                break;
            }
        }
        Ok(())
    }

    /// Fills `buf` with fresh random bytes for the next kernel (its RNG
    /// seed), all of it or an error: never a partly zero seed.
    fn random(&self, buf: &mut [u8]) -> io::Result<()>;

    /// kexec_file_load(2). `cmdline` is passed as is; it must end in NUL to be accepted.
    fn kexec_file_load(
        &mut self,
        kernel: Option<BorrowedFd<'_>>,
        initrd: Option<BorrowedFd<'_>>,
        cmdline: &[u8],
        flags: FileFlags,
    ) -> Result<(), Errno>;

    /// kexec_load(2) with the given segments (none = unload).
    fn kexec_load(
        &mut self,
        entry: u64,
        segments: &[Segment],
        flags: KexecFlags,
    ) -> Result<(), Errno>;

    /// reboot(LINUX_REBOOT_CMD_KEXEC). Returns only when the kernel refused.
    fn reboot_kexec(&mut self) -> Errno;

    /// sync(2): flush file systems before the jump (the kernel does not).
    fn sync(&mut self);

    /// Takes every network interface but loopback down; returns their names.
    fn interfaces_down(&mut self) -> Vec<String>;

    /// Replaces this process with `shutdown -r now`; returns only on failure.
    fn exec_shutdown(&mut self) -> io::Error;

    /// Reads a file kexec keeps for itself (the crash-load record under
    /// /run/kexec); refuses one that someone other than us could have written.
    fn read_state_file(&self, path: &str) -> io::Result<Vec<u8>>;

    /// Replaces such a file atomically (temp file, fsync, rename), in a
    /// directory only we can enter (0700) and readable only by us (0600).
    fn write_state_file(&mut self, path: &str, bytes: &[u8]) -> io::Result<()>;

    /// Removes such a file; one that does not exist is already removed.
    fn remove_state_file(&mut self, path: &str) -> io::Result<()>;

    /// Reads a file of kexec's cache of what it derives from kernel files
    /// (kernels decompressed at load) by name: NotFound when there is none,
    /// an error when the cache cannot be trusted. A host without a cache
    /// (the default) has none.
    fn read_cache_file(&self, name: &str) -> io::Result<Vec<u8>> {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no cache for {name}"),
        ))
    }

    /// Keeps `parts`, in order, as the cache file `name`, written whole
    /// (temp file, rename) or not at all; the cache keeps only the file
    /// written last. Best effort: a reader checks what it reads.
    fn write_cache_file(&self, name: &str, parts: &[&[u8]]) -> io::Result<()> {
        let _ = parts;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("no cache for {name}"),
        ))
    }

    /// Opens the kernel's log (/dev/kmsg) at its end, so that the reader
    /// returns only the records written after this call: those of a system
    /// call made in between (KEXEC_FILE_DEBUG's lines).
    fn kernel_log(&self) -> io::Result<Box<dyn KernelLog>>;
}

/// The kernel log records written since the reader was opened.
pub trait KernelLog {
    /// The new records as /dev/kmsg gives them, "prio,seq,ts,flags;text"
    /// (each with its continuation lines, if any), oldest first; waits for
    /// none.
    fn read_new(&mut self) -> io::Result<Vec<String>>;
}

/// Where the kernel log is read from.
pub const KMSG: &str = "/dev/kmsg";

/// Sorts directory entries as people expect: "2" before "10", then names.
pub fn sort_entry_names(names: &mut [String]) {
    names.sort_by(|a, b| match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        _ => a.cmp(b),
    });
}
