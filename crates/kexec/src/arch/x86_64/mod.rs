//! x86_64: the Linux boot protocol on the kexec_load path (zero page,
//! purgatory, kdump's elfcorehdr, the UEFI handover), its kernel formats'
//! layouts and the physical layout they share.

pub mod bzimage64;
pub mod crash;
pub mod decompressed;
pub mod efi;
pub mod elf64;
pub mod layout;
pub mod purgatory;
pub mod unpacked_cache;
pub mod x86_linux;
pub mod zero_page;

use super::{Arch, ArchBuildError, BootArgs, LoadOptions};
use crate::boot::{KernelBytes, LoadPlanError};
use crate::facts::Facts;
use crate::image::format::KernelFormat;
use crate::plan::{Plan, Syscall, Target};
use crate::sys::abi::{KexecArch, KexecFlags, KEXEC_ON_CRASH};
use crate::sys::mapping::Mapping;
use crate::sys::Host;
use purgatory::SerialConsole;
use std::sync::{Arc, OnceLock};
use x86_linux::{BuildError, LinuxBoot, System};

/// The x86_64 architecture.
pub struct X86_64;

/// x86_64's own kexec_load options (kexec-tools' x86 options), in
/// [`LoadOptions::x86_64`].
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Options {
    /// --console-serial (with --serial, --serial-baud): the purgatory
    /// prints on this UART.
    pub console: Option<SerialConsole>,
    /// --noefi: do not hand UEFI over even when both sides could.
    pub no_efi: bool,
    /// --reset-vga: the purgatory puts the VGA back into 80x25 text mode.
    pub reset_vga: bool,
    /// --console-vga: the purgatory also prints on the VGA text screen.
    pub console_vga: bool,
    /// --reuse-video-type: keep the boot-time video type even when a DRM
    /// driver owns /dev/fb0 (kexec-tools then tells the next kernel there is
    /// no boot framebuffer).
    pub reuse_video_type: bool,
    /// --pass-memmap-cmdline: crash loads also give the capture kernel its
    /// memory map as memmap=exactmap memmap=... words.
    pub pass_memmap_cmdline: bool,
    /// How a bzImage's kernel is entered: decompressed at load when that is
    /// known to work (the default), or through its own decompressor. Not
    /// recorded: a crash kernel, the one load replayed from its record,
    /// keeps its decompressor whatever this says.
    #[serde(skip)]
    pub kernel_entry: KernelEntry,
}

/// How a bzImage loaded through kexec_load is entered (issue #13): its
/// decompressor runs at `kexec -e` unless the kernel was unpacked at load
/// and the purgatory enters vmlinux's startup_64 directly, with physical
/// and virtual KASLR chosen here.
///
/// ```
/// use kexec::arch::x86_64::{KernelEntry, Options};
/// assert_eq!(Options::default().kernel_entry, KernelEntry::Auto);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KernelEntry {
    /// Decompressed at load for a normal load of a bzImage whenever nothing
    /// speaks against it (see [`decompressed::why_not_by_default`]);
    /// otherwise through its decompressor, the reason shown in the plan.
    #[default]
    Auto,
    /// --no-decompress-at-load: kexec-tools' way, the kernel's decompressor
    /// runs at `kexec -e`.
    Decompressor,
    /// --decompress-at-load: decompressed at load, or the load fails
    /// saying why.
    DecompressAtLoad,
}

impl Options {
    /// The first option given, by its kexec-tools name: each is honoured
    /// only by our kexec_load boot image and purgatory.
    pub fn first_given(&self) -> Option<&'static str> {
        let given = [
            (self.console.is_some(), "--console-serial"),
            (self.console_vga, "--console-vga"),
            (self.reset_vga, "--reset-vga"),
            (self.reuse_video_type, "--reuse-video-type"),
            (self.pass_memmap_cmdline, "--pass-memmap-cmdline"),
            (
                self.kernel_entry == KernelEntry::DecompressAtLoad,
                "--decompress-at-load",
            ),
        ];
        given.iter().find(|(on, _)| *on).map(|(_, name)| *name)
    }
}

/// The x86_64 builder's errors reach callers as [`LoadPlanError::Build`],
/// named "x86_64".
impl From<BuildError> for LoadPlanError {
    fn from(error: BuildError) -> Self {
        LoadPlanError::Build(ArchBuildError::new(X86_64.name(), error))
    }
}

impl System {
    /// What the next kernel's boot needs from this one; crash loads also
    /// need the memory description for the capture kernel.
    pub fn gather(host: &dyn Host, facts: &Facts, target: Target) -> Result<System, LoadPlanError> {
        let mut rng_seed = [0u8; 32];
        host.random(&mut rng_seed).map_err(LoadPlanError::Random)?;
        let boot_params = host.read_bytes(crate::boot::BOOT_PARAMS).ok();
        Ok(System {
            memmap: crate::memory::memmap::read(host)?,
            efi: efi::EfiHandover::gather(host, boot_params.as_deref()),
            boot_params,
            crash_regions: facts.crash_regions.clone(),
            rng_seed,
            crash: match target {
                Target::Crash => crash::CrashInfo::gather(host, facts.five_level_paging),
                Target::Normal => Err("not a crash load".into()),
            },
            framebuffer: host
                .read_text(crate::boot::FB0_NAME)
                .ok()
                .map(|name| name.trim().to_string()),
            crash_elfcorehdr_size: facts.crash_elfcorehdr_size,
        })
    }
}

/// A loader: the Linux boot description of a kernel file's bytes.
type Describe = for<'a> fn(
    &'a str,
    &'a [u8],
    BootArgs,
    Option<&'a [u8]>,
    &'a [u8],
) -> Result<LinuxBoot<'a>, BuildError>;

/// x86_64's kexec_load loaders, by the name of the format each boots (as
/// kexec-tools' x86 `file_type[]`; the formats themselves are `image`'s).
const LOADERS: &[(&str, Describe)] = &[
    ("bzImage64", |file, kernel, _args, initrd, cmdline| {
        bzimage64::describe(file, kernel, initrd, cmdline)
    }),
    ("elf-x86_64", |file, kernel, args, initrd, cmdline| {
        // The same bytes for every vmlinux: built once, borrowed by each boot.
        static SETUP_HEADER: OnceLock<Vec<u8>> = OnceLock::new();
        let header = SETUP_HEADER.get_or_init(elf64::synthetic_setup_header);
        elf64::describe(file, kernel, header, args, initrd, cmdline)
    }),
];

/// The loader for the format named `name`, if x86_64 boots it.
fn loader(name: &str) -> Option<Describe> {
    LOADERS.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

/// A bzImage's kernel decompressed at load (the default, or
/// --decompress-at-load), and the random number that picks its physical slot.
struct DecompressedLoad {
    kernel: decompressed::Decompressed,
    physical_random: u64,
}

/// Decompresses (or takes from the cache) and relocates a bzImage's kernel
/// to be entered at startup_64; other formats and crash loads are refused
/// by name (the default never asks for them).
fn decompressed_kernel(
    host: &dyn Host,
    file: &str,
    format: &str,
    kernel: &[u8],
    target: Target,
    cmdline: &[u8],
) -> Result<DecompressedLoad, LoadPlanError> {
    let refuse = |why: String| -> LoadPlanError {
        BuildError::Header {
            file: file.to_string(),
            why,
        }
        .into()
    };
    if target == Target::Crash {
        return Err(refuse(
            "--decompress-at-load is for normal loads: a crash kernel (-p) keeps its decompressor"
                .into(),
        ));
    }
    if format != "bzImage64" {
        return Err(refuse(format!(
            "--decompress-at-load unpacks a bzImage's payload, and this is a {format} kernel"
        )));
    }
    let header = crate::image::bzimage::SetupHeader::read(kernel)
        .ok_or_else(|| refuse("too short for an x86 setup header".into()))?;
    bzimage64::check_header(file, kernel, &header)?;
    let mut random = [0u8; 16];
    host.random(&mut random).map_err(LoadPlanError::Random)?;
    let virt = u64::from_le_bytes(random[..8].try_into().expect("8 bytes"));
    let physical_random = u64::from_le_bytes(random[8..].try_into().expect("8 bytes"));
    let (unpacked, how) = unpacked_kernel(host, file, kernel, &header)?;
    let mut kernel =
        decompressed::relocate_for_load(file, unpacked, kernel, &header, cmdline, virt)?;
    kernel.what.push_str(&format!("; {how}"));
    Ok(DecompressedLoad {
        kernel,
        physical_random,
    })
}

/// The bzImage's vmlinux unpacked: from the cache when it kept this very
/// file, else decompressed now and kept for the next load. Also says
/// which, for --dry-run and -d.
fn unpacked_kernel(
    host: &dyn Host,
    file: &str,
    kernel: &[u8],
    header: &crate::image::bzimage::SetupHeader,
) -> Result<(decompressed::Unrelocated, String), BuildError> {
    let key = unpacked_cache::key(kernel);
    let name = unpacked_cache::name(key);
    let refused = match unpacked_cache::load(host, key) {
        Ok(Some(unpacked)) => return Ok((unpacked, format!("unpacked earlier (cache {name})"))),
        Ok(None) => None,
        Err(why) => Some(why),
    };
    let unpacked = decompressed::unpack(file, kernel, header)?;
    let refused = refused.map_or(String::new(), |why| {
        format!(" (the cached {name} was refused: {why})")
    });
    let how = if unpacked_cache::store(host, key, &unpacked) {
        format!("unpacked now{refused}, kept as {name}")
    } else {
        format!("unpacked now{refused}")
    };
    Ok((unpacked, how))
}

/// How the kernel of a kexec_load will be entered.
enum Entry {
    /// Unpacked and relocated here; the purgatory enters startup_64.
    Decompressed(DecompressedLoad),
    /// Through the bzImage's decompressor (or an ELF vmlinux's entry), with
    /// the reason when a bzImage could have been decompressed at load.
    Decompressor(Option<String>),
}

/// Decides [`Entry`] from what was asked: `--decompress-at-load` fails
/// when it cannot be done, the default falls back to the decompressor
/// saying why.
#[allow(clippy::too_many_arguments)]
fn choose_entry(
    host: &dyn Host,
    facts: &Facts,
    file: &str,
    format: &str,
    kernel: &[u8],
    target: Target,
    cmdline: &[u8],
    wanted: KernelEntry,
) -> Result<Entry, LoadPlanError> {
    match wanted {
        KernelEntry::Decompressor => Ok(Entry::Decompressor(None)),
        KernelEntry::DecompressAtLoad => {
            decompressed_kernel(host, file, format, kernel, target, cmdline)
                .map(Entry::Decompressed)
        }
        KernelEntry::Auto if target == Target::Crash || format != "bzImage64" => {
            Ok(Entry::Decompressor(None))
        }
        KernelEntry::Auto => {
            if let Some(why) = decompressed::why_not_by_default(facts, cmdline) {
                return Ok(Entry::Decompressor(Some(why)));
            }
            Ok(
                match decompressed_kernel(host, file, format, kernel, target, cmdline) {
                    Ok(d) => Entry::Decompressed(d),
                    Err(e) => Entry::Decompressor(Some(e.to_string())),
                },
            )
        }
    }
}

/// Adds `note` to the purpose of the kernel segment whose purpose holds
/// `marker`, for --dry-run and -d.
fn note_kernel_segment(image: &mut x86_linux::Image, marker: &str, note: &str) {
    for s in image.segments.iter_mut() {
        if s.purpose.contains(marker) {
            s.purpose.push_str(&format!("; {note}"));
        }
    }
}

impl Arch for X86_64 {
    fn name(&self) -> &'static str {
        "x86_64"
    }

    fn kexec_arch(&self) -> KexecArch {
        KexecArch::X86_64
    }

    /// arch/x86's kexec_file_loaders[] holds bzImage64 alone; each format
    /// says whether it is that one.
    fn file_loader_takes(&self, format: &dyn KernelFormat) -> bool {
        format.syscall(Syscall::KexecFileLoad).is_ok()
    }

    fn plan_kexec_load(
        &self,
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
            sources,
        } = *load;
        let hotplug_flag =
            crate::rules::crash_hotplug_flag(target, options.hotplug, facts, self.kexec_arch())
                .map_err(LoadPlanError::Rejected)?;
        let system = System::gather(host, facts, target)?;
        let format = crate::image::format::for_kexec_load(kernel_bytes).map_err(|why| {
            BuildError::Header {
                file: file.to_string(),
                why,
            }
        })?;
        let describe = loader(format.name()).ok_or_else(|| BuildError::Header {
            file: file.to_string(),
            why: format!(
                "x86_64 has no kexec_load loader for a {} kernel",
                format.name()
            ),
        })?;
        let wanted = options.x86_64.kernel_entry;
        let build_through_decompressor = |why: Option<String>| {
            let boot = describe(file, kernel_bytes, args, initrd_bytes, cmdline)?;
            let mut image = x86_linux::build_from(&boot, target, &system, options, sources)?;
            if let Some(why) = why {
                note_kernel_segment(
                    &mut image,
                    "entered through its decompressor",
                    &format!("not decompressed at load: {why}"),
                );
            }
            Ok::<_, LoadPlanError>(image)
        };
        let image = match choose_entry(
            host,
            facts,
            file,
            format.name(),
            kernel_bytes,
            target,
            cmdline,
            wanted,
        )? {
            Entry::Decompressor(why) => build_through_decompressor(why)?,
            Entry::Decompressed(mut d) => {
                // The kernel segment views the image instead of copying it.
                let unpacked = Arc::new(Mapping::owning(std::mem::take(&mut d.kernel.image)));
                let mut with_image = sources.to_vec();
                with_image.push(&unpacked);
                let boot = LinuxBoot {
                    file,
                    setup_header: &d.kernel.head,
                    kernel: x86_linux::Kernel::Relocatable {
                        data: unpacked.bytes(),
                        memsz: d.kernel.span,
                        align: d.kernel.align,
                        min: d.kernel.load_physical,
                        entry_offset: d.kernel.entry_offset,
                        entered: x86_linux::Entered::Decompressed {
                            random: d.kernel.kaslr.then_some(d.physical_random),
                            virt_offset: d.kernel.virt_offset,
                        },
                    },
                    args: BootArgs::Linux,
                    initrd: initrd_bytes,
                    cmdline,
                };
                match x86_linux::build_from(&boot, target, &system, options, &with_image) {
                    Ok(mut image) => {
                        // What was unpacked and relocated, for --dry-run and -d.
                        note_kernel_segment(&mut image, "decompressed at load", &d.kernel.what);
                        image
                    }
                    Err(e) if wanted == KernelEntry::Auto => {
                        build_through_decompressor(Some(e.to_string()))?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let mut base = if target == Target::Crash {
            KEXEC_ON_CRASH
        } else {
            KexecFlags(0)
        };
        base |= hotplug_flag.unwrap_or(KexecFlags(0));
        Ok(Plan::Load {
            target,
            segments: image.segments,
            entry: image.entry,
            flags: base.with_arch(self.kexec_arch()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::format::FORMATS;

    /// Every registered format kexec_load can take has an x86_64 loader,
    /// and every loader boots a registered format.
    #[test]
    fn loaders_and_the_format_registry_agree() {
        for format in FORMATS {
            let x86 = crate::image::format::boots_on(*format, "x86_64");
            if x86 && format.syscall(Syscall::KexecLoad).is_ok() {
                assert!(loader(format.name()).is_some(), "{}", format.name());
            }
        }
        for (name, _) in LOADERS {
            assert!(crate::image::format::by_name(name).is_some(), "{name}");
        }
        assert!(loader("Image-arm64").is_none());
    }
}
