//! The arm64 kexec_load image, in named steps: gather what the next kernel
//! needs from this one ([`System::gather`]), place the Image, initrd,
//! elfcorehdr, device tree and purgatory as the arm64 boot protocol demands
//! (`place_*`), rewrite the device tree's `/chosen` for them
//! ([`super::dtb::prepare`]), and seal: every segment but the elfcorehdr is
//! digested and verified by our purgatory, which enters the kernel with
//! x0 = the device tree (Documentation/arch/arm64/booting.rst).

use super::crash::CrashInfo;
use super::dtb::{self, Chosen, MAX_DTB_SIZE};
use super::purgatory;
use super::Options;
use crate::arch::{BootArgs, LoadOptions};
use crate::image::arm64_image::{self, Header};
use crate::memory::ranges::{Placement, Ranges};
use crate::memory::{human_size, iomem, Range};
use crate::plan::{Segment, SegmentData, Target};
use crate::sys::mapping::Mapping;
use crate::sys::Host;
use std::sync::Arc;

/// The running kernel's flattened device tree, root only.
pub const FIRMWARE_FDT: &str = "/sys/firmware/fdt";

/// The boot protocol's alignment of the Image's base (text_offset is added).
pub const IMAGE_BASE_ALIGN: u64 = 2 << 20;
/// The device tree is mapped in 2 MiB blocks: it must not share one with
/// memory of other attributes, so it gets a block of its own.
pub const DTB_ALIGN: u64 = 2 << 20;
/// The initrd must lie with the Image in one 1 GiB-aligned window of at
/// most 32 GiB.
pub const INITRD_WINDOW_ALIGN: u64 = 1 << 30;
/// The size of that window.
pub const INITRD_WINDOW: u64 = 32 << 30;
/// Segments are whole pages.
pub const PAGE: u64 = 4096;

/// Why an arm64 kexec_load image could not be built; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The kernel is not an arm64 Image we can boot.
    #[error("{0}")]
    Header(String),
    /// The device tree could not be read.
    #[error("cannot read the device tree {path}: {source}{hint}")]
    ReadDtb {
        /// The path read.
        path: String,
        /// What reading said.
        source: std::io::Error,
        /// What to do about it.
        hint: &'static str,
    },
    /// The device tree could not be rewritten.
    #[error(transparent)]
    Dtb(#[from] dtb::DtbError),
    /// /proc/iomem could not be read or parsed.
    #[error("cannot read the memory map: {0}")]
    Memory(String),
    /// A part does not fit where it must go.
    #[error("{file}: no room for the {what} ({size}) in {window}")]
    NoRoom {
        /// The kernel file.
        file: String,
        /// "kernel", "initrd", ...
        what: &'static str,
        /// Its size, for people.
        size: String,
        /// Where it was looked for.
        window: String,
    },
    /// --args-none: an arm64 kernel cannot start without its device tree.
    #[error("{file}: --args-none: an arm64 kernel needs the device tree's address in x0; drop --args-none")]
    ArgsNone {
        /// The kernel file.
        file: String,
    },
    /// The purgatory could not be made.
    #[error("{file}: {source}")]
    Purgatory {
        /// The kernel file.
        file: String,
        /// Why.
        source: purgatory::PurgatoryError,
    },
    /// kdump's ELF core header could not be made.
    #[error("cannot build the crash kernel's ELF core header: {0}")]
    Crash(String),
}

/// What the next kernel's boot needs from the running one.
#[derive(Debug)]
pub struct System {
    /// RAM the segments may use ("System RAM" of /proc/iomem).
    pub ram: Ranges,
    /// The crash kernel regions ("Crash kernel" of /proc/iomem).
    pub crash_regions: Vec<Range>,
    /// The device tree to rewrite, and its name for messages.
    pub dtb: (String, Vec<u8>),
    /// The next kernel's kaslr-seed.
    pub kaslr_seed: u64,
    /// The next kernel's rng-seed.
    pub rng_seed: Vec<u8>,
    /// Crash loads: the running kernel's memory description for kdump.
    pub crash: Option<CrashInfo>,
}

impl System {
    /// Reads the device tree (`--dtb` or /sys/firmware/fdt), RAM and the
    /// crash regions, and takes random seeds; crash loads also gather
    /// kdump's facts.
    pub fn gather(
        host: &dyn Host,
        crash_regions: &[Range],
        target: Target,
        options: &Options,
    ) -> Result<System, BuildError> {
        let (path, hint) = match &options.dtb {
            Some(path) => (path.clone(), ""),
            None => (
                FIRMWARE_FDT.to_string(),
                " (it is readable by root only; or give one with --dtb=FILE)",
            ),
        };
        let dtb = host
            .read_bytes(&path)
            .map_err(|source| BuildError::ReadDtb {
                path: path.clone(),
                source,
                hint,
            })?;
        let text = host
            .read_text(iomem::PATH)
            .map_err(|e| BuildError::Memory(format!("{}: {e}", iomem::PATH)))?;
        let resources = iomem::parse(&text).map_err(|e| BuildError::Memory(e.to_string()))?;
        let ram = usable_ram(&resources);
        if ram.total() == 0 {
            return Err(BuildError::Memory(format!(
                "{} lists no \"System RAM\"",
                iomem::PATH
            )));
        }
        let mut seeds = [0u8; 8 + 64];
        host.random(&mut seeds)
            .map_err(|e| BuildError::Memory(format!("getrandom for the seeds: {e}")))?;
        let crash = match target {
            Target::Crash => Some(CrashInfo::gather(host).map_err(BuildError::Crash)?),
            Target::Normal => None,
        };
        Ok(System {
            ram,
            crash_regions: crash_regions.to_vec(),
            dtb: (path, dtb),
            kaslr_seed: u64::from_le_bytes(seeds[..8].try_into().expect("8 bytes")),
            rng_seed: seeds[8..].to_vec(),
            crash,
        })
    }
}

/// RAM the next kernel's segments may overwrite: "System RAM" without the
/// "reserved" ranges inside it (memblock reservations the firmware's
/// tables, the GIC's LPI tables or UEFI's memreserve entries live in,
/// which the next kernel still needs).
pub fn usable_ram(resources: &[iomem::Resource]) -> Ranges {
    let mut ram = Ranges::new(iomem::system_ram(resources));
    for r in resources.iter().filter(|r| r.depth > 0 && r.name == "reserved") {
        ram = ram.minus(r.range);
    }
    ram
}

/// The finished image: segments in placement order and the purgatory entry.
#[derive(Debug)]
pub struct Image {
    /// The segments.
    pub segments: Vec<Segment>,
    /// The purgatory's entry point.
    pub entry: u64,
}

/// What an arm64 kexec_load is made of.
#[derive(Clone, Copy, Debug)]
pub struct Parts<'a> {
    /// The kernel file's name, in every error.
    pub file: &'a str,
    /// The Image's bytes (already decompressed).
    pub kernel: &'a [u8],
    /// The initrd's bytes.
    pub initrd: Option<&'a [u8]>,
    /// The command line, without NUL.
    pub cmdline: &'a [u8],
    /// The mappings the bytes lie in, shared instead of copied.
    pub sources: &'a [&'a Arc<Mapping>],
}

fn page_align(n: u64) -> u64 {
    n.div_ceil(PAGE) * PAGE
}

/// Hands out memory: what is left of the window after each placement.
struct Placer<'a> {
    file: &'a str,
    free: Ranges,
    window: String,
}

impl Placer<'_> {
    /// The lowest `align`-aligned place of `size` bytes in [min, max).
    fn take(
        &mut self,
        what: &'static str,
        size: u64,
        align: u64,
        min: u64,
        max: u64,
    ) -> Result<u64, BuildError> {
        let at = self
            .free
            .find_space(Placement {
                size,
                align,
                min,
                max,
                top_down: false,
            })
            .ok_or_else(|| BuildError::NoRoom {
                file: self.file.to_string(),
                what,
                size: human_size(size),
                window: self.window.clone(),
            })?;
        self.free = self.free.minus(Range::new(at, at + size));
        Ok(at)
    }
}

/// Where the segments may go: RAM within --mem-min/--mem-max (outside the
/// crash regions), or for a crash kernel the crash regions.
fn window(system: &System, target: Target, options: &LoadOptions) -> (Ranges, String) {
    let bounds = Range::new(options.mem_min, options.mem_max.saturating_add(1));
    match target {
        Target::Crash => {
            let regions = Ranges::new(system.crash_regions.iter().copied());
            (
                regions.intersect(bounds),
                format!("the Crash kernel region ({})", describe(&regions)),
            )
        }
        Target::Normal => {
            let mut ram = system.ram.intersect(bounds);
            for r in &system.crash_regions {
                ram = ram.minus(*r);
            }
            (ram, format!("System RAM within [{bounds}]"))
        }
    }
}

fn describe(ranges: &Ranges) -> String {
    ranges
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Step 1: the Image at a 2 MiB-aligned base + text_offset, with
/// image_size free behind it (as low as RAM allows: memory below the base
/// is outside the kernel's linear map unless the header says otherwise).
fn place_kernel(placer: &mut Placer, parts: &Parts, header: &Header) -> Result<Segment, BuildError> {
    let memsz = page_align(header.image_size.max(parts.kernel.len() as u64));
    let base = placer.take(
        "kernel",
        header.text_offset + memsz,
        IMAGE_BASE_ALIGN,
        0,
        u64::MAX,
    )?;
    Ok(Segment {
        purpose: "kernel".into(),
        data: SegmentData::share(parts.kernel, parts.sources),
        mem: base + header.text_offset,
        memsz,
        digest: None,
    })
}

/// Step 2: the initrd, in the 1 GiB-aligned, 32 GiB window that also
/// covers the Image.
fn place_initrd(
    placer: &mut Placer,
    parts: &Parts,
    kernel: &Segment,
) -> Result<Option<Segment>, BuildError> {
    let Some(initrd) = parts.initrd else {
        return Ok(None);
    };
    let low = kernel.mem / INITRD_WINDOW_ALIGN * INITRD_WINDOW_ALIGN;
    let memsz = page_align(initrd.len() as u64);
    let at = placer.take("initrd", memsz, PAGE, low, low.saturating_add(INITRD_WINDOW))?;
    Ok(Some(Segment {
        purpose: "initrd".into(),
        data: SegmentData::share(initrd, parts.sources),
        mem: at,
        memsz,
        digest: None,
    }))
}

/// Builds the arm64 kexec_load image of `parts` for `target`.
pub fn build(
    parts: &Parts,
    target: Target,
    system: &System,
    args: BootArgs,
    options: &LoadOptions,
) -> Result<Image, BuildError> {
    if args == BootArgs::None {
        return Err(BuildError::ArgsNone {
            file: parts.file.into(),
        });
    }
    let header = arm64_image::header(parts.file, parts.kernel).map_err(BuildError::Header)?;
    let (free, window) = window(system, target, options);
    let mut placer = Placer {
        file: parts.file,
        free,
        window,
    };
    let kernel = place_kernel(&mut placer, parts, &header)?;
    let initrd = place_initrd(&mut placer, parts, &kernel)?;
    // Step 3, crash loads: the ELF core header, and the memory the capture
    // kernel may use.
    let (elfcorehdr, usable_memory) = match (&system.crash, target) {
        (Some(info), Target::Crash) => {
            let bytes = info
                .elfcorehdr(&system.crash_regions)
                .map_err(BuildError::Crash)?;
            let memsz = page_align(bytes.len() as u64);
            let at = placer.take("ELF core header", memsz, PAGE, 0, u64::MAX)?;
            let usable = system
                .crash_regions
                .iter()
                .map(|r| (r.start, r.size()))
                .collect();
            (
                Some(Segment {
                    purpose: "elfcorehdr".into(),
                    data: SegmentData::Bytes(bytes),
                    mem: at,
                    memsz,
                    digest: None,
                }),
                usable,
            )
        }
        _ => (None, Vec::new()),
    };
    // Step 4: the device tree, with /chosen saying where everything is.
    let chosen = Chosen {
        bootargs: parts.cmdline.to_vec(),
        initrd: initrd
            .as_ref()
            .map(|s| (s.mem, s.mem + s.data.len() as u64)),
        kaslr_seed: Some(system.kaslr_seed),
        rng_seed: Some(system.rng_seed.clone()),
        elfcorehdr: elfcorehdr.as_ref().map(|s| (s.mem, s.data.len() as u64)),
        usable_memory,
    };
    let dtb_bytes = dtb::prepare(&system.dtb.0, &system.dtb.1, &chosen)?;
    let dtb_size = page_align(dtb_bytes.len() as u64).max(PAGE);
    debug_assert!(dtb_size <= MAX_DTB_SIZE.max(PAGE));
    let dtb_at = placer.take("device tree", dtb_size, DTB_ALIGN, 0, u64::MAX)?;
    let dtb = Segment {
        purpose: format!("device tree ({})", system.dtb.0),
        data: SegmentData::Bytes(dtb_bytes),
        mem: dtb_at,
        memsz: dtb_size,
        digest: None,
    };
    // Step 5: seal.
    let mut verified: Vec<Segment> = [Some(kernel), initrd, Some(dtb)]
        .into_iter()
        .flatten()
        .collect();
    seal(
        &mut placer,
        parts.file,
        &mut verified,
        dtb_at,
        &options.aarch64,
        options.skip_checks,
    )
    .map(|(purgatory, entry)| {
        let mut segments = verified;
        segments.push(purgatory);
        segments.extend(elfcorehdr);
        Image { segments, entry }
    })
}

/// Digests the verified segments and builds the purgatory that checks them
/// and enters the kernel (the first of them) with x0 = the device tree.
/// The elfcorehdr stays out of the digests, as on x86_64.
fn seal(
    placer: &mut Placer,
    file: &str,
    verified: &mut [Segment],
    dtb_at: u64,
    options: &Options,
    skip_checks: bool,
) -> Result<(Segment, u64), BuildError> {
    let purgatory_error = |source| BuildError::Purgatory {
        file: file.into(),
        source,
    };
    let memsz = purgatory::memsz().ok_or_else(|| purgatory_error(purgatory::PurgatoryError::NotBuilt))?;
    let memsz = page_align(memsz);
    let base = placer.take("purgatory", memsz, PAGE, 0, u64::MAX)?;
    if !skip_checks {
        for s in verified.iter_mut() {
            s.digest = Some(crate::arch::x86_64::purgatory::segment_digest(s));
        }
    }
    let config = purgatory::Config {
        entry: verified[0].mem,
        dtb: dtb_at,
        skip_checks,
        uart: options.port,
    };
    let refs: Vec<&Segment> = verified.iter().collect();
    let bytes = purgatory::image(base, &config, &refs).map_err(purgatory_error)?;
    let entry = purgatory::entry(base).ok_or_else(|| purgatory_error(purgatory::PurgatoryError::NotBuilt))?;
    Ok((
        Segment {
            purpose: "purgatory".into(),
            data: SegmentData::Bytes(bytes),
            mem: base,
            memsz,
            digest: None,
        },
        entry,
    ))
}
