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
    /// Kexec handover (Linux 6.16+).
    pub kexec_handover: HandoverStatus,
    /// The Live Update Orchestrator (Linux 6.19+).
    pub liveupdate: LiveupdateStatus,
}

/// Kexec handover as `--status` reports it.
#[derive(Debug, Serialize)]
pub struct HandoverStatus {
    /// "on", "off" (built in), "unsupported" (not built in) or "unknown".
    pub state: &'static str,
    /// The `kho=` word of /proc/cmdline the kernel acts on.
    pub cmdline: Option<String>,
    /// The `kho_scratch=` word, as given.
    pub scratch_param: Option<String>,
    /// KHO's scratch areas; null when debugfs cannot be read.
    pub scratch: Option<Vec<Range>>,
    /// Linux 6.16's /sys/kernel/debug/kho/out/finalize; null elsewhere.
    pub finalized: Option<bool>,
    /// The state for people: the facts behind it and what it means for loads.
    pub explanation: String,
}

/// The Live Update Orchestrator as `--status` reports it.
#[derive(Debug, Serialize)]
pub struct LiveupdateStatus {
    /// "on" (/dev/liveupdate is there), "off", "unsupported" or "unknown".
    pub state: &'static str,
    /// Whether /dev/liveupdate exists; null when /dev cannot be listed.
    pub device: Option<bool>,
    /// The state for people.
    pub explanation: String,
}

fn state_word(built: Option<bool>, on: Option<bool>) -> &'static str {
    match (built, on) {
        (Some(false), _) => "unsupported",
        (_, Some(true)) => "on",
        (_, Some(false)) => "off",
        _ => "unknown",
    }
}

impl HandoverStatus {
    /// The handover state from the facts.
    pub fn from_facts(facts: &Facts) -> HandoverStatus {
        let h = &facts.kexec_handover;
        let state = state_word(h.built.built, h.on);
        let evidence = h.on_evidence.clone().or(h.built.evidence.clone());
        let explanation = match state {
            "unsupported" => format!(
                "not built into Linux {} ({})",
                crate::rules::release_or_unknown(facts),
                evidence.unwrap_or_default()
            ),
            "off" => format!(
                "built in, off ({}): boot with kho=on to hand memory over to the next kernel",
                evidence.unwrap_or_default()
            ),
            "on" => {
                let scratch = match &h.scratch {
                    Some(areas) if !areas.is_empty() => format!(
                        "scratch areas {}",
                        areas
                            .iter()
                            .map(|r| format!("{r} ({})", human_size(r.size())))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Some(_) => format!("no scratch areas in {}", path::KHO_SCRATCH_PHYS),
                    None => format!(
                        "scratch areas unknown ({} cannot be read)",
                        path::KHO_SCRATCH_PHYS
                    ),
                };
                let finalize = match h.finalized {
                    Some(false) => format!(
                        "; {} is 0: not finalized yet (Linux 6.16 hands over only a finalized state: write 1 to it before kexec -e; later kernels finalize in kexec -e)",
                        path::KHO_FINALIZE
                    ),
                    _ => String::new(),
                };
                format!(
                    "on ({}); {scratch}; memory is handed over only to a kernel loaded with kexec_file_load (-s; -a uses it without the kexec_load fallback){finalize}",
                    evidence.unwrap_or_default()
                )
            }
            _ => format!(
                "unknown ({})",
                evidence.unwrap_or_else(|| {
                    "neither the kernel's config nor its debugfs shows CONFIG_KEXEC_HANDOVER".into()
                })
            ),
        };
        HandoverStatus {
            state,
            cmdline: h.cmdline_word.clone(),
            scratch_param: h.scratch_param.clone(),
            scratch: h.scratch.clone(),
            finalized: h.finalized,
            explanation,
        }
    }
}

impl LiveupdateStatus {
    /// The LUO state from the facts.
    pub fn from_facts(facts: &Facts) -> LiveupdateStatus {
        let l = &facts.kexec_handover.liveupdate;
        let state = state_word(l.built.built, l.on);
        let evidence = l
            .on_evidence
            .clone()
            .or(l.built.evidence.clone())
            .unwrap_or_default();
        let explanation = match state {
            "unsupported" => format!("not built in ({evidence})"),
            "on" => format!(
                "on ({evidence}): sessions reach the next kernel through a kexec_file_load (-s) image and a kexec -e made while their agent holds them open"
            ),
            "off" => format!("off ({evidence})"),
            _ => format!("unknown ({evidence})"),
        };
        LiveupdateStatus {
            state,
            device: l.device,
            explanation,
        }
    }
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
            kexec_handover: HandoverStatus::from_facts(facts),
            liveupdate: LiveupdateStatus::from_facts(facts),
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
        text.push_str(&format!(
            "Kexec handover:     {}\nLive update:        {}\n",
            self.kexec_handover.explanation, self.liveupdate.explanation
        ));
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

    /// Kexec handover and LUO, in each state a kernel can be in.
    #[test]
    fn kexec_handover_and_liveupdate_are_reported() {
        use crate::facts::path::{KHO_FINALIZE, KHO_SCRATCH_LEN, KHO_SCRATCH_PHYS, LIVEUPDATE_DEV};
        let lines = |host: &FakeHost| {
            let status = Status::from_facts(&Facts::gather(host));
            let text = status.describe();
            let pick = |p: &str| {
                text.lines()
                    .find(|l| l.starts_with(p))
                    .unwrap_or_else(|| panic!("{text}"))
                    .to_string()
            };
            (pick("Kexec handover:"), pick("Live update:"), status)
        };
        // 6.1: neither, by version.
        let mut host = FakeHost::typical();
        let (kho, luo, _) = lines(&host);
        assert_eq!(
            kho,
            "Kexec handover:     not built into Linux 6.1.0-56-amd64 (Linux 6.1 predates kexec handover (6.16))"
        );
        assert!(
            luo.contains("not built in (Linux 6.1 predates the Live Update Orchestrator (6.19))"),
            "{luo}"
        );
        // Not built, by the config.
        host.set("/proc/sys/kernel/osrelease", "6.18.0\n");
        host.set(
            "/boot/config-6.18.0",
            "CONFIG_KEXEC_FILE=y\n# CONFIG_KEXEC_HANDOVER is not set\n",
        );
        let (kho, _, status) = lines(&host);
        assert!(
            kho.contains("(CONFIG_KEXEC_HANDOVER is not set in /boot/config-6.18.0)"),
            "{kho}"
        );
        assert_eq!(status.kexec_handover.state, "unsupported");
        // Built in, off.
        host.set(
            "/boot/config-6.18.0",
            "CONFIG_KEXEC_FILE=y\nCONFIG_KEXEC_HANDOVER=y\n",
        );
        let (kho, _, status) = lines(&host);
        assert_eq!(
            kho,
            "Kexec handover:     built in, off (no kho= in /proc/cmdline (off by default)): boot with kho=on to hand memory over to the next kernel"
        );
        assert_eq!(status.kexec_handover.state, "off");
        // On, with its scratch areas (root reads debugfs); 6.16's finalize file.
        host.set(
            "/proc/cmdline",
            "root=/dev/vda1 kho=on kho_scratch=16M,512M,256M\n",
        );
        host.set(KHO_SCRATCH_PHYS, "0x1000000\n0x100000000\n");
        host.set(KHO_SCRATCH_LEN, "0x1000000\n0x20000000\n");
        let (kho, _, status) = lines(&host);
        assert!(
            kho.starts_with("Kexec handover:     on (/sys/kernel/debug/kho exists")
                && kho.contains(
                    "scratch areas 0x1000000-0x1ffffff (16 MiB), 0x100000000-0x11fffffff (512 MiB)"
                )
                && kho.contains("only to a kernel loaded with kexec_file_load (-s")
                && !kho.contains("finalize"),
            "{kho}"
        );
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["kexec_handover"]["state"], "on");
        assert_eq!(json["kexec_handover"]["cmdline"], "kho=on");
        assert_eq!(
            json["kexec_handover"]["scratch_param"],
            "kho_scratch=16M,512M,256M"
        );
        assert_eq!(
            json["kexec_handover"]["scratch"][1]["start"],
            0x1_0000_0000u64
        );
        assert_eq!(json["kexec_handover"]["finalized"], serde_json::Value::Null);
        host.set(KHO_FINALIZE, "0\n");
        let (kho, _, _) = lines(&host);
        assert!(
            kho.contains("/sys/kernel/debug/kho/out/finalize is 0: "),
            "{kho}"
        );
        // On by the command line only (no root: debugfs unreadable).
        let mut host = FakeHost::typical();
        host.set("/proc/sys/kernel/osrelease", "6.19.2\n");
        host.set(
            "/boot/config-6.19.2",
            "CONFIG_KEXEC_HANDOVER=y\nCONFIG_LIVEUPDATE=y\n",
        );
        host.set("/proc/cmdline", "kho=1 liveupdate=on\n");
        host.set(LIVEUPDATE_DEV, "");
        let (kho, luo, status) = lines(&host);
        assert!(
            kho.contains(
                "on (/dev/liveupdate exists: LUO runs only with KHO on); scratch areas unknown"
            ),
            "{kho}"
        );
        assert!(
            luo.starts_with("Live update:        on (/dev/liveupdate exists): sessions reach"),
            "{luo}"
        );
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["liveupdate"]["state"], "on");
        assert_eq!(json["liveupdate"]["device"], true);
        // LUO built but off: /dev listed without it.
        host.unset(LIVEUPDATE_DEV);
        host.set("/dev/null", "");
        let (kho, luo, _) = lines(&host);
        assert!(kho.contains("on (kho=1 in /proc/cmdline)"), "{kho}");
        assert!(
            luo.contains("off (/dev/liveupdate does not exist (liveupdate=on in /proc/cmdline))"),
            "{luo}"
        );
        // Unknown without a config.
        host.unset("/boot/config-6.19.2");
        host.unset("/dev/null");
        let (kho, luo, _) = lines(&host);
        assert!(kho.contains("unknown (kho=1 in /proc/cmdline, but whether the kernel has CONFIG_KEXEC_HANDOVER is unknown)"), "{kho}");
        assert!(luo.contains("unknown (/dev cannot be listed)"), "{luo}");
    }
}
