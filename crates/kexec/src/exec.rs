//! `kexec -e`: flush file systems, take the network down and jump into the
//! loaded kernel with reboot(LINUX_REBOOT_CMD_KEXEC).

use crate::facts::{path, Facts};
use crate::sys::errno::Errno;
use crate::sys::Host;

#[derive(Clone, Copy, Debug)]
pub struct ExecOptions {
    /// sync(2) first: the kernel jumps without flushing anything (-y turns it off).
    pub sync: bool,
    /// Take interfaces other than lo down so devices stop DMA (-x turns it off).
    pub ifdown: bool,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    #[error("nothing has been loaded: {} is 0; load a kernel first with `kexec -l KERNEL` (a crash kernel loaded with -p runs only on a panic)", path::KEXEC_LOADED)]
    NothingLoaded,
    #[error("reboot(LINUX_REBOOT_CMD_KEXEC) failed with {}: {}", .0.name(), explain_reboot(*.0))]
    Refused(Errno),
}

fn explain_reboot(errno: Errno) -> &'static str {
    match errno {
        Errno::EPERM => "jumping to a new kernel needs CAP_SYS_BOOT; run kexec -e as root",
        Errno::EBUSY => "another kexec operation is in progress (the kernel's kexec lock is held)",
        Errno::EINVAL => {
            "no kernel is loaded for kexec -e, or this process is not in the initial PID namespace"
        }
        _ => "the kernel refused to jump",
    }
}

/// What was done before the jump, for `-d`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Prepared {
    pub synced: bool,
    pub interfaces_down: Vec<String>,
}

/// Jumps into the loaded kernel. Returns only when it could not.
pub fn exec(host: &mut dyn Host, options: ExecOptions, log: &mut dyn FnMut(&str)) -> ExecError {
    if !Facts::gather(host).kexec_loaded {
        return ExecError::NothingLoaded;
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
}
