//! Building boot images for kexec_load: user space hands the kernel finished
//! segments and an entry point, so everything the next kernel needs — its
//! image, boot_params, command line, initrd and our purgatory — is laid out
//! here.

pub mod bzimage64;
pub mod crash;
pub mod efi;
pub mod elf64;
pub mod purgatory;
pub mod x86_linux;
pub mod zero_page;

use crate::facts::Facts;
use crate::image::Input;
use crate::memory::memmap::{self, MemmapError};
use crate::plan::{FileLoad, Plan, Target};
use crate::sys::abi::{KexecArch, KexecFlags, KEXEC_ON_CRASH};
use crate::sys::Host;
use x86_linux::{BootArgs, BuildError, LoadOptions, System};

/// The running kernel's boot_params (root only).
pub const BOOT_PARAMS: &str = "/sys/kernel/boot_params/data";

#[derive(Debug, thiserror::Error)]
pub enum LoadPlanError {
    #[error("cannot read the {role} {path}: {source}")]
    Read {
        role: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read the memory map: {0}")]
    Memmap(#[from] MemmapError),
    #[error("cannot get random bytes for the next kernel's RNG seed (getrandom): {0}")]
    Random(std::io::Error),
    #[error(transparent)]
    Build(#[from] BuildError),
}

impl System {
    /// What the next kernel's boot needs from this one; crash loads also
    /// need the memory description for the capture kernel.
    pub fn gather(host: &dyn Host, facts: &Facts, target: Target) -> Result<System, LoadPlanError> {
        let mut rng_seed = [0u8; 32];
        host.random(&mut rng_seed).map_err(LoadPlanError::Random)?;
        let boot_params = host.read_bytes(BOOT_PARAMS).ok();
        Ok(System {
            memmap: memmap::read(host)?,
            efi: efi::EfiHandover::gather(host, boot_params.as_deref()),
            boot_params,
            crash_regions: facts.crash_regions.clone(),
            rng_seed,
            crash: match target {
                Target::Crash => crash::CrashInfo::gather(host, facts.five_level_paging),
                Target::Normal => Err("not a crash load".into()),
            },
        })
    }
}

/// Files larger than the crash region cannot fit whatever the layout: say
/// so before reading them.
fn crash_files_fit(
    facts: &Facts,
    kernel: &Input,
    initrd: Option<&Input>,
) -> Result<(), LoadPlanError> {
    let region = facts
        .main_crash_region()
        .filter(|r| r.size() > 0)
        .ok_or(BuildError::NoCrashRegion)?;
    for input in [Some(kernel), initrd].into_iter().flatten() {
        if input.size >= region.size() {
            let what = if std::ptr::eq(input, kernel) {
                "kernel".to_string()
            } else {
                format!("initrd {}", input.display())
            };
            return Err(BuildError::CrashRegionFull {
                file: kernel.display(),
                region: region.to_string(),
                size: region.size(),
                what,
                needed: input.size,
                placed: "— it is larger than the whole region".into(),
            }
            .into());
        }
    }
    Ok(())
}

/// Whether only kexec_load can take this kernel (an ELF vmlinux: the x86
/// kernel's file loader knows bzImage64 alone).
pub fn needs_kexec_load(kernel_head: &[u8]) -> bool {
    elf64::is_elf(kernel_head)
}

/// A kexec_load plan for a kernel (bzImage64 or ELF vmlinux), its initrd
/// and command line.
pub fn plan_kexec_load(
    host: &dyn Host,
    facts: &Facts,
    file: &FileLoad,
    args: BootArgs,
    options: &LoadOptions,
) -> Result<Plan, LoadPlanError> {
    let FileLoad {
        kernel,
        initrd,
        cmdline,
        target,
        ..
    } = file;
    let (initrd, target) = (initrd.as_ref(), *target);
    let read = |role: &'static str, input: &Input| {
        input.read_all().map_err(|source| LoadPlanError::Read {
            role,
            path: input.display(),
            source,
        })
    };
    if target == Target::Crash {
        crash_files_fit(facts, kernel, initrd)?;
    }
    let kernel_bytes = read("kernel", kernel)?;
    let initrd_bytes = initrd.map(|i| read("initrd", i)).transpose()?;
    let name = kernel.display();
    let bytes = KernelBytes {
        target,
        name: &name,
        kernel: &kernel_bytes,
        initrd: initrd_bytes.as_deref(),
        cmdline,
    };
    plan_kexec_load_bytes(host, facts, &bytes, args, options)
}

/// A kernel (and maybe an initrd) already in memory: what
/// `plan_kexec_load_bytes` lays out.
#[derive(Clone, Copy, Debug)]
pub struct KernelBytes<'a> {
    pub target: Target,
    /// The kernel file's name, as every error names it.
    pub name: &'a str,
    pub kernel: &'a [u8],
    pub initrd: Option<&'a [u8]>,
    pub cmdline: &'a str,
}

/// The kexec_load plan for a kernel's bytes (bzImage64 or ELF vmlinux): the
/// builder `plan_kexec_load` runs once it has read the files.
pub fn plan_kexec_load_bytes(
    host: &dyn Host,
    facts: &Facts,
    load: &KernelBytes,
    args: BootArgs,
    options: &LoadOptions,
) -> Result<Plan, LoadPlanError> {
    let KernelBytes {
        target,
        name: file,
        kernel: kernel_bytes,
        initrd: initrd_bytes,
        cmdline,
    } = *load;
    let system = System::gather(host, facts, target)?;
    let synthetic;
    let boot = if elf64::is_elf(kernel_bytes) {
        synthetic = elf64::synthetic_setup_header();
        elf64::describe(file, kernel_bytes, &synthetic, args, initrd_bytes, cmdline)?
    } else {
        bzimage64::describe(file, kernel_bytes, initrd_bytes, cmdline)?
    };
    let image = x86_linux::build(&boot, target, &system, options)?;
    let base = if target == Target::Crash {
        KEXEC_ON_CRASH
    } else {
        KexecFlags(0)
    };
    Ok(Plan::Load {
        target,
        segments: image.segments,
        entry: image.entry,
        flags: base.with_arch(KexecArch::X86_64),
    })
}
