//! `kexec -e`: flush file systems, take the network down and jump into the
//! loaded kernel with reboot(LINUX_REBOOT_CMD_KEXEC).

use crate::facts::{path, Facts};
use crate::rules::{Rejection, Rule, Source};
use crate::sys::errno::Errno;
use crate::sys::Host;

/// What `kexec -e` does before the jump.
#[derive(Clone, Copy, Debug)]
pub struct ExecOptions {
    /// sync(2) first: the kernel jumps without flushing anything (-y turns it off).
    pub sync: bool,
    /// Take interfaces other than lo down so devices stop DMA (-x turns it off).
    pub ifdown: bool,
}

/// Why `kexec -e` did not jump.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// /sys/kernel/kexec_loaded says no kernel is loaded.
    #[error("nothing has been loaded: {} is 0; load a kernel first with `kexec -l KERNEL` (a crash kernel loaded with -p runs only on a panic)", path::KEXEC_LOADED)]
    NothingLoaded,
    /// The running kernel has no kexec support; the text says how we know.
    #[error("nothing can have been loaded: this kernel has no kexec support ({0})")]
    NoKexec(String),
    /// reboot(LINUX_REBOOT_CMD_KEXEC) returned this errno.
    #[error("reboot(LINUX_REBOOT_CMD_KEXEC) failed with {}: {}", .0.name(), explain_reboot(*.0))]
    Refused(Errno),
    /// `kexec` without a mode: `shutdown -r now` could not be run.
    #[error("cannot run `shutdown -r now` to reboot into the loaded kernel: {why}")]
    Shutdown {
        /// What exec(2) of shutdown failed with.
        errno: Errno,
        /// The error, described.
        why: String,
    },
}

impl ExecError {
    /// The errno, rule and source `--json` reports for a jump that did not happen.
    pub fn rejection(&self) -> Rejection {
        let (errno, rule, source) = match self {
            ExecError::NothingLoaded => (Errno::EINVAL, Rule::NothingLoaded, Source::Model),
            ExecError::NoKexec(_) => (Errno::EINVAL, Rule::SyscallNotBuilt, Source::Model),
            ExecError::Shutdown { errno, .. } => (*errno, Rule::Other, Source::Model),
            ExecError::Refused(e) => {
                let rule = match *e {
                    Errno::EPERM => Rule::NoCapSysBoot,
                    Errno::EBUSY => Rule::Busy,
                    Errno::EINVAL => Rule::NothingLoaded,
                    _ => Rule::Other,
                };
                (*e, rule, Source::Kernel)
            }
        };
        Rejection {
            errno,
            rule,
            reason: self.to_string(),
            source,
        }
    }
}

fn explain_reboot(errno: Errno) -> &'static str {
    match errno {
        Errno::EPERM => "jumping to a new kernel needs CAP_SYS_BOOT; run kexec -e as root",
        Errno::EBUSY => "another kexec operation is in progress (the kernel's kexec lock is held)",
        Errno::EINVAL => {
            "no kernel is loaded for kexec -e (or the kernel has no kexec support), or this process is not in the initial PID namespace"
        }
        _ => "the kernel refused to jump",
    }
}

/// What was done before the jump, for `-d`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Prepared {
    /// Whether sync(2) ran.
    pub synced: bool,
    /// The interfaces taken down.
    pub interfaces_down: Vec<String>,
}

/// Jumps into the loaded kernel. Returns only when it could not.
pub fn exec(host: &mut dyn Host, options: ExecOptions, log: &mut dyn FnMut(&str)) -> ExecError {
    let facts = Facts::gather(host);
    match facts.kexec_loaded {
        Some(false) => return ExecError::NothingLoaded,
        Some(true) => {}
        // Without sysfs (a minimal initramfs) only the kernel knows: its
        // answer to reboot() decides, as with kexec-tools.
        None => {
            if let Some(why) = facts.no_kexec() {
                return ExecError::NoKexec(why);
            }
            log(&format!(
            "{} cannot be read: going ahead; the kernel refuses with EINVAL if nothing is loaded",
            path::KEXEC_LOADED
        ))
        }
    }
    if options.sync {
        log("sync(): flushing file systems");
        host.sync();
    }
    if options.ifdown {
        let down = host.interfaces_down();
        log(&format!(
            "network interfaces taken down: {}",
            if down.is_empty() {
                "none".to_string()
            } else {
                down.join(", ")
            }
        ));
    }
    log("reboot(LINUX_REBOOT_CMD_KEXEC)");
    ExecError::Refused(host.reboot_kexec())
}

/// `kexec` without a mode (kexec-tools' default): load, then reboot
/// through `shutdown -r now`, whose init runs `kexec -e` at the end.
/// Returns only when it could not.
pub fn shutdown(host: &mut dyn Host) -> ExecError {
    // Unknown (no sysfs) is not "nothing loaded": shutdown and the kernel decide then.
    if Facts::gather(host).kexec_loaded == Some(false) {
        return ExecError::NothingLoaded;
    }
    let err = host.exec_shutdown();
    ExecError::Shutdown {
        errno: Errno::from_io(&err),
        why: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fake::{Call, LOADED};
    use crate::sys::FakeHost;

    #[test]
    fn refuses_when_nothing_is_loaded() {
        let mut host = FakeHost::typical();
        let err = exec(
            &mut host,
            ExecOptions {
                sync: true,
                ifdown: true,
            },
            &mut |_| {},
        );
        assert_eq!(err, ExecError::NothingLoaded);
        assert!(host.calls.is_empty());
        assert!(err.to_string().contains("nothing has been loaded"));
    }

    #[test]
    fn syncs_and_takes_interfaces_down_before_the_jump() {
        let mut host = FakeHost::typical();
        host.set(LOADED, "1\n");
        exec(
            &mut host,
            ExecOptions {
                sync: true,
                ifdown: true,
            },
            &mut |_| {},
        );
        assert_eq!(
            host.calls,
            vec![Call::Sync, Call::InterfacesDown, Call::Reboot]
        );
        let mut host = FakeHost::typical();
        host.set(LOADED, "1\n");
        exec(
            &mut host,
            ExecOptions {
                sync: false,
                ifdown: false,
            },
            &mut |_| {},
        );
        assert_eq!(host.calls, vec![Call::Reboot]);
    }

    #[test]
    fn without_sysfs_the_kernels_answer_decides() {
        let mut host = FakeHost::typical();
        host.unmount_sys();
        let mut log = Vec::new();
        let options = ExecOptions {
            sync: true,
            ifdown: false,
        };
        let err = exec(&mut host, options, &mut |l| log.push(l.to_string()));
        assert_eq!(err, ExecError::Refused(Errno::EINVAL));
        assert_eq!(host.calls, vec![Call::Sync, Call::Reboot]);
        assert!(log[0].contains("cannot be read: going ahead"), "{log:?}");
    }

    #[test]
    fn a_kernel_without_kexec_is_not_asked() {
        let mut host = FakeHost::typical();
        crate::testing::remove_kexec(&mut host);
        let options = ExecOptions {
            sync: true,
            ifdown: true,
        };
        let err = exec(&mut host, options, &mut |_| {});
        assert!(matches!(&err, ExecError::NoKexec(why) if why.contains("CONFIG_KEXEC_CORE")));
        assert!(host.calls.is_empty(), "no sync, no ifdown, no reboot");
    }
}
