//! Carrying out a plan: the rules' preflight, then the system call, then the
//! kernel's answer explained in the rules' terms.

use crate::facts::Facts;
use crate::plan::Plan;
use crate::rules::{self, Rejection};
use crate::sys::Host;
use std::os::fd::AsFd;

/// Checks the plan against the rules (unless `skip_preflight`) and, when
/// nothing stands in the way, makes the call. A predicted rejection never
/// reaches the kernel, so whatever is loaded now stays loaded.
pub fn load(
    host: &mut dyn Host,
    plan: &Plan,
    facts: &Facts,
    skip_preflight: bool,
) -> Result<(), Rejection> {
    if !skip_preflight {
        rules::check(plan, facts)?;
    }
    let result = match plan {
        Plan::FileLoad(f) => host.kexec_file_load(
            Some(f.kernel.file.as_fd()),
            f.initrd.as_ref().map(|i| i.file.as_fd()),
            &f.cmdline_bytes(),
            f.flags,
        ),
        Plan::FileUnload { flags, .. } => host.kexec_file_load(None, None, &[], *flags),
        Plan::Load {
            segments,
            entry,
            flags,
            ..
        } => host.kexec_load(*entry, segments, *flags),
        Plan::Unload { flags, .. } => host.kexec_load(0, &[], *flags),
    };
    result.map_err(|errno| rules::explain(errno, plan, facts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Target;
    use crate::rules::Source;
    use crate::sys::abi::{KEXEC_FILE_ON_CRASH, KEXEC_FILE_UNLOAD};
    use crate::sys::errno::Errno;
    use crate::sys::fake::Call;
    use crate::sys::FakeHost;

    #[test]
    fn unload_passes_no_files() {
        let mut host = FakeHost::typical();
        let facts = Facts::gather(&host);
        load(&mut host, &Plan::file_unload(Target::Crash), &facts, false).unwrap();
        assert_eq!(
            host.calls,
            vec![Call::FileLoad {
                kernel: false,
                initrd: false,
                cmdline: vec![],
                flags: KEXEC_FILE_UNLOAD | KEXEC_FILE_ON_CRASH
            }]
        );
    }

    #[test]
    fn predicted_rejections_never_reach_the_kernel() {
        let mut host = FakeHost::typical();
        host.set("/proc/self/status", "CapEff:\t0000000000000000\n");
        let facts = Facts::gather(&host);
        let err = load(&mut host, &Plan::file_unload(Target::Normal), &facts, false).unwrap_err();
        assert_eq!((err.errno, err.source), (Errno::EPERM, Source::Model));
        assert!(host.calls.is_empty());
        // --skip-preflight sends it anyway and reports the kernel's answer.
        host.load_result = Err(Errno::EPERM);
        let err = load(&mut host, &Plan::file_unload(Target::Normal), &facts, true).unwrap_err();
        assert_eq!((err.errno, err.source), (Errno::EPERM, Source::Kernel));
        assert_eq!(host.calls.len(), 1);
    }
}
