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
    /// With --hotplug the kernel finds the elfcorehdr as the segment that
    /// starts with ELF magic: another one may not.
    #[error("{file}: --hotplug: the {what} starts with ELF magic (\\x7fELF), so the kernel could take it for the elfcorehdr it rewrites on hotplug; drop --hotplug")]
    ElfMagic {
        /// The kernel file.
        file: String,
        /// The segment that starts with ELF magic.
        what: String,
    },
    /// --hotplug, but the running kernel gave no elfcorehdr size.
    #[error("{file}: --hotplug needs the elfcorehdr size of /sys/kernel/crash_elfcorehdr_size, which the running kernel does not provide (it needs CONFIG_CRASH_HOTPLUG)")]
    NoHotplugSize {
        /// The kernel file.
        file: String,
    },
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
    /// /sys/kernel/crash_elfcorehdr_size: with --hotplug, the elfcorehdr
    /// segment (and the device tree's linux,elfcorehdr size) is this large.
    pub crash_elfcorehdr_size: Option<u64>,
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
            crash_elfcorehdr_size: None,
        })
    }
}

/// RAM the next kernel's segments may overwrite: "System RAM" without the
/// "reserved" ranges inside it (memblock reservations the firmware's
/// tables, the GIC's LPI tables or UEFI's memreserve entries live in,
/// which the next kernel still needs).
pub fn usable_ram(resources: &[iomem::Resource]) -> Ranges {
    let mut ram = Ranges::new(iomem::system_ram(resources));
    for r in resources
        .iter()
        .filter(|r| r.depth > 0 && r.name == "reserved")
    {
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
            let what = if (options.mem_min, options.mem_max) == (0, u64::MAX) {
                format!("usable System RAM ({})", describe(&ram))
            } else {
                format!(
                    "usable System RAM within --mem-min/--mem-max ({})",
                    describe(&ram)
                )
            };
            (ram, what)
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
fn place_kernel(
    placer: &mut Placer,
    parts: &Parts,
    header: &Header,
) -> Result<Segment, BuildError> {
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
    let at = placer.take(
        "initrd",
        memsz,
        PAGE,
        low,
        low.saturating_add(INITRD_WINDOW),
    )?;
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
            // --hotplug: room for the header the kernel rewrites on hotplug
            // (it refuses to when the new one is larger than the segment).
            let built = page_align(bytes.len() as u64);
            let memsz = match (options.hotplug, system.crash_elfcorehdr_size) {
                (false, _) => built,
                (true, Some(size)) => page_align(size).max(built),
                (true, None) => {
                    return Err(BuildError::NoHotplugSize {
                        file: parts.file.into(),
                    })
                }
            };
            let at = placer.take("ELF core header", memsz, PAGE, 0, u64::MAX)?;
            let usable = system
                .crash_regions
                .iter()
                .map(|r| (r.start, r.size()))
                .collect();
            (
                Some(Segment {
                    purpose: if options.hotplug {
                        format!("elfcorehdr (--hotplug: memsz {memsz:#x} from /sys/kernel/crash_elfcorehdr_size, page aligned)")
                    } else {
                        "elfcorehdr".into()
                    },
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
        // With --hotplug the capture kernel must reserve the whole segment:
        // the header the kernel rewrites on hotplug may be longer.
        elfcorehdr: elfcorehdr.as_ref().map(|s| {
            let size = if options.hotplug {
                s.memsz
            } else {
                s.data.len() as u64
            };
            (s.mem, size)
        }),
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
    .and_then(|(purgatory, entry)| {
        if let (true, Some(_)) = (options.hotplug, &elfcorehdr) {
            let magic = verified.iter().chain([&purgatory]);
            if let Some(other) = magic.into_iter().find(|s| s.data.starts_with(b"\x7fELF")) {
                return Err(BuildError::ElfMagic {
                    file: parts.file.into(),
                    what: other.purpose.clone(),
                });
            }
        }
        let mut segments = verified;
        segments.push(purgatory);
        segments.extend(elfcorehdr);
        Ok(Image { segments, entry })
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
    let memsz =
        purgatory::memsz().ok_or_else(|| purgatory_error(purgatory::PurgatoryError::NotBuilt))?;
    let memsz = page_align(memsz);
    let base = placer.take("purgatory", memsz, PAGE, 0, u64::MAX)?;
    if !skip_checks {
        crate::arch::digests::take(verified, super::purgatory::ALGORITHM);
    }
    let config = purgatory::Config {
        entry: verified[0].mem,
        dtb: dtb_at,
        skip_checks,
        uart: options.port,
    };
    let refs: Vec<&Segment> = verified.iter().collect();
    let bytes = purgatory::image(base, &config, &refs).map_err(purgatory_error)?;
    let entry = purgatory::entry(base)
        .ok_or_else(|| purgatory_error(purgatory::PurgatoryError::NotBuilt))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::aarch64::crash::tests::{crash_host, CRASH_KERNEL};
    use crate::fdt::{Fdt, Node};
    use crate::image::arm64_image::sample_image;

    const MIB: u64 = 1 << 20;

    /// The device tree QEMU's virt machine hands a kernel, with a stale
    /// initrd and crash properties from the boot before.
    fn virt_dtb() -> Vec<u8> {
        let mut fdt = Fdt::new();
        fdt.root.set_property("#address-cells", 2u32.to_be_bytes());
        fdt.root.set_property("#size-cells", 2u32.to_be_bytes());
        fdt.root
            .set_property("compatible", &b"linux,dummy-virt\0"[..]);
        let mut chosen = Node::new("chosen");
        chosen.set_property("bootargs", &b"console=ttyAMA0 crashkernel=256M\0"[..]);
        chosen.set_property("linux,initrd-start", 0x4800_0000u64.to_be_bytes());
        chosen.set_property("linux,initrd-end", 0x4900_0000u64.to_be_bytes());
        chosen.set_property("stdout-path", &b"/pl011@9000000\0"[..]);
        fdt.root.children.push(chosen);
        fdt.to_bytes().unwrap()
    }

    fn system(target: Target) -> System {
        let mut host = crash_host();
        host.set_bytes(FIRMWARE_FDT, &virt_dtb());
        System::gather(&host, &[CRASH_KERNEL], target, &Options::default()).unwrap()
    }

    fn parts<'a>(kernel: &'a [u8], initrd: Option<&'a [u8]>) -> Parts<'a> {
        Parts {
            file: "Image",
            kernel,
            initrd,
            cmdline: b"console=ttyAMA0 marker=42",
            sources: &[],
        }
    }

    #[cfg(kexec_purgatory_aarch64)]
    fn chosen_of(image: &Image) -> Node {
        let dtb = image
            .segments
            .iter()
            .find(|s| s.purpose.starts_with("device tree"))
            .expect("a device tree segment");
        Fdt::parse(&dtb.data)
            .unwrap()
            .node("/chosen")
            .unwrap()
            .clone()
    }

    #[cfg(kexec_purgatory_aarch64)]
    fn be64(bytes: &[u8]) -> Vec<u64> {
        bytes
            .chunks(8)
            .map(|c| u64::from_be_bytes(c.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn gather_reads_the_firmware_dtb_and_leaves_reserved_ram_out() {
        let sys = system(Target::Normal);
        assert_eq!(sys.dtb.0, FIRMWARE_FDT);
        assert!(sys.crash.is_none());
        // 41600000-41dfffff and 7fbd0000-7fffffff are "reserved" inside RAM.
        assert!(!sys.ram.contains(&Range::new(0x4160_0000, 0x4160_1000)));
        assert!(!sys.ram.contains(&Range::new(0x7fbd_0000, 0x7fbd_1000)));
        assert!(sys.ram.contains(&Range::new(0x4000_0000, 0x4160_0000)));
        let mut host = crash_host();
        host.unset(FIRMWARE_FDT);
        let e = System::gather(&host, &[], Target::Normal, &Options::default()).unwrap_err();
        assert!(
            e.to_string().contains("/sys/firmware/fdt") && e.to_string().contains("--dtb"),
            "{e}"
        );
        let e = System::gather(
            &host,
            &[],
            Target::Normal,
            &Options {
                dtb: Some("/boot/none.dtb".into()),
                port: None,
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("/boot/none.dtb"), "{e}");
    }

    #[test]
    fn args_none_and_a_non_image_are_refused_by_name() {
        let sys = system(Target::Normal);
        let kernel = sample_image(0, 4 * MIB);
        let e = build(
            &parts(&kernel, None),
            Target::Normal,
            &sys,
            BootArgs::None,
            &LoadOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("--args-none"), "{e}");
        let bz = crate::testing::bzimage64_sample();
        let e = build(
            &parts(&bz, None),
            Target::Normal,
            &sys,
            BootArgs::Linux,
            &LoadOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("Image"), "{e}");
    }

    #[cfg(not(kexec_purgatory_aarch64))]
    #[test]
    fn without_the_purgatory_the_build_says_how_to_get_it() {
        let sys = system(Target::Normal);
        let kernel = sample_image(0, 4 * MIB);
        let e = build(
            &parts(&kernel, None),
            Target::Normal,
            &sys,
            BootArgs::Linux,
            &LoadOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("KEXEC_PURGATORY_AARCH64=1"), "{e}");
    }

    #[cfg(kexec_purgatory_aarch64)]
    #[test]
    fn a_normal_load_follows_the_arm64_boot_protocol() {
        let sys = system(Target::Normal);
        let kernel = sample_image(0x8_0000, 24 * MIB);
        let initrd = vec![7u8; 3 * MIB as usize + 5];
        let image = build(
            &parts(&kernel, Some(&initrd)),
            Target::Normal,
            &sys,
            BootArgs::Linux,
            &LoadOptions::default(),
        )
        .unwrap();
        let s = &image.segments;
        let purposes: Vec<&str> = s.iter().map(|s| s.purpose.as_str()).collect();
        assert_eq!(
            purposes,
            [
                "kernel",
                "initrd",
                "device tree (/sys/firmware/fdt)",
                "purgatory"
            ]
        );
        // The Image: 2 MiB-aligned base + text_offset, image_size in memory.
        assert_eq!((s[0].mem - 0x8_0000) % (2 * MIB), 0);
        assert_eq!(s[0].memsz, 24 * MIB);
        // Every segment in usable RAM, none overlapping another or the
        // crash region, each page aligned.
        for (i, a) in s.iter().enumerate() {
            let r = Range::new(a.mem, a.mem + a.memsz);
            assert!(
                sys.ram.contains(&r),
                "{} at {r} is not usable RAM",
                a.purpose
            );
            assert!(!r.overlaps(&CRASH_KERNEL), "{}", a.purpose);
            assert_eq!((a.mem % PAGE, a.memsz % PAGE), (0, 0), "{}", a.purpose);
            for b in &s[i + 1..] {
                assert!(!r.overlaps(&Range::new(b.mem, b.mem + b.memsz)));
            }
        }
        // The initrd with the Image in one 1 GiB-aligned window of 32 GiB.
        assert_eq!(
            s[1].mem / INITRD_WINDOW_ALIGN,
            s[0].mem / INITRD_WINDOW_ALIGN
        );
        // The device tree alone in its 2 MiB block, telling the kernel where
        // the initrd is and what its command line is.
        assert_eq!(s[2].mem % DTB_ALIGN, 0);
        let chosen = chosen_of(&image);
        assert_eq!(
            chosen.property("bootargs"),
            Some(&b"console=ttyAMA0 marker=42\0"[..])
        );
        let start = be64(chosen.property("linux,initrd-start").unwrap());
        let end = be64(chosen.property("linux,initrd-end").unwrap());
        assert_eq!(
            (start[0], end[0]),
            (s[1].mem, s[1].mem + initrd.len() as u64)
        );
        assert_eq!(
            be64(chosen.property("kaslr-seed").unwrap()),
            [sys.kaslr_seed]
        );
        assert_eq!(chosen.property("rng-seed").map(<[u8]>::len), Some(64));
        assert!(chosen.property("stdout-path").is_some());
        assert!(chosen.property("linux,elfcorehdr").is_none());
        // The purgatory verifies all three and is the entry.
        assert!(s[..3].iter().all(|s| s.digest.is_some()));
        assert_eq!(image.entry, purgatory::entry(s[3].mem).unwrap());
    }

    #[cfg(kexec_purgatory_aarch64)]
    #[test]
    fn without_an_initrd_the_stale_one_is_removed() {
        let sys = system(Target::Normal);
        let kernel = sample_image(0, 8 * MIB);
        let image = build(
            &parts(&kernel, None),
            Target::Normal,
            &sys,
            BootArgs::Linux,
            &LoadOptions::default(),
        )
        .unwrap();
        let chosen = chosen_of(&image);
        assert!(chosen.property("linux,initrd-start").is_none());
        assert!(chosen.property("linux,initrd-end").is_none());
        assert_eq!(image.segments[0].mem % (2 * MIB), 0);
    }

    #[cfg(kexec_purgatory_aarch64)]
    #[test]
    fn a_crash_load_stays_in_the_region_and_describes_the_dump() {
        let sys = system(Target::Crash);
        let kernel = sample_image(0, 24 * MIB);
        let initrd = vec![1u8; 2 * MIB as usize];
        let image = build(
            &parts(&kernel, Some(&initrd)),
            Target::Crash,
            &sys,
            BootArgs::Linux,
            &LoadOptions::default(),
        )
        .unwrap();
        for seg in &image.segments {
            assert!(
                CRASH_KERNEL.contains(&Range::new(seg.mem, seg.mem + seg.memsz)),
                "{} at {:#x} is outside the crash region",
                seg.purpose,
                seg.mem
            );
        }
        let core = image
            .segments
            .iter()
            .find(|s| s.purpose == "elfcorehdr")
            .expect("an elfcorehdr");
        assert!(core.data.starts_with(b"\x7fELF"));
        assert!(
            core.digest.is_none(),
            "the elfcorehdr stays out of the digests"
        );
        let chosen = chosen_of(&image);
        let cells = chosen.property("linux,elfcorehdr").unwrap();
        assert_eq!(be64(cells), [core.mem, core.data.len() as u64]);
        let usable = be64(chosen.property("linux,usable-memory-range").unwrap());
        assert_eq!(usable, [CRASH_KERNEL.start, CRASH_KERNEL.size()]);
    }

    #[cfg(kexec_purgatory_aarch64)]
    #[test]
    fn no_room_names_the_part_and_the_window() {
        let sys = system(Target::Normal);
        let kernel = sample_image(0, 600 * MIB);
        let e = build(
            &parts(&kernel, None),
            Target::Normal,
            &sys,
            BootArgs::Linux,
            &LoadOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("no room for the kernel (600 MiB) in usable System RAM (0x"),
            "{e}"
        );
    }
}
