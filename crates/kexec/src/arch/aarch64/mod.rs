//! arm64 (aarch64): the Linux arm64 boot protocol on the kexec_load path —
//! the device tree with its `/chosen` rewritten (`dtb`), our own purgatory
//! (`purgatory`), kdump's elfcorehdr (`crash`) and the segments' placement
//! (`linux`).

pub mod crash;
pub mod dtb;
pub mod linux;
pub mod purgatory;

use super::{Arch, ArchBuildError, BootArgs, LoadOptions};
use crate::boot::{KernelBytes, LoadPlanError};
use crate::facts::Facts;
use crate::image::format::KernelFormat;
use crate::plan::{Plan, Target};
use crate::sys::abi::{KexecArch, KexecFlags, KEXEC_ON_CRASH};
use crate::sys::Host;
use linux::BuildError;

/// The arm64 architecture.
pub struct Aarch64;

/// arm64's own kexec_load options (kexec-tools' arm64 options), in
/// [`LoadOptions::aarch64`].
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Options {
    /// --dtb: the device tree to pass instead of /sys/firmware/fdt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtb: Option<String>,
    /// --port: the purgatory prints on the PL011 UART at this MMIO address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u64>,
}

impl Options {
    /// The first option given, by its kexec-tools name: each is honoured
    /// only by our kexec_load image.
    pub fn first_given(&self) -> Option<&'static str> {
        let given = [
            (self.dtb.is_some(), "--dtb"),
            (self.port.is_some(), "--port"),
        ];
        given.iter().find(|(on, _)| *on).map(|(_, name)| *name)
    }
}

/// The arm64 builder's errors reach callers as [`LoadPlanError::Build`],
/// named "aarch64".
impl From<BuildError> for LoadPlanError {
    fn from(error: BuildError) -> Self {
        LoadPlanError::Build(ArchBuildError::new(Aarch64.name(), error))
    }
}

impl Arch for Aarch64 {
    fn name(&self) -> &'static str {
        "aarch64"
    }

    fn kexec_arch(&self) -> KexecArch {
        KexecArch::Aarch64
    }

    /// arch/arm64's kexec_file_loaders[] holds one loader, for a raw Image
    /// (`kexec_image_ops`); it refuses the PE/zboot wrappers.
    fn file_loader_takes(&self, format: &dyn KernelFormat) -> bool {
        format.name() == crate::image::arm64_image::Arm64Image.name()
    }

    fn plan_kexec_load(
        &self,
        host: &dyn Host,
        facts: &Facts,
        load: &KernelBytes,
        args: BootArgs,
        options: &LoadOptions,
    ) -> Result<Plan, LoadPlanError> {
        let hotplug_flag = crate::rules::crash_hotplug_flag(
            load.target,
            options.hotplug,
            facts,
            self.kexec_arch(),
        )
        .map_err(LoadPlanError::Rejected)?;
        let mut system =
            linux::System::gather(host, &facts.crash_regions, load.target, &options.aarch64)?;
        system.crash_elfcorehdr_size = facts.crash_elfcorehdr_size;
        let parts = linux::Parts {
            file: load.name,
            kernel: load.kernel,
            initrd: load.initrd,
            cmdline: load.cmdline,
            sources: load.sources,
        };
        let image = linux::build(&parts, load.target, &system, args, options)?;
        let mut base = if load.target == Target::Crash {
            KEXEC_ON_CRASH
        } else {
            KexecFlags(0)
        };
        base |= hotplug_flag.unwrap_or(KexecFlags(0));
        Ok(Plan::Load {
            target: load.target,
            segments: image.segments,
            entry: image.entry,
            flags: base.with_arch(self.kexec_arch()),
        })
    }
}
