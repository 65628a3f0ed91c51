//! A scripted stand-in for the running kernel, for host-side tests: it serves
//! procfs/sysfs text from a map, records every call and mimics the kernel's
//! loaded/unloaded bookkeeping. It never touches the machine.

use super::abi::{FileFlags, KexecFlags, KEXEC_FILE_ON_CRASH, KEXEC_FILE_UNLOAD, KEXEC_ON_CRASH};
use super::errno::Errno;
use super::Host;
use crate::plan::Segment;
use std::collections::HashMap;
use std::io;
use std::os::fd::BorrowedFd;

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
    pub reboot_result: Errno,
    pub interfaces: Vec<String>,
}

pub const LOADED: &str = "/sys/kernel/kexec_loaded";
pub const CRASH_LOADED: &str = "/sys/kernel/kexec_crash_loaded";

impl FakeHost {
    /// An x86_64 machine as root with 2 GiB of RAM and crashkernel=256M,
    /// nothing loaded.
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
            reboot_result: Errno::EINVAL,
            interfaces: vec!["eth0".into()],
        }
    }

    pub fn set(&mut self, path: &str, text: &str) {
        self.files.insert(path.to_string(), text.to_string());
    }

    pub fn unset(&mut self, path: &str) {
        self.files.remove(path);
    }

    fn mark(&mut self, path: &str, loaded: bool) {
        self.set(path, if loaded { "1\n" } else { "0\n" });
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
        self.binary_files
            .get(path)
            .cloned()
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
        let target = if flags.contains(KEXEC_FILE_ON_CRASH) {
            CRASH_LOADED
        } else {
            LOADED
        };
        // The kernel frees the old crash image before it validates the new one.
        if flags.contains(KEXEC_FILE_ON_CRASH) {
            self.mark(target, false);
        }
        self.load_result?;
        self.mark(target, !flags.contains(KEXEC_FILE_UNLOAD));
        Ok(())
    }

    fn kexec_load(
        &mut self,
        entry: u64,
        segments: &[Segment],
        flags: KexecFlags,
    ) -> Result<(), Errno> {
        self.calls.push(Call::Load {
            entry,
            segments: segments
                .iter()
                .map(|s| (s.mem, s.memsz, s.data.len()))
                .collect(),
            flags,
        });
        let target = if flags.contains(KEXEC_ON_CRASH) {
            CRASH_LOADED
        } else {
            LOADED
        };
        if flags.contains(KEXEC_ON_CRASH) {
            self.mark(target, false);
        }
        self.load_result?;
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
}
