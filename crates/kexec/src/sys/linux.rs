//! The real system: raw syscalls through libc. All of the library's `unsafe`
//! outside the purgatory lives here.

use super::abi::{
    FileFlags, KexecFlags, LINUX_REBOOT_CMD_KEXEC, SYS_KEXEC_FILE_LOAD, SYS_KEXEC_LOAD,
};
use super::errno::Errno;
use super::Host;
use crate::plan::Segment;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// `struct kexec_segment` of include/uapi/linux/kexec.h.
#[repr(C)]
struct KexecSegment {
    buf: *const libc::c_void,
    bufsz: libc::size_t,
    mem: libc::c_ulong,
    memsz: libc::size_t,
}

/// The CPUs this process may run on (sched_getaffinity), at least one.
/// (std's available_parallelism also reads the cgroup files, which costs
/// the static binary more than its size budget allows.)
pub fn usable_cpus() -> usize {
    // SAFETY: cpu_set_t is plain data, all zeroes a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel writes at most size_of::<cpu_set_t>() bytes into set.
    let got =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if got != 0 {
        return 1;
    }
    // SAFETY: set is an initialised cpu_set_t.
    let count = unsafe { libc::CPU_COUNT(&set) };
    usize::try_from(count).unwrap_or(1).max(1)
}

/// The real [`Host`]: the system calls and files of the
/// running Linux system. Loads, unloads and exec through it are real.
#[derive(Default)]
pub struct LinuxHost;

fn result_of(ret: libc::c_long) -> Result<(), Errno> {
    if ret == 0 {
        Ok(())
    } else {
        Err(Errno::from_io(&io::Error::last_os_error()))
    }
}

/// Fills all of `buf` from `read` (getrandom): a signal (EINTR) retries,
/// any other error or a read of nothing fails. A seed is never left partly zero.
fn fill(buf: &mut [u8], mut read: impl FnMut(&mut [u8]) -> io::Result<usize>) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match read(&mut buf[done..]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "getrandom returned nothing after {done} of {} bytes",
                        buf.len()
                    ),
                ))
            }
            Ok(n) => done += n.min(buf.len() - done),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Host for LinuxHost {
    fn read_text(&self, path: &str) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn read_bytes(&self, path: &str) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn read_head(&self, path: &str, len: usize) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let mut buf = Vec::with_capacity(len);
        std::fs::File::open(path)?
            .take(len as u64)
            .read_to_end(&mut buf)?;
        Ok(buf)
    }

    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        super::sort_entry_names(&mut names);
        Ok(names)
    }

    fn scan_lines(&self, path: &str, visit: &mut dyn FnMut(&str) -> bool) -> io::Result<()> {
        use std::io::BufRead;
        // Streamed: /proc/kallsyms is megabytes, and the kernel formats each
        // line as it is read.
        let mut reader = io::BufReader::new(std::fs::File::open(path)?);
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 || !visit(line.trim_end_matches('\n')) {
                return Ok(());
            }
        }
    }

    fn random(&self, buf: &mut [u8]) -> io::Result<()> {
        // getrandom(2) blocks only before the pool is initialised at boot.
        fill(buf, |rest| {
            // SAFETY: writes at most rest.len() bytes into rest.
            let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        })
    }

    fn kexec_file_load(
        &mut self,
        kernel: Option<BorrowedFd<'_>>,
        initrd: Option<BorrowedFd<'_>>,
        cmdline: &[u8],
        flags: FileFlags,
    ) -> Result<(), Errno> {
        let kernel_fd = kernel.map_or(-1, |fd| fd.as_raw_fd());
        let initrd_fd = initrd.map_or(-1, |fd| fd.as_raw_fd());
        let cmdline_ptr = if cmdline.is_empty() {
            std::ptr::null()
        } else {
            cmdline.as_ptr()
        };
        // SAFETY: the fds are borrowed for the call; cmdline points to
        // cmdline.len() readable bytes (or is NULL with length 0).
        let ret = unsafe {
            libc::syscall(
                SYS_KEXEC_FILE_LOAD,
                kernel_fd as libc::c_long,
                initrd_fd as libc::c_long,
                cmdline.len() as libc::c_ulong,
                cmdline_ptr,
                flags.0 as libc::c_ulong,
            )
        };
        result_of(ret)
    }

    fn kexec_load(
        &mut self,
        entry: u64,
        segments: &[Segment],
        flags: KexecFlags,
    ) -> Result<(), Errno> {
        let raw: Vec<KexecSegment> = segments
            .iter()
            .map(|s| KexecSegment {
                buf: if s.data.is_empty() {
                    std::ptr::null()
                } else {
                    s.data.as_ptr().cast()
                },
                bufsz: s.data.len(),
                mem: s.mem as libc::c_ulong,
                memsz: s.memsz as libc::size_t,
            })
            .collect();
        // SAFETY: `raw` and every buffer it points to outlive the call; the
        // kernel only reads them.
        let ret = unsafe {
            libc::syscall(
                SYS_KEXEC_LOAD,
                entry as libc::c_ulong,
                raw.len() as libc::c_ulong,
                raw.as_ptr(),
                flags.0 as libc::c_ulong,
            )
        };
        result_of(ret)
    }

    fn reboot_kexec(&mut self) -> Errno {
        // SAFETY: plain syscall; on success it does not return.
        let ret = unsafe { libc::reboot(LINUX_REBOOT_CMD_KEXEC) };
        if ret == 0 {
            Errno(0)
        } else {
            Errno::from_io(&io::Error::last_os_error())
        }
    }

    fn sync(&mut self) {
        // SAFETY: sync(2) has no arguments and cannot fail.
        unsafe { libc::sync() }
    }

    fn interfaces_down(&mut self) -> Vec<String> {
        let mut down = Vec::new();
        // SAFETY: if_nameindex returns a NULL-terminated array we free below;
        // ifreq is plain data; the socket is closed before returning.
        unsafe {
            let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            if sock < 0 {
                return down;
            }
            let list = libc::if_nameindex();
            if !list.is_null() {
                let mut entry = list;
                while (*entry).if_index != 0 && !(*entry).if_name.is_null() {
                    let name = CStr::from_ptr((*entry).if_name);
                    entry = entry.add(1);
                    let text = name.to_string_lossy().into_owned();
                    if text == "lo" || text.starts_with("lo:") {
                        continue;
                    }
                    let mut req: libc::ifreq = std::mem::zeroed();
                    let bytes = name.to_bytes();
                    if bytes.len() >= req.ifr_name.len() {
                        continue;
                    }
                    for (dst, src) in req.ifr_name.iter_mut().zip(bytes) {
                        *dst = *src as libc::c_char;
                    }
                    if libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) < 0 {
                        continue;
                    }
                    if req.ifr_ifru.ifru_flags & libc::IFF_UP as libc::c_short == 0 {
                        continue;
                    }
                    req.ifr_ifru.ifru_flags &= !(libc::IFF_UP as libc::c_short);
                    if libc::ioctl(sock, libc::SIOCSIFFLAGS, &req) == 0 {
                        down.push(text);
                    }
                }
                libc::if_freenameindex(list);
            }
            libc::close(sock);
        }
        down
    }

    fn exec_shutdown(&mut self) -> io::Error {
        // execv(3) itself, not std's Command (8 KB of a static binary kept
        // under 2 MB). As Command does, the program we become gets the
        // default SIGPIPE action back (Rust's runtime ignores it).
        // SAFETY: signal(2) with a constant disposition has no memory effects.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        let mut last = io::Error::from(io::ErrorKind::NotFound);
        for path in [c"/sbin/shutdown", c"/etc/shutdown", c"/bin/shutdown"] {
            let argv = [
                path.as_ptr(),
                c"-r".as_ptr(),
                c"now".as_ptr(),
                std::ptr::null(),
            ];
            // SAFETY: NUL-terminated strings and a null-terminated argv that
            // outlive the call; execv returns only when it failed.
            unsafe { libc::execv(path.as_ptr(), argv.as_ptr()) };
            last = io::Error::last_os_error();
        }
        last
    }

    fn read_state_file(&self, path: &str) -> io::Result<Vec<u8>> {
        read_private(Path::new(path))
    }

    fn write_state_file(&mut self, path: &str, bytes: &[u8]) -> io::Result<()> {
        write_private(Path::new(path), &[bytes], true)
    }

    fn kernel_log(&self) -> io::Result<Box<dyn super::KernelLog>> {
        use std::io::{Seek, SeekFrom};
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(super::KMSG)?;
        // SEEK_END: the next read is the first record written after now.
        file.seek(SeekFrom::End(0))?;
        Ok(Box::new(Kmsg(file)))
    }

    fn read_cache_file(&self, name: &str) -> io::Result<Vec<u8>> {
        read_cache_in(&cache_dir()?, name)
    }

    fn write_cache_file(&self, name: &str, parts: &[&[u8]]) -> io::Result<()> {
        write_cache_in(&cache_dir()?, name, parts)
    }

    fn remove_state_file(&mut self, path: &str) -> io::Result<()> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

/// The directory of kexec's own files must be a real directory that only
/// we (root) can write or enter: anyone else could plant a record there.
/// /dev/kmsg opened non-blocking: each read() gives one record.
struct Kmsg(std::fs::File);

impl super::KernelLog for Kmsg {
    fn read_new(&mut self) -> io::Result<Vec<String>> {
        use std::io::Read;
        // A record is at most about 8 KiB (text plus its dictionary).
        let mut buf = vec![0u8; 16 * 1024];
        let mut records = Vec::new();
        loop {
            match self.0.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => records.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
                // Nothing more was written.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // EPIPE: records were overwritten before we read them; the
                // next read goes on with the oldest one left.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(records)
    }
}

fn private_dir(dir: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.file_type().is_dir() {
        return Err(io::Error::other(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    only_ours(dir, &meta, 0o077)
}

/// Creates `dir` (0700, its parents as needed) unless it exists, then
/// checks that only we can write or enter it.
fn make_private_dir(dir: &Path) -> io::Result<()> {
    if !dir.exists() {
        if let Some(up) = dir.parent() {
            std::fs::create_dir_all(up)?;
        }
        match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
    }
    private_dir(dir)
}

/// Reads a file of ours, in a directory only we can write, that only we
/// can write; refuses anything else (a file someone else could have planted).
fn read_private(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    let meta = file.metadata()?;
    only_ours(path, &meta, 0o022)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Replaces a file of ours whole with `parts`, in order: a temporary file
/// (0600) renamed over it, in a directory made 0700 if missing. `durable`:
/// synced before and after the rename (a cache file is not: one cut short
/// fails its reader's check and is made again).
fn write_private(path: &Path, parts: &[&[u8]], durable: bool) -> io::Result<()> {
    use std::io::Write;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    };
    make_private_dir(dir)?;
    let mut temp_name = name.to_os_string();
    temp_name.push(format!(".tmp.{}", std::process::id()));
    let temp = dir.join(temp_name);
    let _ = std::fs::remove_file(&temp);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp)?;
        for part in parts {
            file.write_all(part)?;
        }
        if durable {
            file.sync_all()?;
        }
        std::fs::rename(&temp, path)?;
        if durable {
            // The rename itself is durable once the directory is synced.
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Reads the cache file `name` of `dir`. Someone else's cache (root's,
/// seen by a user's dry run) is no cache of ours: nothing to read, nothing
/// to complain about.
fn read_cache_in(dir: &Path, name: &str) -> io::Result<Vec<u8>> {
    // SAFETY: geteuid(2) has no arguments and cannot fail.
    if std::fs::symlink_metadata(dir)?.uid() != unsafe { libc::geteuid() } {
        return Err(io::Error::new(io::ErrorKind::NotFound, "not our cache"));
    }
    read_private(&dir.join(cache_name(name)?))
}

/// Writes the cache file `name` of `dir`, then removes the others: the
/// cache keeps the last kernel unpacked (the one a machine reboots into
/// again and again), not every kernel it ever saw.
fn write_cache_in(dir: &Path, name: &str, parts: &[&[u8]]) -> io::Result<()> {
    write_private(&dir.join(cache_name(name)?), parts, false)?;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let other = entry.file_name();
        let other = other.to_string_lossy();
        if other != name && !other.contains(".tmp.") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Where the cache lives: $KEXEC_CACHE_DIR (empty: no cache), else
/// /var/cache/kexec.
fn cache_dir() -> io::Result<std::path::PathBuf> {
    match std::env::var_os("KEXEC_CACHE_DIR") {
        Some(dir) if dir.is_empty() => Err(io::Error::new(
            io::ErrorKind::NotFound,
            "KEXEC_CACHE_DIR is empty: no cache",
        )),
        Some(dir) => Ok(dir.into()),
        None => Ok(CACHE_DIR.into()),
    }
}

/// The cache's default directory.
pub const CACHE_DIR: &str = "/var/cache/kexec";

/// A cache file's name is one plain name inside the cache directory.
fn cache_name(name: &str) -> io::Result<&str> {
    if name.is_empty() || name.starts_with('.') || name.contains('/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a cache file name"),
        ));
    }
    Ok(name)
}

/// Refuses a file not owned by our effective uid or with any of `forbidden`
/// mode bits set.
fn only_ours(path: &Path, meta: &std::fs::Metadata, forbidden: u32) -> io::Result<()> {
    // SAFETY: geteuid(2) has no arguments and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if meta.uid() != euid || meta.mode() & forbidden != 0 {
        return Err(io::Error::other(format!(
            "{} is owned by uid {} with mode {:o}; only uid {euid} with none of the bits {forbidden:o} is trusted",
            path.display(),
            meta.uid(),
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn cache_files_are_private_whole_and_one() {
        let dir = std::env::temp_dir().join(format!("kexec-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        assert_eq!(
            read_private(&dir.join("a.vmlinux")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        std::fs::remove_dir(&dir).unwrap();
        write_cache_in(&dir, "a.vmlinux", &[b"abc", b"def"]).unwrap();
        assert_eq!(read_private(&dir.join("a.vmlinux")).unwrap(), b"abcdef");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("a.vmlinux")), 0o600);
        for bad in ["", ".hidden", "../x", "a/b"] {
            assert!(write_cache_in(&dir, bad, &[b"x"]).is_err(), "{bad:?}");
        }
        // Only the last one written stays.
        write_cache_in(&dir, "b.vmlinux", &[b"x"]).unwrap();
        let left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, ["b.vmlinux"]);
        assert_eq!(read_cache_in(&dir, "b.vmlinux").unwrap(), b"x");
        // Someone else's cache is none of ours, silently.
        let theirs = dir.with_extension("theirs");
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&theirs)
            .unwrap();
        // (Only root can give a directory away; as a user, "/" is root's.)
        let given = std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).is_ok();
        let other = if given {
            theirs.as_path()
        } else {
            Path::new("/")
        };
        let err = read_cache_in(other, "b.vmlinux").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        std::fs::remove_dir(&theirs).unwrap();
        // A directory others may write is not trusted.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(read_private(&dir.join("b.vmlinux"))
            .unwrap_err()
            .to_string()
            .contains("trusted"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn state_files_are_private_atomic_and_checked() {
        let base = std::env::temp_dir().join(format!("kexec-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let path = base.join("kexec/crash.json");
        let path = path.to_str().unwrap();
        let mut host = LinuxHost;
        host.write_state_file(path, b"one").unwrap();
        host.write_state_file(path, b"two").unwrap();
        assert_eq!(host.read_state_file(path).unwrap(), b"two");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&base.join("kexec")), 0o700);
        assert_eq!(mode(Path::new(path)), 0o600);
        assert_eq!(
            std::fs::read_dir(base.join("kexec")).unwrap().count(),
            1,
            "no temp file left"
        );
        // A directory others can write is not trusted.
        std::fs::set_permissions(base.join("kexec"), std::fs::Permissions::from_mode(0o777))
            .unwrap();
        let err = host.read_state_file(path).unwrap_err();
        assert!(err.to_string().contains("mode 777"), "{err}");
        std::fs::set_permissions(base.join("kexec"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
        host.remove_state_file(path).unwrap();
        host.remove_state_file(path).unwrap();
        assert_eq!(
            host.read_state_file(path).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}

#[cfg(test)]
mod rng_tests {
    use super::fill;
    use std::io;

    /// Regression (issue 8, finding 9): EINTR stopped the filling and left
    /// the rest of the RNG seed zero.
    /// The real /dev/kmsg (read only): opened at its end, the reader never
    /// blocks, and whatever it returns is in /dev/kmsg's record format. A
    /// container without access answers an error, which the load reports.
    #[test]
    fn kernel_log_starts_at_the_end_and_never_blocks() {
        let Ok(mut reader) = crate::sys::Host::kernel_log(&super::LinuxHost) else {
            return;
        };
        let records = reader.read_new().expect("a non-blocking read");
        assert!(
            records.iter().all(|r| crate::kmsg::parse(r).is_some()),
            "{records:?}"
        );
    }

    #[test]
    fn random_fill_retries_eintr_and_never_leaves_zeros() {
        let mut answers = vec![
            Err(io::Error::from_raw_os_error(libc::EINTR)),
            Ok(5),
            Err(io::Error::from_raw_os_error(libc::EINTR)),
            Ok(27),
        ]
        .into_iter();
        let mut seed = [0u8; 32];
        fill(&mut seed, |rest| {
            let answer = answers.next().expect("no more reads than answers");
            if let Ok(n) = answer {
                rest[..n].fill(0xa5);
            }
            answer
        })
        .unwrap();
        assert_eq!(seed, [0xa5; 32]);
        // Any other error, or no bytes at all, is an error, not a short seed.
        let err = fill(&mut seed, |_| {
            Err(io::Error::from_raw_os_error(libc::ENOSYS))
        });
        assert_eq!(err.unwrap_err().raw_os_error(), Some(libc::ENOSYS));
        let err = fill(&mut seed, |_| Ok(0)).unwrap_err();
        assert!(err.to_string().contains("0 of 32 bytes"), "{err}");
        // The real thing fills 32 bytes.
        let mut real = [0u8; 32];
        crate::sys::Host::random(&super::LinuxHost, &mut real).unwrap();
        assert_ne!(real, [0u8; 32]);
    }
}
