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
/// The driver behind /dev/fb0 (fb_fix_screeninfo.id), when there is one.
pub const FB0_NAME: &str = "/sys/class/graphics/fb0/name";

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
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("the {role} {path} is empty: nothing to load")]
    Empty { role: &'static str, path: String },
    /// A rule of the kernel's, judged from the files' sizes before reading them.
    #[error("{}", .0.reason)]
    Rejected(crate::rules::Rejection),
}

impl System {
    /// What the next kernel's boot needs from this one; crash loads also
    /// need the memory description for the capture kernel.
    pub fn gather(host: &dyn Host, facts: &Facts, target: Target) -> Result<System, MemmapError> {
        let mut rng_seed = [0u8; 32];
        host.random(&mut rng_seed);
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
            framebuffer: host
                .read_text(FB0_NAME)
                .ok()
                .map(|name| name.trim().to_string()),
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
                "kernel"
            } else {
                "initrd"
            };
            return Err(BuildError::CrashRegionFull {
                region: region.to_string(),
                size: crate::memory::human_size(region.size()),
                what: format!("{what} {}", input.display()),
                needed: crate::memory::human_size(input.size),
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
    // Every size rule is judged from the metadata before a byte is read.
    for (role, input) in [("kernel", Some(kernel)), ("initrd", initrd)] {
        if let Some(input) = input.filter(|i| i.size == 0) {
            return Err(LoadPlanError::Empty {
                role,
                path: input.describe(),
            });
        }
    }
    if target == Target::Crash {
        crash_files_fit(facts, kernel, initrd)?;
    }
    // An ELF file's size says little about its PT_LOADs (debug sections).
    let mut sizes = Vec::new();
    if !elf64::is_elf(&file.kernel_head) {
        sizes.push(("kernel", kernel.size));
    }
    sizes.extend(initrd.map(|i| ("initrd", i.size)));
    crate::rules::inputs_within_half_of_ram(&sizes, facts).map_err(LoadPlanError::Rejected)?;
    // Mapped, not read: only the pages parsed or hashed are touched.
    let map = |role: &'static str, input: &Input| {
        input.map().map_err(|source| LoadPlanError::Read {
            role,
            path: input.display(),
            source,
        })
    };
    let kernel_map = map("kernel", kernel)?;
    let initrd_map = initrd.map(|i| map("initrd", i)).transpose()?;
    let kernel_bytes = kernel_map.bytes();
    let initrd_bytes = initrd_map.as_ref().map(|m| m.bytes());
    let system = System::gather(host, facts, target)?;
    let file = kernel.display();
    let synthetic;
    let boot = if elf64::is_elf(kernel_bytes) {
        synthetic = elf64::synthetic_setup_header();
        elf64::describe(&file, kernel_bytes, &synthetic, args, initrd_bytes, cmdline)?
    } else {
        bzimage64::describe(&file, kernel_bytes, initrd_bytes, cmdline)?
    };
    let mut sources = vec![&kernel_map];
    sources.extend(initrd_map.as_ref());
    let mut image = x86_linux::build_from(&boot, target, &system, options, &sources)?;
    if let Some(i) = initrd.filter(|i| i.streamed_from.is_some()) {
        // Say where the initrd's bytes came from (a sealed memfd, mapped).
        for s in image.segments.iter_mut().filter(|s| s.purpose == "initrd") {
            s.purpose = format!("initrd {}, mapped from a sealed memfd", i.describe());
        }
    }
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
