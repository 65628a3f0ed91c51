//! The harness of the command's tests (`tests/*.rs`): a temporary directory of inputs, and the command
//! run in-process against a `FakeHost`, so no test makes a real system call.

// Each test file uses some of it.
#![allow(dead_code)]

use kexec::testing::bzimage64_sample;
use kexec::FakeHost;
use std::ffi::OsString;
use std::path::PathBuf;

/// A temporary directory, removed when dropped, holding the inputs most
/// tests name: `vmlinuz` (a bzImage64 head), `vmlinux` (an x86_64 ELF head),
/// `initrd`, `empty` and `text.txt` (not a kernel).
pub struct Dir(pub PathBuf);

impl Dir {
    /// `name` tells the tests of one process apart; the process id tells
    /// apart test binaries running at the same time.
    pub fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("kexec-test-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("vmlinuz"), bzimage64_sample()).unwrap();
        // The head of an x86_64 ELF vmlinux: enough for the loader's probe.
        let mut elf = vec![0u8; 4096];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2; // ELFCLASS64
        elf[5] = 1; // little endian
        elf[6] = 1;
        elf[16] = 2; // ET_EXEC
        elf[18] = 62; // EM_X86_64
        std::fs::write(d.join("vmlinux"), elf).unwrap();
        std::fs::write(d.join("initrd"), b"070701 initrd").unwrap();
        std::fs::write(d.join("empty"), b"").unwrap();
        std::fs::write(d.join("text.txt"), "not a kernel\n".repeat(200)).unwrap();
        Dir(d)
    }

    /// The path of `name` in this directory, as an argument.
    pub fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    /// Writes `bytes` as `name` in this directory; returns its path.
    pub fn put(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.0.join(name), bytes).unwrap();
        self.path(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one run of the command returned and wrote.
pub struct Ran {
    pub code: i32,
    pub out: String,
    pub err: String,
}

/// Runs `kexec ARGS...` against `host`.
pub fn kexec(host: &mut FakeHost, args: &[&str]) -> Ran {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    kexec_os(host, &args)
}

/// Runs `kexec ARGS...` against `host`, for arguments that are not UTF-8.
pub fn kexec_os(host: &mut FakeHost, args: &[OsString]) -> Ran {
    let argv = std::iter::once(OsString::from("kexec")).chain(args.iter().cloned());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = kexec_cli::run::run(argv, host, &mut out, &mut err);
    Ran {
        code,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}
