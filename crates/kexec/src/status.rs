//! `kexec --status`: what is loaded, what memory is reserved for a crash
//! kernel, and which system calls the running kernel has.

use crate::facts::{path, Facts, Support};
use crate::memory::{human_size, Range};
use serde::Serialize;

/// What `kexec --status` reports, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct Status {
    /// None (null) when /sys/kernel/kexec_loaded cannot be read.
    pub kexec_loaded: Option<bool>,
    /// /sys/kernel/kexec_crash_loaded; None when it cannot be read.
    pub kexec_crash_loaded: Option<bool>,
    /// /sys/kernel/kexec_crash_size: bytes reserved for a crash kernel.
    pub kexec_crash_size: Option<u64>,
    /// The "Crash kernel" ranges of /proc/iomem (zero addresses without CAP_SYS_ADMIN).
    pub crash_kernel_ranges: Vec<Range>,
    /// Per system call: "supported", "unsupported" or "unknown", and why.
    pub syscalls: Syscalls,
    /// Whether the loaded crash kernel follows CPU and memory hotplug.
    pub crash_hotplug: CrashHotplug,
    /// /proc/sys/kernel/kexec_load_limit_reboot: normal loads left until
    /// reboot, -1 unlimited; null on kernels without it (before 6.3).
    pub load_limit_reboot: Option<i64>,
    /// /proc/sys/kernel/kexec_load_limit_panic: the same for crash kernels.
    pub load_limit_panic: Option<i64>,
    /// The `crashkernel=…,cma` words of /proc/cmdline (Linux 6.17+).
    pub crashkernel_cma: Vec<String>,
    /// The CMA areas named crashkernel* in /sys/kernel/mm/cma.
    pub crash_cma_areas: Vec<String>,
    /// The running kernel's release when it predates `crashkernel=…,cma`
    /// and so ignores the words above; null otherwise.
    pub crashkernel_cma_ignored_by: Option<String>,
}

/// Crash hotplug: whether the kernel updates a loaded crash kernel's
/// elfcorehdr in place when CPUs or memory come and go.
#[derive(Debug, Serialize)]
pub struct CrashHotplug {
    /// "updated" (the loaded crash kernel follows hotplug), "stale" (it
    /// was loaded through kexec_load without --hotplug: its elfcorehdr goes
    /// stale), "nothing-loaded", "unsupported" (the kernel has no crash
    /// hotplug) or "unknown".
    pub state: &'static str,
    /// /sys/kernel/crash_elfcorehdr_size, when the kernel has it.
    pub elfcorehdr_size: Option<u64>,
    /// /sys/devices/system/cpu/crash_hotplug.
    pub cpu: Option<bool>,
    /// /sys/devices/system/memory/crash_hotplug.
    pub memory: Option<bool>,
    /// The state for people: what it means and what to do.
    pub explanation: String,
}

impl CrashHotplug {
    /// The crash hotplug state from the facts.
    pub fn from_facts(facts: &Facts) -> CrashHotplug {
        let (cpu, memory) = (facts.cpu_crash_hotplug, facts.memory_crash_hotplug);
        let files = || {
            let show = |v: Option<bool>| v.map_or("unreadable", |b| if b { "1" } else { "0" });
            format!(
                "{} {}, {} {}",
                path::CPU_CRASH_HOTPLUG,
                show(cpu),
                path::MEMORY_CRASH_HOTPLUG,
                show(memory)
            )
        };
        let size = facts.crash_elfcorehdr_size;
        let (state, explanation) = if cpu == Some(true) || memory == Some(true) {
            (
                "updated",
                format!(
                    "the loaded crash kernel is updated in place on CPU and memory hotplug ({})",
                    files()
                ),
            )
        } else if size.is_none() && cpu.is_none() && memory.is_none() {
            let explanation = match facts.no_kexec() {
                Some(why) => format!("the kernel has no kexec: {why}"),
                None => format!(
                    "{} does not exist: {}; a loaded crash kernel goes stale on CPU or memory hotplug: reload it after each",
                    path::CRASH_ELFCOREHDR_SIZE,
                    crate::rules::no_crash_hotplug_why(facts)
                ),
            };
            ("unsupported", explanation)
        } else {
            match facts.crash_loaded {
                // kexec_file_load images always qualify: this one came
                // through kexec_load without the hotplug flag.
                Some(true) => (
                    "stale",
                    format!(
                        "the crash kernel was loaded through kexec_load without --hotplug ({}): its elfcorehdr goes stale on CPU or memory hotplug, and a dump after one misses the new CPUs and memory; reload it after each hotplug, or load it with --hotplug (or with -s)",
                        files()
                    ),
                ),
                Some(false) => (
                    "nothing-loaded",
                    "no crash kernel is loaded; the kernel updates one loaded with kexec_file_load (-s), or with kexec_load and --hotplug, in place on CPU and memory hotplug".to_string(),
                ),
                None => (
                    "unknown",
                    format!(
                        "{} cannot be read ({})",
                        path::KEXEC_CRASH_LOADED,
                        files()
                    ),
                ),
            }
        };
        CrashHotplug {
            state,
            elfcorehdr_size: size,
            cpu,
            memory,
            explanation,
        }
    }
}

/// Each kexec system call's state.
#[derive(Debug, Serialize)]
pub struct Syscalls {
    /// kexec_load(2).
    pub kexec_load: SyscallState,
    /// kexec_file_load(2).
    pub kexec_file_load: SyscallState,
}

/// Whether the running kernel has one system call.
#[derive(Debug, Serialize)]
pub struct SyscallState {
    /// "supported", "unsupported" or "unknown".
    pub state: &'static str,
    /// The fact that decided it, when one did.
    pub evidence: Option<String>,
}

impl From<&Support> for SyscallState {
    fn from(s: &Support) -> SyscallState {
        SyscallState {
            state: s.state(),
            evidence: s.evidence.clone(),
        }
    }
}

impl Status {
    /// The status, taken from facts already gathered.
    pub fn from_facts(facts: &Facts) -> Status {
        Status {
            kexec_loaded: facts.kexec_loaded,
            kexec_crash_loaded: facts.crash_loaded,
            kexec_crash_size: facts.crash_size,
            crash_kernel_ranges: facts.crash_regions.clone(),
            syscalls: Syscalls {
                kexec_load: (&facts.kexec_load_support).into(),
                kexec_file_load: (&facts.kexec_file_load_support).into(),
            },
            crash_hotplug: CrashHotplug::from_facts(facts),
            load_limit_reboot: facts.load_limit_reboot,
            load_limit_panic: facts.load_limit_panic,
            crashkernel_cma: facts.crashkernel_cma.clone(),
            crash_cma_areas: facts.crash_cma_areas.clone(),
            crashkernel_cma_ignored_by: (facts.crashkernel_cma_in_effect().is_empty()
                && !facts.crashkernel_cma.is_empty())
            .then(|| facts.kernel_release.clone()),
        }
    }

    /// Neither call is built in: "loaded" has no meaning then.
    fn unsupported(&self) -> bool {
        self.syscalls.kexec_load.state == "unsupported"
            && self.syscalls.kexec_file_load.state == "unsupported"
    }

    /// The status for people, one fact per line.
    pub fn describe(&self) -> String {
        let loaded = |state: Option<bool>, file: &str| match state {
            Some(true) => "yes".to_string(),
            Some(false) => "no".to_string(),
            None if self.unsupported() => "unsupported".to_string(),
            None => format!("unknown ({file} cannot be read)"),
        };
        let call = |s: &SyscallState| match &s.evidence {
            Some(why) => format!("{} ({why})", s.state),
            None => s.state.to_string(),
        };
        let ranges = if self.crash_kernel_ranges.is_empty() {
            "none (boot with crashkernel= to reserve one)".to_string()
        } else {
            self.crash_kernel_ranges
                .iter()
                .map(|r| format!("{r} ({})", human_size(r.size())))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut text = format!(
            "kexec_loaded:       {} (kernel for kexec -e)\n\
             kexec_crash_loaded: {} (crash kernel)\n\
             kexec_crash_size:   {}\n\
             Crash kernel:       {ranges}\n\
             kexec_load:         {}\n\
             kexec_file_load:    {}\n\
             crash_hotplug:      {} ({})\n",
            loaded(self.kexec_loaded, path::KEXEC_LOADED),
            loaded(self.kexec_crash_loaded, path::KEXEC_CRASH_LOADED),
            self.kexec_crash_size
                .map_or("unknown".to_string(), |s| format!(
                    "{s} ({})",
                    human_size(s)
                )),
            call(&self.syscalls.kexec_load),
            call(&self.syscalls.kexec_file_load),
            self.crash_hotplug.state,
            self.crash_hotplug.explanation,
        );
        text.push_str(&self.describe_cma());
        // Only a limit someone set is worth a line; -1 (the default) is none.
        for (name, limit, what) in [
            (
                "kexec_load_limit_reboot",
                self.load_limit_reboot,
                "kernel loads (kexec -l)",
            ),
            (
                "kexec_load_limit_panic",
                self.load_limit_panic,
                "crash kernel loads (kexec -p)",
            ),
        ] {
            if let Some(n) = limit.filter(|&n| n != -1) {
                text.push_str(&format!(
                    "{name}: {n} {what} left until reboot (/proc/sys/kernel/{name}; unloads and refused calls count too)\n"));
            }
        }
        text
    }

    /// The `crashkernel=…,cma` line, when the command line has one.
    fn describe_cma(&self) -> String {
        if self.crashkernel_cma.is_empty() {
            return String::new();
        }
        if let Some(release) = &self.crashkernel_cma_ignored_by {
            let (major, minor) = crate::rules::CRASHKERNEL_CMA_SINCE;
            return format!(
                "Crash kernel CMA:   {} in {} is ignored: Linux {release} predates crashkernel=…,cma ({major}.{minor})\n",
                self.crashkernel_cma.join(" "),
                path::CMDLINE
            );
        }
        let areas = if self.crash_cma_areas.is_empty() {
            format!("no crashkernel CMA area listed in {}", path::CMA_AREAS)
        } else {
            format!(
                "CMA areas {} ({})",
                self.crash_cma_areas.join(", "),
                path::CMA_AREAS
            )
        };
        format!(
            "Crash kernel CMA:   {} in {}; {areas}; /proc/iomem does not show it (the kernel reserves it as CMA, not as a Crash kernel range); the kernel hands it to a capture kernel loaded with kexec_file_load (-s, Linux 6.17+), while our kexec_load builder cannot tell where it is\n",
            self.crashkernel_cma.join(" "),
            path::CMDLINE
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::FakeHost;

    #[test]
    fn unknown_and_unsupported_are_said_so() {
        let mut host = FakeHost::typical();
        host.unmount_sys();
        let text = Status::from_facts(&Facts::gather(&host)).describe();
        assert!(
            text.contains("kexec_loaded:       unknown (/sys/kernel/kexec_loaded cannot be read)")
                && text.contains("kexec_load:         unknown\n"),
            "{text}"
        );
        let mut host = FakeHost::typical();
        crate::testing::remove_kexec(&mut host);
        let status = Status::from_facts(&Facts::gather(&host));
        let text = status.describe();
        assert!(
            text.contains("kexec_loaded:       unsupported")
                && text
                    .contains("kexec_file_load:    unsupported (/sys/kernel has no kexec_loaded"),
            "{text}"
        );
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["syscalls"]["kexec_load"]["state"], "unsupported");
        assert_eq!(json["kexec_loaded"], serde_json::Value::Null);
        assert!(!text.contains("kexec_load_limit"), "{text}");
        // A typical machine: both calls unknown (no config), nothing loaded.
        let text = Status::from_facts(&Facts::gather(&FakeHost::typical())).describe();
        assert!(text.contains("kexec_loaded:       no"), "{text}");
    }

    #[test]
    fn crash_hotplug_is_reported_with_what_to_do() {
        use crate::facts::path::{CPU_CRASH_HOTPLUG, CRASH_ELFCOREHDR_SIZE, MEMORY_CRASH_HOTPLUG};
        let line = |host: &FakeHost| {
            let text = Status::from_facts(&Facts::gather(host)).describe();
            text.lines()
                .find(|l| l.starts_with("crash_hotplug:"))
                .unwrap_or_else(|| panic!("{text}"))
                .to_string()
        };
        // 6.1: no crash hotplug at all.
        let mut host = FakeHost::typical();
        let text = line(&host);
        assert!(
            text.contains("unsupported (/sys/kernel/crash_elfcorehdr_size does not exist")
                && text.contains("Linux 6.1 predates crash hotplug"),
            "{text}"
        );
        // A kernel with it, nothing loaded.
        host.set("/proc/sys/kernel/osrelease", "6.12.48+deb13-amd64\n");
        host.set(CRASH_ELFCOREHDR_SIZE, "147584\n");
        host.set(CPU_CRASH_HOTPLUG, "0\n");
        host.set(MEMORY_CRASH_HOTPLUG, "0\n");
        assert!(line(&host).contains("nothing-loaded"), "{}", line(&host));
        // A crash kernel loaded through kexec_load without --hotplug.
        host.set(crate::sys::fake::CRASH_LOADED, "1\n");
        let text = line(&host);
        assert!(
            text.contains("stale")
                && text.contains("loaded through kexec_load without --hotplug")
                && text.contains("goes stale on CPU or memory hotplug")
                && text.contains("reload it")
                && text.contains("/sys/devices/system/cpu/crash_hotplug 0"),
            "{text}"
        );
        // One the kernel updates (kexec_file_load, or --hotplug).
        host.set(CPU_CRASH_HOTPLUG, "1\n");
        host.set(MEMORY_CRASH_HOTPLUG, "1\n");
        let text = line(&host);
        assert!(
            text.contains("updated (the loaded crash kernel is updated in place")
                && text.contains("/sys/devices/system/memory/crash_hotplug 1"),
            "{text}"
        );
        let json = serde_json::to_value(Status::from_facts(&Facts::gather(&host))).unwrap();
        assert_eq!(json["crash_hotplug"]["state"], "updated");
        assert_eq!(json["crash_hotplug"]["elfcorehdr_size"], 147584);
        assert_eq!(json["crash_hotplug"]["cpu"], true);
    }

    /// The load limits are shown when set (not -1), with what counts; the
    /// JSON has them always (null on kernels without the sysctls).
    #[test]
    fn load_limits_are_shown_when_set() {
        let mut host = FakeHost::typical(); // 6.1: no sysctls
        let status = Status::from_facts(&Facts::gather(&host));
        let json = serde_json::to_value(&status).unwrap();
        assert!(json["load_limit_reboot"].is_null() && json["load_limit_panic"].is_null());
        assert!(!status.describe().contains("kexec_load_limit"));
        host.set("/proc/sys/kernel/kexec_load_limit_reboot", "-1\n");
        host.set("/proc/sys/kernel/kexec_load_limit_panic", "2\n");
        let status = Status::from_facts(&Facts::gather(&host));
        let text = status.describe();
        assert!(
            text.contains("kexec_load_limit_panic: 2 crash kernel loads (kexec -p) left until reboot (/proc/sys/kernel/kexec_load_limit_panic; unloads and refused calls count too)"),
            "{text}"
        );
        assert!(
            !text.contains("kexec_load_limit_reboot"),
            "-1 is the default: {text}"
        );
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(
            (
                json["load_limit_reboot"].as_i64(),
                json["load_limit_panic"].as_i64()
            ),
            (Some(-1), Some(2))
        );
        host.set("/proc/sys/kernel/kexec_load_limit_reboot", "0\n");
        let text = Status::from_facts(&Facts::gather(&host)).describe();
        assert!(
            text.contains("kexec_load_limit_reboot: 0 kernel loads (kexec -l) left"),
            "{text}"
        );
    }

    /// `crashkernel=…,cma` from /proc/cmdline, with the CMA areas sysfs lists.
    #[test]
    fn crashkernel_cma_is_reported() {
        let mut host = FakeHost::typical();
        assert!(!Status::from_facts(&Facts::gather(&host))
            .describe()
            .contains("CMA"));
        host.set(
            "/proc/cmdline",
            "root=/dev/vda1 crashkernel=64M crashkernel=256M,cma quiet\n",
        );
        // 6.1 (the typical host) skips the word: said, and nothing else.
        let text = Status::from_facts(&Facts::gather(&host)).describe();
        assert!(
            text.contains("Crash kernel CMA:   crashkernel=256M,cma in /proc/cmdline is ignored: Linux 6.1.0-56-amd64 predates crashkernel=…,cma (6.17)\n"),
            "{text}"
        );
        host.set("/proc/sys/kernel/osrelease", "7.2.13+deb14-amd64\n");
        let text = Status::from_facts(&Facts::gather(&host)).describe();
        assert!(
            text.contains("Crash kernel CMA:   crashkernel=256M,cma in /proc/cmdline; no crashkernel CMA area listed in /sys/kernel/mm/cma; /proc/iomem does not show it"),
            "{text}"
        );
        host.set("/sys/kernel/mm/cma/crashkernel/alloc_pages_success", "0\n");
        host.set("/sys/kernel/mm/cma/reserved/alloc_pages_success", "0\n");
        let status = Status::from_facts(&Facts::gather(&host));
        assert!(
            status
                .describe()
                .contains("CMA areas crashkernel (/sys/kernel/mm/cma)"),
            "{}",
            status.describe()
        );
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["crashkernel_cma"][0], "crashkernel=256M,cma");
        assert_eq!(json["crash_cma_areas"], serde_json::json!(["crashkernel"]));
        assert_eq!(json["crashkernel_cma_ignored_by"], serde_json::Value::Null);
    }
}
