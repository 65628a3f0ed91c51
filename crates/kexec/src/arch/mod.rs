//! Architectures as plug-ins: what differs between targets on the kexec_load
//! path — the KEXEC_ARCH_* value, which formats the kernel's own
//! kexec_file_load loader takes, and how a kernel's bytes become segments and
//! an entry point. Each architecture is one module behind [`Arch`]; x86_64 is
//! the only one today, and an `aarch64` module sits beside it when it comes.

pub mod x86_64;

use crate::boot::x86_linux::{BootArgs, LoadOptions};
use crate::boot::{KernelBytes, LoadPlanError};
use crate::facts::Facts;
use crate::image::format::KernelFormat;
use crate::plan::Plan;
use crate::sys::abi::KexecArch;
use crate::sys::Host;

/// One target architecture's kexec_load image builder.
pub trait Arch: Sync {
    /// The architecture's name, as `uname -m` says it.
    fn name(&self) -> &'static str;
    /// The KEXEC_ARCH_* value kexec_load's flags carry for it.
    fn kexec_arch(&self) -> KexecArch;
    /// Whether the kernel's kexec_file_load loaders on this architecture
    /// take a kernel of this format.
    fn file_loader_takes(&self, format: &dyn KernelFormat) -> bool;
    /// The kexec_load plan for a kernel's bytes: segments, entry and flags.
    fn plan_kexec_load(
        &self,
        host: &dyn Host,
        facts: &Facts,
        load: &KernelBytes,
        args: BootArgs,
        options: &LoadOptions,
    ) -> Result<Plan, LoadPlanError>;
}

/// The architecture this build runs on, when we can build its images.
pub fn native() -> Option<&'static dyn Arch> {
    if cfg!(target_arch = "x86_64") {
        Some(&x86_64::X86_64)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn native_is_x86_64_on_x86_64() {
        let arch = native().expect("x86_64 builds images");
        assert_eq!(arch.name(), "x86_64");
        assert_eq!(arch.kexec_arch(), KexecArch::X86_64);
        assert_eq!(arch.kexec_arch(), KexecArch::native());
    }

    /// The x86 kernel's kexec_file_loaders[] holds bzImage64 only.
    #[test]
    fn x86_64_file_loader_takes_bzimage64_not_elf() {
        let arch = &x86_64::X86_64;
        let bz = crate::image::format::by_name("bzImage64").expect("bzImage64 is registered");
        let elf = crate::image::format::for_kexec_load(&crate::testing::elf_vmlinux(
            &[(0x100_0000, 0x100, 0x20_0000)],
            0x100_0000,
        ))
        .expect("an ELF vmlinux is a kexec_load format");
        assert!(arch.file_loader_takes(bz));
        assert!(!arch.file_loader_takes(elf));
    }
}
