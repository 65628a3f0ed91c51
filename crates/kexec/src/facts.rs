//! What the running kernel tells about itself through procfs and sysfs: the
//! inputs of the rules model and of `--status`. Gathered once per run.

use crate::memory::{iomem, Range};
use crate::sys::Host;
use serde::Serialize;

pub mod path {
    pub const KEXEC_LOADED: &str = "/sys/kernel/kexec_loaded";
    pub const KEXEC_CRASH_LOADED: &str = "/sys/kernel/kexec_crash_loaded";
    pub const KEXEC_CRASH_SIZE: &str = "/sys/kernel/kexec_crash_size";
    pub const KEXEC_LOAD_DISABLED: &str = "/proc/sys/kernel/kexec_load_disabled";
    pub const KEXEC_LOAD_LIMIT_REBOOT: &str = "/proc/sys/kernel/kexec_load_limit_reboot";
    pub const KEXEC_LOAD_LIMIT_PANIC: &str = "/proc/sys/kernel/kexec_load_limit_panic";
    pub const OSRELEASE: &str = "/proc/sys/kernel/osrelease";
    pub const SELF_STATUS: &str = "/proc/self/status";
    pub const MEMINFO: &str = "/proc/meminfo";
    pub const CMDLINE: &str = "/proc/cmdline";
    pub const CPUINFO: &str = "/proc/cpuinfo";
    pub const LOCKDOWN: &str = "/sys/kernel/security/lockdown";
    pub const EFI_PLATFORM_SIZE: &str = "/sys/firmware/efi/fw_platform_size";
}

/// CAP_SYS_BOOT's bit in the capability sets (include/uapi/linux/capability.h).
pub const CAP_SYS_BOOT: u32 = 22;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Facts {
    /// None when /proc/self/status could not be read.
    pub cap_sys_boot: Option<bool>,
    pub kexec_load_disabled: bool,
    /// Post-6.1 sysctls; None when the kernel has none. -1 = unlimited.
    pub load_limit_reboot: Option<i64>,
    pub load_limit_panic: Option<i64>,
    /// MemTotal in bytes (the kernel's totalram_pages).
    pub mem_total: Option<u64>,
    /// "Crash kernel" ranges of /proc/iomem; zero addresses without CAP_SYS_ADMIN.
    pub crash_regions: Vec<Range>,
    /// Top-level "System RAM" ranges of /proc/iomem; empty when hidden.
    pub system_ram: Vec<Range>,
    /// /sys/kernel/kexec_crash_size, readable by anyone.
    pub crash_size: Option<u64>,
    pub kernel_release: String,
    /// The running kernel uses 5-level paging (the CPU flag la57 stays only then).
    pub five_level_paging: bool,
    /// UEFI firmware with a 32-bit runtime, which the 64-bit kexec_file loader refuses.
    pub efi_32bit: bool,
    pub kexec_loaded: bool,
    pub crash_loaded: bool,
    /// "none", "integrity" or "confidentiality" when securityfs shows it.
    pub lockdown: Option<String>,
    /// /proc/cmdline without its newline.
    pub cmdline: Option<String>,
    /// CONFIG_KEXEC_JUMP (lets kexec_load take KEXEC_PRESERVE_CONTEXT), from
    /// /boot/config-<release> when present.
    pub kexec_jump: Option<bool>,
}

fn flag_file(host: &dyn Host, path: &str) -> bool {
    host.read_text(path)
        .map(|t| t.trim() == "1")
        .unwrap_or(false)
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
    Some(kb * 1024)
}

/// "[integrity]" is the active lockdown mode in "none [integrity] confidentiality".
fn active_lockdown(text: &str) -> Option<String> {
    let start = text.find('[')?;
    let end = text[start..].find(']')? + start;
    Some(text[start + 1..end].to_string())
}

impl Facts {
    pub fn gather(host: &dyn Host) -> Facts {
        let status = host.read_text(path::SELF_STATUS).ok();
        let resources = host
            .read_text(iomem::PATH)
            .ok()
            .and_then(|t| iomem::parse(&t).ok())
            .unwrap_or_default();
        let mut facts = Facts {
            cap_sys_boot: status
                .as_deref()
                .and_then(effective_caps)
                .map(|caps| caps & (1 << CAP_SYS_BOOT) != 0),
            kexec_load_disabled: flag_file(host, path::KEXEC_LOAD_DISABLED),
            load_limit_reboot: number_file(host, path::KEXEC_LOAD_LIMIT_REBOOT),
            load_limit_panic: number_file(host, path::KEXEC_LOAD_LIMIT_PANIC),
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
            five_level_paging: host
                .read_text(path::CPUINFO)
                .map(|t| {
                    t.lines()
                        .filter(|l| l.starts_with("flags"))
                        .any(|l| l.split_whitespace().any(|w| w == "la57"))
                })
                .unwrap_or(false),
            efi_32bit: number_file(host, path::EFI_PLATFORM_SIZE) == Some(32),
            kexec_loaded: flag_file(host, path::KEXEC_LOADED),
            crash_loaded: flag_file(host, path::KEXEC_CRASH_LOADED),
            lockdown: host
                .read_text(path::LOCKDOWN)
                .ok()
                .as_deref()
                .and_then(active_lockdown),
            cmdline: host
                .read_text(path::CMDLINE)
                .ok()
                .map(|t| t.trim_end_matches('\n').to_string()),
            kexec_jump: None,
        };
        facts.kexec_jump = host
            .read_text(&format!("/boot/config-{}", facts.kernel_release))
            .ok()
            .map(|config| config.lines().any(|l| l == "CONFIG_KEXEC_JUMP=y"));
        facts
    }

    /// (major, minor) of the running kernel, e.g. (6, 1) for "6.1.0-56-amd64".
    pub fn kernel_version(&self) -> Option<(u32, u32)> {
        let mut parts = self.kernel_release.split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    }

    /// The crash region the kernel loads crash kernels into (crashk_res): the
    /// highest "Crash kernel" range; a low range of crashkernel=X,high is not.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::FakeHost;

    #[test]
    fn gathers_a_typical_machine() {
        let f = Facts::gather(&FakeHost::typical());
        assert_eq!(f.cap_sys_boot, Some(true));
        assert_eq!(f.mem_total, Some(2031616 * 1024));
        assert_eq!(f.kernel_version(), Some((6, 1)));
        assert_eq!(f.crash_region_size(), 256 << 20);
        assert_eq!(f.load_limit_reboot, None);
        assert!(!f.kexec_loaded);
        assert_eq!(
            f.cmdline.as_deref(),
            Some("BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro crashkernel=256M quiet")
        );
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
}
