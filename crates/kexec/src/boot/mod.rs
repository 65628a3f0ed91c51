//! Building boot images for kexec_load: user space hands the kernel finished
//! segments and an entry point, so everything the next kernel needs — its
//! image, boot_params, command line, initrd and our purgatory — is laid out
//! here. What is generic stays in this module (reading the files, the size
//! rules, gathering the running system); the images themselves are built by
//! the architecture's module (`crate::arch`).

// The x86_64 builders under their old paths, which callers keep using.
pub use crate::arch::x86_64::{bzimage64, crash, efi, elf64, purgatory, x86_linux, zero_page};

use crate::arch::{ArchBuildError, BootArgs, LoadOptions};
use crate::facts::Facts;
use crate::image::Input;
use crate::memory::memmap::MemmapError;
use crate::plan::{FileLoad, Plan, Target};
use crate::rules::{Rejection, Rule, Source};
use crate::sys::errno::Errno;
use crate::sys::mapping::Mapping;
use crate::sys::Host;
use std::sync::Arc;

/// The running kernel's boot_params (root only).
pub const BOOT_PARAMS: &str = "/sys/kernel/boot_params/data";
/// The driver behind /dev/fb0 (fb_fix_screeninfo.id), when there is one.
pub const FB0_NAME: &str = "/sys/class/graphics/fb0/name";

/// Why a kexec_load plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LoadPlanError {
    /// A kernel or initrd could not be read.
    #[error("cannot read the {role} {path}: {source}")]
    Read {
        /// "kernel" or "initrd".
        role: &'static str,
        /// The file's path.
        path: String,
        /// What reading it said.
        source: std::io::Error,
    },
    /// The firmware memory map could not be read.
    #[error("cannot read the memory map: {0}")]
    Memmap(#[from] MemmapError),
    /// The getrandom(2) call for the RNG seed failed.
    #[error("cannot get random bytes for the next kernel's RNG seed (getrandom): {0}")]
    Random(std::io::Error),
    /// The architecture's image builder refused the kernel (its own error,
    /// worded as it words it).
    #[error(transparent)]
    Build(ArchBuildError),
    /// A kernel or initrd file is empty.
    #[error("the {role} {path} is empty: nothing to load")]
    Empty {
        /// "kernel" or "initrd".
        role: &'static str,
        /// The file's path.
        path: String,
    },
    /// A rule of the kernel's, judged from the files' sizes before reading them.
    #[error("{}", .0.reason)]
    Rejected(crate::rules::Rejection),
    /// The kernel is another architecture's (an arm64 Image on x86_64).
    #[error("{file} is {what} (format {format}, for {kernel_arch}): this machine is {arch}, which cannot boot it; load a kernel built for {arch}")]
    ForeignKernel {
        /// The kernel file.
        file: String,
        /// What it is, for people ("an arm64 kernel Image").
        what: &'static str,
        /// Its format's name.
        format: &'static str,
        /// The architecture it is for.
        kernel_arch: &'static str,
        /// This machine's.
        arch: &'static str,
    },
    /// No module of ours builds kexec_load images for this architecture.
    #[error("cannot build a kexec_load image on {arch}: only x86_64 and aarch64 images are built")]
    UnsupportedArch {
        /// The architecture this build is for (`std::env::consts::ARCH`).
        arch: &'static str,
    },
}

impl LoadPlanError {
    /// The errno, rule and source `--json` reports for this refusal of our
    /// kexec_load builder.
    pub fn rejection(&self) -> Rejection {
        let (errno, rule) = match self {
            LoadPlanError::Rejected(r) => return r.clone(),
            LoadPlanError::Empty { .. } => (Errno::EINVAL, Rule::EmptyFile),
            LoadPlanError::Read { source, .. } => (Errno::from_io(source), Rule::UnreadableFile),
            LoadPlanError::Memmap(_) => (Errno::EINVAL, Rule::UnreadableFile),
            LoadPlanError::Random(e) => (Errno::from_io(e), Rule::Other),
            LoadPlanError::Build(_) => (Errno::EINVAL, Rule::Image),
            LoadPlanError::UnsupportedArch { .. } | LoadPlanError::ForeignKernel { .. } => {
                (Errno::EINVAL, Rule::UnsupportedArch)
            }
        };
        Rejection {
            errno,
            rule,
            reason: self.to_string(),
            source: Source::Model,
        }
    }
}

/// Files larger than the crash region cannot fit whatever the layout: say
/// so before reading them.
fn crash_files_fit(
    facts: &Facts,
    kernel: &Input,
    initrd: Option<&Input>,
) -> Result<(), LoadPlanError> {
    crate::rules::crash_region_reserved(facts).map_err(LoadPlanError::Rejected)?;
    let Some(region) = facts.main_crash_region().filter(|r| r.size() > 0) else {
        return Ok(()); // its addresses are hidden: the size rules judge it later
    };
    for input in [Some(kernel), initrd].into_iter().flatten() {
        if input.size >= region.size() {
            let what = if std::ptr::eq(input, kernel) {
                "kernel".to_string()
            } else {
                format!("initrd {}", input.display())
            };
            return Err(LoadPlanError::Rejected(Rejection {
                errno: Errno::EADDRNOTAVAIL,
                rule: Rule::CrashRegionTooSmall,
                reason: format!(
                    "the crash kernel {} does not fit in the Crash kernel region [{region}] of {}: no room left for the {what} ({}) — it is larger than the whole region; reserve more with crashkernel=",
                    kernel.display(),
                    crate::memory::human_size(region.size()),
                    crate::memory::human_size(input.size),
                ),
                source: Source::Model,
            }));
        }
    }
    Ok(())
}

/// Whether only kexec_load can take this kernel (an ELF vmlinux: the x86
/// kernel's file loader knows bzImage64 alone), as its format says.
pub fn needs_kexec_load(kernel_head: &[u8]) -> bool {
    crate::image::format::for_kexec_load(kernel_head).is_ok_and(|f| match crate::arch::native() {
        Some(arch) => crate::image::format::boots_on(f, arch.name()) && !arch.file_loader_takes(f),
        None => f.syscall(crate::plan::Syscall::KexecFileLoad).is_err(),
    })
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
    if crate::image::format::for_kexec_load(&file.kernel_head)
        .map_or(true, |f| f.size_is_load_size())
    {
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
    let name = kernel.display();
    let mut sources = vec![&kernel_map];
    sources.extend(initrd_map.as_ref());
    let bytes = KernelBytes {
        target,
        name: &name,
        kernel: kernel_map.bytes(),
        initrd: initrd_map.as_ref().map(|m| m.bytes()),
        cmdline,
        sources: &sources,
    };
    let mut plan = plan_kexec_load_bytes(host, facts, &bytes, args, options)?;
    if let (true, Plan::Load { segments, .. }) = (
        kernel.unpacked_from.is_some() || kernel.extracted_from.is_some(),
        &mut plan,
    ) {
        // Say what the kernel's bytes were unpacked or unwrapped from (the
        // steps, with sizes and digests), where the segment names the file.
        let named = format!("kernel {name}");
        for s in segments.iter_mut() {
            if s.purpose == "kernel" || s.purpose.starts_with(&named) {
                let rest = s
                    .purpose
                    .strip_prefix(&named)
                    .or_else(|| s.purpose.strip_prefix("kernel"))
                    .unwrap_or("")
                    .to_string();
                s.purpose = format!("kernel {}{rest}", kernel.describe());
            }
        }
    }
    if let (Some(i), Plan::Load { segments, .. }) =
        (initrd.filter(|i| i.streamed_from.is_some()), &mut plan)
    {
        // Say where the initrd's bytes came from (a sealed memfd, mapped).
        for s in segments.iter_mut().filter(|s| s.purpose == "initrd") {
            s.purpose = format!("initrd {}, mapped from a sealed memfd", i.describe());
        }
    }
    Ok(plan)
}

/// A kernel (and maybe an initrd) already in memory: what
/// `plan_kexec_load_bytes` lays out.
#[derive(Clone, Copy, Debug)]
pub struct KernelBytes<'a> {
    /// Normal or crash load.
    pub target: Target,
    /// The kernel file's name, as every error names it.
    pub name: &'a str,
    /// The kernel's bytes.
    pub kernel: &'a [u8],
    /// The initrd's bytes, if any.
    pub initrd: Option<&'a [u8]>,
    /// The command line, without its NUL.
    pub cmdline: &'a [u8],
    /// The read-only mappings `kernel` and `initrd` lie in: segments share
    /// those pages instead of copying them (none: the bytes are copied).
    pub sources: &'a [&'a Arc<Mapping>],
}

/// The kexec_load plan for a kernel's bytes (bzImage64 or ELF vmlinux): the
/// builder `plan_kexec_load` runs once it has mapped the files.
pub fn plan_kexec_load_bytes(
    host: &dyn Host,
    facts: &Facts,
    load: &KernelBytes,
    args: BootArgs,
    options: &LoadOptions,
) -> Result<Plan, LoadPlanError> {
    let arch = crate::arch::native().ok_or(LoadPlanError::UnsupportedArch {
        arch: std::env::consts::ARCH,
    })?;
    if let Ok(format) = crate::image::format::for_kexec_load(load.kernel) {
        if let Some(kernel_arch) = format.arch().filter(|a| *a != arch.name()) {
            return Err(LoadPlanError::ForeignKernel {
                file: load.name.to_string(),
                what: crate::image::identify(load.kernel).unwrap_or("a kernel"),
                format: format.name(),
                kernel_arch,
                arch: arch.name(),
            });
        }
    }
    arch.plan_kexec_load(host, facts, load, args, options)
}

#[cfg(test)]
mod tests {
    //! The whole kexec_load builder on many seeded random mutations of a
    //! real-shaped bzImage and of small ELF vmlinux files: it never panics,
    //! and every error names the kernel file. (fuzz/fuzz_targets/plan.rs
    //! runs the same builder on arbitrary bytes.)
    use super::*;
    use crate::sys::FakeHost;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    const NAME: &str = "mutant-vmlinuz";

    /// xorshift64*: a plain, seeded, reproducible generator.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
        fn pick<T: Copy>(&mut self, from: &[T]) -> T {
            from[self.below(from.len() as u64) as usize]
        }
    }

    /// Values that break arithmetic: zero, ones, 2^32 and 2^64 edges, and
    /// random ones.
    fn nasty(rng: &mut Rng) -> u64 {
        let edges = [
            0,
            1,
            0xfff,
            0x1000,
            0x7fff_ffff,
            0xffff_ffff,
            1 << 32,
            1 << 46,
            1 << 52,
            u64::MAX - 0xfff,
            u64::MAX - 0x1000,
            u64::MAX,
        ];
        if rng.below(2) == 0 {
            rng.pick(&edges)
        } else {
            rng.next() >> rng.below(64)
        }
    }

    /// Debian's bzImage64 header with a smaller init_size (hashing 42 MiB of
    /// zeros per case would make this test slow), mutated: header fields
    /// set to nasty values, random bytes, truncation.
    fn mutant_bzimage(rng: &mut Rng) -> Vec<u8> {
        use crate::image::bzimage::offset;
        let mut k = crate::testing::bzimage64_sample();
        k[offset::INIT_SIZE..offset::INIT_SIZE + 4].copy_from_slice(&0x40_0000u32.to_le_bytes());
        let fields = [
            (offset::SETUP_SECTS, 1),
            (offset::BOOT_FLAG, 2),
            (offset::JUMP, 2),
            (offset::HEADER, 4),
            (offset::VERSION, 2),
            (offset::LOADFLAGS, 1),
            (offset::INITRD_ADDR_MAX, 4),
            (offset::KERNEL_ALIGNMENT, 4),
            (offset::RELOCATABLE_KERNEL, 1),
            (offset::XLOADFLAGS, 2),
            (offset::CMDLINE_SIZE, 4),
            (offset::PAYLOAD_OFFSET, 4),
            (offset::PAYLOAD_LENGTH, 4),
            (offset::PREF_ADDRESS, 8),
            (offset::INIT_SIZE, 4),
        ];
        for _ in 0..1 + rng.below(4) {
            match rng.below(4) {
                0 | 1 => {
                    let (at, len) = rng.pick(&fields);
                    let v = nasty(rng).to_le_bytes();
                    if let Some(field) = k.get_mut(at..at + len) {
                        field.copy_from_slice(&v[..len]);
                    }
                }
                2 => {
                    let at = rng.below(k.len() as u64) as usize;
                    if let Some(byte) = k.get_mut(at) {
                        *byte = rng.next() as u8;
                    }
                }
                _ => {
                    let len = rng.below(k.len() as u64 + 0x1000) as usize;
                    k.resize(len, 0x90);
                }
            }
        }
        // Over 64 MiB a layout hashes seconds of zeros in a debug build; the
        // fuzz target covers those sizes on a small machine.
        if let Some(field) = k.get_mut(offset::INIT_SIZE..offset::INIT_SIZE + 4) {
            let size = u32::from_le_bytes(field.try_into().unwrap());
            if size > 64 << 20 {
                field.copy_from_slice(&(size % (64 << 20)).to_le_bytes());
            }
        }
        k
    }

    /// A small ELF vmlinux with random PT_LOADs: counts up to 24, addresses
    /// in RAM, in the crash region, near 2^64 or unaligned, overlapping,
    /// zero or huge sizes, p_filesz past the file, a bad entry or header.
    fn mutant_elf(rng: &mut Rng) -> Vec<u8> {
        let count = rng.below(25);
        // Half the files are well formed (they load or hit a layout limit),
        // half have a rare defect in any load or header field.
        let odds = if rng.below(2) == 0 { u64::MAX } else { 16 };
        let mut loads = Vec::new();
        let mut next = rng.pick(&[0x100_0000u64, 0x6600_0000, 0x10_0000]);
        for _ in 0..count {
            let paddr = match rng.below(odds) {
                0 => nasty(rng) & !0xfff,
                1 => nasty(rng),
                2 => loads
                    .last()
                    .map_or(next, |&(p, _, _): &(u64, u64, u64)| p.wrapping_add(0x1000)),
                _ => next,
            };
            let memsz = match rng.below(odds) {
                0 => 0,
                1 => nasty(rng) | (1 << 40),
                _ => 0x1000 * (1 + rng.below(64)),
            };
            let filesz = match rng.below(odds) {
                0 => 0,
                1 => memsz.wrapping_add(1 + rng.below(0x1000)),
                _ => rng.below(memsz.min(0x4000) + 1),
            };
            next = (paddr.wrapping_add(memsz) | 0xfff).wrapping_add(1 + 0x1000 * rng.below(3));
            loads.push((paddr, filesz.min(0x4000), memsz));
        }
        let entry = match (rng.below(odds / 4), loads.first()) {
            (0, _) | (_, None) => nasty(rng),
            (_, Some(&(paddr, _, _))) => paddr,
        };
        let mut f = crate::testing::elf_vmlinux(&loads, entry);
        let header_mutations = if rng.below(odds / 4) == 0 {
            1 + rng.below(2)
        } else {
            0
        };
        for _ in 0..header_mutations {
            // A header field or program header word set to a nasty value.
            let words = [
                24usize,
                32,
                54,
                56,
                64 + 8,
                64 + 24,
                64 + 32,
                64 + 40,
                120 + 32,
            ];
            let at = rng.pick(&words);
            let v = nasty(rng).to_le_bytes();
            let len = if at == 54 || at == 56 { 2 } else { 8 };
            if let Some(word) = f.get_mut(at..at + len) {
                word.copy_from_slice(&v[..len]);
            }
        }
        if rng.below(odds / 2) == 0 {
            let len = rng.below(f.len() as u64) as usize;
            f.truncate(len);
        }
        f
    }

    fn check_builder(host: &FakeHost, kernel: &[u8], target: Target, what: &str) {
        let facts = Facts::gather(host);
        for initrd in [None, Some(&b"070701 initrd"[..])] {
            let load = KernelBytes {
                target,
                name: NAME,
                kernel,
                initrd,
                cmdline: b"console=ttyS0",
                sources: &[],
            };
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let plan = plan_kexec_load_bytes(
                    host,
                    &facts,
                    &load,
                    BootArgs::Linux,
                    &Default::default(),
                );
                if let Ok(plan) = &plan {
                    let _ = crate::rules::check(plan, &facts);
                    let _ = (plan.describe(), plan.to_json());
                }
                plan
            }));
            match outcome {
                Err(_) => panic!(
                    "{what}, {target:?}, initrd {}: the builder panicked",
                    initrd.is_some()
                ),
                Ok(Ok(Plan::Load { segments, .. })) => {
                    assert!(
                        segments.len() <= crate::sys::abi::KEXEC_SEGMENT_MAX,
                        "{what}"
                    );
                }
                Ok(Ok(_)) => panic!("{what}: not a kexec_load plan"),
                Ok(Err(e)) => assert!(e.to_string().contains(NAME), "{what}: {e}"),
            }
        }
    }

    #[test]
    fn the_whole_builder_never_panics_on_mutated_kernels() {
        let normal = FakeHost::typical();
        let crash = crash::tests::crash_host();
        for seed in 1..=300u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let bz = mutant_bzimage(&mut rng);
            let elf = mutant_elf(&mut rng);
            for (kind, kernel) in [("bzImage", &bz), ("ELF", &elf)] {
                let what = format!("seed {seed} {kind}");
                check_builder(&normal, kernel, Target::Normal, &what);
                check_builder(&crash, kernel, Target::Crash, &what);
            }
        }
    }

    #[test]
    fn the_unmutated_samples_load() {
        let mut k = crate::testing::bzimage64_sample();
        k.resize(0x10_0000, 0x90);
        let elf = crate::testing::elf_vmlinux(&[(0x100_0000, 0x100, 0x20_0000)], 0x100_0000);
        for kernel in [&k, &elf] {
            let load = KernelBytes {
                target: Target::Normal,
                name: NAME,
                kernel,
                initrd: None,
                cmdline: b"",
                sources: &[],
            };
            let host = FakeHost::typical();
            let plan = plan_kexec_load_bytes(
                &host,
                &Facts::gather(&host),
                &load,
                BootArgs::Linux,
                &Default::default(),
            );
            assert!(plan.is_ok(), "{:?}", plan.err());
        }
    }
}
