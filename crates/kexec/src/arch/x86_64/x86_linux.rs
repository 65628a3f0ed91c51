//! The x86 Linux boot protocol on the kexec_load path, whatever the kernel's
//! format: lays out our purgatory, the zero page with the command line and
//! setup_data, the kernel and the initrd in free RAM, and points the
//! purgatory at the kernel's 64-bit entry with rsi = boot_params. The
//! formats (bzimage64.rs, elf64.rs) say where the kernel goes and where it
//! starts.

use super::crash::{self, CrashInfo};
use super::efi::{self, EfiHandover};
use super::purgatory::{self, PurgatoryConfig};
use super::zero_page::{
    self, setup_data_node, ZeroPage, SETUP_E820_EXT, SETUP_EFI, SETUP_RNG_SEED,
};
use crate::image::bzimage::{SetupHeader, XLF_CAN_BE_LOADED_ABOVE_4G, XLF_EFI_KEXEC};
use crate::layout::{page_align, PAGE_SIZE};
use crate::memory::memmap::{E820Type, MemoryRegion};
use crate::memory::ranges::{Placement, Ranges};
use crate::memory::{human_size, Range};
use crate::plan::{Segment, SegmentData, Target};
use crate::sys::abi::KEXEC_SEGMENT_MAX;
use crate::sys::mapping::Mapping;
use std::sync::Arc;

/// Named addresses of the layout (crate::layout, under its old path too).
pub use crate::layout;

// The load options and BootArgs are every architecture's (crate::arch),
// under their old paths too.
pub use crate::arch::{BootArgs, LoadOptions};

/// What the running system contributes to the next kernel's boot.
#[derive(Clone, Debug)]
pub struct System {
    /// The firmware memory map: the next kernel's e820 and where segments may go.
    pub memmap: Vec<MemoryRegion>,
    /// The running kernel's boot_params, when readable.
    pub boot_params: Option<Vec<u8>>,
    /// "Crash kernel" ranges: normal loads keep out of them.
    pub crash_regions: Vec<Range>,
    /// Fresh random bytes handed over as a SETUP_RNG_SEED node.
    pub rng_seed: [u8; 32],
    /// UEFI handover, or why there is none (BIOS boot, missing runtime map).
    pub efi: Result<EfiHandover, String>,
    /// What a capture kernel's elfcorehdr describes (gathered for crash loads).
    pub crash: Result<CrashInfo, String>,
    /// The name of the driver behind /dev/fb0 (/sys/class/graphics/fb0/name).
    pub framebuffer: Option<String>,
    /// /sys/kernel/crash_elfcorehdr_size: with --hotplug, the crash
    /// kernel's elfcorehdr segment is at least this large (page aligned).
    pub crash_elfcorehdr_size: Option<u64>,
}

/// Whether the next kernel gets this boot's screen_info, as kexec-tools
/// decides it: yes without /dev/fb0 or with the firmware's own framebuffer
/// (vesafb "VESA VGA", efifb "EFI VGA"); with any other driver on fb0 (a DRM
/// driver took the display over) only when --reuse-video-type asks, else the
/// next kernel is told there is no boot framebuffer. None: yes; Some(why not).
pub fn screen_info_kept(framebuffer: Option<&str>, reuse_video_type: bool) -> Option<String> {
    match framebuffer {
        None | Some("VESA VGA") | Some("EFI VGA") => None,
        Some(_) if reuse_video_type => None,
        Some(name) => Some(format!(
            "no boot framebuffer: /dev/fb0 is {name}, a driver the next kernel must start itself (--reuse-video-type keeps this boot's video type)"
        )),
    }
}

/// Why a kexec_load image could not be built; every variant names the
/// file and the value at fault.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The kernel file's ELF layout cannot be booted (an ELF vmlinux).
    #[error("{file} cannot be booted through kexec_load: {why}")]
    Format {
        /// The kernel file.
        file: String,
        /// What is wrong with it.
        why: String,
    },
    /// No format takes the kernel, or its setup header rules out this boot path.
    #[error("{file} cannot be booted through kexec_load: {why}")]
    Header {
        /// The kernel file.
        file: String,
        /// What is wrong with it.
        why: String,
    },
    /// The command line, with its NUL, is longer than the kernel's cmdline_size.
    #[error("the command line is too long: {len} bytes with its NUL, but {file} takes at most {max} (setup header cmdline_size)")]
    CmdlineTooLong {
        /// The kernel file whose header sets the limit.
        file: String,
        /// The command line's length, NUL included.
        len: usize,
        /// The kernel's cmdline_size.
        max: u64,
    },
    /// The command line holds a NUL byte before its end.
    #[error("the command line has a NUL byte at position {position} (of {len} bytes): the kernel would end it there and drop the rest")]
    CmdlineNul {
        /// Where the first NUL is.
        position: usize,
        /// The command line's length.
        len: usize,
    },
    /// A piece that must sit at a fixed address (an ELF PT_LOAD) is not in free RAM.
    #[error("{file}: its {what} {range} is not in free RAM (the memory map has no usable RAM there, or another segment holds it)")]
    FixedOutsideRam {
        /// The kernel file.
        file: String,
        /// Which piece.
        what: String,
        /// Its physical range.
        range: String,
    },
    /// A crash load, but no "Crash kernel" range is reserved.
    #[error("no memory is reserved for a crash kernel (/proc/iomem has no \"Crash kernel\" range): boot the running kernel with crashkernel=256M (or another size) first")]
    NoCrashRegion,
    /// The running kernel's memory could not be described for the elfcorehdr.
    #[error("cannot describe the running kernel's memory for the capture kernel: {0}")]
    CrashInfo(String),
    /// A crash load does not fit in the crash region.
    #[error("the crash kernel {file} does not fit in the Crash kernel region [{region}] of {}: no room left for the {what} ({}) {placed}; reserve more with crashkernel=", human_size(*.size), human_size(*.needed))]
    CrashRegionFull {
        /// The kernel file.
        file: String,
        /// The crash region.
        region: String,
        /// The crash region's size.
        size: u64,
        /// The piece that did not fit.
        what: String,
        /// That piece's size.
        needed: u64,
        /// What was already placed in the region.
        placed: String,
    },
    /// No free RAM range takes a piece within the placement bounds.
    #[error("cannot lay out {file}: no room for the {what} ({size}, aligned to {align:#x}) in free RAM between {min:#x} and {max:#x}; free RAM there: {free}")]
    NoRoom {
        /// The kernel file.
        file: String,
        /// The piece that did not fit.
        what: String,
        /// Its size, for people.
        size: String,
        /// The alignment it needs.
        align: u64,
        /// The lowest address allowed.
        min: u64,
        /// The highest address allowed.
        max: u64,
        /// The free RAM between `min` and `max`.
        free: String,
    },
    /// The image needs more segments than KEXEC_SEGMENT_MAX.
    #[error("{file} needs {total} kexec_load segments ({parts}), but kexec_load takes at most {max} (KEXEC_SEGMENT_MAX)")]
    TooManySegments {
        /// The kernel file.
        file: String,
        /// Segments needed.
        total: usize,
        /// Which pieces they are.
        parts: String,
        /// KEXEC_SEGMENT_MAX.
        max: usize,
    },
    /// --hotplug, but the running kernel gave no elfcorehdr size.
    #[error("{file}: --hotplug needs the elfcorehdr size of /sys/kernel/crash_elfcorehdr_size, which the running kernel does not provide (it needs CONFIG_CRASH_HOTPLUG)")]
    NoHotplugSize {
        /// The kernel file.
        file: String,
    },
    /// With --hotplug the kernel finds the elfcorehdr as the segment that
    /// starts with ELF magic: another one may not.
    #[error("{file}: --hotplug: the {what} starts with ELF magic (\\x7fELF), so the kernel could take it for the elfcorehdr it rewrites on hotplug; drop --hotplug")]
    ElfMagic {
        /// The kernel file.
        file: String,
        /// The segment that starts with ELF magic.
        what: String,
    },
    /// More segments than the purgatory's digest table holds.
    #[error(
        "{file}: {count} segments to verify, but the purgatory's digest table holds at most {max}"
    )]
    TooManyDigests {
        /// The kernel file.
        file: String,
        /// Segments to verify.
        count: usize,
        /// The table's size.
        max: usize,
    },
}

/// The finished image: segments in placement order and the purgatory entry.
#[derive(Debug)]
pub struct Image {
    /// The segments, in placement order.
    pub segments: Vec<Segment>,
    /// The purgatory's entry point, where the kernel jumps.
    pub entry: u64,
}

fn align_to(n: usize, align: usize) -> usize {
    n.div_ceil(align) * align
}

struct Placer {
    /// The kernel file, named in every error.
    file: String,
    free: Ranges,
    placed: Vec<Range>,
    /// Crash loads: the region everything must fit in, and what went there.
    crash_region: Option<Range>,
    placed_names: Vec<String>,
}

impl Placer {
    /// Below 1 MiB when it fits there, else low above it (below 4 GiB when
    /// possible: a crash region may lie entirely above).
    fn place_low(&mut self, what: &str, size: u64) -> Result<u64, BuildError> {
        let under_1m = Placement {
            size,
            align: PAGE_SIZE,
            min: layout::LOW_MIN,
            max: layout::ONE_MIB,
            top_down: true,
        };
        if self
            .free
            .find_space(Placement {
                size: page_align(size),
                ..under_1m
            })
            .is_some()
        {
            return self.place(what, under_1m);
        }
        let below_4g = Placement {
            size,
            align: PAGE_SIZE,
            min: layout::ONE_MIB,
            max: layout::FOUR_GIB,
            top_down: false,
        };
        if self
            .free
            .find_space(Placement {
                size: page_align(size),
                ..below_4g
            })
            .is_some()
        {
            return self.place(what, below_4g);
        }
        self.place(
            what,
            Placement {
                max: u64::MAX,
                ..below_4g
            },
        )
    }

    fn place(&mut self, what: &str, p: Placement) -> Result<u64, BuildError> {
        let size = page_align(p.size);
        let request = Placement {
            size,
            align: p.align.max(PAGE_SIZE),
            ..p
        };
        match self.free.find_space(request) {
            Some(at) => {
                let range = Range::new(at, at + size);
                self.placed_names
                    .push(format!("{what} ({})", human_size(size)));
                self.free = self.free.minus(range);
                self.placed.push(range);
                Ok(at)
            }
            None => match self.crash_region {
                Some(region) => Err(BuildError::CrashRegionFull {
                    file: self.file.clone(),
                    region: region.to_string(),
                    size: region.size(),
                    what: what.to_string(),
                    needed: size,
                    placed: if self.placed_names.is_empty() {
                        "after keeping 2 MiB for the kernel's control pages".into()
                    } else {
                        format!(
                            "after the {} and 2 MiB for the kernel's control pages",
                            self.placed_names.join(", ")
                        )
                    },
                }),
                None => Err(BuildError::NoRoom {
                    file: self.file.clone(),
                    what: what.to_string(),
                    size: human_size(size),
                    align: request.align,
                    min: p.min,
                    max: p.max,
                    free: describe_free(&self.free.intersect(Range::new(p.min, p.max))),
                }),
            },
        }
    }
}

fn describe_free(free: &Ranges) -> String {
    let parts: Vec<String> = free
        .iter()
        .map(|r| format!("{r} ({})", human_size(r.size())))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// Where the kernel goes and where it starts.
pub enum Kernel<'a> {
    /// A relocatable protected-mode kernel (bzImage64), placed top-down:
    /// `data` copied, `memsz` reserved for its decompression, entry at
    /// load address + `entry_offset`.
    Relocatable {
        /// The kernel's protected-mode code, as in the file.
        data: &'a [u8],
        /// Memory it needs in place (init_size), at least `data`'s length.
        memsz: u64,
        /// Its load alignment (kernel_alignment).
        align: u64,
        /// The lowest load address it takes.
        min: u64,
        /// The 64-bit entry's offset from the load address.
        entry_offset: u64,
        /// How it is placed and entered.
        entered: Entered,
    },
    /// Pieces at fixed physical addresses (an ELF vmlinux's PT_LOADs):
    /// (address, data, memsz), and the physical entry point.
    Fixed {
        /// (physical address, data, memsz) of each piece.
        pieces: Vec<(u64, &'a [u8], u64)>,
        /// The physical entry point.
        entry: u64,
    },
}

/// How a relocatable kernel is placed and what runs first after the purgatory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entered {
    /// The bzImage's protected-mode part: its decompressor runs at
    /// startup_64 after `kexec -e` and picks the KASLR slots itself. Placed
    /// top-down, as the kernel's own file loader does.
    Decompressor,
    /// A vmlinux decompressed (and relocated by `virt_offset`) at load time:
    /// vmlinux's startup_64 runs directly. `random` picks the physical
    /// slot among all `align`-aligned ones that fit (physical KASLR); None
    /// (nokaslr) takes the lowest, `min` (LOAD_PHYSICAL_ADDR) when free.
    Decompressed {
        /// Picks the physical KASLR slot; None: nokaslr.
        random: Option<u64>,
        /// The virtual offset already applied to the image.
        virt_offset: u64,
    },
}

/// A Linux kernel to boot: its setup header (for the zero page and the
/// limits it declares), its layout, the initrd and the command line.
pub struct LinuxBoot<'a> {
    /// The kernel file's name, for messages.
    pub file: &'a str,
    /// Bytes holding a setup header at 0x1f1 (the kernel's own, or one made
    /// up for a vmlinux that has none).
    pub setup_header: &'a [u8],
    /// Where the kernel goes and where it starts.
    pub kernel: Kernel<'a>,
    /// What the kernel receives in rsi.
    pub args: BootArgs,
    /// The initrd's bytes, if any.
    pub initrd: Option<&'a [u8]>,
    /// Bytes, not necessarily UTF-8; a NUL inside is refused.
    pub cmdline: &'a [u8],
}

/// The region crash kernels load into: the highest "Crash kernel" range
/// (the kernel's crashk_res; a crashkernel=,low range is not it).
fn crash_region(system: &System) -> Result<Range, BuildError> {
    system
        .crash_regions
        .iter()
        .filter(|r| r.size() > 0)
        .max_by_key(|r| r.start)
        .copied()
        .ok_or(BuildError::NoCrashRegion)
}

/// kexec_load takes at most KEXEC_SEGMENT_MAX segments, and an ELF kernel
/// may have any number of PT_LOADs: count them all before laying anything out.
fn segment_count(boot: &LinuxBoot, target: Target) -> Result<(), BuildError> {
    let (kernel, kernel_part) = match &boot.kernel {
        Kernel::Relocatable { .. } => (1, "the kernel".to_string()),
        Kernel::Fixed { pieces, .. } => {
            (pieces.len(), format!("{} PT_LOAD segments", pieces.len()))
        }
    };
    let mut parts = vec!["the purgatory", "the zero page", &kernel_part];
    if boot.initrd.is_some() {
        parts.push("the initrd");
    }
    if target == Target::Crash {
        parts.push("the elfcorehdr");
    }
    // Every part is one segment, but the kernel's PT_LOADs are one each.
    let total = parts.len() - 1 + kernel;
    if total > KEXEC_SEGMENT_MAX {
        return Err(BuildError::TooManySegments {
            file: boot.file.into(),
            total,
            parts: parts.join(", "),
            max: KEXEC_SEGMENT_MAX,
        });
    }
    Ok(())
}

/// Lays out a Linux kernel, its initrd and command line for kexec_load.
pub fn build(
    boot: &LinuxBoot,
    target: Target,
    system: &System,
    options: &LoadOptions,
) -> Result<Image, BuildError> {
    build_from(boot, target, system, options, &[])
}

/// As `build`, where the kernel and initrd bytes lie in `sources` (the
/// input files mapped read-only): their segments are views of those
/// mappings, not copies, so no file's bytes are held twice.
///
/// The steps, in the order the kernel's bzImage64_load takes them: check
/// the inputs, find free RAM, reserve the fixed pieces, place the low
/// parts (purgatory, elfcorehdr, zero page), place the kernel and initrd,
/// fill in the zero page, and seal everything with the purgatory.
pub fn build_from(
    boot: &LinuxBoot,
    target: Target,
    system: &System,
    options: &LoadOptions,
    sources: &[&Arc<Mapping>],
) -> Result<Image, BuildError> {
    let file = boot.file;
    let header = check_inputs(boot, target)?;
    let crash_region = match target {
        Target::Normal => None,
        Target::Crash => Some(crash_region(system)?),
    };
    let mut placer = Placer {
        file: file.into(),
        free: free_ram(system, crash_region, options),
        placed: Vec::new(),
        crash_region,
        placed_names: Vec::new(),
    };
    // Fixed pieces first: nothing else may take their place.
    reserve_fixed_pieces(&mut placer, file, &boot.kernel)?;

    // Low: the purgatory, a crash kernel's elfcorehdr, then the zero page
    // with the command line and setup_data.
    let purgatory_base = placer.place_low("purgatory", purgatory::memsz())?;
    let (elfcorehdr, memmap) = match target {
        Target::Normal => (None, system.memmap.clone()),
        Target::Crash => {
            let hotplug = match (options.hotplug, system.crash_elfcorehdr_size) {
                (false, _) => None,
                (true, Some(size)) => Some(size),
                (true, None) => return Err(BuildError::NoHotplugSize { file: file.into() }),
            };
            let (core, memmap) = place_elfcorehdr(&mut placer, system, hotplug)?;
            (Some(core), memmap)
        }
    };
    let cmdline = final_cmdline(boot, &header, elfcorehdr.as_ref(), &memmap, options)?;
    let efi = system
        .efi
        .as_ref()
        .ok()
        .filter(|_| header.xloadflags & XLF_EFI_KEXEC != 0 && !options.x86_64.no_efi);
    let params_layout = ParamsLayout::new(cmdline.len() + 1, system, efi, &memmap);
    let params_base = placer.place_low("zero page and command line", params_layout.len as u64)?;

    // High: the kernel with room for its decompression, then the initrd.
    let (kernel_pieces, kernel_entry) = place_kernel(&mut placer, &boot.kernel, &header)?;
    let initrd_at = place_initrd(&mut placer, boot.initrd, &header)?;

    let no_screen = screen_info_kept(
        system.framebuffer.as_deref(),
        options.x86_64.reuse_video_type,
    );
    let params = ZeroPage {
        kernel_head: boot.setup_header,
        running: system.boot_params.as_deref(),
        keep_screen_info: no_screen.is_none(),
        e820: &memmap,
        cmdline_addr: params_base + params_layout.cmdline_at as u64,
        initrd: initrd_at.zip(boot.initrd.map(|d| d.len() as u64)),
        // `nodes` always starts with the RNG seed: node_at is never empty.
        setup_data: params_base + params_layout.node_at[0] as u64,
        efi: efi.map(|e| {
            let map = params_base + params_layout.efi_map_at as u64;
            (
                e.info,
                map,
                e.runtime_map.len() as u32,
                efi::MEMDESC_SIZE as u32,
            )
        }),
        acpi_rsdp: efi.and_then(|e| e.acpi_rsdp),
    }
    .build();
    let params = params_layout.fill(params, params_base, &cmdline, efi);

    let mut segments = vec![Segment {
        digest: None,
        purpose: match &no_screen {
            None => "zero page (boot_params), command line, setup_data".into(),
            Some(why) => format!("zero page (boot_params), command line, setup_data; {why}"),
        },
        mem: params_base,
        memsz: page_align(params.len() as u64),
        data: params.into(),
    }];
    segments.extend(kernel_segments(boot, &kernel_pieces, initrd_at, sources));
    let config = PurgatoryConfig {
        entry: kernel_entry,
        rsi: match boot.args {
            BootArgs::Linux => params_base,
            BootArgs::None => 0,
        },
        skip_checks: options.skip_checks,
        console: options.x86_64.console,
        reset_vga: options.x86_64.reset_vga,
        console_vga: options.x86_64.console_vga,
    };
    seal(file, segments, purgatory_base, &config, elfcorehdr)
}

/// The checks made before anything is laid out: a readable setup header,
/// no NUL inside the command line, and few enough segments.
fn check_inputs(boot: &LinuxBoot, target: Target) -> Result<SetupHeader, BuildError> {
    let header = SetupHeader::read(boot.setup_header).ok_or_else(|| BuildError::Header {
        file: boot.file.into(),
        why: "too short for an x86 setup header".into(),
    })?;
    if let Some(position) = crate::cmdline::nul_position(boot.cmdline) {
        return Err(BuildError::CmdlineNul {
            position,
            len: boot.cmdline.len(),
        });
    }
    segment_count(boot, target)?;
    Ok(header)
}

/// The RAM the next kernel's segments may go in: usable RAM between
/// --mem-min and --mem-max (inclusive), and then for a normal load
/// without the crash regions (a loaded capture kernel lives there), for a
/// crash load only the crash region (`crash_region`) without its first
/// 2 MiB, which the kernel keeps for its control pages.
fn free_ram(system: &System, crash_region: Option<Range>, options: &LoadOptions) -> Ranges {
    let ram = Ranges::new(
        system
            .memmap
            .iter()
            .filter(|r| r.kind == E820Type::Ram)
            .map(|r| r.range),
    );
    let mut free = ram.intersect(Range::new(
        options.mem_min,
        options.mem_max.saturating_add(1).max(options.mem_max),
    ));
    match crash_region {
        None => {
            for r in &system.crash_regions {
                free = free.minus(*r);
            }
        }
        Some(region) => {
            free = free.intersect(region).minus(Range::new(
                region.start,
                region.start.saturating_add(layout::CRASH_CONTROL_RESERVE),
            ));
        }
    }
    free
}

/// Takes an ELF vmlinux's PT_LOADs (whole pages of their memsz) out of the
/// free RAM at their own addresses; each must lie entirely in free RAM.
fn reserve_fixed_pieces(
    placer: &mut Placer,
    file: &str,
    kernel: &Kernel,
) -> Result<(), BuildError> {
    let Kernel::Fixed { pieces, .. } = kernel else {
        return Ok(());
    };
    for (i, (at, _, memsz)) in pieces.iter().enumerate() {
        let end = memsz
            .checked_next_multiple_of(PAGE_SIZE)
            .and_then(|m| at.checked_add(m));
        let range = Range::new(*at, end.unwrap_or(u64::MAX));
        if end.is_none() || !placer.free.contains(&range) {
            return Err(BuildError::FixedOutsideRam {
                file: file.into(),
                what: format!("PT_LOAD segment {i}"),
                range: range.to_string(),
            });
        }
        placer.free = placer.free.minus(range);
        placer.placed.push(range);
    }
    Ok(())
}

/// A crash load's ELF core header: where it goes, its bytes, its memory
/// size, and what it describes (for the segment's purpose).
struct CoreHeader {
    at: u64,
    bytes: Vec<u8>,
    memsz: u64,
    what: String,
}

/// Builds and places (low) the elfcorehdr that shows the capture kernel
/// the dead kernel's memory, and returns with it the capture kernel's
/// memory map (which marks the elfcorehdr reserved). With `hotplug` (the
/// kernel's crash_elfcorehdr_size) the segment is that large, as
/// kexec-tools --hotplug sizes it: the kernel rewrites it in place with
/// more program headers on CPU or memory hotplug, and refuses to when the
/// new header is larger than the segment.
fn place_elfcorehdr(
    placer: &mut Placer,
    system: &System,
    hotplug: Option<u64>,
) -> Result<(CoreHeader, Vec<MemoryRegion>), BuildError> {
    let info = system
        .crash
        .as_ref()
        .map_err(|e| BuildError::CrashInfo(e.clone()))?;
    let core = info.segments(&system.crash_regions);
    let bytes = crash::elfcorehdr(&core).map_err(BuildError::CrashInfo)?;
    let built = page_align(bytes.len() as u64);
    let memsz = hotplug.map_or(built, |size| page_align(size).max(built));
    let at = placer.place_low("elfcorehdr", memsz)?;
    let range = Range::new(at, at + memsz);
    let memmap = crash::capture_memmap(&system.memmap, &system.crash_regions, range);
    let mut what = info.describe(&core);
    if let Some(size) = hotplug {
        what.push_str(&format!(
            "; --hotplug: memsz {memsz:#x} from /sys/kernel/crash_elfcorehdr_size ({size} bytes, page aligned), room for the program headers the kernel writes on CPU and memory hotplug"
        ));
    }
    Ok((
        CoreHeader {
            at,
            bytes,
            memsz,
            what,
        },
        memmap,
    ))
}

/// The command line the next kernel gets: the user's, for a capture kernel
/// with elfcorehdr= (and with --pass-memmap-cmdline its memory map as
/// memmap= words); refused when longer than the header's cmdline_size.
fn final_cmdline(
    boot: &LinuxBoot,
    header: &SetupHeader,
    elfcorehdr: Option<&CoreHeader>,
    memmap: &[MemoryRegion],
    options: &LoadOptions,
) -> Result<Vec<u8>, BuildError> {
    let cmdline = boot.cmdline;
    // The capture kernel finds the dead kernel's memory through elfcorehdr=.
    let mut line = match elfcorehdr {
        Some(core) => crate::cmdline::compose(
            Some(cmdline).filter(|c| !c.is_empty()),
            Some(format!("elfcorehdr={:#x}", core.at).as_bytes()),
        ),
        None => cmdline.to_vec(),
    };
    // --pass-memmap-cmdline: the capture kernel's memory map once more, as
    // memmap= words that replace its e820 table (memmap=exactmap).
    if elfcorehdr.is_some() && options.x86_64.pass_memmap_cmdline {
        line.push(b' ');
        line.extend_from_slice(crash::memmap_cmdline(memmap).as_bytes());
    }
    let len = line.len() + 1;
    if len as u64 > u64::from(header.cmdline_size) {
        return Err(BuildError::CmdlineTooLong {
            file: boot.file.into(),
            len,
            max: header.cmdline_size.into(),
        });
    }
    Ok(line)
}

/// Offsets inside the zero page segment: boot_params, the command line,
/// the setup_data chain (RNG seed, EFI, extra e820 entries), then the EFI
/// runtime map.
struct ParamsLayout {
    cmdline_at: usize,
    /// setup_data nodes (type, payload) and where each starts.
    nodes: Vec<(u32, Vec<u8>)>,
    node_at: Vec<usize>,
    efi_map_at: usize,
    len: usize,
}

impl ParamsLayout {
    /// `cmdline_len` counts the terminating NUL.
    fn new(
        cmdline_len: usize,
        system: &System,
        efi: Option<&EfiHandover>,
        memmap: &[MemoryRegion],
    ) -> ParamsLayout {
        let mut nodes: Vec<(u32, Vec<u8>)> = vec![(SETUP_RNG_SEED, system.rng_seed.to_vec())];
        if let Some(efi) = efi {
            nodes.push((SETUP_EFI, efi.setup_data()));
        }
        if memmap.len() > zero_page::E820_MAX_IN_PAGE {
            let extra = memmap[zero_page::E820_MAX_IN_PAGE..]
                .iter()
                .flat_map(zero_page::e820_entry)
                .collect();
            nodes.push((SETUP_E820_EXT, extra));
        }
        let cmdline_at = zero_page::SIZE;
        let mut node_at = Vec::with_capacity(nodes.len());
        let mut end = align_to(cmdline_at + cmdline_len, layout::SETUP_DATA_ALIGN);
        for (_, data) in &nodes {
            node_at.push(end);
            end = align_to(end + 16 + data.len(), layout::SETUP_DATA_ALIGN);
        }
        let efi_map_at = end;
        ParamsLayout {
            cmdline_at,
            nodes,
            node_at,
            efi_map_at,
            len: efi_map_at + efi.map_or(0, |e| e.runtime_map.len()),
        }
    }

    /// Appends to the built boot_params the command line, the chained
    /// setup_data nodes (linked by physical address from `base`) and the
    /// EFI runtime map, each at its offset.
    fn fill(
        &self,
        mut params: Vec<u8>,
        base: u64,
        cmdline: &[u8],
        efi: Option<&EfiHandover>,
    ) -> Vec<u8> {
        params.extend_from_slice(cmdline);
        params.push(0);
        for (i, (kind, data)) in self.nodes.iter().enumerate() {
            params.resize(self.node_at[i], 0);
            let next = self.node_at.get(i + 1).map_or(0, |&at| base + at as u64);
            params.extend_from_slice(&setup_data_node(next, *kind, data));
        }
        if let Some(efi) = efi {
            params.resize(self.efi_map_at, 0);
            params.extend_from_slice(&efi.runtime_map);
        }
        params
    }
}

/// A piece of the kernel in memory: (address, data, memsz).
type KernelPiece<'a> = (u64, &'a [u8], u64);

/// Places a relocatable kernel top-down (below 4 GiB unless the header
/// allows above), its memsz reserved for decompression; fixed pieces stay
/// where they are. Returns the pieces and the kernel's entry.
fn place_kernel<'a>(
    placer: &mut Placer,
    kernel: &Kernel<'a>,
    header: &SetupHeader,
) -> Result<(Vec<KernelPiece<'a>>, u64), BuildError> {
    match kernel {
        Kernel::Relocatable {
            data,
            memsz,
            align,
            min,
            entry_offset,
            entered,
        } => {
            let p = Placement {
                size: *memsz,
                align: (*align).max(PAGE_SIZE),
                min: *min,
                max: high_limit(header),
                top_down: true,
            };
            let at = match entered {
                Entered::Decompressor => placer.place("kernel", p)?,
                Entered::Decompressed { random: None, .. } => placer.place(
                    "kernel",
                    Placement {
                        top_down: false,
                        ..p
                    },
                )?,
                Entered::Decompressed {
                    random: Some(random),
                    ..
                } => {
                    let q = Placement {
                        size: page_align(p.size),
                        ..p
                    };
                    // A KASLR slot: fix the start, then place there so the
                    // placer's bookkeeping and errors stay one path.
                    let slot = placer.free.find_random_space(q, *random).unwrap_or(p.min);
                    placer.place(
                        "kernel",
                        Placement {
                            min: slot,
                            top_down: false,
                            ..p
                        },
                    )?
                }
            };
            Ok((vec![(at, *data, page_align(*memsz))], at + entry_offset))
        }
        Kernel::Fixed { pieces, entry } => Ok((pieces.clone(), *entry)),
    }
}

/// Where the kernel may end: anywhere with XLF_CAN_BE_LOADED_ABOVE_4G,
/// else below 4 GiB.
fn high_limit(header: &SetupHeader) -> u64 {
    if header.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G != 0 {
        u64::MAX
    } else {
        layout::FOUR_GIB
    }
}

/// Places the initrd top-down above 16 MiB, as the kernel's file loader
/// does, and below initrd_addr_max unless the kernel takes it above 4 GiB.
fn place_initrd(
    placer: &mut Placer,
    initrd: Option<&[u8]>,
    header: &SetupHeader,
) -> Result<Option<u64>, BuildError> {
    let Some(data) = initrd else {
        return Ok(None);
    };
    let max = if header.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G != 0 {
        u64::MAX
    } else {
        u64::from(header.initrd_addr_max) + 1
    };
    placer
        .place(
            "initrd",
            Placement {
                size: data.len() as u64,
                align: PAGE_SIZE,
                min: layout::INITRD_MIN,
                max,
                top_down: true,
            },
        )
        .map(Some)
}

/// The kernel's segments (one per piece) and the initrd's, as views of
/// `sources` where their bytes lie there.
fn kernel_segments(
    boot: &LinuxBoot,
    pieces: &[KernelPiece],
    initrd_at: Option<u64>,
    sources: &[&Arc<Mapping>],
) -> Vec<Segment> {
    let file = boot.file;
    let many = pieces.len() > 1;
    let mut segments = Vec::with_capacity(pieces.len() + 1);
    for (i, (at, data, memsz)) in pieces.iter().enumerate() {
        let purpose = match (&boot.kernel, many) {
            (
                Kernel::Relocatable {
                    entered: Entered::Decompressor,
                    ..
                },
                _,
            ) => {
                format!("kernel {file} (protected-mode part, init_size reserved; entered through its decompressor)")
            }
            (
                Kernel::Relocatable {
                    entered: Entered::Decompressed { random, virt_offset },
                    entry_offset,
                    min,
                    ..
                },
                _,
            ) => format!(
                "kernel {file} decompressed at load: vmlinux entered at startup_64 {:#x}, physical {:#x}{}, virtual offset {virt_offset:#x} (_text {:#x})",
                at + entry_offset,
                at,
                if random.is_some() { " (random slot)" } else { " (nokaslr)" },
                super::decompressed::START_KERNEL_MAP + min + virt_offset,
            ),
            (Kernel::Fixed { .. }, false) => format!("kernel {file} (PT_LOAD)"),
            (Kernel::Fixed { .. }, true) => format!("kernel {file} (PT_LOAD {i})"),
        };
        segments.push(Segment {
            digest: None,
            purpose,
            mem: *at,
            memsz: page_align(*memsz),
            data: SegmentData::share(data, sources),
        });
    }
    if let (Some(at), Some(data)) = (initrd_at, boot.initrd) {
        segments.push(Segment {
            digest: None,
            purpose: "initrd".into(),
            mem: at,
            memsz: page_align(data.len() as u64),
            data: SegmentData::share(data, sources),
        });
    }
    segments
}

/// Digests every segment but the elfcorehdr, builds the purgatory that
/// verifies them and jumps as `config` says, and puts it first; the
/// elfcorehdr goes last. The image's entry is the purgatory's.
fn seal(
    file: &str,
    mut segments: Vec<Segment>,
    purgatory_base: u64,
    config: &PurgatoryConfig,
    elfcorehdr: Option<CoreHeader>,
) -> Result<Image, BuildError> {
    // The elfcorehdr stays out of the digests: the kernel may rewrite it on
    // CPU or memory hotplug. It must be the only segment starting with ELF
    // magic, as the kernel finds it by that.
    if let Some(other) = elfcorehdr
        .as_ref()
        .and_then(|_| segments.iter().find(|s| s.data.starts_with(b"\x7fELF")))
    {
        return Err(BuildError::ElfMagic {
            file: file.into(),
            what: other.purpose.clone(),
        });
    }
    if !config.skip_checks {
        crate::arch::digests::take(&mut segments, super::purgatory::ALGORITHM);
    }
    let verified: Vec<&Segment> = segments.iter().collect();
    let blob = purgatory::image(purgatory_base, config, &verified).map_err(|count| {
        BuildError::TooManyDigests {
            file: file.into(),
            count,
            max: purgatory::MAX_REGIONS,
        }
    })?;
    if let Some(core) = elfcorehdr {
        segments.push(Segment {
            digest: None,
            purpose: format!("elfcorehdr for /proc/vmcore: {}", core.what),
            mem: core.at,
            memsz: core.memsz,
            data: core.bytes.into(),
        });
    }
    segments.insert(
        0,
        Segment {
            digest: None,
            purpose: "purgatory (verifies the other segments' XXH3-128)".into(),
            mem: purgatory_base,
            memsz: page_align(purgatory::memsz()),
            data: blob.into(),
        },
    );
    Ok(Image {
        segments,
        entry: purgatory::entry(purgatory_base),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::x86_64::bzimage64;
    use crate::testing::bzimage64_sample;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    fn system(ram: &[(u64, u64)]) -> System {
        let mut memmap: Vec<MemoryRegion> = ram
            .iter()
            .map(|&(s, e)| MemoryRegion {
                range: Range::new(s, e),
                kind: E820Type::Ram,
            })
            .collect();
        memmap.push(MemoryRegion {
            range: Range::new(0xfffc_0000, 0x1_0000_0000),
            kind: E820Type::Reserved,
        });
        memmap.sort_by_key(|r| r.range.start);
        System {
            memmap,
            boot_params: None,
            crash_regions: vec![],
            rng_seed: [7; 32],
            efi: Err("BIOS".into()),
            crash: Err("not a crash load".into()),
            framebuffer: None,
            crash_elfcorehdr_size: None,
        }
    }

    fn kernel() -> Vec<u8> {
        let mut k = bzimage64_sample();
        k.resize(2 * MIB as usize, 0x90);
        k
    }

    fn qemu_1536m() -> System {
        system(&[(0, 0x9fc00), (MIB, 0x5ffe_0000)])
    }

    #[test]
    fn lays_out_a_bios_machine() {
        let k = kernel();
        let initrd = vec![1u8; 3 * MIB as usize];
        let img = build(
            &bzimage64::describe("vmlinuz", &k, Some(&initrd), b"console=ttyS0").unwrap(),
            Target::Normal,
            &qemu_1536m(),
            &LoadOptions::default(),
        )
        .unwrap();
        let s = &img.segments;
        assert_eq!(s.len(), 4);
        assert!(s[0].purpose.starts_with("purgatory"));
        assert!(
            s[0].mem >= 0x3000 && s[0].mem + s[0].memsz <= 0x9f000,
            "purgatory goes below 1 MiB"
        );
        assert!(s[1].mem + s[1].memsz <= 0x9f000, "so does the zero page");
        assert_eq!(img.entry, purgatory::entry(s[0].mem));
        let kernel_seg = &s[2];
        assert_eq!(kernel_seg.mem % 0x20_0000, 0, "kernel_alignment");
        assert_eq!(kernel_seg.memsz, 0x2a0_0000, "init_size reserved");
        assert!(kernel_seg.mem + kernel_seg.memsz <= 0x5ffe_0000);
        let initrd_seg = &s[3];
        assert!(initrd_seg.mem >= 16 * MIB && initrd_seg.mem + initrd_seg.memsz <= kernel_seg.mem);
        // boot_params points at the command line and initrd.
        let zp = &s[1].data;
        let cmd = u32::from_le_bytes(zp[0x228..0x22c].try_into().unwrap()) as u64;
        assert_eq!(cmd, s[1].mem + 4096);
        assert_eq!(&zp[4096..4096 + 14], b"console=ttyS0\0");
        assert_eq!(
            u32::from_le_bytes(zp[0x218..0x21c].try_into().unwrap()) as u64,
            initrd_seg.mem
        );
        // Every segment checks out against the kernel's rules.
        for (i, a) in s.iter().enumerate() {
            assert_eq!(a.mem % PAGE_SIZE, 0);
            assert_eq!(a.memsz % PAGE_SIZE, 0);
            assert!(a.data.len() as u64 <= a.memsz);
            for b in &s[i + 1..] {
                assert!(
                    a.mem + a.memsz <= b.mem || b.mem + b.memsz <= a.mem,
                    "{a:?} overlaps {b:?}"
                );
            }
        }
        assert!(
            !s.iter().any(|seg| seg.data.starts_with(b"\x7fELF")),
            "only an elfcorehdr may start with ELF magic"
        );
    }

    #[test]
    fn initrd_goes_above_4g_when_the_kernel_allows_it() {
        let sys = system(&[(0, 0x9fc00), (MIB, 0xbfff_0000), (4 * GIB, 6 * GIB)]);
        let img = build(
            &bzimage64::describe("vmlinuz", &kernel(), Some(&[1u8; 4096]), b"").unwrap(),
            Target::Normal,
            &sys,
            &LoadOptions::default(),
        )
        .unwrap();
        assert!(img.segments[3].mem >= 4 * GIB, "{:#x}", img.segments[3].mem);
        let zp = &img.segments[1].data;
        assert_eq!(
            u32::from_le_bytes(zp[0xc0..0xc4].try_into().unwrap()),
            1,
            "ext_ramdisk_image"
        );
        // Without XLF_CAN_BE_LOADED_ABOVE_4G: below initrd_addr_max.
        let mut k = kernel();
        k[0x236] = 0x01;
        let img = build(
            &bzimage64::describe("vmlinuz", &k, Some(&[1u8; 4096]), b"").unwrap(),
            Target::Normal,
            &sys,
            &LoadOptions::default(),
        )
        .unwrap();
        assert!(img.segments[3].mem + 4096 <= 0x8000_0000);
    }

    #[test]
    fn without_low_memory_the_small_segments_go_above_1m() {
        let sys = system(&[(MIB, 0x5ffe_0000)]);
        let img = build(
            &bzimage64::describe("vmlinuz", &kernel(), None, b"").unwrap(),
            Target::Normal,
            &sys,
            &LoadOptions::default(),
        )
        .unwrap();
        assert_eq!(img.segments[0].mem, MIB);
    }

    #[test]
    fn mem_max_and_crash_regions_bound_the_layout() {
        let mut sys = qemu_1536m();
        sys.crash_regions = vec![Range::new(0x4b00_0000, 0x5b00_0000)];
        let img = build(
            &bzimage64::describe("vmlinuz", &kernel(), None, b"").unwrap(),
            Target::Normal,
            &sys,
            &LoadOptions {
                mem_max: GIB - 1,
                ..LoadOptions::default()
            },
        )
        .unwrap();
        for s in img
            .segments
            .iter()
            .filter(|s| !s.purpose.contains("PT_LOAD"))
        {
            assert!(s.mem + s.memsz <= GIB);
            assert!(s.mem + s.memsz <= 0x4b00_0000 || s.mem >= 0x5b00_0000);
        }
        let err = build(
            &bzimage64::describe("vmlinuz", &kernel(), None, b"").unwrap(),
            Target::Normal,
            &sys,
            &LoadOptions {
                mem_max: 40 * MIB,
                ..LoadOptions::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("no room for the kernel"), "{err}");
    }

    #[test]
    fn more_than_128_e820_entries_go_to_setup_e820_ext() {
        let ranges: Vec<(u64, u64)> = (0..150)
            .map(|i| (GIB + i * 4 * MIB, GIB + i * 4 * MIB + 2 * MIB))
            .chain([(MIB, 512 * MIB)])
            .collect();
        let sys = system(&ranges);
        let img = build(
            &bzimage64::describe("vmlinuz", &kernel(), None, b"x").unwrap(),
            Target::Normal,
            &sys,
            &LoadOptions::default(),
        )
        .unwrap();
        let zp = &img.segments[1];
        assert_eq!(zp.data[0x1e8], 128);
        // setup_data list: RNG seed node -> E820_EXT node with the rest.
        let first = u64::from_le_bytes(zp.data[0x250..0x258].try_into().unwrap());
        let off = (first - zp.mem) as usize;
        assert_eq!(
            u32::from_le_bytes(zp.data[off + 8..off + 12].try_into().unwrap()),
            SETUP_RNG_SEED
        );
        let next = u64::from_le_bytes(zp.data[off..off + 8].try_into().unwrap());
        let off = (next - zp.mem) as usize;
        assert_eq!(
            u32::from_le_bytes(zp.data[off + 8..off + 12].try_into().unwrap()),
            SETUP_E820_EXT
        );
        let len = u32::from_le_bytes(zp.data[off + 12..off + 16].try_into().unwrap()) as usize;
        assert_eq!(len, (sys.memmap.len() - 128) * 20);
    }

    #[test]
    fn uefi_hands_over_efi_info_the_runtime_map_and_setup_efi() {
        let (host, bp) = crate::arch::x86_64::efi::tests::efi_host();
        let mut sys = qemu_1536m();
        sys.efi = EfiHandover::gather(&host, Some(&bp));
        sys.boot_params = Some(bp);
        let img = build(
            &bzimage64::describe("vmlinuz", &kernel(), None, b"x").unwrap(),
            Target::Normal,
            &sys,
            &LoadOptions::default(),
        )
        .unwrap();
        let zp = &img.segments[1];
        let u32_at = |at: usize| u32::from_le_bytes(zp.data[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(zp.data[at..at + 8].try_into().unwrap());
        assert_eq!(&zp.data[0x1c0..0x1c4], b"EL64");
        assert_eq!(u32_at(0x1c8), 40, "efi_memdesc_size of our copy");
        assert_eq!(u32_at(0x1d4), 80, "two runtime descriptors");
        let map = ((u32_at(0x1d0) as u64 | (u32_at(0x1dc) as u64) << 32) - zp.mem) as usize;
        assert_eq!(u32_at(map + 40), 6);
        let first = (u64_at(0x250) - zp.mem) as usize;
        let second = (u64_at(first) - zp.mem) as usize;
        assert_eq!(u32_at(second + 8), SETUP_EFI);
        assert_eq!(
            u64_at(0x70),
            0x7fb7_e014,
            "acpi_rsdp_addr from the EFI systab"
        );
        // --noefi leaves efi_info empty.
        let no_efi = LoadOptions {
            x86_64: crate::arch::x86_64::Options {
                no_efi: true,
                ..Default::default()
            },
            ..LoadOptions::default()
        };
        let img = build(
            &bzimage64::describe("vmlinuz", &kernel(), None, b"x").unwrap(),
            Target::Normal,
            &sys,
            &no_efi,
        )
        .unwrap();
        assert!(img.segments[1].data[0x1c0..0x1e0].iter().all(|&b| b == 0));
    }

    #[test]
    fn an_elf_vmlinux_keeps_its_physical_addresses() {
        let header = crate::arch::x86_64::elf64::synthetic_setup_header();
        let data = vec![0x90u8; 0x10_0000];
        let boot = LinuxBoot {
            file: "vmlinux",
            setup_header: &header,
            kernel: Kernel::Fixed {
                pieces: vec![(0x100_0000, &data, 0x300_0000)],
                entry: 0x100_0000,
            },
            args: BootArgs::Linux,
            initrd: Some(&[1u8; 8192]),
            cmdline: b"x",
        };
        let img = build(
            &boot,
            Target::Normal,
            &qemu_1536m(),
            &LoadOptions::default(),
        )
        .unwrap();
        let kernel = img
            .segments
            .iter()
            .find(|s| s.purpose.contains("PT_LOAD"))
            .unwrap();
        assert_eq!((kernel.mem, kernel.memsz), (0x100_0000, 0x300_0000));
        for s in img
            .segments
            .iter()
            .filter(|s| !s.purpose.contains("PT_LOAD"))
        {
            assert!(
                s.mem + s.memsz <= 0x100_0000 || s.mem >= 0x400_0000,
                "{} overlaps the vmlinux",
                s.purpose
            );
        }
        // Outside RAM: named.
        let boot = LinuxBoot {
            kernel: Kernel::Fixed {
                pieces: vec![(0x7000_0000, &data, 0x1000)],
                entry: 0x7000_0000,
            },
            ..boot
        };
        let err = build(
            &boot,
            Target::Normal,
            &qemu_1536m(),
            &LoadOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("PT_LOAD segment 0"), "{err}");
    }

    fn crash_system() -> System {
        let mut sys = qemu_1536m();
        sys.crash_regions = vec![Range::new(0x4b00_0000, 0x5b00_0000)];
        sys.crash = CrashInfo::gather(&crate::arch::x86_64::crash::tests::crash_host(), false);
        sys
    }

    #[test]
    fn a_crash_kernel_lives_in_the_crash_region_with_its_elfcorehdr() {
        let sys = crash_system();
        let region = sys.crash_regions[0];
        let k = kernel();
        let boot = bzimage64::describe("vmlinuz", &k, Some(&[1u8; 8192]), b"irqpoll").unwrap();
        let img = build(&boot, Target::Crash, &sys, &LoadOptions::default()).unwrap();
        assert!(region.start < img.entry && img.entry < region.end);
        for s in &img.segments {
            assert!(
                s.mem >= region.start + layout::CRASH_CONTROL_RESERVE
                    && s.mem + s.memsz <= region.end,
                "{} at {:#x}",
                s.purpose,
                s.mem
            );
        }
        let elf: Vec<&Segment> = img
            .segments
            .iter()
            .filter(|s| s.data.starts_with(b"\x7fELF"))
            .collect();
        assert_eq!(elf.len(), 1, "exactly one segment starts with ELF magic");
        assert!(elf[0].purpose.starts_with("elfcorehdr"));
        let zp = &img
            .segments
            .iter()
            .find(|s| s.purpose.starts_with("zero page"))
            .unwrap()
            .data;
        let cmdline = String::from_utf8_lossy(
            &zp[4096..zp[4096..].iter().position(|&b| b == 0).unwrap() + 4096],
        )
        .to_string();
        assert_eq!(cmdline, format!("irqpoll elfcorehdr={:#x}", elf[0].mem));
        // Bytes that are not UTF-8 reach the zero page as they are.
        let bytes = bzimage64::describe("vmlinuz", &k, None, b"x=\xff\xfe").unwrap();
        let bytes_img = build(&bytes, Target::Crash, &sys, &LoadOptions::default()).unwrap();
        let bytes_zp = &bytes_img
            .segments
            .iter()
            .find(|s| s.purpose.starts_with("zero page"))
            .unwrap()
            .data;
        assert!(
            bytes_zp[4096..].starts_with(b"x=\xff\xfe elfcorehdr=0x"),
            "{:?}",
            &bytes_zp[4096..4120]
        );
        // A NUL inside would cut the line short: refused, at its position.
        let nul = bzimage64::describe("vmlinuz", &k, None, b"ro\0x").unwrap();
        let err = build(&nul, Target::Crash, &sys, &LoadOptions::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("NUL byte at position 2 (of 4 bytes)"),
            "{err}"
        );
        // The capture kernel's e820: RAM only below 1 MiB and inside the region.
        let entries = zp[0x1e8] as usize;
        for i in 0..entries {
            let e = &zp[0x2d0 + i * 20..0x2d0 + (i + 1) * 20];
            let (addr, size, kind) = (
                u64::from_le_bytes(e[0..8].try_into().unwrap()),
                u64::from_le_bytes(e[8..16].try_into().unwrap()),
                u32::from_le_bytes(e[16..20].try_into().unwrap()),
            );
            if kind == 1 {
                assert!(
                    addr + size <= 0x10_0000 || (addr >= region.start && addr + size <= region.end),
                    "RAM {addr:#x}+{size:#x}"
                );
            }
        }
        // The purgatory's digests leave the elfcorehdr out.
        let purgatory = &img.segments[0];
        let digest = crate::arch::x86_64::purgatory::segment_digest(elf[0]);
        assert!(!purgatory.data.windows(32).any(|w| w == digest));
    }

    /// --hotplug: the elfcorehdr segment is crash_elfcorehdr_size large
    /// (page aligned), its bytes as without it, still out of the digests
    /// and the only segment with ELF magic; the capture kernel's e820 keeps
    /// the whole segment out of its RAM.
    #[test]
    fn hotplug_sizes_the_elfcorehdr_from_the_kernels_size() {
        let mut sys = crash_system();
        sys.crash_elfcorehdr_size = Some(147_584); // 0x24080: two pages more than 0x23000
        let k = kernel();
        let boot = bzimage64::describe("vmlinuz", &k, None, b"irqpoll").unwrap();
        let plain = build(&boot, Target::Crash, &sys, &LoadOptions::default()).unwrap();
        let hotplug_options = LoadOptions {
            hotplug: true,
            ..LoadOptions::default()
        };
        let hot = build(&boot, Target::Crash, &sys, &hotplug_options).unwrap();
        let core = |img: &Image| -> Segment {
            let elf: Vec<&Segment> = img
                .segments
                .iter()
                .filter(|s| s.data.starts_with(b"\x7fELF"))
                .collect();
            assert_eq!(elf.len(), 1, "one segment with ELF magic");
            elf[0].clone()
        };
        let (before, after) = (core(&plain), core(&hot));
        assert_eq!(before.memsz, 0x1000);
        assert_eq!(after.memsz, 0x25000, "147584 bytes, page aligned");
        assert_eq!(&before.data[..], &after.data[..], "the same header");
        assert_eq!(after.digest, None);
        assert!(
            after.purpose.contains("--hotplug: memsz 0x25000")
                && after
                    .purpose
                    .contains("/sys/kernel/crash_elfcorehdr_size (147584 bytes"),
            "{}",
            after.purpose
        );
        let digest = crate::arch::x86_64::purgatory::segment_digest(&after);
        assert!(!hot.segments[0].data.windows(32).any(|w| w == digest));
        // Nothing else lands in the enlarged segment, and the capture
        // kernel is not given it as RAM.
        let end = after.mem + after.memsz;
        for s in hot.segments.iter().filter(|s| s.mem != after.mem) {
            assert!(
                s.mem + s.memsz <= after.mem || s.mem >= end,
                "{}",
                s.purpose
            );
        }
        let zp = &hot
            .segments
            .iter()
            .find(|s| s.purpose.starts_with("zero page"))
            .unwrap()
            .data;
        for i in 0..zp[0x1e8] as usize {
            let e = &zp[0x2d0 + i * 20..0x2d0 + (i + 1) * 20];
            let addr = u64::from_le_bytes(e[0..8].try_into().unwrap());
            let size = u64::from_le_bytes(e[8..16].try_into().unwrap());
            let kind = u32::from_le_bytes(e[16..20].try_into().unwrap());
            if kind == 1 {
                assert!(
                    addr + size <= after.mem || addr >= end,
                    "RAM {addr:#x}+{size:#x}"
                );
            }
        }
        // A size smaller than the header built keeps the header's size.
        sys.crash_elfcorehdr_size = Some(64);
        let small = build(&boot, Target::Crash, &sys, &hotplug_options).unwrap();
        assert_eq!(core(&small).memsz, 0x1000);
        // No size from the kernel: named, not guessed.
        sys.crash_elfcorehdr_size = None;
        let err = build(&boot, Target::Crash, &sys, &hotplug_options).unwrap_err();
        assert_eq!(
            err,
            BuildError::NoHotplugSize {
                file: "vmlinuz".into()
            }
        );
        // A normal load has no elfcorehdr: --hotplug changes nothing.
        let normal = build(&boot, Target::Normal, &qemu_1536m(), &hotplug_options).unwrap();
        assert!(!normal
            .segments
            .iter()
            .any(|s| s.data.starts_with(b"\x7fELF")));
    }

    #[test]
    fn a_crash_kernel_too_big_for_the_region_names_it() {
        let sys = crash_system();
        let initrd = vec![0u8; 300 << 20];
        let k = kernel();
        let boot = bzimage64::describe("vmlinuz", &k, Some(&initrd), b"").unwrap();
        let err = build(&boot, Target::Crash, &sys, &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Crash kernel region [0x4b000000-0x5affffff] of 256 MiB")
                && err.contains("initrd (300 MiB)"),
            "{err}"
        );
        let mut none = sys.clone();
        none.crash_regions.clear();
        let err = build(&boot, Target::Crash, &none, &LoadOptions::default()).unwrap_err();
        assert_eq!(err, BuildError::NoCrashRegion);
    }

    #[test]
    fn header_problems_name_the_field() {
        let mut k = kernel();
        k[0x234] = 0;
        let err = bzimage64::describe("vmlinuz", &k, None, b"").err().unwrap();
        assert!(err.to_string().contains("relocatable_kernel"), "{err}");
        let err = build(
            &bzimage64::describe("vmlinuz", &kernel(), None, "a".repeat(2047).as_bytes()).unwrap(),
            Target::Normal,
            &qemu_1536m(),
            &LoadOptions::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("2048 bytes") && err.to_string().contains("2047"),
            "{err}"
        );
    }

    /// One line per segment (mem, memsz, bufsz, sha256 of the data,
    /// purpose) and the entry: what `build` produced before it was split
    /// into named steps. Any change to placement or bytes shows here.
    fn fingerprint(img: &Image) -> String {
        use sha2::{Digest, Sha256};
        let mut out = String::new();
        for s in &img.segments {
            let sha: String = Sha256::digest(&s.data[..])
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            out += &format!(
                "{:#x} {:#x} {:#x} {} {}\n",
                s.mem,
                s.memsz,
                s.data.len(),
                &sha[..16],
                s.purpose
            );
        }
        out + &format!("entry {:#x}\n", img.entry)
    }

    fn golden_images() -> Vec<(&'static str, String)> {
        let k = kernel();
        let initrd = vec![1u8; 3 * MIB as usize];
        let mut out = Vec::new();
        let normal = bzimage64::describe("vmlinuz", &k, Some(&initrd), b"console=ttyS0").unwrap();
        let img = build(
            &normal,
            Target::Normal,
            &qemu_1536m(),
            &LoadOptions::default(),
        );
        out.push(("bzimage normal with initrd", fingerprint(&img.unwrap())));
        let crash = bzimage64::describe("vmlinuz", &k, Some(&[1u8; 8192]), b"irqpoll").unwrap();
        let img = build(
            &crash,
            Target::Crash,
            &crash_system(),
            &LoadOptions::default(),
        );
        out.push(("bzimage crash", fingerprint(&img.unwrap())));
        let memmap_cmdline = LoadOptions {
            x86_64: crate::arch::x86_64::Options {
                pass_memmap_cmdline: true,
                ..Default::default()
            },
            ..LoadOptions::default()
        };
        let img = build(&crash, Target::Crash, &crash_system(), &memmap_cmdline);
        out.push((
            "bzimage crash --pass-memmap-cmdline",
            fingerprint(&img.unwrap()),
        ));
        let header = crate::arch::x86_64::elf64::synthetic_setup_header();
        let data = vec![0x90u8; 0x10_0000];
        let small = vec![0x55u8; 0x1800];
        let vmlinux = LinuxBoot {
            file: "vmlinux",
            setup_header: &header,
            kernel: Kernel::Fixed {
                pieces: vec![
                    (0x100_0000, &data, 0x300_0000),
                    (0x400_0000, &small, 0x2000),
                ],
                entry: 0x100_0000,
            },
            args: BootArgs::Linux,
            initrd: Some(&[1u8; 8192]),
            cmdline: b"x",
        };
        let img = build(
            &vmlinux,
            Target::Normal,
            &qemu_1536m(),
            &LoadOptions::default(),
        );
        out.push(("elf vmlinux", fingerprint(&img.unwrap())));
        let mut bounded = qemu_1536m();
        bounded.crash_regions = vec![Range::new(0x4b00_0000, 0x5b00_0000)];
        let mem_bounds = LoadOptions {
            mem_min: 0x80_0000,
            mem_max: GIB - 1,
            ..LoadOptions::default()
        };
        let img = build(&normal, Target::Normal, &bounded, &mem_bounds);
        out.push(("--mem-min/--mem-max", fingerprint(&img.unwrap())));
        let (host, bp) = crate::arch::x86_64::efi::tests::efi_host();
        let mut uefi = qemu_1536m();
        uefi.efi = EfiHandover::gather(&host, Some(&bp));
        uefi.boot_params = Some(bp);
        let img = build(&normal, Target::Normal, &uefi, &LoadOptions::default());
        out.push(("efi handover", fingerprint(&img.unwrap())));
        let none = LinuxBoot {
            args: BootArgs::None,
            ..bzimage64::describe("vmlinuz", &k, None, b"").unwrap()
        };
        let img = build(
            &none,
            Target::Normal,
            &qemu_1536m(),
            &LoadOptions::default(),
        );
        out.push(("--args-none", fingerprint(&img.unwrap())));
        let mut drm = qemu_1536m();
        drm.framebuffer = Some("simpledrm".into());
        let img = build(&normal, Target::Normal, &drm, &LoadOptions::default());
        out.push(("drm framebuffer", fingerprint(&img.unwrap())));
        let reuse = LoadOptions {
            x86_64: crate::arch::x86_64::Options {
                reuse_video_type: true,
                ..Default::default()
            },
            ..LoadOptions::default()
        };
        let img = build(&normal, Target::Normal, &drm, &reuse);
        out.push((
            "drm framebuffer --reuse-video-type",
            fingerprint(&img.unwrap()),
        ));
        out
    }

    const GOLDEN: &[(&str, &str)] = &[
        (
            "bzimage normal with initrd",
            "0x94000 0xb000 0x6d40 03e8353862cf10f4 purgatory (verifies the other segments' XXH3-128)\n0x92000 0x2000 0x1040 31fed1d99a189206 zero page (boot_params), command line, setup_data\n0x5d400000 0x2a00000 0x1fc800 e53c339d918d5fad kernel vmlinuz (protected-mode part, init_size reserved; entered through its decompressor)\n0x5d100000 0x300000 0x300000 54db9accc63fb6de initrd\nentry 0x956a0\n",
        ),
        (
            "bzimage crash",
            "0x4b200000 0xb000 0x6d40 d4d899e3d25cdade purgatory (verifies the other segments' XXH3-128)\n0x4b20c000 0x2000 0x1050 7bcaae641dc48d72 zero page (boot_params), command line, setup_data\n0x58600000 0x2a00000 0x1fc800 e53c339d918d5fad kernel vmlinuz (protected-mode part, init_size reserved; entered through its decompressor)\n0x585fe000 0x2000 0x2000 6ba042a6672c6427 initrd\n0x4b20b000 0x1000 0x190 5ce686f3f2299d33 elfcorehdr for /proc/vmcore: 2 CPU notes, vmcoreinfo at 0x3f12a000, kernel text 0xffffffff9a000000 at 0x1000000 (0x2800000), 2 RAM ranges, direct map at 0xffff888000000000\nentry 0x4b2016a0\n",
        ),
        (
            "bzimage crash --pass-memmap-cmdline",
            "0x4b200000 0xb000 0x6d40 0beaaafe417a8899 purgatory (verifies the other segments' XXH3-128)\n0x4b20c000 0x2000 0x10a0 c74512aa0c9727ea zero page (boot_params), command line, setup_data\n0x58600000 0x2a00000 0x1fc800 e53c339d918d5fad kernel vmlinuz (protected-mode part, init_size reserved; entered through its decompressor)\n0x585fe000 0x2000 0x2000 6ba042a6672c6427 initrd\n0x4b20b000 0x1000 0x190 5ce686f3f2299d33 elfcorehdr for /proc/vmcore: 2 CPU notes, vmcoreinfo at 0x3f12a000, kernel text 0xffffffff9a000000 at 0x1000000 (0x2800000), 2 RAM ranges, direct map at 0xffff888000000000\nentry 0x4b2016a0\n",
        ),
        (
            "elf vmlinux",
            "0x94000 0xb000 0x6d40 f429340561cc1d77 purgatory (verifies the other segments' XXH3-128)\n0x92000 0x2000 0x1040 8184cf4d62a04dc9 zero page (boot_params), command line, setup_data\n0x1000000 0x3000000 0x100000 a91f61dbd06f81ea kernel vmlinux (PT_LOAD 0)\n0x4000000 0x2000 0x1800 60bd3b3864840f29 kernel vmlinux (PT_LOAD 1)\n0x5ffde000 0x2000 0x2000 6ba042a6672c6427 initrd\nentry 0x956a0\n",
        ),
        (
            "--mem-min/--mem-max",
            "0x800000 0xb000 0x6d40 8457a56e05d7f363 purgatory (verifies the other segments' XXH3-128)\n0x80b000 0x2000 0x1040 7b43d646a79f69d3 zero page (boot_params), command line, setup_data\n0x3d600000 0x2a00000 0x1fc800 e53c339d918d5fad kernel vmlinuz (protected-mode part, init_size reserved; entered through its decompressor)\n0x3d300000 0x300000 0x300000 54db9accc63fb6de initrd\nentry 0x8016a0\n",
        ),
        (
            "efi handover",
            "0x94000 0xb000 0x6d40 489923f3db11e3d3 purgatory (verifies the other segments' XXH3-128)\n0x92000 0x2000 0x1100 878b2c5d743a0fce zero page (boot_params), command line, setup_data\n0x5d400000 0x2a00000 0x1fc800 e53c339d918d5fad kernel vmlinuz (protected-mode part, init_size reserved; entered through its decompressor)\n0x5d100000 0x300000 0x300000 54db9accc63fb6de initrd\nentry 0x956a0\n",
        ),
        (
            "--args-none",
            "0x94000 0xb000 0x6d40 ac622377daf535fb purgatory (verifies the other segments' XXH3-128)\n0x92000 0x2000 0x1040 86d5f3aea31d4cca zero page (boot_params), command line, setup_data\n0x5d400000 0x2a00000 0x1fc800 e53c339d918d5fad kernel vmlinuz (protected-mode part, init_size reserved; entered through its decompressor)\nentry 0x956a0\n",
        ),
        (
            "drm framebuffer",
            "0x94000 0xb000 0x6d40 3d51591f874154dc purgatory (verifies the other segments' XXH3-128)\n0x92000 0x2000 0x1040 4aac7cbe0907b380 zero page (boot_params), command line, setup_data; no boot framebuffer: /dev/fb0 is simpledrm, a driver the next kernel must start itself (--reuse-video-type keeps this boot's video type)\n0x5d400000 0x2a00000 0x1fc800 e53c339d918d5fad kernel vmlinuz (protected-mode part, init_size reserved; entered through its decompressor)\n0x5d100000 0x300000 0x300000 54db9accc63fb6de initrd\nentry 0x956a0\n",
        ),
        (
            "drm framebuffer --reuse-video-type",
            "0x94000 0xb000 0x6d40 03e8353862cf10f4 purgatory (verifies the other segments' XXH3-128)\n0x92000 0x2000 0x1040 31fed1d99a189206 zero page (boot_params), command line, setup_data\n0x5d400000 0x2a00000 0x1fc800 e53c339d918d5fad kernel vmlinuz (protected-mode part, init_size reserved; entered through its decompressor)\n0x5d100000 0x300000 0x300000 54db9accc63fb6de initrd\nentry 0x956a0\n",
        ),
    ];

    #[test]
    fn layouts_match_the_golden_record() {
        let got = golden_images();
        if std::env::var_os("KEXEC_PRINT_GOLDEN").is_some() {
            for (name, print) in &got {
                println!("        (\n            {name:?},\n            {print:?},\n        ),");
            }
        }
        assert_eq!(got.len(), GOLDEN.len());
        for ((name, print), (want_name, want)) in got.iter().zip(GOLDEN) {
            assert_eq!(name, want_name);
            assert_eq!(print, want, "{name}");
        }
    }

    fn pairs(r: &Ranges) -> Vec<(u64, u64)> {
        r.iter().map(|r| (r.start, r.end)).collect()
    }

    fn header() -> SetupHeader {
        SetupHeader::read(&kernel()).unwrap()
    }

    #[test]
    fn free_ram_is_ram_within_mem_bounds_and_outside_crash_regions() {
        let mut sys = qemu_1536m();
        sys.crash_regions = vec![Range::new(0x4b00_0000, 0x5b00_0000)];
        let all = free_ram(&sys, None, &LoadOptions::default());
        assert_eq!(
            pairs(&all),
            [(0, 0x9fc00), (MIB, 0x4b00_0000), (0x5b00_0000, 0x5ffe_0000)]
        );
        // --mem-max is inclusive: its own byte is usable.
        let bounded = LoadOptions {
            mem_min: 0x2000,
            mem_max: 0x1fff_ffff,
            ..LoadOptions::default()
        };
        assert_eq!(
            pairs(&free_ram(&sys, None, &bounded)),
            [(0x2000, 0x9fc00), (MIB, 0x2000_0000)]
        );
    }

    #[test]
    fn crash_free_ram_is_the_region_less_its_control_pages() {
        let mut sys = qemu_1536m();
        let region = Range::new(0x4b00_0000, 0x5b00_0000);
        sys.crash_regions = vec![Range::new(0x1000_0000, 0x1100_0000), region];
        assert_eq!(crash_region(&sys), Ok(region), "the highest region");
        let free = free_ram(&sys, Some(region), &LoadOptions::default());
        assert_eq!(pairs(&free), [(0x4b20_0000, 0x5b00_0000)]);
        sys.crash_regions.clear();
        assert_eq!(crash_region(&sys), Err(BuildError::NoCrashRegion));
    }

    fn placer(free: &[(u64, u64)]) -> Placer {
        Placer {
            file: "vmlinux".into(),
            free: Ranges::new(free.iter().map(|&(s, e)| Range::new(s, e))),
            placed: Vec::new(),
            crash_region: None,
            placed_names: Vec::new(),
        }
    }

    #[test]
    fn fixed_pieces_take_whole_pages_of_free_ram_or_are_named() {
        let data = [0u8; 16];
        let mut p = placer(&[(MIB, 64 * MIB)]);
        let kernel = Kernel::Fixed {
            pieces: vec![(16 * MIB, &data, 0x1001), (32 * MIB, &data, 0)],
            entry: 16 * MIB,
        };
        reserve_fixed_pieces(&mut p, "vmlinux", &kernel).unwrap();
        assert_eq!(
            pairs(&p.free),
            [(MIB, 16 * MIB), (16 * MIB + 0x2000, 64 * MIB)],
            "memsz rounded up to pages; an empty piece takes nothing"
        );
        let cases: &[(&str, u64, u64, &str)] = &[
            (
                "past the end",
                64 * MIB - 0x1000,
                0x2000,
                "0x3fff000-0x4000fff",
            ),
            (
                "overflowing",
                u64::MAX - 0xfff,
                0x2000,
                "0xfffffffffffff000-0xfffffffffffffffe",
            ),
            ("on a taken piece", 16 * MIB, 1, "0x1000000-0x1000fff"),
        ];
        for (name, at, memsz, range) in cases {
            let kernel = Kernel::Fixed {
                pieces: vec![(*at, &data, *memsz)],
                entry: 0,
            };
            let err = reserve_fixed_pieces(&mut p, "vmlinux", &kernel).unwrap_err();
            assert_eq!(
                err,
                BuildError::FixedOutsideRam {
                    file: "vmlinux".into(),
                    what: "PT_LOAD segment 0".into(),
                    range: range.to_string(),
                },
                "{name}"
            );
        }
        let relocatable = Kernel::Relocatable {
            data: &data,
            memsz: 0x1000,
            align: 0x1000,
            min: 0,
            entry_offset: 0,
            entered: Entered::Decompressor,
        };
        let before = p.free.clone();
        reserve_fixed_pieces(&mut p, "vmlinux", &relocatable).unwrap();
        assert_eq!(p.free, before, "a relocatable kernel has no fixed pieces");
    }

    #[test]
    fn the_final_cmdline_adds_elfcorehdr_and_memmap_and_fits_cmdline_size() {
        let k = kernel();
        let boot = bzimage64::describe("vmlinuz", &k, None, b"irqpoll").unwrap();
        let memmap = qemu_1536m().memmap;
        let plain = final_cmdline(&boot, &header(), None, &memmap, &LoadOptions::default());
        assert_eq!(plain.unwrap(), b"irqpoll");
        let core = CoreHeader {
            at: 0x4b20_d000,
            bytes: vec![],
            memsz: 0x1000,
            what: String::new(),
        };
        let crash = final_cmdline(
            &boot,
            &header(),
            Some(&core),
            &memmap,
            &LoadOptions::default(),
        );
        assert_eq!(crash.unwrap(), b"irqpoll elfcorehdr=0x4b20d000");
        let with_memmap = LoadOptions {
            x86_64: crate::arch::x86_64::Options {
                pass_memmap_cmdline: true,
                ..Default::default()
            },
            ..LoadOptions::default()
        };
        let line = final_cmdline(&boot, &header(), Some(&core), &memmap, &with_memmap).unwrap();
        let want = format!(
            "irqpoll elfcorehdr=0x4b20d000 {}",
            crash::memmap_cmdline(&memmap)
        );
        assert_eq!(String::from_utf8(line).unwrap(), want);
        // memmap= words only for a capture kernel.
        let normal = final_cmdline(&boot, &header(), None, &memmap, &with_memmap);
        assert_eq!(normal.unwrap(), b"irqpoll");
        // cmdline_size counts the NUL: exactly full fits, one more does not.
        let mut small = header();
        small.cmdline_size = 8;
        assert!(final_cmdline(&boot, &small, None, &memmap, &LoadOptions::default()).is_ok());
        small.cmdline_size = 7;
        assert_eq!(
            final_cmdline(&boot, &small, None, &memmap, &LoadOptions::default()),
            Err(BuildError::CmdlineTooLong {
                file: "vmlinuz".into(),
                len: 8,
                max: 7
            })
        );
    }

    #[test]
    fn the_zero_page_layout_chains_setup_data_after_the_cmdline() {
        let sys = qemu_1536m();
        let layout = ParamsLayout::new(14, &sys, None, &sys.memmap);
        assert_eq!(layout.cmdline_at, 4096);
        assert_eq!(layout.node_at, [4096 + 16], "16-byte aligned after the NUL");
        assert_eq!(layout.len, 4096 + 16 + 16 + 32);
        let params = layout.fill(vec![0; 4096], 0x9_0000, b"console=ttyS0", None);
        assert_eq!(params.len(), layout.len);
        assert_eq!(&params[4096..4110], b"console=ttyS0\0");
        let node = &params[4112..];
        assert_eq!(&node[..8], &[0; 8], "the last node links to nothing");
        assert_eq!(
            u32::from_le_bytes(node[8..12].try_into().unwrap()),
            SETUP_RNG_SEED
        );
        assert_eq!(&node[16..], &[7; 32]);

        let (host, bp) = crate::arch::x86_64::efi::tests::efi_host();
        let efi = EfiHandover::gather(&host, Some(&bp)).unwrap();
        let layout = ParamsLayout::new(16, &sys, Some(&efi), &sys.memmap);
        let efi_node = efi.setup_data().len();
        assert_eq!(layout.node_at, [4096 + 16, 4096 + 16 + 48]);
        assert_eq!(layout.efi_map_at, align_to(4096 + 64 + 16 + efi_node, 16));
        assert_eq!(layout.len, layout.efi_map_at + efi.runtime_map.len());
        let params = layout.fill(vec![0; 4096], 0x9_0000, b"fifteen bytes..", Some(&efi));
        assert_eq!(params.len(), layout.len);
        assert_eq!(
            u64::from_le_bytes(params[4112..4120].try_into().unwrap()),
            0x9_0000 + 4096 + 64,
            "the RNG seed links to the EFI node by physical address"
        );
        assert_eq!(&params[layout.efi_map_at..], &efi.runtime_map[..]);
    }

    #[test]
    fn kernel_and_initrd_respect_the_4g_flags() {
        let data = [0u8; 16];
        let kernel = Kernel::Relocatable {
            data: &data,
            memsz: 0x30_0000,
            align: 0x20_0000,
            min: MIB,
            entry_offset: 0x200,
            entered: Entered::Decompressor,
        };
        let mut above = header();
        above.xloadflags |= XLF_CAN_BE_LOADED_ABOVE_4G;
        let mut below = header();
        below.xloadflags &= !XLF_CAN_BE_LOADED_ABOVE_4G;
        below.initrd_addr_max = 0x7fff_ffff;
        let ram = [(MIB, 3 * GIB), (4 * GIB, 5 * GIB)];

        let mut p = placer(&ram);
        let (pieces, entry) = place_kernel(&mut p, &kernel, &above).unwrap();
        assert_eq!(pieces, [(5 * GIB - 0x40_0000, &data[..], 0x30_0000)]);
        assert_eq!(entry, 5 * GIB - 0x40_0000 + 0x200);
        let at = place_initrd(&mut p, Some(&[1; 5000]), &above).unwrap();
        assert_eq!(
            at,
            Some(5 * GIB - 0x2000),
            "above the kernel's alignment gap"
        );

        let mut p = placer(&ram);
        let (pieces, _) = place_kernel(&mut p, &kernel, &below).unwrap();
        assert_eq!(pieces[0].0, 3 * GIB - 0x40_0000, "aligned, below 4 GiB");
        let at = place_initrd(&mut p, Some(&[1; 5000]), &below).unwrap();
        assert_eq!(at, Some(0x8000_0000 - 0x2000), "ends at initrd_addr_max");
        assert_eq!(place_initrd(&mut p, None, &below), Ok(None));
        let mut high = placer(&[(4 * GIB, 5 * GIB)]);
        let err = place_initrd(&mut high, Some(&[1; 5000]), &below).unwrap_err();
        assert!(err.to_string().contains("no room for the initrd"), "{err}");
        // Fixed pieces are passed through.
        let fixed = Kernel::Fixed {
            pieces: vec![(16 * MIB, &data, 0x1000)],
            entry: 16 * MIB + 4,
        };
        let (pieces, entry) = place_kernel(&mut placer(&ram), &fixed, &below).unwrap();
        assert_eq!(
            (pieces, entry),
            (vec![(16 * MIB, &data[..], 0x1000)], 16 * MIB + 4)
        );
    }

    #[test]
    fn a_decompressed_kernel_takes_a_random_aligned_slot_or_with_nokaslr_its_default() {
        let data = [0u8; 16];
        let decompressed = |random| Kernel::Relocatable {
            data: &data,
            memsz: 0x30_0000,
            align: 0x20_0000,
            min: 16 * MIB,
            entry_offset: 0x40,
            entered: Entered::Decompressed {
                random,
                virt_offset: 0,
            },
        };
        let mut h = header();
        h.xloadflags |= XLF_CAN_BE_LOADED_ABOVE_4G;
        // RAM [1M, 64M) and [128M, 132M): 2 MiB starts from 16M with 3 MiB
        // room: 16..=60 (23 of them) and 128 (one).
        let ram = [(MIB, 64 * MIB), (128 * MIB, 132 * MIB)];
        let mut seen = std::collections::BTreeSet::new();
        for r in 0..24u64 {
            let mut p = placer(&ram);
            let (pieces, entry) = place_kernel(&mut p, &decompressed(Some(r)), &h).unwrap();
            let at = pieces[0].0;
            assert_eq!(at % 0x20_0000, 0, "{at:#x}");
            assert!(at >= 16 * MIB, "{at:#x}");
            assert_eq!(entry, at + 0x40);
            assert!(
                !p.free.contains(&Range::new(at, at + 0x30_0000)),
                "taken out of free RAM"
            );
            seen.insert(at);
        }
        assert_eq!(seen.len(), 24, "every slot is reachable: {seen:x?}");
        assert!(seen.contains(&(128 * MIB)) && seen.contains(&(60 * MIB)));
        // nokaslr: LOAD_PHYSICAL_ADDR itself when free.
        let (pieces, entry) = place_kernel(&mut placer(&ram), &decompressed(None), &h).unwrap();
        assert_eq!((pieces[0].0, entry), (16 * MIB, 16 * MIB + 0x40));
        // Nothing fits: the placer's error, naming the kernel.
        let e = place_kernel(&mut placer(&[(MIB, 17 * MIB)]), &decompressed(Some(5)), &h)
            .unwrap_err()
            .to_string();
        assert!(e.contains("kernel"), "{e}");
    }

    #[test]
    fn sealing_digests_all_but_the_elfcorehdr_and_puts_the_purgatory_first() {
        let segment = |mem: u64, byte: u8| Segment {
            digest: None,
            purpose: format!("test {byte}"),
            mem,
            memsz: 0x1000,
            data: vec![byte; 100].into(),
        };
        let config = PurgatoryConfig {
            entry: 0x100_0000,
            rsi: 0x9_0000,
            skip_checks: false,
            console: None,
            reset_vga: false,
            console_vga: false,
        };
        let core = CoreHeader {
            at: 0x8_0000,
            bytes: b"\x7fELF".to_vec(),
            memsz: 0x1000,
            what: "test".into(),
        };
        let segments = vec![segment(0x9_0000, 1), segment(0x100_0000, 2)];
        let img = seal("vmlinuz", segments, 0x7_0000, &config, Some(core)).unwrap();
        let s = &img.segments;
        assert_eq!(s.len(), 4);
        assert_eq!((s[0].mem, s[0].digest.clone()), (0x7_0000, None));
        assert!(s[0].purpose.starts_with("purgatory"));
        assert_eq!(img.entry, purgatory::entry(0x7_0000));
        assert!(s[1].digest.is_some() && s[2].digest.is_some());
        assert_eq!(s[3].purpose, "elfcorehdr for /proc/vmcore: test");
        assert_eq!((s[3].mem, s[3].digest.clone()), (0x8_0000, None));
        // More segments than the digest table holds: named.
        let many = (0..=purgatory::MAX_REGIONS as u64)
            .map(|i| segment(i * 0x1000, 3))
            .collect();
        let err = seal("vmlinuz", many, 0x7_0000, &config, None).unwrap_err();
        assert!(matches!(err, BuildError::TooManyDigests { .. }), "{err}");
        // The kernel finds the elfcorehdr by its ELF magic: no other
        // segment may start with it.
        let mut initrd = segment(0x9_0000, 1);
        initrd.purpose = "initrd".into();
        initrd.data = b"\x7fELF initrd".to_vec().into();
        let core = CoreHeader {
            at: 0x8_0000,
            bytes: b"\x7fELF".to_vec(),
            memsz: 0x1000,
            what: "test".into(),
        };
        let err = seal("vmlinuz", vec![initrd], 0x7_0000, &config, Some(core)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "vmlinuz: --hotplug: the initrd starts with ELF magic (\\x7fELF), so the kernel could take it for the elfcorehdr it rewrites on hotplug; drop --hotplug"
        );
    }
}
