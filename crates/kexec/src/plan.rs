//! The plan: one value that describes a load completely — which system call,
//! which flags, and either the open kernel/initrd files and command line
//! (kexec_file_load) or the segments and entry point (kexec_load). It is
//! built without privileges and printed by `--dry-run`.

use crate::cmdline;
use crate::image::bzimage::{SetupHeader, HEADER_MAGIC};
use crate::image::uki::{self, FromUki};
use crate::image::{Input, PROBE_BYTES};
use crate::memory::human_size;
use crate::sys::abi::{
    FileFlags, KexecArch, KexecFlags, KEXEC_FILE_NO_INITRAMFS, KEXEC_FILE_ON_CRASH,
    KEXEC_FILE_UNLOAD, KEXEC_ON_CRASH,
};
use crate::sys::mapping::Mapping;
use serde::Serialize;
use serde_json::{json, Value};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Which image slot a call acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The kernel `kexec -e` (reboot(LINUX_REBOOT_CMD_KEXEC)) jumps to.
    Normal,
    /// The crash (kdump) kernel the running kernel jumps to when it panics.
    Crash,
}

impl Target {
    /// "kernel" or "crash kernel", as messages name the slot.
    pub fn describe(self) -> &'static str {
        match self {
            Target::Normal => "kernel",
            Target::Crash => "crash kernel",
        }
    }
}

/// The two system calls that load a kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Syscall {
    /// kexec_file_load(2): the kernel reads and checks the files itself.
    #[serde(rename = "kexec_file_load")]
    KexecFileLoad,
    /// kexec_load(2): user space hands over finished segments and an entry point.
    #[serde(rename = "kexec_load")]
    KexecLoad,
}

impl Syscall {
    /// The call's name, as the man pages and `--json` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Syscall::KexecFileLoad => "kexec_file_load",
            Syscall::KexecLoad => "kexec_load",
        }
    }
}

/// The bytes of a segment: built in memory, or a range of an input file
/// mapped read-only, whose pages the kernel reads without our copying them.
#[derive(Clone)]
pub enum SegmentData {
    /// Bytes built in memory.
    Bytes(Vec<u8>),
    /// A range of a read-only mapping of an input file.
    Mapped {
        /// The mapping.
        map: Arc<Mapping>,
        /// Where the range starts in it.
        offset: usize,
        /// Its length.
        len: usize,
    },
}

/// Bytes hashed (and, for a mapping, released) at a time.
const CHUNK: usize = 4 << 20;

impl SegmentData {
    /// `bytes` as a view of the mapping among `sources` that holds them,
    /// else a copy.
    pub fn share(bytes: &[u8], sources: &[&Arc<Mapping>]) -> SegmentData {
        let at = bytes.as_ptr() as usize;
        for map in sources {
            let base = map.bytes().as_ptr() as usize;
            if !bytes.is_empty() && at >= base && at + bytes.len() <= base + map.len() {
                return SegmentData::Mapped {
                    map: Arc::clone(map),
                    offset: at - base,
                    len: bytes.len(),
                };
            }
        }
        SegmentData::Bytes(bytes.to_vec())
    }

    /// Hands the bytes to `f` a chunk at a time; a mapping's pages are
    /// released after each chunk, so hashing a huge initrd keeps little of
    /// it resident.
    pub fn for_each_chunk(&self, f: impl FnMut(&[u8])) {
        self.for_each_chunk_in(0, self.len(), f)
    }

    /// The same for the `len` bytes from `start` (of the data, not of the
    /// mapping): pieces of one segment can be hashed on several threads.
    pub fn for_each_chunk_in(&self, start: usize, len: usize, mut f: impl FnMut(&[u8])) {
        match self {
            SegmentData::Bytes(v) => f(&v[start..start + len]),
            SegmentData::Mapped { map, offset, .. } => {
                let mut at = offset + start;
                let end = at + len;
                while at < end {
                    let next = (at + CHUNK).min(end);
                    f(&map.bytes()[at..next]);
                    map.release(at, next);
                    at = next;
                }
            }
        }
    }
}

impl std::ops::Deref for SegmentData {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            SegmentData::Bytes(v) => v,
            SegmentData::Mapped { map, offset, len } => &map.bytes()[*offset..offset + len],
        }
    }
}

/// Writing copies a mapped range first (only test instruments write).
impl std::ops::DerefMut for SegmentData {
    fn deref_mut(&mut self) -> &mut [u8] {
        if let SegmentData::Mapped { .. } = self {
            *self = SegmentData::Bytes(self.to_vec());
        }
        match self {
            SegmentData::Bytes(v) => v,
            SegmentData::Mapped { .. } => unreachable!("copied above"),
        }
    }
}

impl From<Vec<u8>> for SegmentData {
    fn from(bytes: Vec<u8>) -> SegmentData {
        SegmentData::Bytes(bytes)
    }
}

impl std::fmt::Debug for SegmentData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SegmentData::Bytes(v) => write!(f, "Bytes({} bytes)", v.len()),
            SegmentData::Mapped { offset, len, .. } => {
                write!(f, "Mapped({len} bytes at file offset {offset:#x})")
            }
        }
    }
}

/// One kexec_load segment: `data` copied to physical `mem`, zero-filled up to `memsz`.
#[derive(Clone, Debug, Serialize)]
pub struct Segment {
    /// What the segment holds, for people ("kernel", "initrd", "purgatory", ...).
    pub purpose: String,
    /// Its bytes.
    #[serde(skip)]
    pub data: SegmentData,
    /// The physical address they are copied to.
    pub mem: u64,
    /// Memory the segment takes; the part past `data` is zero-filled.
    pub memsz: u64,
    /// The SHA-256 digests our purgatory checks before it enters the kernel
    /// (of `data`, in pieces of [`crate::arch::digests::piece_len`]; the
    /// zero fill is the next kernel's scratch or bss), for the segments it
    /// checks.
    #[serde(skip)]
    pub digest: Option<Vec<crate::arch::digests::Piece>>,
}

impl Segment {
    /// The purgatory's digest in hex when it checks this segment whole;
    /// None when it does not check it, or checks it in pieces.
    pub fn digest_hex(&self) -> Option<String> {
        match self.digest.as_deref()? {
            [one] => Some(one.hex()),
            _ => None,
        }
    }

    /// The name of the hash the purgatory checks this segment with
    /// ("sha256", "xxh3-128"), if it checks it.
    pub fn digest_algorithm(&self) -> Option<&'static str> {
        Some(self.digest.as_deref()?.first()?.algorithm.name())
    }

    /// Each piece the purgatory checks: (offset, length, digest in hex).
    pub fn pieces_hex(&self) -> Vec<(u64, u64, String)> {
        self.digest
            .iter()
            .flatten()
            .map(|p| (p.offset, p.len, p.hex()))
            .collect()
    }
}

/// "12.3 MiB", or "a pipe, read to EOF: 12.3 MiB" for a streamed input.
fn streamed_or_size(input: &Input) -> String {
    if let Some(part) = input.extracted_from {
        let unpacked = input
            .unpacked_from
            .as_ref()
            .map_or(String::new(), |u| format!(", {}", u.describe()));
        return format!("{}{unpacked}: {}", part.describe(), human_size(input.size));
    }
    if let Some(u) = &input.unpacked_from {
        return u.describe();
    }
    match input.streamed_from {
        Some(kind) => format!("{kind}, read to EOF: {}", human_size(input.size)),
        None => human_size(input.size),
    }
}

/// A file that could not be opened or read, with its role ("kernel", "initrd").
#[derive(Debug, thiserror::Error)]
#[error("cannot open the {role} {}: {}", path_text(path), describe_io(source))]
pub struct InputError {
    /// "kernel" or "initrd".
    pub role: &'static str,
    /// The path as given.
    pub path: PathBuf,
    /// Why it could not be opened or read.
    #[source]
    pub source: io::Error,
}

/// A file name for people: as it is when UTF-8, else each byte that is
/// not UTF-8 as \xNN (Path::display would turn them into U+FFFD).
pub fn path_text(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// "No such file or directory (ENOENT)" rather than "... (os error 2)".
pub fn describe_io(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(n) => {
            let e = crate::sys::errno::Errno(n);
            format!("{} ({})", e.description(), e.name())
        }
        None => err.to_string(),
    }
}

fn open_input(role: &'static str, path: &Path, limit: u64) -> Result<Input, InputError> {
    Input::open_within(path, limit).map_err(|source| InputError {
        role,
        path: path.to_path_buf(),
        source,
    })
}

/// A kexec_file_load of a kernel (and maybe an initrd).
#[derive(Debug)]
pub struct FileLoad {
    /// Normal or crash load.
    pub target: Target,
    /// The kernel file, open.
    pub kernel: Input,
    /// The first bytes of the kernel, read through the open descriptor.
    pub kernel_head: Vec<u8>,
    /// The initrd file, open, if any.
    pub initrd: Option<Input>,
    /// The command line (bytes, not necessarily UTF-8); the kernel
    /// receives it NUL-terminated.
    pub cmdline: Vec<u8>,
    /// The kexec_file_load flags; KEXEC_FILE_ON_CRASH and
    /// KEXEC_FILE_NO_INITRAMFS follow from the target and the initrd.
    pub flags: FileFlags,
    /// What was taken from a unified kernel image given as the kernel
    /// (its `.linux` is then `kernel`); None for any other kernel file.
    pub uki: Option<Box<FromUki>>,
}

/// How [`FileLoad::open_with`] opens a kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    /// The most bytes a stream is read, or a packed kernel unpacked, to.
    pub stream_limit: u64,
    /// Which profile of a multi-profile UKI to read (0: the first); a
    /// kernel that is no UKI with anything but 0 is an error.
    pub uki_profile: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            stream_limit: u64::MAX,
            uki_profile: 0,
        }
    }
}

impl FileLoad {
    /// Opens the files once; the same descriptors are checked and loaded.
    pub fn open(
        target: Target,
        kernel: &Path,
        initrd: Option<&Path>,
        cmdline: Vec<u8>,
        extra_flags: FileFlags,
    ) -> Result<FileLoad, InputError> {
        FileLoad::open_within(target, kernel, initrd, cmdline, extra_flags, u64::MAX)
    }

    /// As `open`; a pipe, FIFO or device is read, and a packed kernel
    /// unpacked, no further than `stream_limit` bytes (see
    /// `rules::stream_limit`: more could not be loaded).
    pub fn open_within(
        target: Target,
        kernel: &Path,
        initrd: Option<&Path>,
        cmdline: Vec<u8>,
        extra_flags: FileFlags,
        stream_limit: u64,
    ) -> Result<FileLoad, InputError> {
        let how = OpenOptions {
            stream_limit,
            uki_profile: 0,
        };
        FileLoad::open_with(target, kernel, initrd, cmdline, extra_flags, how)
    }

    /// As `open`, with the limits and choices of [`OpenOptions`].
    pub fn open_with(
        target: Target,
        kernel: &Path,
        initrd: Option<&Path>,
        cmdline: Vec<u8>,
        extra_flags: FileFlags,
        how: OpenOptions,
    ) -> Result<FileLoad, InputError> {
        let stream_limit = how.stream_limit;
        let open_input = |role, path| open_input(role, path, stream_limit);
        let kernel = open_input("kernel", kernel)?;
        let head = |kernel: &Input| {
            kernel.head(PROBE_BYTES).map_err(|source| InputError {
                role: "kernel",
                path: kernel.path.clone(),
                source,
            })
        };
        let kernel_head = head(&kernel)?;
        let invalid = |path: PathBuf| {
            move |why: String| InputError {
                role: "kernel",
                path,
                source: io::Error::new(io::ErrorKind::InvalidData, why),
            }
        };
        // A UKI whose .linux holds a kernel for this machine is unwrapped:
        // both calls take its parts, each in a sealed memfd.
        let unwrapped = uki::unwrap(&kernel, &kernel_head, stream_limit, how.uki_profile)
            .map_err(invalid(kernel.path.clone()))?;
        let (kernel, initrd, from_uki) = match unwrapped {
            Some(u) => {
                let user = initrd.map(|p| open_input("initrd", p)).transpose()?;
                let given = user.is_some();
                // A crash kernel's own initrd replaces the UKI's (kdumpctl
                // builds one for the capture kernel), as in kexec-tools.
                let (initrd, initrd_set_aside) = if given && target == Target::Crash {
                    (user, u.early_sections())
                } else {
                    (u.initrd(user)?, None)
                };
                let from_uki = FromUki {
                    cmdline: u.cmdline,
                    cmdline_used: false,
                    initrd_is_uki_only: !given && initrd.is_some(),
                    initrd_set_aside,
                    profile: how.uki_profile,
                    profile_text: u.profile_text,
                };
                (u.kernel, initrd, Some(Box::new(from_uki)))
            }
            None if how.uki_profile != 0 => {
                return Err(invalid(kernel.path.clone())(format!(
                    "--uki-profile={} picks a profile of a unified kernel image, and {} is none",
                    how.uki_profile,
                    kernel.display()
                )));
            }
            None => {
                // A packed kernel (Image.gz, EFI zboot) is unpacked once;
                // both calls then take the kernel inside.
                let path = kernel.path.clone();
                let kernel = kernel
                    .unpacked(&kernel_head, stream_limit)
                    .map_err(invalid(path))?;
                let initrd = initrd.map(|p| open_input("initrd", p)).transpose()?;
                (kernel, initrd, None)
            }
        };
        let kernel_head = match (&kernel.unpacked_from, &kernel.extracted_from) {
            (None, None) => kernel_head,
            _ => head(&kernel)?,
        };
        let mut flags = extra_flags;
        if target == Target::Crash {
            flags |= KEXEC_FILE_ON_CRASH;
        }
        if initrd.is_none() {
            flags |= KEXEC_FILE_NO_INITRAMFS;
        }
        Ok(FileLoad {
            target,
            kernel,
            kernel_head,
            initrd,
            cmdline,
            flags,
            uki: from_uki,
        })
    }

    /// Makes the UKI's `.cmdline` the command line, when the kernel is a
    /// UKI with one; the caller decides (only when the user gave no
    /// command line). Whether it did.
    pub fn use_uki_cmdline(&mut self) -> bool {
        let Some(uki) = self.uki.as_mut() else {
            return false;
        };
        let Some(line) = &uki.cmdline else {
            return false;
        };
        self.cmdline = line.clone();
        uki.cmdline_used = true;
        true
    }

    /// The initrd file the user gave, as a reload opens it again: None when
    /// there was none, or when the initrd is a UKI's sections alone (opening
    /// the UKI makes that again).
    pub fn given_initrd(&self) -> Option<&Input> {
        match &self.uki {
            Some(u) if u.initrd_is_uki_only => None,
            _ => self.initrd.as_ref(),
        }
    }

    /// Which of the UKI's sections a crash kernel's initrd stood in for,
    /// for `--dry-run`: "" when none.
    fn initrd_origin(&self) -> String {
        match self.uki.as_ref().and_then(|u| u.initrd_set_aside) {
            Some(sections) => format!(
                "; given for a crash kernel, so the UKI's {sections} {} not used",
                if sections.ends_with('s') { "are" } else { "is" }
            ),
            None => String::new(),
        }
    }

    /// Where the command line came from, for `--dry-run`: "" when given.
    fn cmdline_origin(&self) -> String {
        let profile = |u: &FromUki| match &u.profile_text {
            Some(text) => format!(" (profile {}: {text})", u.profile),
            None => String::new(),
        };
        match &self.uki {
            Some(u) if u.cmdline_used => format!(
                "; the UKI's .cmdline section{}, as no command line was given",
                profile(u)
            ),
            Some(u) if u.cmdline.is_some() => format!(
                "; given, so the UKI's .cmdline section{} is not used",
                profile(u)
            ),
            _ => String::new(),
        }
    }

    /// The kernel's bzImage setup header, when the head is long enough to hold
    /// one (read, not validated).
    pub fn header(&self) -> Option<SetupHeader> {
        SetupHeader::read(&self.kernel_head)
    }

    /// The command line as the kernel receives it: the bytes and a NUL.
    pub fn cmdline_bytes(&self) -> Vec<u8> {
        cmdline::to_kernel_bytes(&self.cmdline)
    }
}

/// What one kexec system call will do: everything needed to make it, print
/// it (`--dry-run`) or judge it (`rules`).
#[derive(Debug)]
pub enum Plan {
    /// kexec_file_load of a kernel (and maybe an initrd).
    FileLoad(FileLoad),
    /// kexec_file_load with KEXEC_FILE_UNLOAD.
    FileUnload {
        /// Normal or crash slot.
        target: Target,
        /// The flags, KEXEC_FILE_UNLOAD included.
        flags: FileFlags,
    },
    /// kexec_load of finished segments.
    Load {
        /// Normal or crash slot.
        target: Target,
        /// The segments, in placement order.
        segments: Vec<Segment>,
        /// The physical address the kernel jumps to (our purgatory's entry for a
        /// kernel we laid out).
        entry: u64,
        /// The flags, KEXEC_ARCH_* included.
        flags: KexecFlags,
    },
    /// kexec_load with no segments: unload.
    Unload {
        /// Normal or crash slot.
        target: Target,
        /// The flags, KEXEC_ARCH_* included.
        flags: KexecFlags,
    },
}

/// The last byte of `memsz` bytes at `mem`, computed without wrapping: a
/// segment may be asked to end past 2^64, and saying so is the point.
fn inclusive_end(mem: u64, memsz: u64) -> String {
    let end = u128::from(mem) + u128::from(memsz.max(1)) - 1;
    if end > u128::from(u64::MAX) {
        format!("{end:#x} (past 2^64)")
    } else {
        format!("{end:#x}")
    }
}

impl Plan {
    /// The kexec_file_load plan that unloads `target`.
    pub fn file_unload(target: Target) -> Plan {
        let mut flags = KEXEC_FILE_UNLOAD;
        if target == Target::Crash {
            flags |= KEXEC_FILE_ON_CRASH;
        }
        Plan::FileUnload { target, flags }
    }

    /// The kexec_load plan that unloads `target` (no segments; this build's
    /// KEXEC_ARCH_*).
    pub fn unload(target: Target) -> Plan {
        let base = if target == Target::Crash {
            KEXEC_ON_CRASH
        } else {
            KexecFlags(0)
        };
        Plan::Unload {
            target,
            flags: base.with_arch(KexecArch::native()),
        }
    }

    /// Which system call the plan makes.
    pub fn syscall(&self) -> Syscall {
        match self {
            Plan::FileLoad(_) | Plan::FileUnload { .. } => Syscall::KexecFileLoad,
            Plan::Load { .. } | Plan::Unload { .. } => Syscall::KexecLoad,
        }
    }

    /// Which slot the plan acts on.
    pub fn target(&self) -> Target {
        match self {
            Plan::FileLoad(f) => f.target,
            Plan::FileUnload { target, .. }
            | Plan::Load { target, .. }
            | Plan::Unload { target, .. } => *target,
        }
    }

    /// Whether the plan unloads rather than loads.
    pub fn is_unload(&self) -> bool {
        matches!(self, Plan::FileUnload { .. } | Plan::Unload { .. })
    }

    /// The plan as `--json` prints it.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "syscall": self.syscall(),
            "target": self.target(),
            "action": if self.is_unload() { "unload" } else { "load" },
        });
        match self {
            Plan::FileLoad(f) => {
                v["flags"] = json!(f.flags.0);
                v["flags_text"] = json!(f.flags.to_string());
                v["kernel"] = json!({
                    "path": f.kernel.display(),
                    "size": f.kernel.size,
                    "setup_header": f.header(),
                });
                v["initrd"] = match &f.initrd {
                    Some(i) => json!({ "path": i.display(), "size": i.size }),
                    None => Value::Null,
                };
                for (key, input) in [("kernel", Some(&f.kernel)), ("initrd", f.initrd.as_ref())] {
                    if let Some(kind) = input.and_then(|i| i.streamed_from) {
                        v[key]["read_to_eof"] = json!(kind);
                        v[key]["passed_as"] = json!("sealed memfd");
                    }
                    if let Some(part) = input.and_then(|i| i.extracted_from) {
                        v[key]["extracted_from"] = json!(part.describe());
                        v[key]["passed_as"] = json!("sealed memfd");
                    }
                }
                if let Some(u) = &f.uki {
                    v["cmdline_from"] = json!(if u.cmdline_used { "uki" } else { "given" });
                    if let Some(sections) = u.initrd_set_aside {
                        v["initrd"]["uki_sections_not_used"] = json!(sections);
                    }
                }
                // Lossless: a command line that is not UTF-8 is shown with
                // \xNN escapes, and its bytes are given in hex as well.
                match std::str::from_utf8(&f.cmdline) {
                    Ok(text) => v["cmdline"] = json!(text),
                    Err(_) => {
                        let shown = cmdline::escaped(&f.cmdline);
                        v["cmdline"] = json!(shown[1..shown.len() - 1]);
                        v["cmdline_hex"] = json!(crate::hex::encode(&f.cmdline));
                    }
                }
                v["cmdline_len"] = json!(f.cmdline_bytes().len());
            }
            Plan::FileUnload { flags, .. } => {
                v["flags"] = json!(flags.0);
                v["flags_text"] = json!(flags.to_string());
            }
            Plan::Load {
                segments,
                entry,
                flags,
                ..
            } => {
                v["flags"] = json!(flags.0);
                v["flags_text"] = json!(flags.to_string());
                v["entry"] = json!(entry);
                v["segments"] = json!(segments
                    .iter()
                    .map(|s| json!({
                        "purpose": s.purpose,
                        "bufsz": s.data.len(),
                        "mem": s.mem,
                        "memsz": s.memsz,
                        "digest_algorithm": s.digest_algorithm(),
                        "digest": s.digest_hex(),
                        "digest_pieces": (s.pieces_hex().len() > 1).then(|| s
                            .pieces_hex()
                            .into_iter()
                            .map(|(offset, len, digest)| json!({
                                "offset": offset,
                                "len": len,
                                "digest": digest,
                            }))
                            .collect::<Vec<_>>()),
                    }))
                    .collect::<Vec<_>>());
            }
            Plan::Unload { flags, .. } => {
                v["flags"] = json!(flags.0);
                v["flags_text"] = json!(flags.to_string());
            }
        }
        v
    }

    /// The plan for people: one fact per line, as `--dry-run` prints it.
    ///
    /// ```rust
    /// use kexec::{Plan, Segment, Target};
    /// use kexec::sys::abi::KEXEC_ON_CRASH;
    /// let plan = Plan::Load {
    ///     target: Target::Crash,
    ///     segments: vec![Segment {
    ///         purpose: "kernel".into(),
    ///         data: vec![0x90; 0x800].into(),
    ///         mem: 0x100_0000,
    ///         memsz: 0x1000,
    ///         digest: None,
    ///     }],
    ///     entry: 0x100_0000,
    ///     flags: KEXEC_ON_CRASH,
    /// };
    /// let text = plan.describe();
    /// assert!(text.contains("kexec_load, crash kernel load"));
    /// assert!(text.contains("0x1000000-0x1000fff bufsz 0x800 memsz 0x1000"));
    /// assert_eq!(plan.to_json()["syscall"], "kexec_load");
    /// ```
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let mut line = |k: &str, v: String| out.push_str(&format!("  {k:<10} {v}\n"));
        match self {
            Plan::FileLoad(f) => {
                line(
                    "syscall",
                    format!("kexec_file_load, {} load", f.target.describe()),
                );
                line("flags", f.flags.to_string());
                let header = match f.header().filter(|h| h.header == HEADER_MAGIC) {
                    Some(h) => format!(
                        ", boot protocol {}, init_size {}, cmdline_size {}",
                        h.version_text(),
                        human_size(u64::from(h.init_size)),
                        h.cmdline_size
                    ),
                    None => String::new(),
                };
                line(
                    "kernel",
                    format!(
                        "{} ({}{header}{})",
                        f.kernel.display(),
                        streamed_or_size(&f.kernel),
                        if f.kernel.streamed_from.is_some() || f.kernel.extracted_from.is_some() {
                            ", passed to kexec_file_load as a sealed memfd"
                        } else {
                            ""
                        }
                    ),
                );
                line(
                    "initrd",
                    match &f.initrd {
                        Some(i) if i.streamed_from.is_some() || i.extracted_from.is_some() => {
                            format!(
                                "{} ({}, passed to kexec_file_load as a sealed memfd{})",
                                i.display(),
                                streamed_or_size(i),
                                f.initrd_origin()
                            )
                        }
                        Some(i) => format!(
                            "{} ({}{})",
                            i.display(),
                            human_size(i.size),
                            f.initrd_origin()
                        ),
                        None => "none (KEXEC_FILE_NO_INITRAMFS)".to_string(),
                    },
                );
                line(
                    "cmdline",
                    format!(
                        "{} ({} bytes with NUL{})",
                        cmdline::escaped(&f.cmdline),
                        f.cmdline_bytes().len(),
                        f.cmdline_origin()
                    ),
                );
            }
            Plan::FileUnload { target, flags } => {
                line(
                    "syscall",
                    format!("kexec_file_load, unload the {}", target.describe()),
                );
                line("flags", flags.to_string());
            }
            Plan::Load {
                target,
                segments,
                entry,
                flags,
            } => {
                line("syscall", format!("kexec_load, {} load", target.describe()));
                line("flags", flags.to_string());
                line("entry", format!("{entry:#x}"));
                for (i, s) in segments.iter().enumerate() {
                    line(
                        &format!("segment {i}"),
                        format!(
                            "{:#x}-{} bufsz {:#x} memsz {:#x}{}  {}",
                            s.mem,
                            inclusive_end(s.mem, s.memsz),
                            s.data.len(),
                            s.memsz,
                            match (s.digest_algorithm(), s.pieces_hex().as_slice()) {
                                (Some(alg), [(_, _, d)]) => format!(" {alg} {}", &d[..16]),
                                (Some(alg), [(_, len, d), ..]) => format!(
                                    " {alg} in {} pieces of {}: {}…",
                                    s.pieces_hex().len(),
                                    human_size(*len),
                                    &d[..16]
                                ),
                                _ => String::new(),
                            },
                            s.purpose
                        ),
                    );
                }
            }
            Plan::Unload { target, flags } => {
                line(
                    "syscall",
                    format!("kexec_load, unload the {}", target.describe()),
                );
                line("flags", flags.to_string());
            }
        }
        out
    }
}
