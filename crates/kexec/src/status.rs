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
        format!(
            "kexec_loaded:       {} (kernel for kexec -e)\n\
             kexec_crash_loaded: {} (crash kernel)\n\
             kexec_crash_size:   {}\n\
             Crash kernel:       {ranges}\n\
             kexec_load:         {}\n\
             kexec_file_load:    {}\n",
            loaded(self.kexec_loaded, path::KEXEC_LOADED),
            loaded(self.kexec_crash_loaded, path::KEXEC_CRASH_LOADED),
            self.kexec_crash_size
                .map_or("unknown".to_string(), |s| format!(
                    "{s} ({})",
                    human_size(s)
                )),
            call(&self.syscalls.kexec_load),
            call(&self.syscalls.kexec_file_load),
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
        // A typical machine: both calls unknown (no config), nothing loaded.
        let text = Status::from_facts(&Facts::gather(&FakeHost::typical())).describe();
        assert!(text.contains("kexec_loaded:       no"), "{text}");
    }
}
