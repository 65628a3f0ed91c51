//! `kexec --status`: what is loaded and what memory is reserved for a crash kernel.

use crate::facts::Facts;
use crate::memory::{human_size, Range};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Status {
    pub kexec_loaded: bool,
    pub kexec_crash_loaded: bool,
    pub kexec_crash_size: Option<u64>,
    pub crash_kernel_ranges: Vec<Range>,
}

impl Status {
    pub fn from_facts(facts: &Facts) -> Status {
        Status {
            kexec_loaded: facts.kexec_loaded,
            kexec_crash_loaded: facts.crash_loaded,
            kexec_crash_size: facts.crash_size,
            crash_kernel_ranges: facts.crash_regions.clone(),
        }
    }

    pub fn describe(&self) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" };
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
             Crash kernel:       {ranges}\n",
            yes(self.kexec_loaded),
            yes(self.kexec_crash_loaded),
            self.kexec_crash_size
                .map_or("unknown".to_string(), |s| format!(
                    "{s} ({})",
                    human_size(s)
                )),
        )
    }
}
