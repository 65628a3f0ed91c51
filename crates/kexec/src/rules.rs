//! The kernel's rules, modelled in one place. `check` predicts, before any
//! system call, each rejection the kernel would make, in the kernel's own
//! order (kernel/kexec.c, kernel/kexec_file.c, kernel/kexec_core.c,
//! arch/x86/kernel/kexec-bzimage64.c) and with the errno it would return.
//! `explain` turns an errno the kernel returned anyway into the same kind of
//! message. Both name the file, field or value behind the rule.

use crate::cmdline;
use crate::facts::{path, Facts};
use crate::image::bzimage::SetupHeader;
use crate::image::bzimage64;
use crate::memory::{human_size, Range};
use crate::plan::{FileLoad, Plan, Segment, Syscall, Target};
use crate::sys::abi::{
    FileFlags, KexecArch, KexecFlags, KEXEC_CRASH_HOTPLUG_SUPPORT, KEXEC_FILE_DEBUG,
    KEXEC_FILE_FORCE_DTB, KEXEC_FILE_NO_CMA, KEXEC_FILE_NO_INITRAMFS, KEXEC_FILE_ON_CRASH,
    KEXEC_ON_CRASH, KEXEC_PRESERVE_CONTEXT, KEXEC_SEGMENT_MAX, KEXEC_UPDATE_ELFCOREHDR,
};
use crate::sys::errno::Errno;
use serde::Serialize;
use std::fmt;

/// kernel_read_file() refuses files of 4 GiB and more (INT_MAX in 6.1 is
/// smaller still, but 4 GiB is the documented limit).
pub const MAX_FILE_SIZE: u64 = 4 << 30;
/// Room the x86 file loader keeps for `" elfcorehdr=0x<addr>"` (MAX_ELFCOREHDR_STR_LEN).
pub const ELFCOREHDR_STR_LEN: u64 = 30;
/// Oldest boot protocol the 64-bit kexec_file loader takes (2.12).
pub const MIN_FILE_PROTOCOL: u16 = crate::image::bzimage64::MIN_PROTOCOL;
pub use crate::layout::{page_align, CRASH_OVERHEAD, MIN_KERNEL_LOAD_ADDR, PAGE_SIZE};

/// Which rule refused. Serialized in kebab-case for `--json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The kernel was built without this system call (ENOSYS).
    SyscallNotBuilt,
    /// The caller lacks CAP_SYS_BOOT (EPERM).
    NoCapSysBoot,
    /// The kexec_load_disabled sysctl is set (EPERM).
    LoadDisabled,
    /// kexec_load_limit_reboot or kexec_load_limit_panic is used up (EPERM).
    LoadLimit,
    /// Ours: a crash reload with kexec_load_limit_panic at 1 could not put
    /// the loaded crash kernel back if the kernel refused the new one.
    LastCrashLoad,
    /// Flags the running kernel does not accept (EINVAL).
    UnknownFlags,
    /// The kernel or initrd is not a regular file (kernel_read_file: EINVAL).
    NotRegularFile,
    /// The kernel file is empty (EINVAL).
    EmptyFile,
    /// The initrd file is empty (EINVAL).
    EmptyInitrd,
    /// The kernel or initrd is 4 GiB or larger (EFBIG).
    FileTooBig,
    /// No kexec_file_load loader takes the kernel: not a bzImage64 it accepts (ENOEXEC).
    NotBzImage64,
    /// arm64: the kernel's one file loader takes a raw `Image` only (EINVAL).
    NotArm64Image,
    /// The bzImage is shorter than its setup header says (ENOEXEC).
    Truncated,
    /// Ours, not the kernel's: it would load the file, which could not boot.
    PayloadTruncated,
    /// The command line does not end in a NUL byte (EINVAL).
    CmdlineNotTerminated,
    /// Ours: a NUL inside the command line, where the kernel would cut it.
    CmdlineNul,
    /// The command line is longer than the kernel's cmdline_size (EINVAL).
    CmdlineTooLong,
    /// A crash load, but no crash region is reserved or its addresses are hidden (EADDRNOTAVAIL).
    NoCrashRegion,
    /// The crash kernel's files do not fit in the crash region (EADDRNOTAVAIL).
    CrashRegionTooSmall,
    /// A crash kexec_load segment or entry outside the crash region (EADDRNOTAVAIL).
    OutsideCrashRegion,
    /// More than KEXEC_SEGMENT_MAX segments (EINVAL).
    TooManySegments,
    /// A KEXEC_ARCH_* value that is not the running kernel's (EINVAL).
    ForeignArch,
    /// A segment that is not page-aligned, wraps, or ends above the destination limit (EADDRNOTAVAIL).
    BadDestination,
    /// Two segments overlap (EINVAL).
    Overlap,
    /// A segment's buffer is larger than its memory size (EINVAL).
    BufferLargerThanMemory,
    /// The segments take more than half of RAM (EINVAL).
    MoreThanHalfOfRam,
    // Only the kernel knows these; they come from `explain`.
    /// Kernel lockdown forbids the load (EPERM).
    Lockdown,
    /// Signature verification failed (ENODATA, ENOKEY, EKEYREJECTED, EBADMSG, ENOPKG, ...).
    Signature,
    /// IMA or another security module denied the load (EACCES), or an EPERM
    /// the model cannot pin on one rule.
    SecurityModule,
    /// Another kexec operation holds the kernel's kexec lock (EBUSY).
    Busy,
    /// The kernel ran out of memory for the load (ENOMEM).
    OutOfMemory,
    /// The kernel answered ENOSYS: it has no such system call.
    NotImplemented,
    /// The kernel or initrd is open for writing elsewhere (ETXTBSY).
    FileBusy,
    /// The kernel found no free memory hole for a segment (EADDRNOTAVAIL).
    NoRoom,
    /// Any other errno; the reason names it.
    Other,
    // Refusals of ours, before any system call or rule of the kernel's.
    /// The request is malformed (a usage error of the front end's options).
    Usage,
    /// An input file (kernel, initrd, segment, /proc/cmdline) cannot be read.
    UnreadableFile,
    /// `--type` names a loader that does not accept the kernel file.
    WrongType,
    /// Our kexec_load builder cannot make a bootable image of the kernel file.
    Image,
    /// No kexec_load image builder of ours for this architecture.
    UnsupportedArch,
    /// `kexec -e` with nothing loaded.
    NothingLoaded,
    /// Ours, as kexec-tools: `--hotplug` on a kernel that cannot update a
    /// crash kernel in place (no /sys/kernel/crash_elfcorehdr_size, or
    /// kexec_load without the architecture's hotplug flag).
    NoCrashHotplug,
    /// Ours: kexec_load of a kernel for `kexec -e` while kexec handover is
    /// on. The kernel would take it, but only kexec_file_load images get
    /// the handover data, so the next kernel would boot without the memory
    /// handed over. Reported as EINVAL; `--skip-preflight` overrides it.
    KexecHandover,
}

/// Whether the model predicted the rejection or the kernel returned it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Predicted by the rules model before any system call.
    Model,
    /// Returned by the kernel.
    Kernel,
    /// The front end's arguments, before any model or kernel judged anything.
    Usage,
}

/// A load the kernel refuses (or would refuse): the errno, the rule behind
/// it and a reason that names the file, field or value at fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The errno the kernel returns (or would return).
    pub errno: Errno,
    /// Which rule refused.
    pub rule: Rule,
    /// The reason for people, naming the file, field or value.
    pub reason: String,
    /// Whether the model predicted it or the kernel returned it.
    pub source: Source,
}

impl Rejection {
    /// `errno`, `reason`, `source` and `rule`: the fields of `kexec --json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "errno": self.errno,
            "reason": self.reason,
            "source": self.source,
            "rule": self.rule,
        })
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match (self.source, self.rule) {
            (Source::Model, Rule::PayloadTruncated) => {
                "kexec refuses it: the kernel would load it and fail to boot it; reported as"
            }
            (Source::Model, Rule::CmdlineNul) => {
                "kexec refuses it: the kernel would take the line cut short; reported as"
            }
            (Source::Model, Rule::LastCrashLoad) => {
                "kexec refuses it: a failure could not be undone; reported as"
            }
            (Source::Model, Rule::KexecHandover) => {
                "kexec refuses it: the kernel would take it and lose the handover; reported as"
            }
            (Source::Model, _) => "the kernel would refuse it with",
            (Source::Kernel, _) => "the kernel refused it with",
            (Source::Usage, _) => "a usage error:",
        };
        write!(f, "{} ({who} {})", self.reason, self.errno.name())
    }
}

fn model(errno: Errno, rule: Rule, reason: String) -> Rejection {
    Rejection {
        errno,
        rule,
        reason,
        source: Source::Model,
    }
}

/// The kexec_file_load flags newer than 6.1, with the first release whose
/// KEXEC_FILE_FLAGS has each (include/linux/kexec.h): DEBUG in 6.8, NO_CMA
/// with the CMA-backed segments in 6.17, FORCE_DTB in 6.18.
pub const FILE_FLAGS_SINCE: [(FileFlags, (u32, u32)); 3] = [
    (KEXEC_FILE_DEBUG, (6, 8)),
    (KEXEC_FILE_NO_CMA, (6, 17)),
    (KEXEC_FILE_FORCE_DTB, (6, 18)),
];

/// The first kernel that reserves crash kernel memory in CMA for
/// `crashkernel=SIZE,cma` (and hands it to kexec_file_load capture
/// kernels); older ones skip the word as one with an unknown suffix.
pub const CRASHKERNEL_CMA_SINCE: (u32, u32) = (6, 17);

/// kexec_file_load flag bits each kernel accepts (KEXEC_FILE_FLAGS). An
/// unknown version is taken as 6.1's (0x7): the oldest the model knows.
pub fn file_flags_accepted(version: Option<(u32, u32)>) -> FileFlags {
    let mut accepted = FileFlags(0x7);
    for (flag, since) in FILE_FLAGS_SINCE {
        if version.is_some_and(|v| v >= since) {
            accepted |= flag;
        }
    }
    accepted
}

/// Predicts the kernel's verdict on a plan. `Ok` means nothing known in
/// advance stands in the way.
pub fn check(plan: &Plan, facts: &Facts) -> Result<(), Rejection> {
    syscall_built(plan.syscall(), facts)?;
    permission(plan.syscall(), plan.target(), plan.is_unload(), facts)?;
    if let Plan::Load {
        target, segments, ..
    } = plan
    {
        if !segments.is_empty() {
            kexec_handover_allows_kexec_load(*target, facts)?;
        }
    }
    match plan {
        Plan::FileLoad(load) => check_file_load(load, facts),
        Plan::FileUnload { flags, .. } => file_flags(*flags, facts),
        Plan::Load {
            segments,
            entry,
            flags,
            target,
        } => check_load(*target, segments, *entry, *flags, facts),
        Plan::Unload { flags, target } => check_load(*target, &[], 0, *flags, facts),
    }
}

/// kexec_load flag bits each kernel accepts (KEXEC_FLAGS). PRESERVE_CONTEXT
/// needs CONFIG_KEXEC_JUMP, which most distribution kernels lack: it counts
/// only when the kernel's config says so.
pub fn load_flags_accepted(version: Option<(u32, u32)>, kexec_jump: Option<bool>) -> u64 {
    let mut base = KEXEC_ON_CRASH.0;
    if kexec_jump == Some(true) {
        base |= KEXEC_PRESERVE_CONTEXT.0;
    }
    match version {
        Some(v) if v >= (6, 10) => base | KEXEC_UPDATE_ELFCOREHDR.0 | KEXEC_CRASH_HOTPLUG_SUPPORT.0,
        Some(v) if v >= (6, 6) => base | KEXEC_UPDATE_ELFCOREHDR.0,
        _ => base,
    }
}

/// Destinations must end below MAXMEM - 1 (KEXEC_DESTINATION_MEMORY_LIMIT):
/// 2^46 with 4-level paging, 2^52 with 5-level.
pub fn destination_limit(facts: &Facts) -> u64 {
    // arm64 sets no limit: KEXEC_DESTINATION_MEMORY_LIMIT is -1UL there.
    if KexecArch::native() == KexecArch::Aarch64 {
        return u64::MAX;
    }
    let bits = if facts.five_level_paging { 52 } else { 46 };
    (1u64 << bits) - 1
}

/// kexec_load(), in the kernel's order: kexec_load_check() and the
/// architecture test of the system call (kernel/kexec.c), then
/// kimage_alloc_init()'s crash entry test and sanity_check_segment_list()
/// (kernel/kexec_core.c). Each step is one named check below.
fn check_load(
    target: Target,
    segments: &[Segment],
    entry: u64,
    flags: KexecFlags,
    facts: &Facts,
) -> Result<(), Rejection> {
    load_not_locked_down(facts)?;
    load_flags_known(flags, facts)?;
    segment_count_within_max(segments)?;
    load_arch_native(flags)?;
    if segments.is_empty() {
        return Ok(()); // an unload
    }
    let crash_region = match target {
        Target::Crash => Some(crash_entry_in_region(entry, facts)?),
        Target::Normal => None,
    };
    segment_destinations_valid(segments, facts)?;
    segments_do_not_overlap(segments)?;
    segment_buffers_fit(segments)?;
    let sizes: Vec<(&str, u64)> = segments
        .iter()
        .map(|s| (s.purpose.as_str(), s.memsz))
        .collect();
    half_of_ram(&sizes, facts)?;
    if let Some(region) = crash_region {
        segments_in_crash_region(segments, region)?;
    }
    Ok(())
}

/// kexec_load_check(): security_locked_down(LOCKDOWN_KEXEC) refuses any
/// kexec_load (EPERM) while the kernel is locked down.
fn load_not_locked_down(facts: &Facts) -> Result<(), Rejection> {
    if let Some(mode) = facts.lockdown.as_deref().filter(|m| *m != "none") {
        return Err(model(
            Errno::EPERM,
            Rule::Lockdown,
            format!("the kernel is locked down (lockdown={mode}), which forbids kexec_load; load a signed kernel with kexec_file_load instead (kexec -s)"),
        ));
    }
    Ok(())
}

/// kexec_load_check(): `(flags & KEXEC_FLAGS) != (flags & ~KEXEC_ARCH_MASK)`
/// gives EINVAL: a flag bit this kernel does not know.
fn load_flags_known(flags: KexecFlags, facts: &Facts) -> Result<(), Rejection> {
    let accepted = load_flags_accepted(facts.kernel_version(), facts.kexec_jump);
    // The kernel masks with ~KEXEC_ARCH_MASK as a 32-bit constant: only the
    // low 16 bits are flags; bits 32 and up are ignored.
    let unknown = flags.flag_bits() & 0xffff & !accepted;
    if unknown != 0 {
        return Err(model(
            Errno::EINVAL,
            Rule::UnknownFlags,
            format!(
                "kexec_load flags {flags} include {unknown:#x}, which the running kernel {} does not accept (it takes {accepted:#x})",
                facts.kernel_release
            ),
        ));
    }
    Ok(())
}

/// kexec_load_check(): `nr_segments > KEXEC_SEGMENT_MAX` gives EINVAL.
fn segment_count_within_max(segments: &[Segment]) -> Result<(), Rejection> {
    if segments.len() > KEXEC_SEGMENT_MAX {
        return Err(model(
            Errno::EINVAL,
            Rule::TooManySegments,
            format!(
                "{} segments given; kexec_load takes at most {KEXEC_SEGMENT_MAX}",
                segments.len()
            ),
        ));
    }
    Ok(())
}

/// SYSCALL_DEFINE4(kexec_load): `flags & KEXEC_ARCH_MASK` must be
/// KEXEC_ARCH (this architecture) or KEXEC_ARCH_DEFAULT, else EINVAL.
fn load_arch_native(flags: KexecFlags) -> Result<(), Rejection> {
    let arch = flags.arch_bits();
    if arch != 0 && arch != KexecArch::native().value() {
        let name = KexecArch::from_value(arch)
            .map_or(format!("{arch:#x}"), |a| format!("KEXEC_ARCH_{}", a.name()));
        return Err(model(
            Errno::EINVAL,
            Rule::ForeignArch,
            format!(
                "the image is for {name}, but this kernel only takes KEXEC_ARCH_DEFAULT or KEXEC_ARCH_{}",
                KexecArch::native().name()
            ),
        ));
    }
    Ok(())
}

/// kimage_alloc_init() for KEXEC_ON_CRASH: an entry point outside crashk_res
/// gives EADDRNOTAVAIL (and so does a crash load with no region reserved).
/// Returns the region, which the segments are checked against last.
fn crash_entry_in_region(entry: u64, facts: &Facts) -> Result<Range, Rejection> {
    let region = facts
        .main_crash_region()
        .filter(|r| r.start != 0 || r.end > 1);
    match region {
        None => crash_region_reserved(facts).and(Err(model(
            Errno::EADDRNOTAVAIL,
            Rule::NoCrashRegion,
            "the Crash kernel region's addresses are hidden from this process (it needs root to read /proc/iomem)".into(),
        ))),
        Some(r) if entry < r.start || entry >= r.end => Err(model(
            Errno::EADDRNOTAVAIL,
            Rule::OutsideCrashRegion,
            format!("the entry point {entry:#x} is outside the Crash kernel region [{r}]"),
        )),
        Some(r) => Ok(r),
    }
}

/// sanity_check_segment_list(), first loop: for every segment in turn,
/// `mem + memsz` wrapping, `mem` or `mem + memsz` not page-aligned, or
/// `mem + memsz >= KEXEC_DESTINATION_MEMORY_LIMIT` gives EADDRNOTAVAIL.
fn segment_destinations_valid(segments: &[Segment], facts: &Facts) -> Result<(), Rejection> {
    let limit = destination_limit(facts);
    for (i, s) in segments.iter().enumerate() {
        let end = s.mem.checked_add(s.memsz);
        let why = match end {
            None => Some(format!(
                "mem {:#x} + memsz {:#x} wraps around",
                s.mem, s.memsz
            )),
            Some(_) if s.mem % PAGE_SIZE != 0 => {
                Some(format!("mem {:#x} is not page-aligned (4096)", s.mem))
            }
            Some(e) if e % PAGE_SIZE != 0 => Some(format!(
                "its end mem + memsz = {e:#x} is not page-aligned (memsz {:#x})",
                s.memsz
            )),
            Some(e) if e >= limit => Some(format!(
                "it ends at {e:#x}, at or above the destination limit {limit:#x}"
            )),
            _ => None,
        };
        if let Some(why) = why {
            return Err(model(
                Errno::EADDRNOTAVAIL,
                Rule::BadDestination,
                format!("segment {i} ({}): {why}", s.purpose),
            ));
        }
    }
    Ok(())
}

/// sanity_check_segment_list(), second loop: two segments whose
/// destinations overlap give EINVAL (the first pair in index order).
fn segments_do_not_overlap(segments: &[Segment]) -> Result<(), Rejection> {
    for (i, a) in segments.iter().enumerate() {
        for (j, b) in segments.iter().enumerate().skip(i + 1) {
            if a.mem < b.mem + b.memsz && b.mem < a.mem + a.memsz {
                return Err(model(
                    Errno::EINVAL,
                    Rule::Overlap,
                    format!(
                        "segment {i} ({}, {:#x}-{:#x}) overlaps segment {j} ({}, {:#x}-{:#x})",
                        a.purpose,
                        a.mem,
                        a.mem + a.memsz - 1,
                        b.purpose,
                        b.mem,
                        b.mem + b.memsz - 1
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// sanity_check_segment_list(), third loop: `bufsz > memsz` gives EINVAL.
fn segment_buffers_fit(segments: &[Segment]) -> Result<(), Rejection> {
    for (i, s) in segments.iter().enumerate() {
        if s.data.len() as u64 > s.memsz {
            return Err(model(
                Errno::EINVAL,
                Rule::BufferLargerThanMemory,
                format!(
                    "segment {i} ({}): bufsz {:#x} is larger than memsz {:#x}",
                    s.purpose,
                    s.data.len(),
                    s.memsz
                ),
            ));
        }
    }
    Ok(())
}

/// sanity_check_segment_list(), last loop for KEXEC_ON_CRASH: a segment
/// outside crashk_res gives EADDRNOTAVAIL.
fn segments_in_crash_region(segments: &[Segment], region: Range) -> Result<(), Rejection> {
    for (i, s) in segments.iter().enumerate() {
        if s.mem < region.start || s.mem + s.memsz > region.end {
            return Err(model(
                Errno::EADDRNOTAVAIL,
                Rule::OutsideCrashRegion,
                format!(
                    "segment {i} ({}, {:#x}-{:#x}) is outside the Crash kernel region [{region}]",
                    // memsz may be 0; mem + memsz was checked above.
                    s.purpose,
                    s.mem,
                    s.mem + s.memsz.max(1) - 1
                ),
            ));
        }
    }
    Ok(())
}

/// A call the kernel was built without is sys_ni_syscall: ENOSYS before
/// any other check. Predicted only on positive evidence (see `Facts::support`).
pub fn syscall_built(call: Syscall, facts: &Facts) -> Result<(), Rejection> {
    let support = facts.support(call);
    if support.built != Some(false) {
        return Ok(());
    }
    let (other, option) = match call {
        Syscall::KexecLoad => (Syscall::KexecFileLoad, "-s"),
        Syscall::KexecFileLoad => (Syscall::KexecLoad, "-c"),
    };
    let evidence = |s: &crate::facts::Support| s.evidence.clone().unwrap_or_default();
    let what_next = match facts.support(other).built {
        Some(false) if facts.support(other).evidence == support.evidence => {
            ": this kernel cannot load another kernel".to_string()
        }
        Some(false) => format!(
            ", and neither is {} ({}): this kernel cannot load another kernel",
            other.name(),
            evidence(facts.support(other))
        ),
        _ => format!(": use {option} ({})", other.name()),
    };
    Err(model(
        Errno::ENOSYS,
        Rule::SyscallNotBuilt,
        format!(
            "{} is not built into this kernel ({}){what_next}",
            call.name(),
            evidence(support)
        ),
    ))
}

/// kexec_load_check() / kexec_load_permitted(): the first thing both calls do.
fn permission(
    syscall: Syscall,
    target: Target,
    unload: bool,
    facts: &Facts,
) -> Result<(), Rejection> {
    if facts.cap_sys_boot == Some(false) {
        return Err(model(
            Errno::EPERM,
            Rule::NoCapSysBoot,
            format!(
                "{} needs CAP_SYS_BOOT in the initial user namespace, and this process does not have it: run kexec as root (outside a container)",
                syscall.name()
            ),
        ));
    }
    if facts.kexec_load_disabled {
        return Err(model(
            Errno::EPERM,
            Rule::LoadDisabled,
            format!(
                "kexec is disabled on this system: {} is 1, a one-way switch that only a reboot clears",
                path::KEXEC_LOAD_DISABLED
            ),
        ));
    }
    let (limit, file) = facts.load_limit(target);
    if limit == Some(0) {
        return Err(model(
            Errno::EPERM,
            Rule::LoadLimit,
            format!(
                "no {} loads are left: {file} is 0. {LOAD_LIMIT_COUNTS}",
                target.describe()
            ),
        ));
    }
    // A crash reload frees the loaded crash kernel before the kernel checks
    // the new one; putting it back takes one more load. With one left, a
    // refusal would leave the machine without a crash kernel.
    if target == Target::Crash && !unload && limit == Some(1) && facts.crash_loaded == Some(true) {
        return Err(model(
            Errno::EPERM,
            Rule::LastCrashLoad,
            format!(
                "{file} is 1: this reload would use the last crash kernel load the kernel allows until reboot. \
                 The kernel frees the loaded crash kernel before it checks the new one, and loading it again \
                 after a refusal would need a second load, which the limit no longer allows: a failed reload \
                 would leave no crash kernel. The loaded crash kernel is untouched; to replace it anyway, \
                 accepting that risk, add --skip-preflight. {LOAD_LIMIT_COUNTS}"
            ),
        ));
    }
    Ok(())
}

/// How the kernel counts loads against kexec_load_limit_{reboot,panic}.
pub const LOAD_LIMIT_COUNTS: &str = "The kernel counts every kexec_load and kexec_file_load call of that kind, unloads and refused calls included, and the limit can only be lowered until the next reboot";

fn file_flags(flags: FileFlags, facts: &Facts) -> Result<(), Rejection> {
    let accepted = file_flags_accepted(facts.kernel_version());
    let unknown = flags.0 & !accepted.0;
    if unknown != 0 {
        // Name the flags and the release that brought each, when we know it.
        let since: Vec<String> = FILE_FLAGS_SINCE
            .iter()
            .filter(|(flag, _)| unknown & flag.0 != 0)
            .map(|(flag, (major, minor))| format!("{flag} needs Linux {major}.{minor} or later"))
            .collect();
        let since = if since.is_empty() {
            String::new()
        } else {
            format!("; {}", since.join(", "))
        };
        let release = if facts.kernel_release.is_empty() {
            "(release unknown, taken as 6.1)"
        } else {
            facts.kernel_release.as_str()
        };
        return Err(model(
            Errno::EINVAL,
            Rule::UnknownFlags,
            format!(
                "kexec_file_load flags {flags} include {unknown:#x}, which the running kernel {release} does not know (it accepts {:#x}){since}",
                accepted.0
            ),
        ));
    }
    Ok(())
}

/// kernel_read_file(): the checks on each file handed over by descriptor.
fn readable_file(role: &str, input: &crate::image::Input) -> Result<(), Rejection> {
    let name = input.display();
    if !input.is_regular {
        return Err(model(
            Errno::EINVAL,
            Rule::NotRegularFile,
            format!(
                "the {role} {name} is not a regular file (the kernel reads only regular files)"
            ),
        ));
    }
    if input.size == 0 {
        return Err(model(
            Errno::EINVAL,
            if role == "initrd" {
                Rule::EmptyInitrd
            } else {
                Rule::EmptyFile
            },
            format!(
                "the {role} {} is empty (0 bytes): nothing to load",
                input.describe()
            ),
        ));
    }
    if input.size >= MAX_FILE_SIZE {
        return Err(model(
            Errno::EFBIG,
            Rule::FileTooBig,
            format!(
                "the {role} {name} is {} bytes; the kernel reads files only below 4 GiB",
                input.size
            ),
        ));
    }
    Ok(())
}

/// kexec_file_load(), in the kernel's order: the flags test of the system
/// call (kernel/kexec_file.c), kimage_file_prepare_segments() (read the
/// kernel, probe it, read the initrd, copy the command line),
/// bzImage64_load() (arch/x86/kernel/kexec-bzimage64.c), then
/// sanity_check_segment_list() (kernel/kexec_core.c). Our own two rules
/// come last, since the kernel would go on. Each step is one named check.
fn check_file_load(load: &FileLoad, facts: &Facts) -> Result<(), Rejection> {
    if KexecArch::native() == KexecArch::Aarch64 {
        return check_file_load_arm64(load, facts);
    }
    file_flags(load.flags, facts)?;
    readable_file("kernel", &load.kernel)?;
    let header = kernel_is_bzimage64(load, facts)?;
    let initrd_size = initrd_readable(load)?;
    cmdline_nul_terminated(load)?;
    setup_code_complete(load, &header)?;
    cmdline_fits(load, &header)?;
    let kernel_memsz = page_align(u64::from(header.init_size));
    let initrd_memsz = page_align(initrd_size);
    if load.target == Target::Crash {
        crash_kernel_fits(load, &header, facts, kernel_memsz + initrd_memsz)?;
    }
    kernel_placement(load, &header, facts)?;
    kernel_segment_fits(load, &header)?;
    half_of_ram(&[("kernel", kernel_memsz), ("initrd", initrd_memsz)], facts)?;
    cmdline_has_no_inner_nul(load)?;
    payload_complete(load, &header)
}

/// kexec_file_load() on arm64 (arch/arm64/kernel/kexec_image.c): the
/// flags, reading the files, image_probe() (a raw Image, else EINVAL —
/// Image.gz, zboot and UKIs must be unpacked in user space), the command
/// line's NUL, image_load()'s header checks, then our own inner-NUL rule.
fn check_file_load_arm64(load: &FileLoad, facts: &Facts) -> Result<(), Rejection> {
    file_flags(load.flags, facts)?;
    readable_file("kernel", &load.kernel)?;
    kernel_is_arm64_image(load)?;
    initrd_readable(load)?;
    cmdline_nul_terminated(load)?;
    cmdline_has_no_inner_nul(load)
}

/// image_probe() and image_load() on arm64: the "ARM\x64" magic, a
/// non-zero image_size and a little-endian kernel, else EINVAL.
fn kernel_is_arm64_image(load: &FileLoad) -> Result<(), Rejection> {
    let name = load.kernel.display();
    let image_size = load
        .kernel_head
        .get(0x10..0x18)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    let why = match crate::image::arm64_image::header(&name, &load.kernel_head) {
        Ok(_) if image_size == Some(0) => Some(format!(
            "{name}: its image_size field (offset 0x10) is 0 (a kernel older than 3.17); the kernel's loader refuses it"
        )),
        Ok(_) => None,
        Err(why) => Some(format!(
            "{why}; the arm64 kernel's kexec_file_load takes a raw Image only{}",
            match crate::image::identify::identify(&load.kernel_head) {
                Some(what) => format!(" (this is {what})"),
                None => String::new(),
            }
        )),
    };
    match why {
        Some(why) => Err(model(Errno::EINVAL, Rule::NotArm64Image, why)),
        None => Ok(()),
    }
}

/// kimage_file_prepare_segments() → kexec_image_probe_default() →
/// bzImage64_probe(): a kernel the 64-bit bzImage loader does not take
/// gives ENOEXEC. Returns the setup header the probe read.
fn kernel_is_bzimage64(load: &FileLoad, facts: &Facts) -> Result<SetupHeader, Rejection> {
    if let Some(why) = bzimage64::file_loader_refusal(&load.kernel_head, facts) {
        return Err(model(
            Errno::ENOEXEC,
            Rule::NotBzImage64,
            format!(
                "{} is not an x86_64 bzImage the kernel can load: {why}",
                load.kernel.display()
            ),
        ));
    }
    Ok(load.header().expect("the probe read the header"))
}

/// kimage_file_prepare_segments(): the initrd is read (kernel_read_file)
/// unless KEXEC_FILE_NO_INITRAMFS is set. Returns its size (0 without one).
fn initrd_readable(load: &FileLoad) -> Result<u64, Rejection> {
    match (&load.initrd, load.flags.contains(KEXEC_FILE_NO_INITRAMFS)) {
        (Some(initrd), false) => {
            readable_file("initrd", initrd)?;
            Ok(initrd.size)
        }
        _ => Ok(0),
    }
}

/// kimage_file_prepare_segments(): a command line whose last byte is not
/// NUL gives EINVAL.
fn cmdline_nul_terminated(load: &FileLoad) -> Result<(), Rejection> {
    if load.cmdline_bytes().last() != Some(&0) {
        return Err(model(
            Errno::EINVAL,
            Rule::CmdlineNotTerminated,
            "the command line does not end in a NUL byte".into(),
        ));
    }
    Ok(())
}

/// bzImage64_load(): a file shorter than its setup code gives ENOEXEC. A
/// cut payload past the setup code is our own rule (`payload_complete`).
fn setup_code_complete(load: &FileLoad, header: &SetupHeader) -> Result<(), Rejection> {
    if load.kernel.size < header.real_mode_size() {
        if let Some(why) = bzimage64::truncated(load.kernel.size, header) {
            return Err(model(
                Errno::ENOEXEC,
                Rule::Truncated,
                format!("{} is truncated: {why}", load.kernel.display()),
            ));
        }
    }
    Ok(())
}

/// bzImage64_load(): `cmdline_len + MAX_ELFCOREHDR_STR_LEN >
/// header->cmdline_size` gives EINVAL.
fn cmdline_fits(load: &FileLoad, header: &SetupHeader) -> Result<(), Rejection> {
    let size = load.cmdline_bytes().len() as u64;
    let limit = u64::from(header.cmdline_size).saturating_sub(ELFCOREHDR_STR_LEN);
    if size > u64::from(header.cmdline_size) || size > limit {
        return Err(model(
            Errno::EINVAL,
            Rule::CmdlineTooLong,
            format!(
                "the command line is too long: {} bytes with its NUL, but {} takes at most {limit} (cmdline_size {} minus {ELFCOREHDR_STR_LEN} the kexec_file loader keeps for elfcorehdr=)",
                size,
                load.kernel.display(),
                header.cmdline_size
            ),
        ));
    }
    Ok(())
}

/// bzImage64_load() for a crash kernel: everything it places goes into the
/// crash region, or the placement fails with EADDRNOTAVAIL. Besides kernel
/// and initrd (`kernel_and_initrd` bytes) the kernel places its own pieces
/// there (CRASH_OVERHEAD: elfcorehdr and control pages from the bottom,
/// purgatory and boot parameters from the top). Where the region's address
/// is known the placement is followed as the kernel does it: the kernel
/// top-down at its kernel_alignment, then the initrd top-down in what is
/// left, so a large alignment wastes only what it really wastes.
fn crash_kernel_fits(
    load: &FileLoad,
    header: &SetupHeader,
    facts: &Facts,
    kernel_and_initrd: u64,
) -> Result<(), Rejection> {
    let region = match facts.main_crash_region().filter(|r| r.start != 0) {
        Some(r) => r,
        None => {
            let margin = CRASH_OVERHEAD + u64::from(header.kernel_alignment);
            return crash_room(load, facts, kernel_and_initrd + margin);
        }
    };
    crash_room(load, facts, kernel_and_initrd + CRASH_OVERHEAD)?;
    let kernel_memsz = page_align(u64::from(header.init_size));
    let initrd_memsz = kernel_and_initrd - kernel_memsz;
    let below = facts
        .crash_elfcorehdr_size
        .map_or(0, page_align)
        .max(CRASH_OVERHEAD / 2);
    let end = region.end - (CRASH_OVERHEAD - CRASH_OVERHEAD / 2);
    let free = Range::new((region.start + below).min(end), end);
    let align = u64::from(header.kernel_alignment);
    // A kernel that finds no place at all is kernel_placement's to explain.
    let Some(at) = file_placement(
        &[free],
        kernel_memsz,
        align,
        kernel_minimum(header, facts),
        facts.kernel_version(),
    ) else {
        return Ok(());
    };
    let gaps = [at - free.start, free.end.saturating_sub(at + kernel_memsz)];
    if initrd_memsz == 0 || gaps.iter().any(|&gap| gap >= initrd_memsz) {
        return Ok(());
    }
    let initrd = load
        .initrd
        .as_ref()
        .map_or_else(String::new, |i| i.display());
    Err(model(
        Errno::EADDRNOTAVAIL,
        Rule::CrashRegionTooSmall,
        format!(
            "the crash kernel does not fit in the Crash kernel region [{region}] of {}: the kernel {} (init_size {}) goes top-down at its kernel_alignment {align:#x} to {at:#x}, which leaves {} below it and {} above, and the initrd {initrd} needs {} in one piece; reserve more with crashkernel=",
            human_size(region.size()),
            load.kernel.display(),
            human_size(kernel_memsz),
            human_size(gaps[0]),
            human_size(gaps[1]),
            human_size(initrd_memsz),
        ),
    ))
}

/// sanity_check_segment_list(): the kernel segment holds the file minus
/// its real-mode part (bufsz) in PAGE_ALIGN(init_size) bytes (memsz);
/// `bufsz > memsz` gives EINVAL.
fn kernel_segment_fits(load: &FileLoad, header: &SetupHeader) -> Result<(), Rejection> {
    let kernel_memsz = page_align(u64::from(header.init_size));
    let kernel_bufsz = load.kernel.size - header.real_mode_size();
    if kernel_bufsz > kernel_memsz {
        return Err(model(
            Errno::EINVAL,
            Rule::BufferLargerThanMemory,
            format!(
                "{}: the kernel segment holds {kernel_bufsz} bytes (the file minus its {} bytes of setup code), more than init_size {:#x} reserves ({kernel_memsz:#x} bytes page-aligned)",
                load.kernel.display(),
                header.real_mode_size(),
                header.init_size
            ),
        ));
    }
    Ok(())
}

/// Ours, after every rule of the kernel's: the kernel would end the command
/// line at its first NUL and drop the rest.
fn cmdline_has_no_inner_nul(load: &FileLoad) -> Result<(), Rejection> {
    if let Some(at) = cmdline::nul_position(&load.cmdline) {
        return Err(model(
            Errno::EINVAL,
            Rule::CmdlineNul,
            format!(
                "the command line has a NUL byte at position {at} (of {} bytes): the kernel would end it there and drop the rest",
                load.cmdline.len()
            ),
        ));
    }
    Ok(())
}

/// Ours, last: the kernel would load a file whose compressed payload is
/// cut short, which could not boot.
fn payload_complete(load: &FileLoad, header: &SetupHeader) -> Result<(), Rejection> {
    if let Some(why) = bzimage64::truncated(load.kernel.size, header) {
        return Err(model(
            Errno::ENOEXEC,
            Rule::PayloadTruncated,
            format!("{} is truncated: {why}", load.kernel.display()),
        ));
    }
    Ok(())
}

/// Where kexec_file_load's top-down search (locate_mem_hole_top_down) puts
/// `memsz` bytes aligned to `align` in the first of `ranges` (address
/// order, as 6.1 walks them) that holds them at or above `min`, ignoring
/// the other segments; None when none does. The kernel raises the
/// alignment to a page and masks with `align - 1`, so an alignment that is
/// not a power of two can give an address that is not page-aligned; before
/// 6.8 the search also starts one byte low, which makes that happen for
/// every alignment that is not a multiple of the page size.
pub fn file_placement(
    ranges: &[Range],
    memsz: u64,
    align: u64,
    min: u64,
    version: Option<(u32, u32)>,
) -> Option<u64> {
    let align = align.max(PAGE_SIZE);
    let one_low = version.is_some_and(|v| v < (6, 8));
    ranges.iter().find_map(|r| {
        if r.size() < memsz || r.end <= min {
            return None;
        }
        let last = r.end - 1;
        let start = if one_low {
            last.checked_sub(memsz)?
        } else {
            (last + 1).checked_sub(memsz)?
        };
        let start = start & !(align - 1);
        (start >= r.start && start >= min).then_some(start)
    })
}

/// The first kernel whose kexec_file_load places the kernel at or above the
/// bzImage's pref_address (before it, at or above 1 MiB).
pub const PREF_ADDRESS_MINIMUM_SINCE: (u32, u32) = (6, 8);

/// The lowest address kexec_file_load places a bzImage's kernel at. Since
/// 6.8 ("kexec: allocate kernel above bzImage's pref_address", Dec 2023)
/// the kernel goes at or above pref_address. The suite's matrix showed it:
/// Debian 13's 6.12 refused a 4 GiB pref_address with no room.
fn kernel_minimum(header: &SetupHeader, facts: &Facts) -> u64 {
    if facts
        .kernel_version()
        .is_some_and(|v| v >= PREF_ADDRESS_MINIMUM_SINCE)
    {
        header.pref_address.max(MIN_KERNEL_LOAD_ADDR)
    } else {
        MIN_KERNEL_LOAD_ADDR
    }
}

/// bzImage64_load places the kernel (kexec_add_buffer) before any segment
/// check: no room gives EADDRNOTAVAIL, and so does an address that is not
/// page-aligned (sanity_check_segment_list).
fn kernel_placement(load: &FileLoad, header: &SetupHeader, facts: &Facts) -> Result<(), Rejection> {
    let (ranges, where_) = match load.target {
        Target::Crash => match facts.main_crash_region().filter(|r| r.start != 0) {
            Some(r) => (vec![r], format!("the Crash kernel region [{r}]")),
            None => return Ok(()),
        },
        Target::Normal if facts.system_ram.is_empty() => return Ok(()),
        Target::Normal => (facts.system_ram.clone(), "System RAM".to_string()),
    };
    let memsz = page_align(u64::from(header.init_size));
    let version = facts.kernel_version();
    let min = kernel_minimum(header, facts);
    let align = u64::from(header.kernel_alignment);
    let kernel = load.kernel.display();
    match file_placement(&ranges, memsz, align, min, version) {
        None => Err(model(
            Errno::EADDRNOTAVAIL,
            Rule::NoRoom,
            format!(
                "{kernel}: no room for the kernel in {where_}: init_size {:#x} ({}) aligned to kernel_alignment {align:#x}, at or above {min:#x}",
                header.init_size,
                human_size(memsz)
            ),
        )),
        Some(at) if at % PAGE_SIZE != 0 => Err(model(
            Errno::EADDRNOTAVAIL,
            Rule::NoRoom,
            format!(
                "{kernel}: kernel_alignment {align:#x} is not a multiple of the page size: the kernel's placement gives the unaligned address {at:#x}, which its segment check refuses"
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// A crash load needs a "Crash kernel" region; without one every crash
/// load fails (kexec-tools refuses before it loads anything).
pub fn crash_region_reserved(facts: &Facts) -> Result<(), Rejection> {
    if facts.crash_region_size() == 0 {
        return Err(model(
            Errno::EADDRNOTAVAIL,
            Rule::NoCrashRegion,
            "no memory is reserved for a crash kernel (/proc/iomem has no \"Crash kernel\" range): boot the running kernel with crashkernel=256M (or another size) first".into(),
        ));
    }
    Ok(())
}

/// `--hotplug`: the bytes the kernel may rewrite a crash kernel's
/// elfcorehdr into on CPU or memory hotplug
/// (/sys/kernel/crash_elfcorehdr_size), or why the running kernel cannot
/// (kexec-tools dies the same way before it loads anything).
pub fn crash_hotplug_size(facts: &Facts) -> Result<u64, Rejection> {
    if let Some(size) = facts.crash_elfcorehdr_size {
        return Ok(size);
    }
    Err(model(
        Errno::EOPNOTSUPP,
        Rule::NoCrashHotplug,
        format!(
            "--hotplug: {} does not exist or holds no size, so the running kernel {} cannot update a crash kernel on CPU or memory hotplug: {}; drop --hotplug, and reload the crash kernel after each hotplug",
            path::CRASH_ELFCOREHDR_SIZE,
            release_or_unknown(facts),
            no_crash_hotplug_why(facts),
        ),
    ))
}

/// Why the running kernel has no /sys/kernel/crash_elfcorehdr_size, from
/// its version and the kexec_load flags it accepts.
pub fn no_crash_hotplug_why(facts: &Facts) -> String {
    let accepted = load_flags_accepted(facts.kernel_version(), facts.kexec_jump);
    match facts.kernel_version() {
        None => "the kernel's release is unknown (/proc/sys/kernel/osrelease cannot be read); crash hotplug needs Linux 6.6 or later built with CONFIG_CRASH_HOTPLUG".to_string(),
        Some((major, minor)) if accepted & KEXEC_UPDATE_ELFCOREHDR.0 == 0 => format!(
            "Linux {major}.{minor} predates crash hotplug (Linux 6.6 added it; this kernel's kexec_load accepts flags {accepted:#x}, without KEXEC_UPDATE_ELFCOREHDR 0x4)"
        ),
        Some((major, minor)) => format!(
            "Linux {major}.{minor} has crash hotplug, but this kernel was built without CONFIG_CRASH_HOTPLUG (it needs CONFIG_HOTPLUG_CPU or CONFIG_MEMORY_HOTPLUG, on an architecture that supports it)"
        ),
    }
}

/// `--hotplug` on kexec_load: the flag that tells the kernel the
/// elfcorehdr may be rewritten, as kexec-tools picks it: x86 sends
/// KEXEC_UPDATE_ELFCOREHDR (6.6-6.9 refuse KEXEC_CRASH_HOTPLUG_SUPPORT with
/// EINVAL, 6.10+ take either); other architectures only know
/// KEXEC_CRASH_HOTPLUG_SUPPORT (6.10+).
pub fn crash_hotplug_load_flag(facts: &Facts, arch: KexecArch) -> Result<KexecFlags, Rejection> {
    let (flag, name) = match arch {
        KexecArch::X86_64 => (KEXEC_UPDATE_ELFCOREHDR, "KEXEC_UPDATE_ELFCOREHDR"),
        _ => (KEXEC_CRASH_HOTPLUG_SUPPORT, "KEXEC_CRASH_HOTPLUG_SUPPORT"),
    };
    let accepted = load_flags_accepted(facts.kernel_version(), facts.kexec_jump);
    if facts.kernel_version().is_some() && accepted & flag.0 == 0 {
        return Err(model(
            Errno::EINVAL,
            Rule::NoCrashHotplug,
            format!(
                "--hotplug: kexec_load for KEXEC_ARCH_{} needs {name} ({:#x}), which the running kernel {} does not accept (its kexec_load takes flags {accepted:#x}); load the crash kernel with kexec_file_load (-s) instead, which the kernel updates on hotplug itself",
                arch.name(),
                flag.0,
                release_or_unknown(facts),
            ),
        ));
    }
    Ok(flag)
}

/// The kexec_load flag a load asks for with `--hotplug`: none for a normal
/// load (it has no elfcorehdr to rewrite); for a crash load, the kernel must
/// offer crash hotplug ([`crash_hotplug_size`]) and take the flag
/// ([`crash_hotplug_load_flag`]). Checked before anything is read.
pub fn crash_hotplug_flag(
    target: Target,
    hotplug: bool,
    facts: &Facts,
    arch: KexecArch,
) -> Result<Option<KexecFlags>, Rejection> {
    if target != Target::Crash || !hotplug {
        return Ok(None);
    }
    crash_hotplug_size(facts)?;
    crash_hotplug_load_flag(facts, arch).map(Some)
}

/// With kexec handover on, the kernel hands memory over only to an image
/// loaded with kexec_file_load (kho_fill_kimage() runs in the file loader
/// alone), so a kexec_load image for `kexec -e` would boot without it.
/// Crash loads are not concerned: a panic never goes through the reboot
/// path that finalizes the handover (and LUO's sessions), and the kernel
/// does not restrict crash images to the scratch areas either.
pub fn kexec_handover_allows_kexec_load(target: Target, facts: &Facts) -> Result<(), Rejection> {
    let Some(evidence) = kexec_handover_binds(target, facts) else {
        return Ok(());
    };
    let kho = &facts.kexec_handover;
    let luo = if kho.liveupdate.on == Some(true) {
        format!(
            ", nor the sessions preserved through {}",
            path::LIVEUPDATE_DEV
        )
    } else {
        String::new()
    };
    Err(model(
        Errno::EINVAL,
        Rule::KexecHandover,
        format!(
            "kexec handover is on ({evidence}): the kernel hands its preserved memory over only to a kernel loaded with kexec_file_load, so one loaded with kexec_load would not receive it{luo}; load with -s (or -a, the default), or pass --skip-preflight to load it this way anyway"
        ),
    ))
}

/// Whether kexec handover binds a load for `target` to kexec_file_load:
/// KHO is on and it is a kernel for `kexec -e`. Some(the fact that shows
/// KHO on) then, for the messages of the rule and of `-a`'s strategy.
pub fn kexec_handover_binds(target: Target, facts: &Facts) -> Option<&str> {
    let kho = &facts.kexec_handover;
    (target == Target::Normal && kho.is_on())
        .then(|| kho.on_evidence.as_deref().unwrap_or("kho=on"))
}

pub(crate) fn release_or_unknown(facts: &Facts) -> &str {
    if facts.kernel_release.is_empty() {
        "(release unknown)"
    } else {
        &facts.kernel_release
    }
}

fn crash_room(load: &FileLoad, facts: &Facts, needed: u64) -> Result<(), Rejection> {
    crash_region_reserved(facts)?;
    let region = facts.crash_region_size();
    if needed > region {
        let where_ = match facts.main_crash_region() {
            Some(r) if r.start != 0 => format!(" [{r}]"),
            _ => String::new(),
        };
        let initrd = load
            .initrd
            .as_ref()
            .map(|i| format!(" and the initrd {} ({})", i.display(), human_size(i.size)))
            .unwrap_or_default();
        return Err(model(
            Errno::EADDRNOTAVAIL,
            Rule::CrashRegionTooSmall,
            format!(
                "the crash kernel does not fit in the Crash kernel region{where_} of {}: the kernel {} (init_size {}){initrd} and the loader's {} need at least {}; reserve more with crashkernel=",
                human_size(region),
                load.kernel.display(),
                human_size(load.header().map_or(0, |h| u64::from(h.init_size))),
                human_size(CRASH_OVERHEAD),
                human_size(needed)
            ),
        ));
    }
    Ok(())
}

/// The half-of-RAM rule judged from the input files' sizes alone, before a
/// byte of them is read: their segments can only be larger.
pub fn inputs_within_half_of_ram(inputs: &[(&str, u64)], facts: &Facts) -> Result<(), Rejection> {
    let sizes: Vec<(&str, u64)> = inputs.iter().map(|&(w, n)| (w, page_align(n))).collect();
    half_of_ram(&sizes, facts)
}

/// The most bytes a pipe, FIFO or device given as an input is read up to:
/// nothing larger can be loaded (half of RAM; for a crash kernel, its
/// region), so reading further would only fill the memory.
pub fn stream_limit(facts: &Facts, target: Target) -> u64 {
    let half = facts
        .mem_total
        .map_or(u64::MAX, |total| total / PAGE_SIZE / 2 * PAGE_SIZE);
    match target {
        Target::Crash if facts.crash_region_size() > 0 => half.min(facts.crash_region_size()),
        _ => half,
    }
}

/// sanity_check_segment_list(): no segment, and not all of them together,
/// may take more than half of the RAM.
fn half_of_ram(segments: &[(&str, u64)], facts: &Facts) -> Result<(), Rejection> {
    let Some(total) = facts.mem_total else {
        return Ok(());
    };
    let half = total / PAGE_SIZE / 2 * PAGE_SIZE;
    let mut sum: u64 = 0;
    for (what, memsz) in segments {
        sum = sum.saturating_add(*memsz);
        if *memsz > half || sum > half {
            return Err(model(
                Errno::EINVAL,
                Rule::MoreThanHalfOfRam,
                format!(
                    "the {what} needs {} of memory, and with the other segments {}; the kernel refuses loads larger than half of RAM ({} of MemTotal {})",
                    human_size(*memsz),
                    human_size(sum),
                    human_size(half),
                    human_size(total)
                ),
            ));
        }
    }
    Ok(())
}

/// Explains an errno the kernel returned for `plan`, in the same terms as
/// the predictions.
pub fn explain(errno: Errno, plan: &Plan, facts: &Facts) -> Rejection {
    let call = plan.syscall().name();
    let target = plan.target();
    let kernel = match plan {
        Plan::FileLoad(f) => f.kernel.display(),
        _ => "the image".to_string(),
    };
    let locked = facts.lockdown.as_deref().filter(|m| *m != "none");
    let (limit, limit_file) = facts.load_limit(target);
    let (rule, reason) = match errno {
        // The limit was 0 before the call (--skip-preflight sent it anyway).
        Errno::EPERM if limit == Some(0) => (
            Rule::LoadLimit,
            format!("no {} loads are left: {limit_file} is 0. {LOAD_LIMIT_COUNTS}", target.describe()),
        ),
        Errno::EPERM => match (locked, plan.syscall()) {
            (Some(mode), Syscall::KexecLoad) => (
                Rule::Lockdown,
                format!("the kernel is locked down (lockdown={mode}), which forbids kexec_load; load a signed kernel with kexec_file_load instead (kexec -s)"),
            ),
            (Some(mode), Syscall::KexecFileLoad) => (
                Rule::Lockdown,
                format!("the kernel is locked down (lockdown={mode}) and the signature of {kernel} could not be verified: only kernels signed with a key the running kernel trusts can be loaded"),
            ),
            _ => (
                Rule::SecurityModule,
                format!("{call} was not permitted: the kernel needs CAP_SYS_BOOT in the initial user namespace, kexec enabled ({}), load limits left, and no lockdown or LoadPin policy against it", path::KEXEC_LOAD_DISABLED),
            ),
        },
        Errno::EBUSY => (
            Rule::Busy,
            "another kexec operation is in progress (a concurrent load, unload or exec holds the kernel's kexec lock); try again".to_string(),
        ),
        Errno::ENOEXEC => (
            Rule::NotBzImage64,
            format!("the kernel's {call} loader did not accept {kernel} as a kernel image it can load"),
        ),
        Errno::ENODATA => (Rule::Signature, format!("signature verification of {kernel} failed: the image is not signed")),
        Errno::ENOKEY => (Rule::Signature, format!("signature verification of {kernel} failed: it is signed with a key the running kernel does not trust")),
        Errno::EKEYREJECTED => (Rule::Signature, format!("signature verification of {kernel} failed: the signature was rejected (invalid, or the kernel has no verifier for this image type)")),
        Errno::EBADMSG | Errno::ELIBBAD | Errno::EMSGSIZE => (Rule::Signature, format!("signature verification of {kernel} failed: its signature is malformed")),
        Errno::ENOPKG => (Rule::Signature, format!("signature verification of {kernel} failed: the kernel lacks the crypto algorithm the signature uses")),
        Errno::EACCES => (Rule::SecurityModule, format!("a security module (IMA appraisal or another LSM) denied loading {kernel}")),
        Errno::ETXTBSY => (Rule::FileBusy, format!("{kernel} or the initrd is open for writing by another process (the kernel reads only files nobody writes)")),
        Errno::EBADF => (Rule::Other, "a kernel or initrd descriptor is not open for reading (kexec_file_load needs descriptors opened O_RDONLY or O_RDWR)".to_string()),
        Errno::EFBIG => (Rule::FileTooBig, "the kernel or initrd is 4 GiB or larger".to_string()),
        Errno::ENOSYS => (Rule::NotImplemented, format!("the running kernel has no {call} (it was built without CONFIG_KEXEC{})", if plan.syscall() == Syscall::KexecFileLoad { "_FILE" } else { "" })),
        Errno::ENOMEM => (Rule::OutOfMemory, match target {
            Target::Crash => "the kernel could not allocate memory for the load: the Crash kernel region has no room left for the kernel's control pages".to_string(),
            Target::Normal => "the kernel ran out of memory while loading the image".to_string(),
        }),
        Errno::EADDRNOTAVAIL if plan.syscall() == Syscall::KexecLoad => (
            Rule::BadDestination,
            "a segment's destination is unaligned, wraps around, ends above the destination limit, or (crash loads) lies outside the Crash kernel region, or the entry point does".to_string(),
        ),
        Errno::EADDRNOTAVAIL => (Rule::NoRoom, match target {
            Target::Crash => format!("the crash kernel does not fit where it must go: the Crash kernel region is {} (reserve more with crashkernel=)", human_size(facts.crash_region_size())),
            // With KHO on, the kernel places a kernel for kexec -e only in
            // the scratch areas (kho_locate_mem_hole()).
            Target::Normal if facts.kexec_handover.is_on() => format!(
                "the kernel found no free memory hole for a segment: with kexec handover on it places them only in KHO's scratch areas ({}), which kho_scratch= on the running kernel's command line sizes",
                match &facts.kexec_handover.scratch {
                    Some(areas) => format!(
                        "{} in all",
                        human_size(areas.iter().map(|r| r.size()).sum())
                    ),
                    None => format!("{} cannot be read", path::KHO_SCRATCH_LEN),
                }
            ),
            Target::Normal => "the kernel found no free memory hole for a segment".to_string(),
        }),
        Errno::EINVAL if matches!(plan, Plan::FileLoad(f) if f.cmdline_bytes().last() != Some(&0)) => (
            Rule::CmdlineNotTerminated,
            "the command line does not end in a NUL byte".to_string(),
        ),
        Errno::EINVAL => (Rule::Other, format!("the kernel refused the arguments of {call} as invalid (a command line without its NUL or too long, an empty or non-regular file, unknown flags{})", match plan {
            Plan::FileLoad(f) if f.flags.contains(KEXEC_FILE_ON_CRASH) => ", or no room in the crash region",
            _ => "",
        })),
        other => (Rule::Other, format!("{call} failed: {}", other.description())),
    };
    let reason = match (plan, rule) {
        (Plan::FileLoad(f), Rule::Signature | Rule::Lockdown) => {
            format!("{reason}{}", unwrapped_signature_note(&f.kernel))
        }
        _ => reason,
    };
    Rejection {
        errno,
        rule,
        reason,
        source: Source::Kernel,
    }
}

/// What unwrapping did to a signature, for a kernel the kernel refused to
/// verify: the kernel checks the bytes it is given, the kernel inside.
fn unwrapped_signature_note(kernel: &crate::image::Input) -> String {
    if kernel.extracted_from.is_some() {
        return "; it is the .linux section unwrapped from a unified kernel image: the UKI's own signature covers the UKI, not the kernel inside, which must carry a signature of its own (sbsign it before building the UKI)".to_string();
    }
    match &kernel.unpacked_from {
        Some(u) => format!("; it is the kernel unpacked from {}: a signature on the packed file does not carry over, the kernel inside must be signed itself", u.what),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::bzimage::offset;
    use crate::sys::abi::FileFlags;
    use crate::sys::FakeHost;
    use crate::testing::bzimage64_sample as debian_like_header;
    use std::io::Write;
    use std::path::PathBuf;

    struct Files {
        dir: PathBuf,
    }

    impl Files {
        fn new(name: &str) -> Files {
            let dir =
                std::env::temp_dir().join(format!("kexec-rules-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Files { dir }
        }
        fn put(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let p = self.dir.join(name);
            std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
            p
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn facts() -> Facts {
        Facts::gather(&FakeHost::typical())
    }

    fn load(
        target: Target,
        kernel: &std::path::Path,
        initrd: Option<&std::path::Path>,
        cmdline: &str,
    ) -> Plan {
        Plan::FileLoad(
            FileLoad::open(
                target,
                kernel,
                initrd,
                cmdline.as_bytes().to_vec(),
                FileFlags(0),
            )
            .unwrap(),
        )
    }

    fn verdict(plan: &Plan, facts: &Facts) -> Option<(Errno, Rule)> {
        check(plan, facts).err().map(|r| (r.errno, r.rule))
    }

    #[test]
    fn a_good_kernel_passes() {
        let f = Files::new("good");
        let k = f.put("vmlinuz", &debian_like_header());
        let i = f.put("initrd", b"0707010000");
        assert_eq!(
            verdict(
                &load(Target::Normal, &k, Some(&i), "console=ttyS0"),
                &facts()
            ),
            None
        );
        assert_eq!(
            verdict(&load(Target::Crash, &k, Some(&i), "x"), &facts()),
            None
        );
    }

    #[test]
    fn permission_comes_first() {
        let f = Files::new("perm");
        let k = f.put("empty", b"");
        let mut facts = facts();
        facts.cap_sys_boot = Some(false);
        let r = check(&load(Target::Normal, &k, None, ""), &facts).unwrap_err();
        assert_eq!((r.errno, r.rule), (Errno::EPERM, Rule::NoCapSysBoot));
        assert!(r.reason.contains("CAP_SYS_BOOT"));
        facts.cap_sys_boot = Some(true);
        facts.kexec_load_disabled = true;
        let r = check(&load(Target::Normal, &k, None, ""), &facts).unwrap_err();
        assert!(r.reason.contains("kexec_load_disabled"));
        facts.kexec_load_disabled = false;
        facts.load_limit_panic = Some(0);
        assert_eq!(
            verdict(&load(Target::Crash, &k, None, ""), &facts),
            Some((Errno::EPERM, Rule::LoadLimit))
        );
    }

    /// KEXEC_FILE_FLAGS per release: 6.1 (Debian 12), 6.8, 6.12 (Debian 13),
    /// 6.17, 6.18, 7.2 (Debian unstable), and an unknown release.
    #[test]
    fn file_flags_per_kernel_version() {
        for (version, accepted) in [
            (None, 0x7),
            (Some((6, 1)), 0x7),
            (Some((6, 7)), 0x7),
            (Some((6, 8)), 0xf),
            (Some((6, 12)), 0xf),
            (Some((6, 16)), 0xf),
            (Some((6, 17)), 0x1f),
            (Some((6, 18)), 0x3f),
            (Some((7, 2)), 0x3f),
        ] {
            assert_eq!(file_flags_accepted(version).0, accepted, "{version:?}");
        }
    }

    /// --no-cma on a kernel before 6.17: EINVAL before the call, naming the
    /// flag, the release that has it and the running one.
    #[test]
    fn no_cma_is_refused_before_6_17_with_the_version() {
        let f = Files::new("nocma");
        let k = f.put("vmlinuz", &debian_like_header());
        let plan = |flags| {
            Plan::FileLoad(FileLoad::open(Target::Crash, &k, None, b"x".to_vec(), flags).unwrap())
        };
        let mut facts = facts();
        for (release, debug_ok) in [
            ("6.1.0-56-amd64", false),
            ("6.12.48+deb13-amd64", true),
            ("6.16.9-amd64", true),
        ] {
            facts.kernel_release = release.into();
            let r = check(&plan(KEXEC_FILE_ON_CRASH | KEXEC_FILE_NO_CMA), &facts).unwrap_err();
            assert_eq!(
                (r.errno, r.rule),
                (Errno::EINVAL, Rule::UnknownFlags),
                "{release}"
            );
            assert!(
                r.reason.contains("KEXEC_FILE_NO_CMA")
                    && r.reason.contains("needs Linux 6.17 or later")
                    && r.reason.contains(release),
                "{}",
                r.reason
            );
            // DEBUG is passed only where accepted; on 6.12 it is.
            let debug = check(&plan(KEXEC_FILE_ON_CRASH | KEXEC_FILE_DEBUG), &facts);
            assert_eq!(debug.is_ok(), debug_ok, "{release}: {debug:?}");
        }
        for release in ["6.17.1-amd64", "7.2.0-1-amd64"] {
            facts.kernel_release = release.into();
            assert_eq!(
                verdict(&plan(KEXEC_FILE_ON_CRASH | KEXEC_FILE_NO_CMA), &facts),
                None,
                "{release}"
            );
        }
    }

    /// kexec_load_limit_*: 0 refuses every call of its kind (unloads too);
    /// the message names the sysctl, its value and how the kernel counts.
    #[test]
    fn a_spent_load_limit_refuses_loads_and_unloads() {
        let f = Files::new("limit");
        let k = f.put("vmlinuz", &debian_like_header());
        let mut facts = facts();
        facts.load_limit_reboot = Some(0);
        facts.load_limit_panic = Some(-1);
        for plan in [
            load(Target::Normal, &k, None, "x"),
            Plan::file_unload(Target::Normal),
            Plan::unload(Target::Normal),
        ] {
            let r = check(&plan, &facts).unwrap_err();
            assert_eq!((r.errno, r.rule), (Errno::EPERM, Rule::LoadLimit));
            assert!(
                r.reason
                    .contains("/proc/sys/kernel/kexec_load_limit_reboot is 0")
                    && r.reason.contains("unloads and refused calls included")
                    && r.reason.contains("only be lowered until the next reboot"),
                "{}",
                r.reason
            );
        }
        // The other limit is not this one's business.
        assert_eq!(verdict(&load(Target::Crash, &k, None, "x"), &facts), None);
        facts.load_limit_panic = Some(0);
        let r = check(&Plan::file_unload(Target::Crash), &facts).unwrap_err();
        assert!(
            r.reason.contains("kexec_load_limit_panic is 0"),
            "{}",
            r.reason
        );
        // One load left for a normal kernel: nothing special.
        facts.load_limit_reboot = Some(1);
        assert_eq!(verdict(&load(Target::Normal, &k, None, "x"), &facts), None);
    }

    /// With one crash load left and a crash kernel loaded, a reload is
    /// refused before the call: its failure could not be undone.
    /// An EPERM the kernel returned with the limit at 0 (--skip-preflight)
    /// is explained by the limit, not as a generic permission problem.
    #[test]
    fn a_kernel_eperm_at_a_spent_limit_names_it() {
        let mut facts = facts();
        let r = explain(Errno::EPERM, &Plan::file_unload(Target::Normal), &facts);
        assert_eq!(r.rule, Rule::SecurityModule);
        facts.load_limit_reboot = Some(0);
        let r = explain(Errno::EPERM, &Plan::file_unload(Target::Normal), &facts);
        assert_eq!((r.rule, r.source), (Rule::LoadLimit, Source::Kernel));
        assert!(
            r.reason.contains("kexec_load_limit_reboot is 0"),
            "{}",
            r.reason
        );
        // The crash limit is the crash plan's business only.
        let r = explain(Errno::EPERM, &Plan::unload(Target::Crash), &facts);
        assert_eq!(r.rule, Rule::SecurityModule);
    }

    #[test]
    fn the_last_crash_load_is_kept_while_a_crash_kernel_is_loaded() {
        let f = Files::new("lastcrash");
        let k = f.put("vmlinuz", &debian_like_header());
        let mut facts = facts();
        facts.load_limit_panic = Some(1);
        facts.crash_loaded = Some(true);
        let r = check(&load(Target::Crash, &k, None, "x"), &facts).unwrap_err();
        assert_eq!((r.errno, r.rule), (Errno::EPERM, Rule::LastCrashLoad));
        assert!(
            r.reason.contains("kexec_load_limit_panic is 1")
                && r.reason.contains("--skip-preflight")
                && r.to_string().contains("kexec refuses it"),
            "{r}"
        );
        let segments = vec![Segment {
            purpose: "a".into(),
            data: crate::plan::SegmentData::Bytes(vec![1; 16]),
            mem: 0x6500_0000,
            memsz: 0x1000,
            digest: None,
        }];
        let raw = Plan::Load {
            target: Target::Crash,
            segments,
            entry: 0x6500_0000,
            flags: KEXEC_ON_CRASH,
        };
        assert_eq!(
            verdict(&raw, &facts),
            Some((Errno::EPERM, Rule::LastCrashLoad))
        );
        // An unload, no crash kernel loaded, or two loads left: allowed.
        assert_eq!(verdict(&Plan::file_unload(Target::Crash), &facts), None);
        assert_eq!(verdict(&Plan::unload(Target::Crash), &facts), None);
        facts.crash_loaded = Some(false);
        assert_eq!(verdict(&load(Target::Crash, &k, None, "x"), &facts), None);
        facts.crash_loaded = Some(true);
        facts.load_limit_panic = Some(2);
        assert_eq!(verdict(&load(Target::Crash, &k, None, "x"), &facts), None);
        assert_eq!(verdict(&raw, &facts), None);
    }

    #[test]
    fn empty_text_and_directory_kernels() {
        let f = Files::new("bad");
        let empty = f.put("empty", b"");
        let text = f.put(
            "text.txt",
            &b"hello world, this is not a kernel\n".repeat(100),
        );
        let r = check(&load(Target::Normal, &empty, None, ""), &facts()).unwrap_err();
        assert_eq!((r.errno, r.rule), (Errno::EINVAL, Rule::EmptyFile));
        assert!(
            r.reason.contains("empty") && r.reason.contains("empty"),
            "{}",
            r.reason
        );
        let r = check(&load(Target::Normal, &text, None, ""), &facts()).unwrap_err();
        assert_eq!((r.errno, r.rule), (Errno::ENOEXEC, Rule::NotBzImage64));
        assert!(
            r.reason.contains("HdrS") && r.reason.contains("text.txt"),
            "{}",
            r.reason
        );
        let r = check(&load(Target::Normal, &f.dir, None, ""), &facts()).unwrap_err();
        assert_eq!(r.rule, Rule::NotRegularFile);
    }

    #[test]
    fn each_probe_field_is_named() {
        let f = Files::new("probe");
        let cases: [(usize, &[u8], &str); 4] = [
            (offset::BOOT_FLAG, &[0, 0], "boot_flag"),
            (offset::VERSION, &[0x0b, 0x02], "2.11"),
            (offset::LOADFLAGS, &[0], "LOADED_HIGH"),
            (offset::XLOADFLAGS, &[0x02, 0], "XLF_KERNEL_64"),
        ];
        for (at, bytes, named) in cases {
            let mut image = debian_like_header();
            image[at..at + bytes.len()].copy_from_slice(bytes);
            let k = f.put("k", &image);
            let r = check(&load(Target::Normal, &k, None, ""), &facts()).unwrap_err();
            assert_eq!(r.errno, Errno::ENOEXEC);
            assert!(r.reason.contains(named), "{named}: {}", r.reason);
        }
        let mut image = debian_like_header();
        image[offset::XLOADFLAGS] = 0x01;
        let k = f.put("k", &image);
        assert!(check(&load(Target::Normal, &k, None, ""), &facts())
            .unwrap_err()
            .reason
            .contains("ABOVE_4G"));
    }

    /// A bzImage with setup header fields changed: (offset, little-endian bytes).
    fn image_with(fields: &[(usize, &[u8])]) -> Vec<u8> {
        let mut image = debian_like_header();
        for (at, bytes) in fields {
            image[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        image
    }

    // Found by examples/differential_file.rs: the kernel never looks at the
    // first bytes, so an ELF magic over an intact setup header is still a
    // bzImage to it (it failed later, on the initrd, with EINVAL).
    #[test]
    fn elf_magic_over_a_valid_setup_header_is_a_bzimage() {
        let f = Files::new("elfmagic");
        let mut image = debian_like_header();
        image[..20].copy_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\xb7\0");
        let k = f.put("k", &image);
        assert_eq!(
            verdict(&load(Target::Normal, &k, Some(&f.dir), ""), &facts()),
            Some((Errno::EINVAL, Rule::NotRegularFile))
        );
        assert_eq!(verdict(&load(Target::Normal, &k, None, ""), &facts()), None);
        // Without the setup header, the ELF header still explains why.
        let mut elf = vec![0u8; 4096];
        elf[..20].copy_from_slice(&image[..20]);
        let k = f.put("elf", &elf);
        let r = check(&load(Target::Normal, &k, None, ""), &facts()).unwrap_err();
        assert_eq!(r.rule, Rule::NotBzImage64);
        assert!(r.reason.contains("AArch64"), "{}", r.reason);
    }

    // Found by the differential test: the kernel segment's bufsz (file minus
    // setup code) larger than PAGE_ALIGN(init_size) is EINVAL.
    #[test]
    fn init_size_smaller_than_the_kernel_is_refused() {
        let f = Files::new("initsize");
        // 0x4000 bytes, 0x1c sectors of setup: 0x400 bytes of kernel.
        let k = f.put(
            "k",
            &image_with(&[(offset::INIT_SIZE, &0u32.to_le_bytes())]),
        );
        let r = check(&load(Target::Normal, &k, None, ""), &facts()).unwrap_err();
        assert_eq!(
            (r.errno, r.rule),
            (Errno::EINVAL, Rule::BufferLargerThanMemory)
        );
        assert!(r.reason.contains("init_size 0x0"), "{}", r.reason);
        let k = f.put(
            "k",
            &image_with(&[(offset::INIT_SIZE, &0x400u32.to_le_bytes())]),
        );
        assert_eq!(verdict(&load(Target::Normal, &k, None, ""), &facts()), None);
    }

    // Found by the differential test: a kernel no System RAM range can hold
    // is EADDRNOTAVAIL (placement comes before the half-of-RAM EINVAL).
    #[test]
    fn a_kernel_larger_than_any_ram_range_has_no_room() {
        let f = Files::new("noroom");
        let k = f.put(
            "k",
            &image_with(&[(offset::INIT_SIZE, &0x8000_0000u32.to_le_bytes())]),
        );
        let r = check(&load(Target::Normal, &k, None, ""), &facts()).unwrap_err();
        assert_eq!((r.errno, r.rule), (Errno::EADDRNOTAVAIL, Rule::NoRoom));
        assert!(r.reason.contains("System RAM"), "{}", r.reason);
        // Fits in RAM but more than half of it: still the half-of-RAM EINVAL.
        let k = f.put(
            "k",
            &image_with(&[(offset::INIT_SIZE, &0x5000_0000u32.to_le_bytes())]),
        );
        assert_eq!(
            verdict(&load(Target::Normal, &k, None, ""), &facts()),
            Some((Errno::EINVAL, Rule::MoreThanHalfOfRam))
        );
        // An alignment that leaves no aligned start in RAM.
        let k = f.put(
            "k",
            &image_with(&[(offset::KERNEL_ALIGNMENT, &0x8000_0000u32.to_le_bytes())]),
        );
        assert_eq!(
            verdict(&load(Target::Normal, &k, None, ""), &facts()),
            Some((Errno::EADDRNOTAVAIL, Rule::NoRoom))
        );
    }

    // Found by the kernel matrix: Debian 13's 6.12 places the kernel at or
    // above pref_address (since 6.8), so a 4 GiB pref_address in a guest
    // with less RAM has no room; 6.1 ignores pref_address.
    #[test]
    fn pref_address_is_the_kernels_minimum_since_6_8() {
        let f = Files::new("pref");
        let k = f.put(
            "k",
            &image_with(&[(offset::PREF_ADDRESS, &0x1_0000_0000u64.to_le_bytes())]),
        );
        let mut facts = facts();
        facts.kernel_release = "6.1.0-57-amd64".into();
        assert_eq!(verdict(&load(Target::Normal, &k, None, ""), &facts), None);
        facts.kernel_release = "6.12.118+deb13-amd64".into();
        let r = check(&load(Target::Normal, &k, None, ""), &facts).unwrap_err();
        assert_eq!((r.errno, r.rule), (Errno::EADDRNOTAVAIL, Rule::NoRoom));
        assert!(r.reason.contains("at or above 0x100000000"), "{}", r.reason);
        // The differential test's extremes: no overflow, no room.
        for pref in [0x2000_0000_0000u64, u64::MAX] {
            let k = f.put(
                "k",
                &image_with(&[(offset::PREF_ADDRESS, &pref.to_le_bytes())]),
            );
            assert_eq!(
                verdict(&load(Target::Normal, &k, None, ""), &facts),
                Some((Errno::EADDRNOTAVAIL, Rule::NoRoom)),
                "pref_address {pref:#x}"
            );
        }
    }

    // Found by the differential test: before 6.8 the top-down search starts
    // one byte low, so kernel_alignment 0x1800 gives an unaligned kernel
    // address, which the segment check refuses with EADDRNOTAVAIL.
    #[test]
    fn an_alignment_not_a_multiple_of_the_page_is_refused_before_6_8() {
        let f = Files::new("align");
        let k = f.put(
            "k",
            &image_with(&[(offset::KERNEL_ALIGNMENT, &0x1800u32.to_le_bytes())]),
        );
        let mut facts = facts();
        for target in [Target::Normal, Target::Crash] {
            let r = check(&load(target, &k, None, ""), &facts).unwrap_err();
            assert_eq!((r.errno, r.rule), (Errno::EADDRNOTAVAIL, Rule::NoRoom));
            assert!(r.reason.contains("kernel_alignment 0x1800"), "{}", r.reason);
        }
        facts.kernel_release = "6.8.0".into();
        assert_eq!(verdict(&load(Target::Normal, &k, None, ""), &facts), None);
        // A multiple of the page that is not a power of two aligns fine.
        let k = f.put(
            "k",
            &image_with(&[(offset::KERNEL_ALIGNMENT, &0x3000u32.to_le_bytes())]),
        );
        facts.kernel_release = "6.1.0-56-amd64".into();
        assert_eq!(verdict(&load(Target::Normal, &k, None, ""), &facts), None);
    }

    // Found by the differential test (seed 833999537): a crash kernel with
    // kernel_alignment 128 MiB and a 150 MiB initrd in a 256 MiB region.
    // The kernel goes top-down to 0x50000000 and the initrd fits below it,
    // so 6.1 loaded what a margin of the whole alignment refused.
    #[test]
    fn a_crash_kernel_alignment_wastes_only_what_the_placement_wastes() {
        let f = Files::new("crash-align");
        let kernel = |init_size: u32| {
            image_with(&[
                (offset::KERNEL_ALIGNMENT, &0x800_0000u32.to_le_bytes()),
                (offset::INIT_SIZE, &init_size.to_le_bytes()),
            ])
        };
        let initrd = |name: &str, mib: u64| {
            let p = f.put(name, b"");
            std::fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_len(mib << 20)
                .unwrap();
            p
        };
        let mut facts = facts();
        facts.kernel_release = "6.1.0-57-amd64".into();
        facts.crash_regions = vec![Range::new(0x4300_0000, 0x5300_0000)];
        let small = f.put("small", &kernel(1 << 20));
        let i150 = initrd("initrd-150m", 150);
        assert_eq!(
            verdict(&load(Target::Crash, &small, Some(&i150), ""), &facts),
            None
        );
        // 40 MiB at 0x50000000 leaves 207 MiB below and 7.5 MiB above: 210
        // MiB fit in the region's size but in neither piece.
        let big = f.put("big", &kernel(40 << 20));
        let i210 = initrd("initrd-210m", 210);
        let r = check(&load(Target::Crash, &big, Some(&i210), ""), &facts).unwrap_err();
        assert_eq!(
            (r.errno, r.rule),
            (Errno::EADDRNOTAVAIL, Rule::CrashRegionTooSmall)
        );
        assert!(
            r.reason.contains("to 0x50000000") && r.reason.contains("initrd-210m needs 210 MiB"),
            "{}",
            r.reason
        );
        let i200 = initrd("initrd-200m", 200);
        assert_eq!(
            verdict(&load(Target::Crash, &big, Some(&i200), ""), &facts),
            None
        );
    }

    #[test]
    fn file_placement_follows_the_kernels_search() {
        let ram = [
            Range::new(0x1000, 0x9fc00),
            Range::new(0x10_0000, 0x8000_0000),
        ];
        let v61 = Some((6, 1));
        let v68 = Some((6, 8));
        // 6.1 starts at last byte - memsz (one byte low), then masks.
        assert_eq!(
            file_placement(&ram, 0x20_0000, 0x20_0000, MIN_KERNEL_LOAD_ADDR, v61),
            Some(0x7fc0_0000)
        );
        assert_eq!(
            file_placement(&ram, 0x20_0000, 0x20_0000, MIN_KERNEL_LOAD_ADDR, v68),
            Some(0x7fe0_0000)
        );
        assert_eq!(
            file_placement(&ram, 0x8000_0000, 0x1000, 0x10_0000, v61),
            None
        );
        assert_eq!(file_placement(&[], 0x1000, 0x1000, 0, v61), None);
    }

    // Found by the differential test: our own payload rule (the kernel would
    // load the file) must not hide the kernel's own rules: it comes last.
    #[test]
    fn a_cut_payload_does_not_hide_the_kernels_own_rules() {
        let f = Files::new("payload");
        let k = f.put(
            "k",
            &image_with(&[
                (offset::PAYLOAD_OFFSET, &0u32.to_le_bytes()),
                (offset::PAYLOAD_LENGTH, &0x1000u32.to_le_bytes()),
            ]),
        );
        assert_eq!(
            verdict(&load(Target::Normal, &k, None, ""), &facts()),
            Some((Errno::ENOEXEC, Rule::PayloadTruncated))
        );
        let long = "x".repeat(2047);
        assert_eq!(
            verdict(&load(Target::Normal, &k, None, &long), &facts()),
            Some((Errno::EINVAL, Rule::CmdlineTooLong))
        );
    }

    #[test]
    fn five_level_paging_needs_xlf_5level() {
        let f = Files::new("la57");
        let mut image = debian_like_header();
        image[offset::XLOADFLAGS] = 0x03;
        let k = f.put("k", &image);
        let mut facts = facts();
        assert_eq!(verdict(&load(Target::Normal, &k, None, ""), &facts), None);
        facts.five_level_paging = true;
        assert_eq!(
            verdict(&load(Target::Normal, &k, None, ""), &facts),
            Some((Errno::ENOEXEC, Rule::NotBzImage64))
        );
    }

    #[test]
    fn truncated_kernel_says_how_many_bytes() {
        let f = Files::new("trunc");
        let image = debian_like_header()[..0x1000].to_vec();
        let k = f.put("k", &image);
        let r = check(&load(Target::Normal, &k, None, ""), &facts()).unwrap_err();
        assert_eq!((r.errno, r.rule), (Errno::ENOEXEC, Rule::Truncated));
        assert!(r.reason.contains("14336 bytes"), "{}", r.reason);
        // Whole setup code, but the payload cut off: how many bytes are missing.
        let mut image = debian_like_header();
        image[0x248..0x24c].copy_from_slice(&0x2ccu32.to_le_bytes());
        image[0x24c..0x250].copy_from_slice(&0x10000u32.to_le_bytes());
        let k = f.put("k2", &image);
        let r = check(&load(Target::Normal, &k, None, ""), &facts()).unwrap_err();
        assert_eq!(r.rule, Rule::PayloadTruncated);
        assert!(r.to_string().contains("kexec refuses it"), "{r}");
        assert!(
            r.reason.contains(&format!(
                "{} bytes are missing",
                0x3800 + 0x2cc + 0x10000 - 0x4000
            )),
            "{}",
            r.reason
        );
        // An ELF is named as one.
        let mut elf = b"\x7fELF".to_vec();
        elf.resize(4096, 0);
        elf[18] = 183;
        let k = f.put("arm64", &elf);
        let r = check(&load(Target::Normal, &k, None, ""), &facts()).unwrap_err();
        assert!(r.reason.contains("AArch64"), "{}", r.reason);
    }

    #[test]
    fn cmdline_limit_is_cmdline_size_minus_30_with_the_nul() {
        let f = Files::new("cmdline");
        let k = f.put("k", &debian_like_header());
        // cmdline_size 2047: 2017 bytes with NUL pass, 2018 fail.
        assert_eq!(
            verdict(&load(Target::Normal, &k, None, &"a".repeat(2016)), &facts()),
            None
        );
        let r = check(&load(Target::Normal, &k, None, &"a".repeat(2017)), &facts()).unwrap_err();
        assert_eq!((r.errno, r.rule), (Errno::EINVAL, Rule::CmdlineTooLong));
        assert!(
            r.reason.contains("2018 bytes") && r.reason.contains("2017"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn empty_or_missing_initrd() {
        let f = Files::new("initrd");
        let k = f.put("k", &debian_like_header());
        let i = f.put("empty-initrd", b"");
        let r = check(&load(Target::Normal, &k, Some(&i), ""), &facts()).unwrap_err();
        assert_eq!(r.rule, Rule::EmptyInitrd);
        assert!(r.reason.contains("initrd") && r.reason.contains("empty-initrd"));
        let err = FileLoad::open(
            Target::Normal,
            &k,
            Some(&f.dir.join("nope")),
            Vec::new(),
            FileFlags(0),
        )
        .unwrap_err();
        assert!(err.to_string().contains("initrd") && err.to_string().contains("nope"));
    }

    #[test]
    fn crash_loads_need_a_region_big_enough() {
        let f = Files::new("crash");
        let k = f.put("k", &debian_like_header());
        let big = f.put("big-initrd", &vec![1u8; 1 << 20]);
        let mut facts = facts();
        facts.crash_regions.clear();
        facts.crash_size = Some(0);
        let r = check(&load(Target::Crash, &k, None, ""), &facts).unwrap_err();
        assert_eq!(
            (r.errno, r.rule),
            (Errno::EADDRNOTAVAIL, Rule::NoCrashRegion)
        );
        assert!(r.reason.contains("crashkernel="));
        // 16 MiB region: init_size 42 MiB alone does not fit.
        facts.crash_regions = vec![crate::memory::Range::new(0x6000_0000, 0x6100_0000)];
        let r = check(&load(Target::Crash, &k, Some(&big), ""), &facts).unwrap_err();
        assert_eq!(
            (r.errno, r.rule),
            (Errno::EADDRNOTAVAIL, Rule::CrashRegionTooSmall)
        );
        assert!(
            r.reason.contains("16 MiB") && r.reason.contains("big-initrd"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn more_than_half_of_ram_is_refused() {
        let f = Files::new("half");
        let k = f.put("k", &debian_like_header());
        let mut facts = facts();
        facts.mem_total = Some(64 << 20);
        let r = check(&load(Target::Normal, &k, None, ""), &facts).unwrap_err();
        assert_eq!((r.errno, r.rule), (Errno::EINVAL, Rule::MoreThanHalfOfRam));
    }

    #[test]
    fn flags_the_kernel_does_not_know() {
        let f = Files::new("flags");
        let k = f.put("k", &debian_like_header());
        let plan = Plan::FileLoad(
            FileLoad::open(Target::Normal, &k, None, Vec::new(), FileFlags(0x8)).unwrap(),
        );
        assert_eq!(
            verdict(&plan, &facts()),
            Some((Errno::EINVAL, Rule::UnknownFlags))
        );
        let mut newer = facts();
        newer.kernel_release = "6.18.2".into();
        assert_eq!(verdict(&plan, &newer), None);
    }

    fn seg(purpose: &str, mem: u64, bufsz: usize, memsz: u64) -> Segment {
        Segment {
            digest: None,
            purpose: purpose.into(),
            data: vec![0; bufsz].into(),
            mem,
            memsz,
        }
    }

    fn kexec_load(target: Target, segments: Vec<Segment>, entry: u64, flags: u64) -> Plan {
        Plan::Load {
            target,
            segments,
            entry,
            flags: KexecFlags(flags),
        }
    }

    #[test]
    fn segment_rules_in_the_kernels_order() {
        let f = facts();
        let ok = kexec_load(
            Target::Normal,
            vec![
                seg("a", 0x100000, 10, 0x1000),
                seg("b", 0x200000, 0, 0x2000),
            ],
            0x100000,
            0x3e0000,
        );
        assert_eq!(verdict(&ok, &f), None);
        let cases = [
            (
                vec![seg("a", 0x100800, 10, 0x1000)],
                (Errno::EADDRNOTAVAIL, Rule::BadDestination),
            ),
            (
                vec![seg("a", 0x100000, 10, 0x800)],
                (Errno::EADDRNOTAVAIL, Rule::BadDestination),
            ),
            (
                vec![seg("a", 1 << 46, 0, 0x1000)],
                (Errno::EADDRNOTAVAIL, Rule::BadDestination),
            ),
            (
                vec![
                    seg("a", 0x100000, 10, 0x2000),
                    seg("b", 0x101000, 0, 0x1000),
                ],
                (Errno::EINVAL, Rule::Overlap),
            ),
            (
                vec![seg("a", 0x100000, 0x2000, 0x1000)],
                (Errno::EINVAL, Rule::BufferLargerThanMemory),
            ),
            (
                vec![seg("a", 0x100000, 0, 1 << 30)],
                (Errno::EINVAL, Rule::MoreThanHalfOfRam),
            ),
            (
                (0..17)
                    .map(|i| seg("s", 0x100000 + i * 0x1000, 0, 0x1000))
                    .collect(),
                (Errno::EINVAL, Rule::TooManySegments),
            ),
        ];
        for (segments, expected) in cases {
            assert_eq!(
                verdict(&kexec_load(Target::Normal, segments, 0, 0), &f),
                Some(expected)
            );
        }
        // Alignment is checked on every segment before any overlap.
        let both = vec![
            seg("a", 0x100000, 0, 0x2000),
            seg("b", 0x101000, 0, 0x1000),
            seg("c", 0x300800, 0, 0x1000),
        ];
        assert_eq!(
            verdict(&kexec_load(Target::Normal, both, 0, 0), &f),
            Some((Errno::EADDRNOTAVAIL, Rule::BadDestination))
        );
    }

    #[test]
    fn flags_arch_and_lockdown() {
        let mut f = facts();
        let s = || vec![seg("a", 0x100000, 0, 0x1000)];
        assert_eq!(
            verdict(&kexec_load(Target::Normal, s(), 0, 0x4), &f),
            Some((Errno::EINVAL, Rule::UnknownFlags))
        );
        assert_eq!(
            verdict(&kexec_load(Target::Normal, s(), 0, 0xB70000), &f),
            Some((Errno::EINVAL, Rule::ForeignArch))
        );
        let r = check(&kexec_load(Target::Normal, s(), 0, 0xB70000), &f).unwrap_err();
        assert!(r.reason.contains("KEXEC_ARCH_AARCH64"), "{}", r.reason);
        f.lockdown = Some("integrity".into());
        let r = check(&kexec_load(Target::Normal, s(), 0, 0), &f).unwrap_err();
        assert_eq!(r.rule, Rule::Lockdown);
        assert!(r.reason.contains("kexec -s"));
    }

    #[test]
    fn crash_segments_and_entry_must_be_in_the_region() {
        let f = facts(); // Crash kernel 0x65000000-0x74ffffff
        let inside = vec![seg("k", 0x6500_0000, 0, 0x1000)];
        assert_eq!(
            verdict(
                &kexec_load(Target::Crash, inside.clone(), 0x6500_0000, 1),
                &f
            ),
            None
        );
        assert_eq!(
            verdict(&kexec_load(Target::Crash, inside, 0x1000, 1), &f),
            Some((Errno::EADDRNOTAVAIL, Rule::OutsideCrashRegion))
        );
        let outside = vec![seg("k", 0x1000_0000, 0, 0x1000)];
        assert_eq!(
            verdict(&kexec_load(Target::Crash, outside, 0x6500_0000, 1), &f),
            Some((Errno::EADDRNOTAVAIL, Rule::OutsideCrashRegion))
        );
    }

    #[test]
    fn a_missing_syscall_is_enosys_before_anything_else() {
        let f = Files::new("nosys");
        let k = f.put("k", &debian_like_header());
        let mut facts = facts();
        facts.cap_sys_boot = Some(false); // EPERM comes later in the kernel
        facts.kexec_file_load_support = crate::facts::Support {
            built: Some(false),
            evidence: Some("CONFIG_KEXEC_FILE is not set in /boot/config-6.1.0-x".into()),
        };
        let plan = load(Target::Normal, &k, None, "");
        let r = check(&plan, &facts).unwrap_err();
        assert_eq!((r.errno, r.rule), (Errno::ENOSYS, Rule::SyscallNotBuilt));
        assert_eq!(
            r.reason,
            "kexec_file_load is not built into this kernel (CONFIG_KEXEC_FILE is not set in /boot/config-6.1.0-x): use -c (kexec_load)"
        );
        assert_eq!(
            verdict(&Plan::file_unload(Target::Crash), &facts),
            Some((Errno::ENOSYS, Rule::SyscallNotBuilt))
        );
        // kexec_load is there (or unknown): its plans go on to the next rule.
        let segments = vec![seg("a", 0x100000, 0, 0x1000)];
        let c = kexec_load(Target::Normal, segments, 0x100000, 0);
        assert_eq!(
            verdict(&c, &facts),
            Some((Errno::EPERM, Rule::NoCapSysBoot))
        );
        // Both missing: said once, with both facts.
        facts.kexec_load_support = crate::facts::Support {
            built: Some(false),
            evidence: Some("CONFIG_KEXEC is not set in /proc/config.gz".into()),
        };
        let r = check(&c, &facts).unwrap_err();
        assert_eq!(r.errno, Errno::ENOSYS);
        assert!(
            r.reason.contains("kexec_load is not built into this kernel (CONFIG_KEXEC is not set in /proc/config.gz), and neither is kexec_file_load (CONFIG_KEXEC_FILE")
                && r.reason.ends_with("this kernel cannot load another kernel"),
            "{}",
            r.reason
        );
        // Unknown is never missing.
        let mut unknown = self::facts();
        unknown.cap_sys_boot = Some(false);
        assert_eq!(
            verdict(&plan, &unknown),
            Some((Errno::EPERM, Rule::NoCapSysBoot))
        );
    }

    #[test]
    fn a_nul_inside_the_command_line_is_refused_at_its_position() {
        let f = Files::new("nul");
        let k = f.put("k", &debian_like_header());
        let plan = Plan::FileLoad(
            FileLoad::open(
                Target::Normal,
                &k,
                None,
                b"ro\0quiet".to_vec(),
                FileFlags(0),
            )
            .unwrap(),
        );
        let r = check(&plan, &facts()).unwrap_err();
        assert_eq!((r.errno, r.rule), (Errno::EINVAL, Rule::CmdlineNul));
        assert!(
            r.reason.contains("NUL byte at position 2 (of 8 bytes)"),
            "{}",
            r.reason
        );
        assert!(r.to_string().contains("kexec refuses it"), "{r}");
        // Bytes that are not UTF-8 are fine.
        let plan = Plan::FileLoad(
            FileLoad::open(
                Target::Normal,
                &k,
                None,
                b"x=\xff\xfe".to_vec(),
                FileFlags(0),
            )
            .unwrap(),
        );
        assert_eq!(verdict(&plan, &facts()), None);
    }

    #[test]
    fn kernel_errors_are_explained() {
        let plan = Plan::file_unload(Target::Normal);
        let mut facts = facts();
        assert!(explain(Errno::EBUSY, &plan, &facts)
            .reason
            .contains("another kexec operation is in progress"));
        facts.lockdown = Some("integrity".into());
        let r = explain(Errno::EPERM, &plan, &facts);
        assert_eq!(r.rule, Rule::Lockdown);
        assert!(r.reason.contains("lockdown=integrity"));
        assert!(explain(Errno::EKEYREJECTED, &plan, &facts)
            .reason
            .contains("signature"));
        assert_eq!(explain(Errno::ENOSYS, &plan, &facts).source, Source::Kernel);
    }
}

/// Golden record of the kexec_load half of the model: for a broad set of
/// plans, the exact (errno, rule, message) `check` gives, so that a
/// restructuring of `check_load` keeps every verdict, message and the order
/// in which rules win when several apply.
#[cfg(test)]
mod load_golden {
    use super::*;
    use crate::sys::FakeHost;

    fn seg(purpose: &str, mem: u64, bufsz: usize, memsz: u64) -> Segment {
        Segment {
            digest: None,
            purpose: purpose.into(),
            data: vec![0; bufsz].into(),
            mem,
            memsz,
        }
    }

    fn load(target: Target, segments: Vec<Segment>, entry: u64, flags: u64) -> Plan {
        Plan::Load {
            target,
            segments,
            entry,
            flags: KexecFlags(flags),
        }
    }

    fn verdict(plan: &Plan, facts: &Facts) -> String {
        match check(plan, facts) {
            Ok(()) => "ok".into(),
            Err(r) => format!("{} {:?} {}", r.errno.name(), r.rule, r.reason),
        }
    }

    fn table() -> Vec<(&'static str, String)> {
        let f = Facts::gather(&FakeHost::typical());
        let one = || vec![seg("a", 0x100000, 10, 0x1000)];
        let crash = || vec![seg("k", 0x6500_0000, 10, 0x1000)];
        let n = Target::Normal;
        let c = Target::Crash;
        let with = |change: &dyn Fn(&mut Facts)| {
            let mut g = f.clone();
            change(&mut g);
            g
        };
        let locked = with(&|g| g.lockdown = Some("integrity".into()));
        let unlocked = with(&|g| g.lockdown = Some("none".into()));
        let jump = with(&|g| g.kexec_jump = Some(true));
        let new = with(&|g| g.kernel_release = "6.10.0".into());
        let la57 = with(&|g| g.five_level_paging = true);
        let no_crash = with(&|g| {
            g.crash_regions.clear();
            g.crash_size = Some(0);
        });
        let hidden = with(&|g| {
            g.crash_regions = vec![Range { start: 0, end: 0 }];
            g.crash_size = Some(0x1000_0000);
        });
        let no_mem = with(&|g| g.mem_total = None);
        let many = |k: u64| -> Vec<Segment> {
            (0..k)
                .map(|i| seg("s", 0x100000 + i * 0x1000, 0, 0x1000))
                .collect()
        };
        let plans: Vec<(&str, Plan, &Facts)> = vec![
            ("ok normal", load(n, one(), 0x100000, 0x3e0000), &f),
            (
                "ok two",
                load(
                    n,
                    vec![
                        seg("a", 0x100000, 10, 0x1000),
                        seg("b", 0x200000, 0, 0x2000),
                    ],
                    0,
                    0,
                ),
                &f,
            ),
            (
                "ok adjacent",
                load(
                    n,
                    vec![seg("a", 0x100000, 0, 0x1000), seg("b", 0x101000, 0, 0x1000)],
                    0,
                    0,
                ),
                &f,
            ),
            (
                "ok zero memsz",
                load(n, vec![seg("a", 0x100000, 0, 0)], 0, 0),
                &f,
            ),
            ("ok crash", load(c, crash(), 0x6500_0000, 1), &f),
            (
                "ok crash end",
                load(c, vec![seg("k", 0x74ff_f000, 0, 0x1000)], 0x74ff_ffff, 1),
                &f,
            ),
            ("ok 16 segments", load(n, many(16), 0, 0), &f),
            (
                "ok unload",
                Plan::Unload {
                    flags: KexecFlags(0),
                    target: n,
                },
                &f,
            ),
            (
                "ok crash unload",
                Plan::Unload {
                    flags: KexecFlags(1),
                    target: c,
                },
                &f,
            ),
            ("ok lockdown none", load(n, one(), 0, 0), &unlocked),
            (
                "ok no mem_total",
                load(n, vec![seg("a", 0x100000, 0, 1 << 40)], 0, 0),
                &no_mem,
            ),
            ("ok preserve with jump", load(n, one(), 0, 2), &jump),
            ("ok update elfcorehdr 6.10", load(n, one(), 0, 0xc), &new),
            ("ok high flags ignored", load(n, one(), 0, 1 << 32), &f),
            (
                "ok la57 above 2^46",
                load(n, vec![seg("a", 1 << 46, 0, 0x1000)], 0, 0),
                &la57,
            ),
            ("lockdown", load(n, one(), 0, 0), &locked),
            (
                "lockdown unload",
                Plan::Unload {
                    flags: KexecFlags(0),
                    target: n,
                },
                &locked,
            ),
            ("lockdown before flags", load(n, one(), 0, 0x4), &locked),
            ("unknown flag", load(n, one(), 0, 0x4), &f),
            ("preserve without jump", load(n, one(), 0, 2), &f),
            (
                "unknown flag unload",
                Plan::Unload {
                    flags: KexecFlags(0x8),
                    target: n,
                },
                &f,
            ),
            ("flags before count", load(n, many(17), 0, 0x4), &f),
            ("too many", load(n, many(17), 0, 0), &f),
            ("count before arch", load(n, many(17), 0, 0xB70000), &f),
            ("foreign arch", load(n, one(), 0, 0xB70000), &f),
            ("unknown arch", load(n, one(), 0, 0x12340000), &f),
            ("native arch ok", load(n, one(), 0, 0x3e0000), &f),
            (
                "foreign arch unload",
                Plan::Unload {
                    flags: KexecFlags(0x280000),
                    target: n,
                },
                &f,
            ),
            (
                "crash no region",
                load(c, crash(), 0x6500_0000, 1),
                &no_crash,
            ),
            (
                "crash hidden region",
                load(c, crash(), 0x6500_0000, 1),
                &hidden,
            ),
            ("crash entry below", load(c, crash(), 0x1000, 1), &f),
            ("crash entry at end", load(c, crash(), 0x7500_0000, 1), &f),
            (
                "crash entry before destination",
                load(c, vec![seg("k", 0x6500_0800, 0, 0x1000)], 0x1000, 1),
                &f,
            ),
            (
                "wrap",
                load(n, vec![seg("a", u64::MAX - 0xfff, 0, 0x2000)], 0, 0),
                &f,
            ),
            (
                "unaligned mem",
                load(n, vec![seg("a", 0x100800, 10, 0x1000)], 0, 0),
                &f,
            ),
            (
                "unaligned end",
                load(n, vec![seg("a", 0x100000, 10, 0x800)], 0, 0),
                &f,
            ),
            (
                "at limit",
                load(n, vec![seg("a", (1 << 46) - 0x1000, 0, 0x1000)], 0, 0),
                &f,
            ),
            (
                "above limit",
                load(n, vec![seg("a", 1 << 46, 0, 0x1000)], 0, 0),
                &f,
            ),
            (
                "la57 at limit",
                load(n, vec![seg("a", (1 << 52) - 0x1000, 0, 0x1000)], 0, 0),
                &la57,
            ),
            (
                "second segment bad",
                load(
                    n,
                    vec![seg("a", 0x100000, 0, 0x1000), seg("b", 0x200000, 0, 0x1800)],
                    0,
                    0,
                ),
                &f,
            ),
            (
                "alignment before overlap",
                load(
                    n,
                    vec![
                        seg("a", 0x100000, 0, 0x2000),
                        seg("b", 0x101000, 0, 0x1000),
                        seg("c", 0x300800, 0, 0x1000),
                    ],
                    0,
                    0,
                ),
                &f,
            ),
            (
                "overlap",
                load(
                    n,
                    vec![
                        seg("a", 0x100000, 10, 0x2000),
                        seg("b", 0x101000, 0, 0x1000),
                    ],
                    0,
                    0,
                ),
                &f,
            ),
            (
                "overlap reversed",
                load(
                    n,
                    vec![seg("a", 0x101000, 0, 0x1000), seg("b", 0x100000, 0, 0x3000)],
                    0,
                    0,
                ),
                &f,
            ),
            (
                "overlap later pair",
                load(
                    n,
                    vec![
                        seg("a", 0x100000, 0, 0x1000),
                        seg("b", 0x200000, 0, 0x1000),
                        seg("c", 0x200000, 0, 0x1000),
                    ],
                    0,
                    0,
                ),
                &f,
            ),
            (
                "overlap before bufsz",
                load(
                    n,
                    vec![
                        seg("a", 0x100000, 0x3000, 0x2000),
                        seg("b", 0x101000, 0, 0x1000),
                    ],
                    0,
                    0,
                ),
                &f,
            ),
            (
                "bufsz",
                load(n, vec![seg("a", 0x100000, 0x2000, 0x1000)], 0, 0),
                &f,
            ),
            (
                "bufsz second",
                load(
                    n,
                    vec![
                        seg("a", 0x100000, 0, 0x1000),
                        seg("b", 0x200000, 0x1001, 0x1000),
                    ],
                    0,
                    0,
                ),
                &f,
            ),
            (
                "bufsz before half",
                load(
                    n,
                    vec![
                        seg("a", 0x100000, 0x2000, 0x1000),
                        seg("b", 0x200000, 0, 1 << 40),
                    ],
                    0,
                    0,
                ),
                &f,
            ),
            (
                "half one",
                load(n, vec![seg("a", 0x100000, 0, 1 << 30)], 0, 0),
                &f,
            ),
            (
                "half sum",
                load(
                    n,
                    vec![
                        seg("a", 0x1000_0000, 0, 0x1800_0000),
                        seg("b", 0x3000_0000, 0, 0x1800_0000),
                        seg("c", 0x5000_0000, 0, 0x1800_0000),
                    ],
                    0,
                    0,
                ),
                &f,
            ),
            (
                "half before crash region",
                load(c, vec![seg("k", 0x1000_0000, 0, 1 << 30)], 0x6500_0000, 1),
                &f,
            ),
            (
                "crash segment outside",
                load(c, vec![seg("k", 0x1000_0000, 0, 0x1000)], 0x6500_0000, 1),
                &f,
            ),
            (
                "crash segment across end",
                load(c, vec![seg("k", 0x74ff_f000, 0, 0x2000)], 0x6500_0000, 1),
                &f,
            ),
            (
                "crash zero memsz outside",
                load(
                    c,
                    vec![seg("k", 0x6500_0000, 0, 0x1000), seg("z", 0x1000, 0, 0)],
                    0x6500_0000,
                    1,
                ),
                &f,
            ),
            (
                "crash no region unload",
                Plan::Unload {
                    flags: KexecFlags(1),
                    target: c,
                },
                &no_crash,
            ),
        ];
        plans
            .into_iter()
            .map(|(name, plan, facts)| (name, verdict(&plan, facts)))
            .collect()
    }

    #[rustfmt::skip]
    const GOLDEN: &[(&str, &str)] = &[
        ("ok normal", "ok"),
        ("ok two", "ok"),
        ("ok adjacent", "ok"),
        ("ok zero memsz", "ok"),
        ("ok crash", "ok"),
        ("ok crash end", "ok"),
        ("ok 16 segments", "ok"),
        ("ok unload", "ok"),
        ("ok crash unload", "ok"),
        ("ok lockdown none", "ok"),
        ("ok no mem_total", "ok"),
        ("ok preserve with jump", "ok"),
        ("ok update elfcorehdr 6.10", "ok"),
        ("ok high flags ignored", "ok"),
        ("ok la57 above 2^46", "ok"),
        ("lockdown", "EPERM Lockdown the kernel is locked down (lockdown=integrity), which forbids kexec_load; load a signed kernel with kexec_file_load instead (kexec -s)"),
        ("lockdown unload", "EPERM Lockdown the kernel is locked down (lockdown=integrity), which forbids kexec_load; load a signed kernel with kexec_file_load instead (kexec -s)"),
        ("lockdown before flags", "EPERM Lockdown the kernel is locked down (lockdown=integrity), which forbids kexec_load; load a signed kernel with kexec_file_load instead (kexec -s)"),
        ("unknown flag", "EINVAL UnknownFlags kexec_load flags 0x4 (KEXEC_UPDATE_ELFCOREHDR|KEXEC_ARCH_DEFAULT) include 0x4, which the running kernel 6.1.0-56-amd64 does not accept (it takes 0x1)"),
        ("preserve without jump", "EINVAL UnknownFlags kexec_load flags 0x2 (KEXEC_PRESERVE_CONTEXT|KEXEC_ARCH_DEFAULT) include 0x2, which the running kernel 6.1.0-56-amd64 does not accept (it takes 0x1)"),
        ("unknown flag unload", "EINVAL UnknownFlags kexec_load flags 0x8 (KEXEC_CRASH_HOTPLUG_SUPPORT|KEXEC_ARCH_DEFAULT) include 0x8, which the running kernel 6.1.0-56-amd64 does not accept (it takes 0x1)"),
        ("flags before count", "EINVAL UnknownFlags kexec_load flags 0x4 (KEXEC_UPDATE_ELFCOREHDR|KEXEC_ARCH_DEFAULT) include 0x4, which the running kernel 6.1.0-56-amd64 does not accept (it takes 0x1)"),
        ("too many", "EINVAL TooManySegments 17 segments given; kexec_load takes at most 16"),
        ("count before arch", "EINVAL TooManySegments 17 segments given; kexec_load takes at most 16"),
        ("foreign arch", "EINVAL ForeignArch the image is for KEXEC_ARCH_AARCH64, but this kernel only takes KEXEC_ARCH_DEFAULT or KEXEC_ARCH_X86_64"),
        ("unknown arch", "EINVAL ForeignArch the image is for 0x12340000, but this kernel only takes KEXEC_ARCH_DEFAULT or KEXEC_ARCH_X86_64"),
        ("native arch ok", "ok"),
        ("foreign arch unload", "EINVAL ForeignArch the image is for KEXEC_ARCH_ARM, but this kernel only takes KEXEC_ARCH_DEFAULT or KEXEC_ARCH_X86_64"),
        ("crash no region", "EADDRNOTAVAIL NoCrashRegion no memory is reserved for a crash kernel (/proc/iomem has no \"Crash kernel\" range): boot the running kernel with crashkernel=256M (or another size) first"),
        ("crash hidden region", "EADDRNOTAVAIL NoCrashRegion the Crash kernel region's addresses are hidden from this process (it needs root to read /proc/iomem)"),
        ("crash entry below", "EADDRNOTAVAIL OutsideCrashRegion the entry point 0x1000 is outside the Crash kernel region [0x65000000-0x74ffffff]"),
        ("crash entry at end", "EADDRNOTAVAIL OutsideCrashRegion the entry point 0x75000000 is outside the Crash kernel region [0x65000000-0x74ffffff]"),
        ("crash entry before destination", "EADDRNOTAVAIL OutsideCrashRegion the entry point 0x1000 is outside the Crash kernel region [0x65000000-0x74ffffff]"),
        ("wrap", "EADDRNOTAVAIL BadDestination segment 0 (a): mem 0xfffffffffffff000 + memsz 0x2000 wraps around"),
        ("unaligned mem", "EADDRNOTAVAIL BadDestination segment 0 (a): mem 0x100800 is not page-aligned (4096)"),
        ("unaligned end", "EADDRNOTAVAIL BadDestination segment 0 (a): its end mem + memsz = 0x100800 is not page-aligned (memsz 0x800)"),
        ("at limit", "EADDRNOTAVAIL BadDestination segment 0 (a): it ends at 0x400000000000, at or above the destination limit 0x3fffffffffff"),
        ("above limit", "EADDRNOTAVAIL BadDestination segment 0 (a): it ends at 0x400000001000, at or above the destination limit 0x3fffffffffff"),
        ("la57 at limit", "EADDRNOTAVAIL BadDestination segment 0 (a): it ends at 0x10000000000000, at or above the destination limit 0xfffffffffffff"),
        ("second segment bad", "EADDRNOTAVAIL BadDestination segment 1 (b): its end mem + memsz = 0x201800 is not page-aligned (memsz 0x1800)"),
        ("alignment before overlap", "EADDRNOTAVAIL BadDestination segment 2 (c): mem 0x300800 is not page-aligned (4096)"),
        ("overlap", "EINVAL Overlap segment 0 (a, 0x100000-0x101fff) overlaps segment 1 (b, 0x101000-0x101fff)"),
        ("overlap reversed", "EINVAL Overlap segment 0 (a, 0x101000-0x101fff) overlaps segment 1 (b, 0x100000-0x102fff)"),
        ("overlap later pair", "EINVAL Overlap segment 1 (b, 0x200000-0x200fff) overlaps segment 2 (c, 0x200000-0x200fff)"),
        ("overlap before bufsz", "EINVAL Overlap segment 0 (a, 0x100000-0x101fff) overlaps segment 1 (b, 0x101000-0x101fff)"),
        ("bufsz", "EINVAL BufferLargerThanMemory segment 0 (a): bufsz 0x2000 is larger than memsz 0x1000"),
        ("bufsz second", "EINVAL BufferLargerThanMemory segment 1 (b): bufsz 0x1001 is larger than memsz 0x1000"),
        ("bufsz before half", "EINVAL BufferLargerThanMemory segment 0 (a): bufsz 0x2000 is larger than memsz 0x1000"),
        ("half one", "EINVAL MoreThanHalfOfRam the a needs 1 GiB of memory, and with the other segments 1 GiB; the kernel refuses loads larger than half of RAM (992 MiB of MemTotal 1.9 GiB)"),
        ("half sum", "EINVAL MoreThanHalfOfRam the c needs 384 MiB of memory, and with the other segments 1.1 GiB; the kernel refuses loads larger than half of RAM (992 MiB of MemTotal 1.9 GiB)"),
        ("half before crash region", "EINVAL MoreThanHalfOfRam the k needs 1 GiB of memory, and with the other segments 1 GiB; the kernel refuses loads larger than half of RAM (992 MiB of MemTotal 1.9 GiB)"),
        ("crash segment outside", "EADDRNOTAVAIL OutsideCrashRegion segment 0 (k, 0x10000000-0x10000fff) is outside the Crash kernel region [0x65000000-0x74ffffff]"),
        ("crash segment across end", "EADDRNOTAVAIL OutsideCrashRegion segment 0 (k, 0x74fff000-0x75000fff) is outside the Crash kernel region [0x65000000-0x74ffffff]"),
        ("crash zero memsz outside", "EADDRNOTAVAIL OutsideCrashRegion segment 1 (z, 0x1000-0x1000) is outside the Crash kernel region [0x65000000-0x74ffffff]"),
        ("crash no region unload", "ok"),
    ];

    #[test]
    fn every_verdict_message_and_order_is_kept() {
        let got = table();
        assert_eq!(got.len(), GOLDEN.len());
        for ((name, verdict), (want_name, want)) in got.iter().zip(GOLDEN) {
            assert_eq!((*name, verdict.as_str()), (*want_name, *want));
        }
    }
}

/// Golden record of the kexec_file_load half of the model, as `load_golden`
/// is for kexec_load: the exact (errno, rule, message) for a broad set of
/// files, with the temporary directory's name replaced by `<dir>`.
#[cfg(test)]
mod file_golden {
    use super::*;
    use crate::image::bzimage::offset;
    use crate::sys::FakeHost;
    use crate::testing::bzimage64_sample;
    use std::path::{Path, PathBuf};

    fn image_with(fields: &[(usize, &[u8])]) -> Vec<u8> {
        let mut image = bzimage64_sample();
        for (at, bytes) in fields {
            image[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        image
    }

    /// Name, target, kernel, initrd, command line, flags, facts.
    type Row<'a> = (
        &'a str,
        Target,
        &'a Path,
        Option<&'a Path>,
        &'a str,
        u64,
        &'a Facts,
    );

    fn table(dir: &Path) -> Vec<(String, String)> {
        std::fs::create_dir_all(dir).unwrap();
        let put = |name: &str, bytes: &[u8]| -> PathBuf {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let u32le = |v: u32| v.to_le_bytes();
        let good = put("vmlinuz", &bzimage64_sample());
        let initrd = put("initrd", b"0707010000");
        let empty = put("empty", b"");
        let text = put("text", &b"not a kernel\n".repeat(400));
        let cut_setup = put("cut-setup", &bzimage64_sample()[..0x1000]);
        let cut_payload = put(
            "cut-payload",
            &image_with(&[
                (offset::PAYLOAD_OFFSET, &u32le(0)),
                (offset::PAYLOAD_LENGTH, &u32le(0x1000)),
            ]),
        );
        let init0 = put("init0", &image_with(&[(offset::INIT_SIZE, &u32le(0))]));
        let huge = put(
            "huge",
            &image_with(&[(offset::INIT_SIZE, &u32le(0x8000_0000))]),
        );
        let big = put(
            "big",
            &image_with(&[(offset::INIT_SIZE, &u32le(0x5000_0000))]),
        );
        let crash_big = put(
            "crash-big",
            &image_with(&[(offset::INIT_SIZE, &u32le(0x1000_0000))]),
        );
        let align = put(
            "align",
            &image_with(&[(offset::KERNEL_ALIGNMENT, &u32le(0x1800))]),
        );
        let old = put("old", &image_with(&[(offset::VERSION, &[0x0b, 0x02])]));
        let no64 = put("no64", &image_with(&[(offset::XLOADFLAGS, &[0x02, 0])]));
        let no5 = put("no5", &image_with(&[(offset::XLOADFLAGS, &[0x03, 0])]));
        let f = Facts::gather(&FakeHost::typical());
        let with = |change: &dyn Fn(&mut Facts)| {
            let mut g = f.clone();
            change(&mut g);
            g
        };
        let la57 = with(&|g| g.five_level_paging = true);
        let v68 = with(&|g| g.kernel_release = "6.8.0".into());
        let no_crash = with(&|g| {
            g.crash_regions.clear();
            g.crash_size = Some(0);
        });
        let no_ram = with(&|g| g.system_ram.clear());
        let no_mem = with(&|g| g.mem_total = None);
        let n = Target::Normal;
        let c = Target::Crash;
        let long = "a".repeat(2017);
        let fits = "a".repeat(2016);
        let rows: Vec<Row> = vec![
            ("ok", n, &good, Some(&initrd), "console=ttyS0", 0, &f),
            ("ok crash", c, &good, Some(&initrd), "x", 2, &f),
            ("ok no initrd", n, &good, None, "", 0, &f),
            ("ok longest cmdline", n, &good, None, &fits, 0, &f),
            (
                "ok no-initramfs skips initrd",
                n,
                &good,
                Some(&empty),
                "",
                4,
                &f,
            ),
            ("no ram facts", n, &huge, None, "", 0, &no_ram),
            ("ok align on 6.8", n, &align, None, "", 0, &v68),
            ("unknown file flags", n, &good, None, "", 0x40, &f),
            ("flags before file", n, &empty, None, "", 0x40, &f),
            ("empty kernel", n, &empty, None, "", 0, &f),
            ("directory kernel", n, dir, None, "", 0, &f),
            ("text kernel", n, &text, None, "", 0, &f),
            ("old protocol", n, &old, None, "", 0, &f),
            ("not 64-bit", n, &no64, None, "", 0, &f),
            ("ok 5-level", n, &good, None, "", 0, &la57),
            ("5-level without XLF_5LEVEL", n, &no5, None, "", 0, &la57),
            ("probe before initrd", n, &text, Some(&empty), "", 0, &f),
            ("empty initrd", n, &good, Some(&empty), "", 0, &f),
            ("directory initrd", n, &good, Some(dir), "", 0, &f),
            ("cut setup", n, &cut_setup, None, "", 0, &f),
            (
                "initrd before cut setup",
                n,
                &cut_setup,
                Some(&empty),
                "",
                0,
                &f,
            ),
            (
                "cut setup before cmdline",
                n,
                &cut_setup,
                None,
                &long,
                0,
                &f,
            ),
            ("cmdline too long", n, &good, None, &long, 0, &f),
            (
                "cmdline too long before payload",
                n,
                &cut_payload,
                None,
                &long,
                0,
                &f,
            ),
            ("crash no region", c, &good, None, "", 2, &no_crash),
            ("crash too small", c, &crash_big, Some(&initrd), "", 2, &f),
            (
                "cmdline before crash room",
                c,
                &crash_big,
                None,
                &long,
                2,
                &f,
            ),
            ("no room", n, &huge, None, "", 0, &f),
            ("unaligned placement", n, &align, None, "", 0, &f),
            ("unaligned placement crash", c, &align, None, "", 2, &f),
            ("bufsz", n, &init0, None, "", 0, &f),
            ("half of ram", n, &big, None, "", 0, &f),
            ("no mem facts", n, &big, None, "", 0, &no_mem),
            ("nul in cmdline", n, &good, None, "a\0b", 0, &f),
            ("nul after kernel rules", n, &init0, None, "a\0b", 0, &f),
            ("payload cut", n, &cut_payload, None, "", 0, &f),
            ("nul before payload", n, &cut_payload, None, "a\0b", 0, &f),
        ];
        let dir_name = dir.display().to_string();
        rows.into_iter()
            .map(|(name, target, kernel, initrd, cmdline, flags, facts)| {
                let plan = FileLoad::open(
                    target,
                    kernel,
                    initrd,
                    cmdline.as_bytes().to_vec(),
                    FileFlags(flags),
                )
                .map(Plan::FileLoad);
                let verdict = match plan.map(|p| check(&p, facts)) {
                    Err(e) => format!("open: {e}"),
                    Ok(Ok(())) => "ok".into(),
                    Ok(Err(r)) => format!("{} {:?} {}", r.errno.name(), r.rule, r.reason),
                };
                (name.to_string(), verdict.replace(&dir_name, "<dir>"))
            })
            .collect()
    }

    #[rustfmt::skip]
    const GOLDEN: &[(&str, &str)] = &[
        ("ok", "ok"),
        ("ok crash", "ok"),
        ("ok no initrd", "ok"),
        ("ok longest cmdline", "ok"),
        ("ok no-initramfs skips initrd", "ok"),
        ("no ram facts", "EINVAL MoreThanHalfOfRam the kernel needs 2 GiB of memory, and with the other segments 2 GiB; the kernel refuses loads larger than half of RAM (992 MiB of MemTotal 1.9 GiB)"),
        ("ok align on 6.8", "ok"),
        ("unknown file flags", "EINVAL UnknownFlags kexec_file_load flags 0x44 (KEXEC_FILE_NO_INITRAMFS|0x40) include 0x40, which the running kernel 6.1.0-56-amd64 does not know (it accepts 0x7)"),
        ("flags before file", "EINVAL UnknownFlags kexec_file_load flags 0x44 (KEXEC_FILE_NO_INITRAMFS|0x40) include 0x40, which the running kernel 6.1.0-56-amd64 does not know (it accepts 0x7)"),
        ("empty kernel", "EINVAL EmptyFile the kernel <dir>/empty is empty (0 bytes): nothing to load"),
        ("directory kernel", "EINVAL NotRegularFile the kernel <dir> is not a regular file (the kernel reads only regular files)"),
        ("text kernel", "ENOEXEC NotBzImage64 <dir>/text is not an x86_64 bzImage the kernel can load: no \"HdrS\" setup header magic at offset 0x202 (found 0x656e7265; expected 0x53726448): it is text, not a bzImage"),
        ("old protocol", "ENOEXEC NotBzImage64 <dir>/old is not an x86_64 bzImage the kernel can load: boot protocol version is 2.11; the 64-bit loader needs 2.12 or later"),
        ("not 64-bit", "ENOEXEC NotBzImage64 <dir>/no64 is not an x86_64 bzImage the kernel can load: xloadflags 0x0002 lack XLF_KERNEL_64: it has no 64-bit entry point (a 32-bit kernel?)"),
        ("ok 5-level", "ok"),
        ("5-level without XLF_5LEVEL", "ENOEXEC NotBzImage64 <dir>/no5 is not an x86_64 bzImage the kernel can load: the running kernel uses 5-level paging but xloadflags 0x0003 lack XLF_5LEVEL"),
        ("probe before initrd", "ENOEXEC NotBzImage64 <dir>/text is not an x86_64 bzImage the kernel can load: no \"HdrS\" setup header magic at offset 0x202 (found 0x656e7265; expected 0x53726448): it is text, not a bzImage"),
        ("empty initrd", "EINVAL EmptyInitrd the initrd <dir>/empty is empty (0 bytes): nothing to load"),
        ("directory initrd", "EINVAL NotRegularFile the initrd <dir> is not a regular file (the kernel reads only regular files)"),
        ("cut setup", "ENOEXEC Truncated <dir>/cut-setup is truncated: it is 4096 bytes, but its setup_sects (27) alone take 14336 bytes"),
        ("initrd before cut setup", "EINVAL EmptyInitrd the initrd <dir>/empty is empty (0 bytes): nothing to load"),
        ("cut setup before cmdline", "ENOEXEC Truncated <dir>/cut-setup is truncated: it is 4096 bytes, but its setup_sects (27) alone take 14336 bytes"),
        ("cmdline too long", "EINVAL CmdlineTooLong the command line is too long: 2018 bytes with its NUL, but <dir>/vmlinuz takes at most 2017 (cmdline_size 2047 minus 30 the kexec_file loader keeps for elfcorehdr=)"),
        ("cmdline too long before payload", "EINVAL CmdlineTooLong the command line is too long: 2018 bytes with its NUL, but <dir>/cut-payload takes at most 2017 (cmdline_size 2047 minus 30 the kexec_file loader keeps for elfcorehdr=)"),
        ("crash no region", "EADDRNOTAVAIL NoCrashRegion no memory is reserved for a crash kernel (/proc/iomem has no \"Crash kernel\" range): boot the running kernel with crashkernel=256M (or another size) first"),
        ("crash too small", "EADDRNOTAVAIL CrashRegionTooSmall the crash kernel does not fit in the Crash kernel region [0x65000000-0x74ffffff] of 256 MiB: the kernel <dir>/crash-big (init_size 256 MiB) and the initrd <dir>/initrd (10 bytes) and the loader's 2 MiB need at least 258 MiB; reserve more with crashkernel="),
        ("cmdline before crash room", "EINVAL CmdlineTooLong the command line is too long: 2018 bytes with its NUL, but <dir>/crash-big takes at most 2017 (cmdline_size 2047 minus 30 the kexec_file loader keeps for elfcorehdr=)"),
        ("no room", "EADDRNOTAVAIL NoRoom <dir>/huge: no room for the kernel in System RAM: init_size 0x80000000 (2 GiB) aligned to kernel_alignment 0x200000, at or above 0x100000"),
        ("unaligned placement", "EADDRNOTAVAIL NoRoom <dir>/align: kernel_alignment 0x1800 is not a multiple of the page size: the kernel's placement gives the unaligned address 0x7d5de800, which its segment check refuses"),
        ("unaligned placement crash", "EADDRNOTAVAIL NoRoom <dir>/align: kernel_alignment 0x1800 is not a multiple of the page size: the kernel's placement gives the unaligned address 0x725fe800, which its segment check refuses"),
        ("bufsz", "EINVAL BufferLargerThanMemory <dir>/init0: the kernel segment holds 2048 bytes (the file minus its 14336 bytes of setup code), more than init_size 0x0 reserves (0x0 bytes page-aligned)"),
        ("half of ram", "EINVAL MoreThanHalfOfRam the kernel needs 1.2 GiB of memory, and with the other segments 1.2 GiB; the kernel refuses loads larger than half of RAM (992 MiB of MemTotal 1.9 GiB)"),
        ("no mem facts", "ok"),
        ("nul in cmdline", "EINVAL CmdlineNul the command line has a NUL byte at position 1 (of 3 bytes): the kernel would end it there and drop the rest"),
        ("nul after kernel rules", "EINVAL BufferLargerThanMemory <dir>/init0: the kernel segment holds 2048 bytes (the file minus its 14336 bytes of setup code), more than init_size 0x0 reserves (0x0 bytes page-aligned)"),
        ("payload cut", "ENOEXEC PayloadTruncated <dir>/cut-payload is truncated: it is 16384 bytes, but its compressed payload (payload_offset 0x0, payload_length 4096) ends at byte 18432: 2048 bytes are missing"),
        ("nul before payload", "EINVAL CmdlineNul the command line has a NUL byte at position 1 (of 3 bytes): the kernel would end it there and drop the rest"),
    ];

    #[test]
    fn every_verdict_message_and_order_is_kept() {
        let dir = std::env::temp_dir().join(format!("kexec-file-golden-{}", std::process::id()));
        let got = table(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(got.len(), GOLDEN.len());
        for ((name, verdict), (want_name, want)) in got.iter().zip(GOLDEN) {
            assert_eq!((name.as_str(), verdict.as_str()), (*want_name, *want));
        }
    }

    fn hotplug_facts(release: &str, size: Option<u64>) -> Facts {
        Facts {
            kernel_release: release.into(),
            crash_elfcorehdr_size: size,
            ..Facts::default()
        }
    }

    #[test]
    fn crash_hotplug_needs_the_elfcorehdr_size_file_and_names_the_kernel() {
        let r = crash_hotplug_size(&hotplug_facts("6.1.0-56-amd64", None)).unwrap_err();
        assert_eq!(
            (r.errno, r.rule, r.source),
            (Errno::EOPNOTSUPP, Rule::NoCrashHotplug, Source::Model)
        );
        for part in [
            "/sys/kernel/crash_elfcorehdr_size",
            "6.1.0-56-amd64",
            "Linux 6.1 predates crash hotplug",
            "accepts flags 0x1",
            "drop --hotplug",
        ] {
            assert!(r.reason.contains(part), "{part}: {}", r.reason);
        }
        // A kernel that has it, built without it.
        let r = crash_hotplug_size(&hotplug_facts("6.12.48+deb13-amd64", None)).unwrap_err();
        assert!(
            r.reason.contains("6.12.48+deb13-amd64")
                && r.reason.contains("built without CONFIG_CRASH_HOTPLUG"),
            "{}",
            r.reason
        );
        let r = crash_hotplug_size(&hotplug_facts("", None)).unwrap_err();
        assert!(r.reason.contains("release is unknown"), "{}", r.reason);
        assert_eq!(
            crash_hotplug_size(&hotplug_facts("6.12.48+deb13-amd64", Some(147584))),
            Ok(147584)
        );
    }

    /// kexec-tools' get_hotplug_kexec_flag: x86 sends KEXEC_UPDATE_ELFCOREHDR
    /// even where KEXEC_CRASH_HOTPLUG_SUPPORT is known (6.6-6.9 refuse it);
    /// arm64 needs KEXEC_CRASH_HOTPLUG_SUPPORT, which 6.6-6.9 do not take.
    #[test]
    fn the_hotplug_flag_follows_the_architecture_and_the_kernel() {
        for (release, arch, want) in [
            ("6.6.0", KexecArch::X86_64, Ok(0x4)),
            ("6.12.48+deb13-amd64", KexecArch::X86_64, Ok(0x4)),
            ("7.2.0-1-amd64", KexecArch::X86_64, Ok(0x4)),
            ("6.12.48+deb13-arm64", KexecArch::Aarch64, Ok(0x8)),
            ("6.8.0", KexecArch::Aarch64, Err(Errno::EINVAL)),
            ("6.1.0-56-amd64", KexecArch::X86_64, Err(Errno::EINVAL)),
        ] {
            let got = crash_hotplug_load_flag(&hotplug_facts(release, Some(4096)), arch);
            assert_eq!(
                got.as_ref().map(|f| f.0).map_err(|r| r.errno),
                want,
                "{release} {arch:?}"
            );
            if let Err(r) = got {
                assert!(
                    r.reason.contains(release) && r.reason.contains("kexec_file_load (-s)"),
                    "{}",
                    r.reason
                );
                assert_eq!(r.rule, Rule::NoCrashHotplug);
            }
        }
        // Every flag it picks is one the rules model lets through.
        let facts = hotplug_facts("6.12.0", Some(4096));
        let flag = crash_hotplug_load_flag(&facts, KexecArch::X86_64).unwrap();
        assert!(load_flags_known(KexecFlags(KEXEC_ON_CRASH.0 | flag.0), &facts).is_ok());
    }

    /// The kernel's EADDRNOTAVAIL for a kexec -e kernel while KHO is on
    /// points at the scratch areas, which alone take its segments.
    #[test]
    fn no_room_with_kexec_handover_on_names_the_scratch_areas() {
        let f = crate::testing::bzimage64_sample();
        let dir = std::env::temp_dir().join(format!("kexec-rules-kho-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kernel = dir.join("vmlinuz");
        std::fs::write(&kernel, &f).unwrap();
        let load = FileLoad::open(Target::Normal, &kernel, None, b"\0".to_vec(), FileFlags(0));
        let plan = Plan::FileLoad(load.unwrap());
        let mut facts = Facts::default();
        let r = explain(Errno::EADDRNOTAVAIL, &plan, &facts);
        assert_eq!(
            r.reason,
            "the kernel found no free memory hole for a segment"
        );
        facts.kexec_handover.on = Some(true);
        facts.kexec_handover.scratch = Some(vec![Range::new(0x100_0000, 0x300_0000)]);
        let r = explain(Errno::EADDRNOTAVAIL, &plan, &facts);
        assert_eq!(r.rule, Rule::NoRoom);
        assert!(
            r.reason
                .contains("only in KHO's scratch areas (32 MiB in all), which kho_scratch="),
            "{}",
            r.reason
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
