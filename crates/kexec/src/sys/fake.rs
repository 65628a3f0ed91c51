//! A scripted stand-in for the running kernel, for host-side tests: it serves
//! procfs/sysfs text from a map, records every call and mimics the kernel's
//! loaded/unloaded bookkeeping. It never touches the machine.

use super::abi::{FileFlags, KexecFlags, KEXEC_FILE_ON_CRASH, KEXEC_FILE_UNLOAD, KEXEC_ON_CRASH};
use super::errno::Errno;
use super::Host;
use crate::plan::Segment;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::os::fd::BorrowedFd;
use std::rc::Rc;

#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    FileLoad {
        kernel: bool,
        initrd: bool,
        cmdline: Vec<u8>,
        flags: FileFlags,
    },
    Load {
        entry: u64,
        segments: Vec<(u64, u64, usize)>,
        flags: KexecFlags,
    },
    Reboot,
    Sync,
    InterfacesDown,
    ExecShutdown,
}

pub struct FakeHost {
    pub files: HashMap<String, String>,
    pub binary_files: HashMap<String, Vec<u8>>,
    pub calls: Vec<Call>,
    /// What the next kexec_file_load / kexec_load returns.
    pub load_result: Result<(), Errno>,
    /// Answers for the next calls, in order, before `load_result` applies.
    pub load_results: VecDeque<Result<(), Errno>>,
    /// Files kexec keeps for itself (Host::write_state_file), by path.
    pub state_files: HashMap<String, Vec<u8>>,
    pub reboot_result: Errno,
    pub interfaces: Vec<String>,
    /// The segments (mem, data) of the last kexec_load call, for tests that
    /// read what the boot image holds (zero page, command line, purgatory).
    pub last_load_data: Vec<(u64, Vec<u8>)>,
    /// What each kexec_file_load found behind its (kernel, initrd) descriptors.
    pub passed_files: Vec<(Option<PassedFile>, Option<PassedFile>)>,
    /// The segments of each kexec_load, as the kernel would read them.
    pub passed_segments: Vec<Vec<Segment>>,
    /// The kernel log's records ("prio,seq,ts,flags;text"), shared with
    /// the readers `kernel_log` opened; None: /dev/kmsg cannot be opened.
    pub kmsg: Option<Rc<RefCell<Vec<String>>>>,
    /// Records each kexec_file_load with KEXEC_FILE_DEBUG appends to it.
    pub kmsg_on_debug_load: Vec<String>,
    /// The cache (Host::write_cache_file), by name; None: no cache.
    pub cache: Option<RefCell<HashMap<String, Vec<u8>>>>,
}

/// A reader of the fake kernel log: the records after where it opened.
struct FakeKmsg {
    log: Rc<RefCell<Vec<String>>>,
    next: usize,
}

impl super::KernelLog for FakeKmsg {
    fn read_new(&mut self) -> io::Result<Vec<String>> {
        let log = self.log.borrow();
        let new = log[self.next.min(log.len())..].to_vec();
        self.next = log.len();
        Ok(new)
    }
}

/// A descriptor handed to the fake kexec_file_load, as the kernel sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct PassedFile {
    pub regular: bool,
    pub seals: i32,
    pub bytes: Vec<u8>,
}

impl PassedFile {
    fn read(fd: BorrowedFd<'_>) -> PassedFile {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::from(fd.try_clone_to_owned().expect("dup a passed fd"));
        let regular = file.metadata().is_ok_and(|m| m.file_type().is_file());
        let mut bytes = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        // pread, as the kernel reads: from offset 0 whatever the file position.
        while let Ok(n) = file.read_at(&mut buf, bytes.len() as u64) {
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&buf[..n]);
        }
        PassedFile {
            regular,
            seals: super::mapping::seals(&file).unwrap_or(0),
            bytes,
        }
    }
}

pub const LOADED: &str = "/sys/kernel/kexec_loaded";
pub const CRASH_LOADED: &str = "/sys/kernel/kexec_crash_loaded";

impl FakeHost {
    /// An x86_64 machine as root with 2 GiB of RAM and crashkernel=256M,
    /// nothing loaded.
    ///
    /// ```
    /// use kexec::{Facts, FakeHost};
    /// let mut host = FakeHost::typical();
    /// assert_eq!(Facts::gather(&host).kexec_loaded, Some(false));
    /// host.set("/sys/kernel/kexec_loaded", "1\n");
    /// assert_eq!(Facts::gather(&host).kexec_loaded, Some(true));
    /// ```
    pub fn typical() -> FakeHost {
        let mut files = HashMap::new();
        let mut put = |k: &str, v: &str| {
            files.insert(k.to_string(), v.to_string());
        };
        put(LOADED, "0\n");
        put(CRASH_LOADED, "0\n");
        put("/sys/kernel/kexec_crash_size", "268435456\n");
        put("/proc/sys/kernel/kexec_load_disabled", "0\n");
        put("/proc/sys/kernel/osrelease", "6.1.0-56-amd64\n");
        put(
            "/proc/self/status",
            "Name:\tkexec\nCapEff:\t000001ffffffffff\n",
        );
        put(
            "/proc/meminfo",
            "MemTotal:        2031616 kB\nMemFree:         1000000 kB\n",
        );
        put(
            "/proc/cmdline",
            "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro crashkernel=256M quiet\n",
        );
        put(
            "/proc/cpuinfo",
            "processor\t: 0\nflags\t\t: fpu vme pae lm\n",
        );
        put(
            "/proc/iomem",
            "00000000-00000fff : Reserved\n\
             00001000-0009fbff : System RAM\n\
             00100000-7ffdffff : System RAM\n\
             \x20 01000000-01e00000 : Kernel code\n\
             \x20 65000000-74ffffff : Crash kernel\n\
             7ffe0000-7fffffff : Reserved\n",
        );
        FakeHost {
            files,
            binary_files: HashMap::new(),
            calls: Vec::new(),
            load_result: Ok(()),
            load_results: VecDeque::new(),
            state_files: HashMap::new(),
            reboot_result: Errno::EINVAL,
            interfaces: vec!["eth0".into()],
            last_load_data: Vec::new(),
            passed_files: Vec::new(),
            passed_segments: Vec::new(),
            kmsg: Some(Rc::new(RefCell::new(vec![
                "6,1,1000,-;Linux version 6.8.0 (fake)".to_string(),
            ]))),
            kmsg_on_debug_load: Vec::new(),
            cache: Some(RefCell::new(HashMap::new())),
        }
    }

    pub fn set(&mut self, path: &str, text: &str) {
        self.files.insert(path.to_string(), text.to_string());
    }

    pub fn unset(&mut self, path: &str) {
        self.files.remove(path);
        self.binary_files.remove(path);
    }

    /// A file whose bytes are not text (e.g. /proc/config.gz).
    pub fn set_bytes(&mut self, path: &str, bytes: &[u8]) {
        self.binary_files.insert(path.to_string(), bytes.to_vec());
    }

    /// Takes /sys away, as in an initramfs that never mounted it.
    pub fn unmount_sys(&mut self) {
        self.files.retain(|k, _| !k.starts_with("/sys/"));
        self.binary_files.retain(|k, _| !k.starts_with("/sys/"));
    }

    /// The kernel's bookkeeping, seen through sysfs only while it is mounted.
    fn mark(&mut self, path: &str, loaded: bool) {
        if let Some(state) = self.files.get_mut(path) {
            *state = if loaded { "1\n" } else { "0\n" }.to_string();
        }
    }

    /// kexec_load_permitted(): a limit of 0 refuses (EPERM) before anything
    /// else; any other limit but -1 is lowered, whatever the call does next.
    fn spend_load(&mut self, crash: bool) -> Result<(), Errno> {
        let file = if crash {
            "/proc/sys/kernel/kexec_load_limit_panic"
        } else {
            "/proc/sys/kernel/kexec_load_limit_reboot"
        };
        let Some(limit) = self
            .files
            .get(file)
            .and_then(|t| t.trim().parse::<i64>().ok())
        else {
            return Ok(());
        };
        match limit {
            0 => Err(Errno::EPERM),
            -1 => Ok(()),
            n => {
                self.set(file, &format!("{}\n", n - 1));
                Ok(())
            }
        }
    }

    fn next_load_result(&mut self) -> Result<(), Errno> {
        self.load_results.pop_front().unwrap_or(self.load_result)
    }
}

impl Host for FakeHost {
    fn read_text(&self, path: &str) -> io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    fn read_bytes(&self, path: &str) -> io::Result<Vec<u8>> {
        // A text file reads as its bytes too (e.g. /proc/cmdline).
        self.binary_files
            .get(path)
            .cloned()
            .or_else(|| self.files.get(path).map(|t| t.clone().into_bytes()))
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    fn read_head(&self, path: &str, len: usize) -> io::Result<Vec<u8>> {
        let mut bytes = self.read_bytes(path)?;
        bytes.truncate(len);
        Ok(bytes)
    }

    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let mut names: Vec<String> = self
            .files
            .keys()
            .chain(self.binary_files.keys())
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter_map(|rest| rest.split('/').next())
            .map(str::to_string)
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        super::sort_entry_names(&mut names);
        Ok(names)
    }

    fn random(&self, buf: &mut [u8]) -> io::Result<()> {
        // Deterministic, so tests can compare whole images.
        for (i, b) in buf.iter_mut().enumerate() {
            *b = i as u8 ^ 0x5a;
        }
        Ok(())
    }

    fn kexec_file_load(
        &mut self,
        kernel: Option<BorrowedFd<'_>>,
        initrd: Option<BorrowedFd<'_>>,
        cmdline: &[u8],
        flags: FileFlags,
    ) -> Result<(), Errno> {
        self.calls.push(Call::FileLoad {
            kernel: kernel.is_some(),
            initrd: initrd.is_some(),
            cmdline: cmdline.to_vec(),
            flags,
        });
        self.passed_files
            .push((kernel.map(PassedFile::read), initrd.map(PassedFile::read)));
        self.spend_load(flags.contains(KEXEC_FILE_ON_CRASH))?;
        if flags.contains(super::abi::KEXEC_FILE_DEBUG) {
            if let Some(log) = &self.kmsg {
                log.borrow_mut()
                    .extend(self.kmsg_on_debug_load.iter().cloned());
            }
        }
        let target = if flags.contains(KEXEC_FILE_ON_CRASH) {
            CRASH_LOADED
        } else {
            LOADED
        };
        // The kernel frees the old crash image before it validates the new one.
        if flags.contains(KEXEC_FILE_ON_CRASH) {
            self.mark(target, false);
        }
        self.next_load_result()?;
        self.mark(target, !flags.contains(KEXEC_FILE_UNLOAD));
        Ok(())
    }

    fn kexec_load(
        &mut self,
        entry: u64,
        segments: &[Segment],
        flags: KexecFlags,
    ) -> Result<(), Errno> {
        self.last_load_data = segments.iter().map(|s| (s.mem, s.data.to_vec())).collect();
        self.calls.push(Call::Load {
            entry,
            segments: segments
                .iter()
                .map(|s| (s.mem, s.memsz, s.data.len()))
                .collect(),
            flags,
        });
        self.passed_segments.push(segments.to_vec());
        self.spend_load(flags.contains(KEXEC_ON_CRASH))?;
        let target = if flags.contains(KEXEC_ON_CRASH) {
            CRASH_LOADED
        } else {
            LOADED
        };
        if flags.contains(KEXEC_ON_CRASH) {
            self.mark(target, false);
        }
        self.next_load_result()?;
        self.mark(target, !segments.is_empty());
        Ok(())
    }

    fn reboot_kexec(&mut self) -> Errno {
        self.calls.push(Call::Reboot);
        self.reboot_result
    }

    fn sync(&mut self) {
        self.calls.push(Call::Sync);
    }

    fn interfaces_down(&mut self) -> Vec<String> {
        self.calls.push(Call::InterfacesDown);
        std::mem::take(&mut self.interfaces)
    }

    fn exec_shutdown(&mut self) -> io::Error {
        self.calls.push(Call::ExecShutdown);
        io::Error::from(io::ErrorKind::NotFound)
    }

    fn read_state_file(&self, path: &str) -> io::Result<Vec<u8>> {
        self.state_files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    fn write_state_file(&mut self, path: &str, bytes: &[u8]) -> io::Result<()> {
        self.state_files.insert(path.to_string(), bytes.to_vec());
        Ok(())
    }

    fn kernel_log(&self) -> io::Result<Box<dyn super::KernelLog>> {
        let log = self
            .kmsg
            .clone()
            .ok_or_else(|| io::Error::from(io::ErrorKind::PermissionDenied))?;
        let next = log.borrow().len();
        Ok(Box::new(FakeKmsg { log, next }))
    }

    fn remove_state_file(&mut self, path: &str) -> io::Result<()> {
        self.state_files.remove(path);
        Ok(())
    }

    fn read_cache_file(&self, name: &str) -> io::Result<Vec<u8>> {
        self.cache
            .as_ref()
            .and_then(|c| c.borrow().get(name).cloned())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, name.to_string()))
    }

    fn write_cache_file(&self, name: &str, parts: &[&[u8]]) -> io::Result<()> {
        let cache = self
            .cache
            .as_ref()
            .ok_or_else(|| io::Error::from(io::ErrorKind::Unsupported))?;
        cache.borrow_mut().insert(name.to_string(), parts.concat());
        Ok(())
    }
}
