//! What the running kernel tells about itself through procfs and sysfs: the
//! inputs of the rules model and of `--status`. Gathered once per run.

use crate::memory::{iomem, Range};
use crate::plan::{Syscall, Target};
use crate::sys::Host;
use serde::Serialize;
use std::io::{self, Read};

/// The procfs and sysfs files the facts come from.
pub mod path {
    /// "1" when a kernel is loaded for `kexec -e`.
    pub const KEXEC_LOADED: &str = "/sys/kernel/kexec_loaded";
    /// "1" when a crash kernel is loaded.
    pub const KEXEC_CRASH_LOADED: &str = "/sys/kernel/kexec_crash_loaded";
    /// Bytes reserved for the crash kernel; readable without privileges.
    pub const KEXEC_CRASH_SIZE: &str = "/sys/kernel/kexec_crash_size";
    /// 1 when kexec loads are disabled until reboot (it cannot be cleared).
    pub const KEXEC_LOAD_DISABLED: &str = "/proc/sys/kernel/kexec_load_disabled";
    /// How many more normal loads are allowed, -1: unlimited (newer kernels only).
    pub const KEXEC_LOAD_LIMIT_REBOOT: &str = "/proc/sys/kernel/kexec_load_limit_reboot";
    /// The same for crash loads.
    pub const KEXEC_LOAD_LIMIT_PANIC: &str = "/proc/sys/kernel/kexec_load_limit_panic";
    /// The running kernel's release, as uname -r prints it.
    pub const OSRELEASE: &str = "/proc/sys/kernel/osrelease";
    /// Our own process: its effective capabilities (CapEff).
    pub const SELF_STATUS: &str = "/proc/self/status";
    /// MemTotal.
    pub const MEMINFO: &str = "/proc/meminfo";
    /// The running kernel's command line.
    pub const CMDLINE: &str = "/proc/cmdline";
    /// CMA areas (CONFIG_CMA_SYSFS); `crashkernel=…,cma` reserves ones named
    /// "crashkernel", which /proc/iomem does not show.
    pub const CMA_AREAS: &str = "/sys/kernel/mm/cma";
    /// CPU flags (la57: 5-level paging).
    pub const CPUINFO: &str = "/proc/cpuinfo";
    /// The active lockdown mode, in brackets.
    pub const LOCKDOWN: &str = "/sys/kernel/security/lockdown";
    /// 64 or 32: the UEFI firmware's word size.
    pub const EFI_PLATFORM_SIZE: &str = "/sys/firmware/efi/fw_platform_size";
    /// Present whenever sysfs is mounted; tells a missing kexec_loaded from no sysfs.
    pub const SYS_KERNEL: &str = "/sys/kernel";
    /// The running kernel's own config (CONFIG_IKCONFIG_PROC), gzip-compressed.
    pub const CONFIG_GZ: &str = "/proc/config.gz";
    /// Kernel symbols: whether the system calls' entry points are real or stubs.
    pub const KALLSYMS: &str = "/proc/kallsyms";
    /// Bytes a hotplug-updatable elfcorehdr needs (decimal; post-6.1 kernels
    /// built with CONFIG_CRASH_HOTPLUG only).
    pub const CRASH_ELFCOREHDR_SIZE: &str = "/sys/kernel/crash_elfcorehdr_size";
    /// 1 when the loaded crash kernel is updated in place on CPU hotplug.
    pub const CPU_CRASH_HOTPLUG: &str = "/sys/devices/system/cpu/crash_hotplug";
    /// 1 when the loaded crash kernel is updated in place on memory hotplug.
    pub const MEMORY_CRASH_HOTPLUG: &str = "/sys/devices/system/memory/crash_hotplug";
    /// Kexec handover's debugfs directory: there only with KHO on (root only).
    pub const KHO_DEBUGFS: &str = "/sys/kernel/debug/kho";
    /// The KHO scratch areas' start addresses, one hex number a line.
    pub const KHO_SCRATCH_PHYS: &str = "/sys/kernel/debug/kho/out/scratch_phys";
    /// The KHO scratch areas' lengths, in the same order.
    pub const KHO_SCRATCH_LEN: &str = "/sys/kernel/debug/kho/out/scratch_len";
    /// The first KHO kernels (6.16) only: 1 once the KHO state is
    /// finalized for the next kernel; mainline dropped the file.
    pub const KHO_FINALIZE: &str = "/sys/kernel/debug/kho/out/finalize";
    /// Device nodes: /dev/liveupdate is looked for in its listing.
    pub const DEV: &str = "/dev";
    /// The Live Update Orchestrator's device, there only with LUO on.
    pub const LIVEUPDATE_DEV: &str = "/dev/liveupdate";
}

/// CAP_SYS_BOOT's bit in the capability sets (include/uapi/linux/capability.h).
pub const CAP_SYS_BOOT: u32 = 22;

/// The facts the rules model and `--status` read, gathered once per run.
/// Every field says what is unknown as None rather than guessing.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Facts {
    /// None when /proc/self/status could not be read.
    pub cap_sys_boot: Option<bool>,
    /// kexec_load_disabled is set: both system calls answer EPERM.
    pub kexec_load_disabled: bool,
    /// Post-6.1 sysctls; None when the kernel has none. -1 = unlimited.
    pub load_limit_reboot: Option<i64>,
    /// The same limit for crash loads (kexec_load_limit_panic).
    pub load_limit_panic: Option<i64>,
    /// The `crashkernel=…,cma` words of /proc/cmdline (Linux 6.17+): crash
    /// kernel memory taken from CMA, in addition to the Crash kernel region.
    pub crashkernel_cma: Vec<String>,
    /// CMA areas named crashkernel* under /sys/kernel/mm/cma.
    pub crash_cma_areas: Vec<String>,
    /// MemTotal in bytes (the kernel's totalram_pages).
    pub mem_total: Option<u64>,
    /// "Crash kernel" ranges of /proc/iomem; zero addresses without CAP_SYS_ADMIN.
    pub crash_regions: Vec<Range>,
    /// Top-level "System RAM" ranges of /proc/iomem; empty when hidden.
    pub system_ram: Vec<Range>,
    /// /sys/kernel/kexec_crash_size, readable by anyone.
    pub crash_size: Option<u64>,
    /// The running kernel's release, e.g. "6.1.0-56-amd64"; empty when unknown.
    pub kernel_release: String,
    /// The running kernel uses 5-level paging (the CPU flag la57 stays only then).
    pub five_level_paging: bool,
    /// The CPU flag of guest memory encryption the running kernel shows
    /// (sev, sev_es, sev_snp, tdx_guest): the decompressor prepares such a
    /// guest's next kernel, so a kernel decompressed at load is not used.
    pub memory_encryption: Option<String>,
    /// UEFI firmware with a 32-bit runtime, which the 64-bit kexec_file loader refuses.
    pub efi_32bit: bool,
    /// /sys/kernel/kexec_loaded; None when it cannot be read (sysfs not
    /// mounted, or a kernel without kexec): then only the kernel knows.
    pub kexec_loaded: Option<bool>,
    /// /sys/kernel/kexec_crash_loaded, None when it cannot be read.
    pub crash_loaded: Option<bool>,
    /// "none", "integrity" or "confidentiality" when securityfs shows it.
    pub lockdown: Option<String>,
    /// /proc/cmdline without its newline, as bytes: a command line need not
    /// be UTF-8.
    pub cmdline: Option<Vec<u8>>,
    /// CONFIG_KEXEC_JUMP (lets kexec_load take KEXEC_PRESERVE_CONTEXT), from
    /// the kernel's config (`/proc/config.gz` or `/boot/config-<release>`).
    pub kexec_jump: Option<bool>,
    /// Whether the kernel was built with kexec_load (CONFIG_KEXEC).
    pub kexec_load_support: Support,
    /// Whether the kernel was built with kexec_file_load (CONFIG_KEXEC_FILE).
    pub kexec_file_load_support: Support,
    /// /sys/kernel/crash_elfcorehdr_size: the bytes the kernel may rewrite
    /// the elfcorehdr into on hotplug. None when missing (6.1, or a kernel
    /// without CONFIG_CRASH_HOTPLUG), unreadable or not a positive number.
    pub crash_elfcorehdr_size: Option<u64>,
    /// /sys/devices/system/cpu/crash_hotplug: whether the loaded crash
    /// kernel is updated in place on CPU hotplug; None when unreadable.
    pub cpu_crash_hotplug: Option<bool>,
    /// /sys/devices/system/memory/crash_hotplug, the same for memory.
    pub memory_crash_hotplug: Option<bool>,
    /// Kexec handover and the Live Update Orchestrator: built in, on, and
    /// KHO's scratch areas.
    pub kexec_handover: crate::handover::Handover,
}

/// Whether the running kernel has one of the kexec system calls, and the
/// fact that says so. A call it was built without answers ENOSYS.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Support {
    /// None when no fact decides it: then it is never assumed missing.
    pub built: Option<bool>,
    /// The fact behind `built`, e.g. "CONFIG_KEXEC is not set in /boot/config-6.1.0-x".
    pub evidence: Option<String>,
}

impl Support {
    pub(crate) fn known(built: bool, evidence: String) -> Support {
        Support {
            built: Some(built),
            evidence: Some(evidence),
        }
    }

    /// "supported", "unsupported" or "unknown", as --status says it.
    pub fn state(&self) -> &'static str {
        match self.built {
            Some(true) => "supported",
            Some(false) => "unsupported",
            None => "unknown",
        }
    }
}

/// The config option that builds each call in.
fn config_option(call: Syscall) -> &'static str {
    match call {
        Syscall::KexecLoad => "CONFIG_KEXEC",
        Syscall::KexecFileLoad => "CONFIG_KEXEC_FILE",
    }
}

/// The symbols a call's entry point has in /proc/kallsyms: x86_64 and arm64
/// syscall wrappers (4.17+), then the plain name of older kernels.
fn syscall_symbols(call: Syscall) -> [&'static str; 3] {
    match call {
        Syscall::KexecLoad => [
            "__x64_sys_kexec_load",
            "__arm64_sys_kexec_load",
            "sys_kexec_load",
        ],
        Syscall::KexecFileLoad => [
            "__x64_sys_kexec_file_load",
            "__arm64_sys_kexec_file_load",
            "sys_kexec_file_load",
        ],
    }
}

/// The kernel's config and where it came from: /proc/config.gz describes
/// the running kernel itself; /boot/config-<release> is what was installed
/// with it.
fn kernel_config(host: &dyn Host, release: &str) -> Option<(String, String)> {
    if let Ok(gz) = host.read_bytes(path::CONFIG_GZ) {
        let mut text = String::new();
        // A config is a few hundred KiB; the cap keeps a damaged file harmless.
        let unpacked = flate2::read::GzDecoder::new(gz.as_slice())
            .take(16 << 20)
            .read_to_string(&mut text);
        if unpacked.is_ok() {
            return Some((text, path::CONFIG_GZ.to_string()));
        }
    }
    let boot = format!("/boot/config-{release}");
    host.read_text(&boot).ok().map(|text| (text, boot))
}

/// "CONFIG_X=y" or "=m": built; "# CONFIG_X is not set": not; no line: unknown.
pub(crate) fn config_value(config: &str, option: &str) -> Option<bool> {
    config.lines().find_map(|line| {
        let unset = line.strip_prefix("# ").and_then(|l| l.strip_prefix(option));
        if unset == Some(" is not set") {
            return Some(false);
        }
        match line.strip_prefix(option)?.strip_prefix('=')? {
            "y" | "m" => Some(true),
            "n" => Some(false),
            _ => None,
        }
    })
}

/// Whether the kernel has kexec at all (CONFIG_KEXEC_CORE) by sysfs:
/// /sys/kernel/kexec_loaded exists exactly then. Its absence counts only
/// when sysfs is mounted (/sys/kernel lists other files).
fn kexec_core_by_sysfs(host: &dyn Host) -> Option<bool> {
    match host.read_text(path::KEXEC_LOADED) {
        Ok(_) => Some(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mounted = host
                .list_dir(path::SYS_KERNEL)
                .is_ok_and(|names| !names.is_empty());
            mounted.then_some(false)
        }
        Err(_) => None,
    }
}

/// The type letters of the calls' entry points in /proc/kallsyms: "T" for
/// the real one; "W" for the weak stub (sys_ni_syscall, ENOSYS) a kernel
/// built without the call has instead. Stops reading once both are found.
fn kallsyms_support(host: &dyn Host, calls: &[Syscall]) -> Vec<(Syscall, Support)> {
    let mut found: Vec<(Syscall, Support)> = Vec::new();
    let _ = host.scan_lines(path::KALLSYMS, &mut |line| {
        let mut fields = line.split_whitespace();
        let (Some(_addr), Some(kind), Some(name)) = (fields.next(), fields.next(), fields.next())
        else {
            return true;
        };
        for &call in calls {
            if found.iter().any(|(c, _)| *c == call) || !syscall_symbols(call).contains(&name) {
                continue;
            }
            let support = match kind {
                "T" | "t" => Support::known(true, format!("{} has {name}", path::KALLSYMS)),
                "W" | "w" => Support::known(
                    false,
                    format!(
                        "{} has only the weak stub {name}, which returns ENOSYS",
                        path::KALLSYMS
                    ),
                ),
                _ => continue,
            };
            found.push((call, support));
        }
        found.len() < calls.len()
    });
    found
}

/// Each call's support from the cheapest fact that decides it: sysfs (no
/// kexec at all), then the kernel's config, then /proc/kallsyms.
fn syscall_support(host: &dyn Host, config: Option<&(String, String)>) -> [Support; 2] {
    const CALLS: [Syscall; 2] = [Syscall::KexecLoad, Syscall::KexecFileLoad];
    let core = kexec_core_by_sysfs(host);
    if core == Some(false) {
        let why = format!(
            "{} has no kexec_loaded: the kernel was built without CONFIG_KEXEC_CORE",
            path::SYS_KERNEL
        );
        return [
            Support::known(false, why.clone()),
            Support::known(false, why),
        ];
    }
    let mut support = [Support::default(), Support::default()];
    if let Some((text, source)) = config {
        let values = CALLS.map(|call| config_value(text, config_option(call)));
        // kexec_loaded shows that one call is there: a config denying both
        // belongs to another build of this release.
        let stale = core == Some(true) && values == [Some(false), Some(false)];
        for (i, call) in CALLS.into_iter().enumerate() {
            let option = config_option(call);
            support[i] = match values[i] {
                _ if stale => Support::default(),
                Some(true) => Support::known(true, format!("{option}=y in {source}")),
                Some(false) => Support::known(false, format!("{option} is not set in {source}")),
                None => Support::default(),
            };
        }
    }
    let undecided: Vec<Syscall> = CALLS
        .into_iter()
        .enumerate()
        .filter(|(i, _)| support[*i].built.is_none())
        .map(|(_, call)| call)
        .collect();
    if !undecided.is_empty() {
        for (call, found) in kallsyms_support(host, &undecided) {
            support[CALLS.iter().position(|c| *c == call).unwrap_or(0)] = found;
        }
    }
    support
}

/// "1" or "0" in a sysfs flag file; None when it cannot be read.
pub(crate) fn flag_file(host: &dyn Host, path: &str) -> Option<bool> {
    match host.read_text(path).ok()?.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// The `crashkernel=…,cma` words of a command line: `crashkernel=256M,cma`
/// asks for crash kernel memory from CMA (Linux 6.17+), beside the region
/// that plain `crashkernel=` reserves.
///
/// ```rust
/// let line = b"root=/dev/vda1 crashkernel=64M crashkernel=256M,cma quiet";
/// assert_eq!(kexec::facts::crashkernel_cma_words(line), ["crashkernel=256M,cma"]);
/// assert!(kexec::facts::crashkernel_cma_words(b"crashkernel=256M,high").is_empty());
/// ```
pub fn crashkernel_cma_words(cmdline: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(cmdline)
        .split_ascii_whitespace()
        .filter(|w| w.starts_with("crashkernel=") && w.ends_with(",cma"))
        .map(str::to_string)
        .collect()
}

/// The load limit for `target` as the kernel has it now: read again, since
/// every call made since the facts were gathered lowered it.
pub fn current_load_limit(host: &dyn Host, target: Target) -> Option<i64> {
    let file = match target {
        Target::Crash => path::KEXEC_LOAD_LIMIT_PANIC,
        Target::Normal => path::KEXEC_LOAD_LIMIT_REBOOT,
    };
    number_file(host, file)
}

fn number_file(host: &dyn Host, path: &str) -> Option<i64> {
    host.read_text(path).ok()?.trim().parse().ok()
}

/// The capability sets line "CapEff:\t000001ffffffffff" of /proc/self/status.
fn effective_caps(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("CapEff:"))?;
    u64::from_str_radix(line["CapEff:".len()..].trim(), 16).ok()
}

fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line["MemTotal:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kb.checked_mul(1024)
}

/// "[integrity]" is the active lockdown mode in "none [integrity] confidentiality".
fn active_lockdown(text: &str) -> Option<String> {
    let start = text.find('[')?;
    let end = text[start..].find(']')? + start;
    Some(text[start + 1..end].to_string())
}

impl Facts {
    /// Reads every fact through `host`; a file that cannot be read leaves its
    /// fact unknown (None, false or empty), never an error.
    pub fn gather(host: &dyn Host) -> Facts {
        let status = host.read_text(path::SELF_STATUS).ok();
        let resources = host
            .read_text(iomem::PATH)
            .ok()
            .and_then(|t| iomem::parse(&t).ok())
            .unwrap_or_default();
        let cpuinfo = host.read_text(path::CPUINFO).unwrap_or_default();
        let cpu_flags = || first_cpu_flags(&cpuinfo).split_whitespace();
        let mut facts = Facts {
            cap_sys_boot: status
                .as_deref()
                .and_then(effective_caps)
                .map(|caps| caps & (1 << CAP_SYS_BOOT) != 0),
            kexec_load_disabled: flag_file(host, path::KEXEC_LOAD_DISABLED).unwrap_or(false),
            load_limit_reboot: number_file(host, path::KEXEC_LOAD_LIMIT_REBOOT),
            load_limit_panic: number_file(host, path::KEXEC_LOAD_LIMIT_PANIC),
            crashkernel_cma: Vec::new(),
            crash_cma_areas: host
                .list_dir(path::CMA_AREAS)
                .map(|names| {
                    names
                        .into_iter()
                        .filter(|n| n.starts_with("crashkernel"))
                        .collect()
                })
                .unwrap_or_default(),
            mem_total: host
                .read_text(path::MEMINFO)
                .ok()
                .as_deref()
                .and_then(mem_total),
            crash_regions: iomem::crash_regions(&resources),
            system_ram: iomem::system_ram(&resources),
            crash_size: number_file(host, path::KEXEC_CRASH_SIZE).map(|n| n as u64),
            kernel_release: host
                .read_text(path::OSRELEASE)
                .map(|t| t.trim().to_string())
                .unwrap_or_default(),
            five_level_paging: cpu_flags().any(|f| f == "la57"),
            memory_encryption: cpu_flags()
                .find(|f| MEMORY_ENCRYPTION_FLAGS.contains(f))
                .map(String::from),
            efi_32bit: number_file(host, path::EFI_PLATFORM_SIZE) == Some(32),
            kexec_loaded: flag_file(host, path::KEXEC_LOADED),
            crash_loaded: flag_file(host, path::KEXEC_CRASH_LOADED),
            lockdown: host
                .read_text(path::LOCKDOWN)
                .ok()
                .as_deref()
                .and_then(active_lockdown),
            cmdline: host.read_bytes(path::CMDLINE).ok().map(|mut line| {
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                line
            }),
            kexec_jump: None,
            kexec_load_support: Support::default(),
            kexec_file_load_support: Support::default(),
            // kexec-tools takes no size of 0 either ("the kernel needs CONFIG_CRASH_HOTPLUG").
            crash_elfcorehdr_size: number_file(host, path::CRASH_ELFCOREHDR_SIZE)
                .filter(|n| *n > 0)
                .map(|n| n as u64),
            cpu_crash_hotplug: flag_file(host, path::CPU_CRASH_HOTPLUG),
            memory_crash_hotplug: flag_file(host, path::MEMORY_CRASH_HOTPLUG),
            kexec_handover: Default::default(),
        };
        facts.crashkernel_cma = facts
            .cmdline
            .as_deref()
            .map(crashkernel_cma_words)
            .unwrap_or_default();
        let config = kernel_config(host, &facts.kernel_release);
        facts.kexec_jump = config
            .as_ref()
            .map(|(config, _)| config.lines().any(|l| l == "CONFIG_KEXEC_JUMP=y"));
        [facts.kexec_load_support, facts.kexec_file_load_support] =
            syscall_support(host, config.as_ref());
        facts.kexec_handover = crate::handover::Handover::gather(
            host,
            config.as_ref(),
            facts.cmdline.as_deref(),
            facts.kernel_version(),
        );
        if let (Some(false), Some(why)) = (
            facts.kexec_file_load_support.built,
            facts.kexec_file_load_support.evidence.clone(),
        ) {
            facts.kexec_handover.without_kexec_file_load(&why);
        }
        facts
    }

    /// Whether the kernel has `call`, and how we know.
    pub fn support(&self, call: Syscall) -> &Support {
        match call {
            Syscall::KexecLoad => &self.kexec_load_support,
            Syscall::KexecFileLoad => &self.kexec_file_load_support,
        }
    }

    /// When the kernel has neither call (nothing can be loaded, or
    /// executed): the facts that say so.
    pub fn no_kexec(&self) -> Option<String> {
        let (load, file) = (&self.kexec_load_support, &self.kexec_file_load_support);
        if load.built != Some(false) || file.built != Some(false) {
            return None;
        }
        let (a, b) = (
            load.evidence.clone().unwrap_or_default(),
            file.evidence.clone().unwrap_or_default(),
        );
        Some(if a == b { a } else { format!("{a}; {b}") })
    }

    /// The load limit sysctl that counts loads of `target`, and its path:
    /// kexec_load_limit_panic for crash kernels, _reboot for the others.
    /// None when the kernel has no such sysctl (before 6.3); -1 is unlimited.
    pub fn load_limit(&self, target: Target) -> (Option<i64>, &'static str) {
        match target {
            Target::Crash => (self.load_limit_panic, path::KEXEC_LOAD_LIMIT_PANIC),
            Target::Normal => (self.load_limit_reboot, path::KEXEC_LOAD_LIMIT_REBOOT),
        }
    }

    /// The `crashkernel=…,cma` words this kernel acts on: none before
    /// [`rules::CRASHKERNEL_CMA_SINCE`](crate::rules::CRASHKERNEL_CMA_SINCE)
    /// (an unknown version is taken to act on them).
    ///
    /// ```rust
    /// let mut facts = kexec::Facts::default();
    /// facts.crashkernel_cma = vec!["crashkernel=64M,cma".into()];
    /// facts.kernel_release = "6.12.48+deb13-amd64".into();
    /// assert!(facts.crashkernel_cma_in_effect().is_empty());
    /// facts.kernel_release = "7.2.13+deb14-amd64".into();
    /// assert_eq!(facts.crashkernel_cma_in_effect(), ["crashkernel=64M,cma"]);
    /// ```
    pub fn crashkernel_cma_in_effect(&self) -> &[String] {
        match self.kernel_version() {
            Some(v) if v < crate::rules::CRASHKERNEL_CMA_SINCE => &[],
            _ => &self.crashkernel_cma,
        }
    }

    /// (major, minor) of the running kernel, e.g. (6, 1) for "6.1.0-56-amd64".
    ///
    /// ```rust
    /// let mut facts = kexec::Facts::default();
    /// facts.kernel_release = "6.1.0-56-amd64".into();
    /// assert_eq!(facts.kernel_version(), Some((6, 1)));
    /// facts.kernel_release.clear(); // unknown
    /// assert_eq!(facts.kernel_version(), None);
    /// ```
    pub fn kernel_version(&self) -> Option<(u32, u32)> {
        let mut parts = self.kernel_release.split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    }

    /// The crash region the kernel loads crash kernels into (crashk_res): the
    /// highest "Crash kernel" range; a low range of crashkernel=X,high is not.
    ///
    /// ```rust
    /// use kexec::memory::Range;
    /// let mut facts = kexec::Facts::default();
    /// facts.crash_regions = vec![
    ///     Range::new(0x1000_0000, 0x2000_0000),     // crashkernel=,low
    ///     Range::new(0x1_0000_0000, 0x1_1000_0000), // the main region
    /// ];
    /// assert_eq!(facts.main_crash_region(), Some(Range::new(0x1_0000_0000, 0x1_1000_0000)));
    /// assert_eq!(facts.crash_region_size(), 0x1000_0000);
    /// ```
    pub fn main_crash_region(&self) -> Option<Range> {
        self.crash_regions.iter().copied().max_by_key(|r| r.start)
    }

    /// Whether a crash kernel region is reserved at all (from iomem, or the
    /// size file when iomem hides addresses).
    pub fn crash_region_size(&self) -> u64 {
        match self.main_crash_region() {
            Some(r) if r.start != 0 || r.end > 1 => r.size(),
            _ => self.crash_size.unwrap_or(0),
        }
    }
}

/// /proc/cpuinfo's flags of guest memory encryption (AMD SEV, SEV-ES,
/// SEV-SNP; Intel TDX).
const MEMORY_ENCRYPTION_FLAGS: [&str; 4] = ["sev", "sev_es", "sev_snp", "tdx_guest"];

/// The words of /proc/cpuinfo's first `flags` line (every CPU shows the same).
fn first_cpu_flags(cpuinfo: &str) -> &str {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .and_then(|l| l.split_once(':'))
        .map_or("", |(_, words)| words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::FakeHost;

    #[test]
    fn memory_encryption_and_la57_come_from_the_cpu_flags() {
        let mut host = FakeHost::typical();
        assert_eq!(Facts::gather(&host).memory_encryption, None);
        host.set(
            "/proc/cpuinfo",
            "processor\t: 0\nflags\t\t: fpu la57 sev sev_es\n\nprocessor\t: 1\nflags\t\t: fpu\n",
        );
        let f = Facts::gather(&host);
        assert_eq!(f.memory_encryption.as_deref(), Some("sev"));
        assert!(f.five_level_paging);
    }

    #[test]
    fn gathers_a_typical_machine() {
        let f = Facts::gather(&FakeHost::typical());
        assert_eq!(f.cap_sys_boot, Some(true));
        assert_eq!(f.mem_total, Some(2031616 * 1024));
        assert_eq!(f.kernel_version(), Some((6, 1)));
        assert_eq!(f.crash_region_size(), 256 << 20);
        assert_eq!(f.load_limit_reboot, None);
        assert_eq!(f.kexec_loaded, Some(false));
        assert_eq!(
            f.cmdline.as_deref(),
            Some(&b"BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro crashkernel=256M quiet"[..])
        );
    }

    #[test]
    fn crash_hotplug_facts_come_from_sysfs() {
        // 6.1 has none of the files.
        let f = Facts::gather(&FakeHost::typical());
        assert_eq!(f.crash_elfcorehdr_size, None);
        assert_eq!((f.cpu_crash_hotplug, f.memory_crash_hotplug), (None, None));
        let mut host = FakeHost::typical();
        host.set(path::CRASH_ELFCOREHDR_SIZE, "147584\n");
        host.set(path::CPU_CRASH_HOTPLUG, "1\n");
        host.set(path::MEMORY_CRASH_HOTPLUG, "0\n");
        let f = Facts::gather(&host);
        assert_eq!(f.crash_elfcorehdr_size, Some(147584));
        assert_eq!(
            (f.cpu_crash_hotplug, f.memory_crash_hotplug),
            (Some(true), Some(false))
        );
        // A size kexec-tools would not take either is no size.
        for text in ["0\n", "0x1000\n", "-4096\n", "\n", "lots\n"] {
            host.set(path::CRASH_ELFCOREHDR_SIZE, text);
            assert_eq!(Facts::gather(&host).crash_elfcorehdr_size, None, "{text:?}");
        }
        host.set(path::CPU_CRASH_HOTPLUG, "2\n");
        assert_eq!(Facts::gather(&host).cpu_crash_hotplug, None);
    }

    #[test]
    fn an_absurd_memtotal_is_unknown_not_a_panic() {
        let mut host = FakeHost::typical();
        host.set(path::MEMINFO, "MemTotal: 18446744073709551615 kB\n");
        assert_eq!(Facts::gather(&host).mem_total, None);
    }

    #[test]
    fn reads_capabilities_and_lockdown() {
        let mut host = FakeHost::typical();
        host.set(path::SELF_STATUS, "CapEff:\t0000000000000000\n");
        host.set(path::LOCKDOWN, "none [integrity] confidentiality\n");
        let f = Facts::gather(&host);
        assert_eq!(f.cap_sys_boot, Some(false));
        assert_eq!(f.lockdown.as_deref(), Some("integrity"));
    }

    #[test]
    fn hidden_iomem_addresses_fall_back_to_the_size_file() {
        let mut host = FakeHost::typical();
        host.set(
            "/proc/iomem",
            "00000000-00000000 : System RAM\n  00000000-00000000 : Crash kernel\n",
        );
        assert_eq!(Facts::gather(&host).crash_region_size(), 256 << 20);
    }

    const BOOT_CONFIG: &str = "/boot/config-6.1.0-56-amd64";

    fn support(f: &Facts) -> [(Option<bool>, String); 2] {
        [&f.kexec_load_support, &f.kexec_file_load_support]
            .map(|s| (s.built, s.evidence.clone().unwrap_or_default()))
    }

    #[test]
    fn without_sysfs_what_is_loaded_and_which_calls_exist_stay_unknown() {
        let mut host = FakeHost::typical();
        host.unmount_sys();
        let f = Facts::gather(&host);
        assert_eq!((f.kexec_loaded, f.crash_loaded), (None, None));
        assert_eq!(support(&f), [(None, String::new()), (None, String::new())]);
        assert_eq!(f.no_kexec(), None);
    }

    #[test]
    fn sysfs_without_kexec_loaded_means_no_kexec_at_all() {
        let mut host = FakeHost::typical();
        crate::testing::remove_kexec(&mut host);
        let f = Facts::gather(&host);
        assert_eq!(f.kexec_loaded, None);
        for (built, why) in support(&f) {
            assert_eq!(built, Some(false));
            assert!(why.contains("/sys/kernel has no kexec_loaded"), "{why}");
        }
        assert!(f.no_kexec().unwrap().contains("CONFIG_KEXEC_CORE"));
    }

    #[test]
    fn the_config_decides_each_call() {
        let mut host = FakeHost::typical();
        host.set(
            BOOT_CONFIG,
            "CONFIG_KEXEC_CORE=y\n# CONFIG_KEXEC is not set\nCONFIG_KEXEC_FILE=y\nCONFIG_KEXEC_JUMP=y\n",
        );
        let f = Facts::gather(&host);
        assert_eq!(
            support(&f),
            [
                (
                    Some(false),
                    format!("CONFIG_KEXEC is not set in {BOOT_CONFIG}")
                ),
                (Some(true), format!("CONFIG_KEXEC_FILE=y in {BOOT_CONFIG}")),
            ]
        );
        assert_eq!(f.kexec_jump, Some(true));
        assert_eq!(f.no_kexec(), None);
    }

    #[test]
    fn proc_config_gz_comes_before_the_boot_config() {
        let mut host = FakeHost::typical();
        host.set(BOOT_CONFIG, "CONFIG_KEXEC=y\nCONFIG_KEXEC_FILE=y\n");
        host.set_bytes(
            path::CONFIG_GZ,
            &crate::testing::gzip("CONFIG_KEXEC=y\n# CONFIG_KEXEC_FILE is not set\n"),
        );
        let f = Facts::gather(&host);
        assert_eq!(
            support(&f)[1],
            (
                Some(false),
                "CONFIG_KEXEC_FILE is not set in /proc/config.gz".to_string()
            )
        );
        // A damaged config.gz is no evidence: the next source decides.
        host.set_bytes(path::CONFIG_GZ, b"\x1f\x8b garbage");
        assert_eq!(
            Facts::gather(&host).kexec_file_load_support.built,
            Some(true)
        );
    }

    #[test]
    fn kallsyms_decides_what_the_config_leaves_open() {
        let mut host = FakeHost::typical();
        // No line for CONFIG_KEXEC_FILE: unknown, so kallsyms is read.
        host.set(BOOT_CONFIG, "CONFIG_KEXEC=y\n");
        host.set(
            path::KALLSYMS,
            "0000000000000000 T _text\n\
             0000000000000000 W __pfx___x64_sys_kexec_file_load\n\
             0000000000000000 W __x64_sys_kexec_file_load\n\
             0000000000000000 T __x64_sys_kexec_load\n",
        );
        let f = Facts::gather(&host);
        assert_eq!(support(&f)[0].0, Some(true));
        assert!(support(&f)[0].1.contains("CONFIG_KEXEC=y"));
        assert_eq!(support(&f)[1].0, Some(false));
        assert!(
            support(&f)[1]
                .1
                .contains("weak stub __x64_sys_kexec_file_load"),
            "{}",
            support(&f)[1].1
        );
        // Without any config: both from kallsyms; a real entry point is "T".
        host.unset(BOOT_CONFIG);
        let f = Facts::gather(&host);
        assert_eq!(
            support(&f)[0],
            (
                Some(true),
                "/proc/kallsyms has __x64_sys_kexec_load".to_string()
            )
        );
        // Symbols it does not know say nothing.
        host.set(
            path::KALLSYMS,
            "0000000000000000 T __x64_sys_kexec_load_x\n",
        );
        assert_eq!(Facts::gather(&host).kexec_load_support.built, None);
    }

    #[test]
    fn a_config_denying_both_calls_while_sysfs_shows_kexec_is_stale() {
        let mut host = FakeHost::typical();
        host.set(
            BOOT_CONFIG,
            "# CONFIG_KEXEC is not set\n# CONFIG_KEXEC_FILE is not set\n",
        );
        let f = Facts::gather(&host);
        assert_eq!(support(&f), [(None, String::new()), (None, String::new())]);
        // Without sysfs nothing contradicts it.
        host.unmount_sys();
        assert!(Facts::gather(&host)
            .no_kexec()
            .unwrap()
            .contains(BOOT_CONFIG));
    }
}
