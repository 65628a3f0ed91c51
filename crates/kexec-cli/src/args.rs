//! kexec(8)'s command line, as kexec-tools parses it with getopt_long:
//! permuted arguments, `--opt=val` and `--opt val`, combined short options,
//! unambiguous long prefixes, repeated options (last wins), and the mode
//! options applied in the order given.

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use kexec::arch::{aarch64, x86_64, BootArgs, LoadOptions};
use kexec::boot::purgatory::SerialConsole;
use kexec::image::{KernelFormat, FORMATS};
use kexec::request::{Action, CmdlineSpec, Options, Payload, RawSegment};
use kexec::Target;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

pub use kexec::request::SyscallChoice;

/// What kexec-tools' main() computes from the options: do_load, do_exec, ...
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Steps {
    pub load: bool,
    pub unload: bool,
    pub crash: bool,
    pub shutdown: bool,
    pub sync: bool,
    pub ifdown: bool,
    pub exec: bool,
    pub status: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub steps: Steps,
    pub syscall: SyscallChoice,
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    /// --append/--command-line as given: bytes, not necessarily UTF-8.
    pub append: Option<Vec<u8>>,
    pub reuse_cmdline: bool,
    pub image_type: Option<String>,
    pub debug: bool,
    pub dry_run: bool,
    pub json: bool,
    pub skip_preflight: bool,
    /// -S with -l: report the kernel for `kexec -e` instead of the crash kernel.
    pub status_kernel: bool,
    pub mem_min: u64,
    pub mem_max: u64,
    pub no_checks: bool,
    /// --console-serial: the purgatory reports on this UART.
    pub console: Option<SerialConsole>,
    pub no_efi: bool,
    /// ELF kernels: what rsi carries (--args-linux, the default, or --args-none).
    pub boot_args: BootArgs,
    /// Raw kexec_load segments (--segment=FILE@MEM[:MEMSZ]) instead of a kernel.
    pub segments: Vec<SegmentSpec>,
    /// --entry: the kexec_load entry point.
    pub entry: Option<u64>,
    /// --arch: the KEXEC_ARCH_* value for kexec_load's flags (native by default).
    pub arch: Option<u64>,
    /// --load-flags: extra low flag bits for kexec_load, to probe the kernel's rules.
    pub load_flags: u64,
    /// The kexec_load boot image options of kexec-tools' x86 loaders.
    pub video: VideoOptions,
    /// --pass-memmap-cmdline: a crash kernel gets memmap=exactmap memmap=... words.
    pub pass_memmap_cmdline: bool,
    /// --decompress-at-load / --no-decompress-at-load: how a bzImage's
    /// kernel is entered (decompressed at load by default when it can be).
    pub kernel_entry: x86_64::KernelEntry,
    /// -t/--type: the loader the kernel file must suit (kexec_load only).
    pub kernel_type: Option<KernelType>,
    /// arm64: --dtb and --port.
    pub aarch64: aarch64::Options,
    /// --force-dtb: KEXEC_FILE_FORCE_DTB.
    pub force_dtb: bool,
    /// --no-cma: KEXEC_FILE_NO_CMA.
    pub no_cma: bool,
    /// --uki-profile: which profile of a multi-profile UKI to load.
    pub uki_profile: u32,
    /// --hotplug: the crash kernel is updated in place on CPU/memory hotplug.
    pub hotplug: bool,
}

/// --console-vga, --reset-vga, --reuse-video-type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VideoOptions {
    /// The purgatory prints on the VGA text screen.
    pub console_vga: bool,
    /// The purgatory puts the VGA back into 80x25 text mode first.
    pub reset_vga: bool,
    /// Keep the boot-time video type even when a DRM driver owns /dev/fb0.
    pub reuse_video_type: bool,
}

/// A kexec-tools loader name (-t) this kexec has a loader for: a format of
/// the library's registry (`kexec::image::FORMATS`), by its place there
/// (a byte, which keeps `Request` small).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelType(u8);

impl KernelType {
    /// The registry's format named `name`, if there is one.
    pub fn by_name(name: &str) -> Option<KernelType> {
        let index = FORMATS.iter().position(|f| f.name() == name)?;
        u8::try_from(index).ok().map(KernelType)
    }

    /// The format the registry holds in probe order at this place.
    pub fn of(format: &dyn KernelFormat) -> Option<KernelType> {
        KernelType::by_name(format.name())
    }

    pub fn format(self) -> &'static dyn KernelFormat {
        FORMATS[usize::from(self.0)]
    }

    pub fn name(self) -> &'static str {
        self.format().name()
    }
}

/// One --segment=FILE@MEM[:MEMSZ].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentSpec {
    pub file: PathBuf,
    pub mem: u64,
    /// None: the file's size rounded up to the page size.
    pub memsz: Option<u64>,
}

impl SegmentSpec {
    /// FILE may be any bytes (a Linux file name); MEM and MEMSZ are numbers.
    pub fn parse(arg: &OsStr) -> Result<SegmentSpec, String> {
        let text = arg.as_bytes();
        let bad = |why: &str| {
            format!(
                "error: --segment={}: {why} (expected FILE@MEM[:MEMSZ], numbers in hex with 0x or decimal)",
                kexec::plan::path_text(arg.as_ref())
            )
        };
        let at = text
            .iter()
            .rposition(|&c| c == b'@')
            .ok_or_else(|| bad("no @MEM"))?;
        let (file, place) = (&text[..at], &text[at + 1..]);
        if file.is_empty() {
            return Err(bad("no FILE"));
        }
        let place = std::str::from_utf8(place).map_err(|_| bad("MEM is not a number"))?;
        let (mem, memsz) = match place.split_once(':') {
            Some((m, z)) => (m, Some(z)),
            None => (place, None),
        };
        Ok(SegmentSpec {
            file: PathBuf::from(OsStr::from_bytes(file)),
            mem: parse_number(mem).ok_or_else(|| bad("MEM is not a number"))?,
            memsz: memsz
                .map(|z| parse_number(z).ok_or_else(|| bad("MEMSZ is not a number")))
                .transpose()?,
        })
    }
}

impl Request {
    pub fn status_of_kernel(&self) -> bool {
        self.status_kernel
    }

    /// The library's request for one step: unload, or load, of `target`.
    pub fn library_request(&self, target: Target, load: bool) -> kexec::Request {
        let action = if !load {
            Action::Unload
        } else if !self.segments.is_empty() {
            Action::Load(Payload::Segments(
                self.segments
                    .iter()
                    .map(|s| RawSegment {
                        file: s.file.clone(),
                        mem: s.mem,
                        memsz: s.memsz,
                    })
                    .collect(),
            ))
        } else {
            Action::Load(Payload::Kernel {
                kernel: self.kernel.clone().unwrap_or_default(),
                initrd: self.initrd.clone(),
                cmdline: CmdlineSpec {
                    reuse: self.reuse_cmdline,
                    append: self.append.clone(),
                },
                format: self.kernel_type.map(KernelType::name),
            })
        };
        kexec::Request {
            target,
            action,
            syscall: self.syscall,
            options: Options {
                boot: LoadOptions {
                    mem_min: self.mem_min,
                    mem_max: self.mem_max,
                    skip_checks: self.no_checks,
                    hotplug: self.hotplug,
                    x86_64: x86_64::Options {
                        console: self.console,
                        no_efi: self.no_efi,
                        reset_vga: self.video.reset_vga,
                        console_vga: self.video.console_vga,
                        reuse_video_type: self.video.reuse_video_type,
                        pass_memmap_cmdline: self.pass_memmap_cmdline,
                        kernel_entry: self.kernel_entry,
                    },
                    aarch64: self.aarch64.clone(),
                },
                boot_args: self.boot_args,
                entry: self.entry,
                arch: self.arch,
                load_flags: self.load_flags,
                debug: self.debug,
                force_dtb: self.force_dtb,
                no_cma: self.no_cma,
                skip_preflight: self.skip_preflight,
                uki_profile: self.uki_profile,
            },
            dry_run: self.dry_run,
        }
    }
}

#[derive(Debug)]
// Parsed once per run: boxing the request would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum Parsed {
    Run(Request),
    Help(String),
    Version(String),
    PrintCrashSize,
    /// A usage error: kexec-tools prints its usage and exits 1.
    Usage(String),
}

/// The options that set the steps, applied in command-line order as
/// kexec-tools' option loop does (a later one overrides an earlier one).
const MODE_OPTIONS: [&str; 5] = ["force", "load", "unload", "exec", "load-panic"];
const SYSCALL_OPTIONS: [&str; 3] = ["kexec-file-syscall", "kexec-syscall", "kexec-syscall-auto"];

fn flag(id: &'static str, short: Option<char>, long: &'static str, help: &'static str) -> Arg {
    let arg = Arg::new(id)
        .long(long)
        .action(ArgAction::SetTrue)
        .help(help);
    match short {
        Some(c) => arg.short(c),
        None => arg,
    }
}

fn value(id: &'static str, long: &'static str, name: &'static str, help: &'static str) -> Arg {
    Arg::new(id)
        .long(long)
        .value_name(name)
        .num_args(1)
        .allow_hyphen_values(true)
        .help(help)
}

/// kexec_load (x86_64 boot image) options that kexec-tools accepts; the file
/// syscall has no use for them.
const LOAD_ONLY_FLAGS: [(&str, &str); 12] = [
    (
        "args-linux",
        "ELF kernels: pass Linux boot parameters (kexec_load)",
    ),
    ("args-elf", "ELF kernels: ELF boot notes (refused: not supported)"),
    (
        "args-none",
        "ELF kernels: jump with no arguments (kexec_load)",
    ),
    (
        "console-serial",
        "purgatory prints on the serial console (kexec_load)",
    ),
    (
        "console-vga",
        "purgatory prints on the VGA text screen at 0xb8000 (kexec_load)",
    ),
    (
        "reset-vga",
        "purgatory resets the VGA to 80x25 text mode (kexec_load)",
    ),
    ("elf64-core-headers", "crash kernels: ELF64 core headers (the default and only format)"),
    ("noefi", "do not pass EFI information (kexec_load)"),
    (
        "pass-memmap-cmdline",
        "crash kernel (-p): its memory map as memmap=exactmap memmap=... on its command line (kexec_load)",
    ),
    (
        "reuse-video-type",
        "keep the boot-time video type even when a DRM driver owns /dev/fb0 (kexec_load)",
    ),
    (
        "decompress-at-load",
        "bzImage (-l): decompress the kernel now and enter its vmlinux directly, so kexec -e skips \
the kernel's decompressor; physical and virtual KASLR are chosen here (none with nokaslr in the \
command line); --dry-run shows the slots. The default whenever it can be done; this makes a load \
that cannot fail saying why. The unpacked kernel is kept in /var/cache/kexec (KEXEC_CACHE_DIR; \
empty: none) for the next load of the same file (kexec_load)",
    ),
    (
        "no-decompress-at-load",
        "bzImage (-l): leave the kernel compressed and let its own decompressor run at kexec -e, as \
kexec-tools does (kexec_load)",
    ),
];

/// Every other option kexec-tools (2.0.32 and its development branch)
/// accepts on any architecture: parsed, so that each is refused by name with
/// the reason (not mistaken for a typo of another option), exit 1.
/// (name, takes a value, why and what to do instead)
const REFUSED: [(&str, bool, &str); 22] = [
    ("module", true, "loads a multiboot module: this kexec loads Linux kernels (bzImage64, ELF vmlinux), not multiboot images; drop it"),
    ("reuseinitrd", false, "needs the initrd the running kernel kept (retain_initrd), which kexec-tools does not implement on x86 either: give the initrd with --initrd"),
    ("load-preserve-context", false, "(kexec jump, KEXEC_PRESERVE_CONTEXT) is not supported: our purgatory never returns to this kernel; use -l"),
    ("load-jump-back-helper", false, "(kexec jump) is not supported: our purgatory never returns to this kernel"),
    ("load-live-update", false, "is for Xen live update only, which this kexec does not support: use -l"),
    ("exec-live-update", false, "is for Xen live update only, which this kexec does not support: use -e"),
    ("real-mode", false, "(enter the kernel in 16-bit real mode) is not supported: our purgatory enters the 64-bit entry point; drop it"),
    ("entry-32bit", false, "(enter the kernel in 32-bit mode) is not supported: our purgatory enters the 64-bit entry point; drop it"),
    ("elf32-core-headers", false, "is not supported: x86_64 crash kernels get ELF64 core headers, which describe memory above 4 GiB (kexec-tools ignores this option on x86_64); drop it"),
    ("dt-no-old-root", false, "is an arm/ppc64 device-tree option: x86_64 kernels take no device tree; drop it"),
    ("atags", false, "is a 32-bit ARM option: drop it"),
    ("image-size", true, "is a 32-bit ARM option: drop it"),
    ("page-offset", true, "is a 32-bit ARM option: drop it"),
    ("devicetreeblob", true, "is a ppc64 option: x86_64 kernels take no device tree; drop it"),
    ("reuse-node", true, "is a ppc option: drop it"),
    ("gamecube", true, "is a ppc (GameCube) option: drop it"),
    ("bootinfo", true, "is an m68k option: drop it"),
    ("noio", false, "is an ia64 option: drop it"),
    ("vmm", true, "is an ia64 option: drop it"),
    ("empty-zero", true, "is a SuperH option: drop it"),
    ("howto", true, "is a SuperH option: drop it"),
    ("miniroot", true, "is a SuperH option: drop it"),
];

/// Options only a load reads: kexec-tools refuses them (usage, exit 1) when
/// nothing is loaded (-e, -u, -S). Its arch options (--serial, --reset-vga,
/// --console-*, --elf*-core-headers) are not among them.
const LOADER_OPTIONS: [(&str, &str); 15] = [
    ("force-dtb", "--force-dtb"),
    ("no-cma", "--no-cma"),
    ("uki-profile", "--uki-profile"),
    ("dtb", "--dtb"),
    ("append", "--append/--command-line"),
    ("initrd", "--initrd/--ramdisk"),
    ("reuse-cmdline", "--reuse-cmdline"),
    ("args-linux", "--args-linux"),
    ("args-none", "--args-none"),
    ("pass-memmap-cmdline", "--pass-memmap-cmdline"),
    ("noefi", "--noefi"),
    ("reuse-video-type", "--reuse-video-type"),
    ("segment", "--segment"),
    ("decompress-at-load", "--decompress-at-load"),
    ("no-decompress-at-load", "--no-decompress-at-load"),
];

/// Options that only the kexec_load path honours (they shape our boot image
/// or purgatory): refused with -s, and they take -a straight to kexec_load.
pub const KEXEC_LOAD_ONLY: [&str; 9] = [
    "type",
    "dtb",
    "port",
    "console-serial",
    "console-vga",
    "reset-vga",
    "reuse-video-type",
    "pass-memmap-cmdline",
    "decompress-at-load",
];

pub fn command() -> Command {
    let mut cmd = Command::new("kexec")
        .about("Load a new Linux kernel for later execution (kexec_load(2), kexec_file_load(2))")
        .override_usage(
            "kexec [OPTIONS] [-l|-p] KERNEL [--initrd=FILE] [--append=STRING]\n       kexec -e | -u [-p] | -S [-l|-p] | -f KERNEL ...",
        )
        .after_help(
            "Exit status: 0 on success, 1 on a usage error or when -e finds nothing loaded, \
255 when a load fails. With -S: 1 when loaded, 0 when not.\n\
Without -l/-p/-e/-u/-f, kexec loads the kernel and runs `shutdown -r now`.\n\
--console-serial, --console-vga, --reset-vga, --reuse-video-type, --pass-memmap-cmdline, --decompress-at-load (x86_64), \
--dtb, --port (arm64) and --type shape our kexec_load boot image: -a then uses kexec_load, -s refuses \
them; each architecture's own options are refused on the other.\n\
--hotplug (crash loads): the kernel updates the crash kernel on CPU and memory hotplug; through \
kexec_load it passes the hotplug flag and sizes the elfcorehdr from /sys/kernel/crash_elfcorehdr_size, \
through kexec_file_load the kernel does it all; refused when the kernel has no crash hotplug.\n\
kexec-tools options this kexec does not have (--module, --reuseinitrd, \
--load-preserve-context, --load-jump-back-helper, --load-live-update, --exec-live-update, --real-mode, \
--entry-32bit, --elf32-core-headers, --args-elf and other architectures' options) \
are refused by name with the reason (exit 1), as are loading options given with -e, -u or -S.",
        )
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args_override_self(true)
        .infer_long_args(true)
        .arg(Arg::new("help").short('h').short_alias('?').long("help").action(ArgAction::SetTrue).help("Print this help"))
        .arg(flag("version", Some('v'), "version", "Print the version"))
        .arg(flag("force", Some('f'), "force", "Load and execute at once, without calling shutdown"))
        .arg(flag("load", Some('l'), "load", "Load the kernel for `kexec -e`"))
        .arg(flag("load-panic", Some('p'), "load-panic", "Load a crash kernel (kdump); with -u: unload it"))
        .arg(flag("unload", Some('u'), "unload", "Unload the kernel (with -p: the crash kernel)"))
        .arg(flag("exec", Some('e'), "exec", "Execute the loaded kernel now"))
        .arg(flag("no-ifdown", Some('x'), "no-ifdown", "With -e/-f: leave network interfaces up"))
        .arg(flag("no-sync", Some('y'), "no-sync", "With -e/-f: do not sync file systems"))
        .arg(flag("kexec-file-syscall", Some('s'), "kexec-file-syscall", "Use kexec_file_load(2) only"))
        .arg(flag("kexec-syscall", Some('c'), "kexec-syscall", "Use kexec_load(2) only"))
        .arg(flag("kexec-syscall-auto", Some('a'), "kexec-syscall-auto", "kexec_file_load(2), falling back to kexec_load(2) (default)"))
        .arg(flag("status", Some('S'), "status", "Show what is loaded; exit 1 if the crash kernel (with -l: the kernel) is loaded, else 0"))
        .arg(flag("debug", Some('d'), "debug", "Explain each step (syscall choice, flags, plan)"))
        .arg(flag("no-checks", Some('i'), "no-checks", "Purgatory skips its digest check (kexec_load)"))
        .arg(Arg::new("type").short('t').long("type").value_name("TYPE").num_args(1).help(type_help()))
        .arg(value("initrd", "initrd", "FILE", "Initial ramdisk for the new kernel").visible_alias("ramdisk").value_parser(clap::value_parser!(OsString)))
        .arg(value("append", "append", "STRING", "The new kernel's command line").visible_alias("command-line").value_parser(clap::value_parser!(OsString)))
        .arg(flag("force-dtb", None, "force-dtb", "kexec_file_load: carry the boot device tree over to the next kernel (KEXEC_FILE_FORCE_DTB, Linux 6.18+)"))
        .arg(flag("no-cma", None, "no-cma", "kexec_file_load: keep the segments out of CMA memory (KEXEC_FILE_NO_CMA, Linux 6.17+)"))
        .arg(value("uki-profile", "uki-profile", "N", "A unified kernel image with profiles (systemd 257+): load profile N's sections, default 0 (the first)"))
        .arg(flag("hotplug", None, "hotplug", "Crash kernel (-p): updated in place on CPU/memory hotplug (kexec_load: hotplug flag, elfcorehdr sized from /sys/kernel/crash_elfcorehdr_size; kexec_file_load: the kernel's own)"))
        .arg(flag("reuse-cmdline", None, "reuse-cmdline", "Start from this kernel's command line (without BOOT_IMAGE=, and crashkernel= for -p)"))
        .arg(flag("print-ckr-size", None, "print-ckr-size", "Print the size of the crash kernel region in bytes"))
        .arg(flag("dry-run", None, "dry-run", "Print the plan and the kernel's predicted verdict; load nothing"))
        .arg(flag("json", None, "json", "Print the plan, outcome or status as one JSON object"))
        .arg(flag("skip-preflight", None, "skip-preflight", "Make the system call even when a rejection is predicted"))
        .arg(value("segment", "segment", "FILE@MEM[:MEMSZ]", "Load FILE at physical MEM as a raw kexec_load segment (repeatable; the entry point is --entry, else the first segment's MEM)").action(ArgAction::Append).value_parser(clap::value_parser!(OsString)))
        .arg(value("entry", "entry", "ADDR", "kexec_load entry point: raw segments default to the first segment; for a kernel it replaces the purgatory's entry (expert use)"))
        .arg(value("arch", "arch", "NAME", "KEXEC_ARCH_* for raw segments: a name (X86_64, AARCH64, ...) or a number"))
        .arg(value("load-flags", "load-flags", "BITS", "Extra kexec_load flag bits, to probe the kernel's rules").hide_short_help(true))
        .arg(value("mem-min", "mem-min", "ADDR", "Lowest address for segments (kexec_load)"))
        .arg(value("mem-max", "mem-max", "ADDR", "Highest address for segments (kexec_load)"))
        .arg(value("serial", "serial", "PORT", "Purgatory serial port: ttyS0, ttyS1 or 0xPORT (kexec_load)"))
        .arg(value("serial-baud", "serial-baud", "BAUD", "Purgatory serial speed (kexec_load)"))
        .arg(value("dtb", "dtb", "FILE", "arm64: the device tree to pass instead of /sys/firmware/fdt (kexec_load)").value_parser(clap::value_parser!(OsString)))
        .arg(value("port", "port", "ADDR", "arm64: the purgatory prints on the PL011 UART at this MMIO address (kexec_load)"))
        .arg(Arg::new("kernel").value_name("KERNEL").num_args(0..).action(ArgAction::Append).value_parser(clap::value_parser!(OsString)).help("The kernel image"));
    for (long, help) in LOAD_ONLY_FLAGS {
        cmd = cmd.arg(flag(long, None, long, help).hide_short_help(true));
    }
    for (long, takes_value, _) in REFUSED {
        let arg = if takes_value {
            value(long, long, "VALUE", "")
        } else {
            flag(long, None, long, "")
        };
        cmd = cmd.arg(arg.hide(true));
    }
    cmd
}

/// -t's help: every loader of the registry, with the architecture it boots on.
fn type_help() -> String {
    let loaders: Vec<String> = FORMATS
        .iter()
        .map(|f| match f.arch() {
            Some(arch) => format!("{} ({arch})", f.name()),
            None => f.name().to_string(),
        })
        .collect();
    format!(
        "Load with this loader: {}; the file must suit it (kexec_load)",
        loaders.join(", ")
    )
}

/// The kexec-tools options this kexec refuses by name on every
/// architecture, each with the reason its usage error gives: (name, reason).
/// They are hidden from `--help`; the man page lists them.
pub fn refused_options() -> impl Iterator<Item = (&'static str, &'static str)> {
    REFUSED.iter().map(|(name, _, why)| (*name, *why))
}

/// The architecture (as `uname -m` names it) whose kexec takes the option
/// `id`, for the options each architecture's kexec refuses on the others;
/// None when every architecture takes it.
pub fn option_architecture(id: &str) -> Option<&'static str> {
    ARCH_OPTIONS
        .iter()
        .find(|(name, _, _)| *name == id)
        .map(|(_, arch, _)| *arch)
}

/// The first refused option given, as its usage error.
fn refused_option(m: &ArgMatches) -> Option<String> {
    REFUSED
        .iter()
        .filter_map(|(id, _, why)| given_at(m, id).map(|at| (at, id, why)))
        .min()
        .map(|(_, id, why)| format!("error: --{id} {why}"))
}

/// kexec-tools' "check for bogus options": a loader option when nothing is
/// loaded (-e, -u, -S) is a usage error there; the same here, named.
fn loader_option_without_load(m: &ArgMatches, steps: &Steps) -> Option<String> {
    if steps.load {
        return None;
    }
    let (name, _) = LOADER_OPTIONS
        .iter()
        .filter(|(id, _)| given_at(m, id).is_some())
        .min_by_key(|(id, _)| given_at(m, id))?;
    let mode = if steps.status {
        "-S reports and"
    } else if steps.unload {
        "-u unloads and"
    } else {
        "-e executes what is loaded and"
    };
    let shown = LOADER_OPTIONS
        .iter()
        .find(|(id, _)| id == name)
        .map_or(*name, |(_, shown)| shown);
    Some(format!(
        "error: {shown} is an option for loading a kernel, but {mode} loads nothing (kexec-tools refuses it too): drop it, or load with -l/-p first"
    ))
}

/// -t/--type as kexec-tools' x86_64 names it.
fn kernel_type(name: &str) -> Result<KernelType, String> {
    if let Some(known) = KernelType::by_name(name) {
        return Ok(known);
    }
    match name {
        "multiboot2-x86" | "multiboot-x86" | "beoboot-x86" | "nbi-x86" => Err(format!(
            "error: --type={name}: this kexec has no {name} loader (it boots Linux kernels only): use --type=bzImage64 or --type=elf-x86_64, or leave --type out"
        )),
        "bzImage" | "elf-x86" => Err(format!(
            "error: --type={name}: this kexec has no loader for 32-bit kernels ({name}, entered in 32-bit mode): use --type=bzImage64 or --type=elf-x86_64, or leave --type out"
        )),
        "uki" => Err("error: --type=uki: there is no UKI loader to choose: a unified kernel image is unwrapped whatever --type says; give the type of the kernel in its .linux section, or leave --type out".into()),
        other => Err(format!(
            "error: --type={other}: unknown kernel type; this kexec's loaders are {}",
            kexec::image::format::names()
        )),
    }
}

/// Options that only the kexec_load path can honour, given with -s.
fn kexec_load_only_with_file_syscall(m: &ArgMatches, steps: &Steps) -> Option<String> {
    if !steps.load || syscall(m) != SyscallChoice::File {
        return None;
    }
    let id = KEXEC_LOAD_ONLY
        .iter()
        .filter(|id| given_at(m, id).is_some())
        .min_by_key(|id| given_at(m, id))?;
    Some(format!(
        "error: --{id} works only through kexec_load (-c): with kexec_file_load (-s) the kernel builds the boot image itself, with no purgatory of ours; drop -s (the default -a then uses kexec_load) or drop --{id}"
    ))
}

/// The index of the last occurrence of a flag actually given.
fn given_at(m: &ArgMatches, id: &str) -> Option<usize> {
    if m.value_source(id) != Some(ValueSource::CommandLine) {
        return None;
    }
    m.indices_of(id).and_then(|mut i| i.next_back())
}

/// Replays the mode options in order, with kexec-tools' semantics.
fn steps(m: &ArgMatches) -> Steps {
    // No mode option: load, then shut down into the new kernel.
    let mut s = Steps {
        load: true,
        shutdown: true,
        sync: true,
        ..Steps::default()
    };
    let mut given: Vec<(usize, &str)> = MODE_OPTIONS
        .iter()
        .filter_map(|id| given_at(m, id).map(|at| (at, *id)))
        .collect();
    given.sort();
    for (_, id) in given {
        match id {
            "force" => {
                s.load = true;
                s.shutdown = false;
                s.sync = true;
                s.ifdown = true;
                s.exec = true;
            }
            "load" => {
                s.load = true;
                s.exec = false;
                s.shutdown = false;
            }
            "unload" => {
                s.load = false;
                s.shutdown = false;
                s.sync = false;
                s.unload = true;
            }
            "exec" => {
                s.load = false;
                s.shutdown = false;
                s.sync = true;
                s.ifdown = true;
                s.exec = true;
            }
            "load-panic" => {
                s.load = true;
                s.exec = false;
                s.shutdown = false;
                s.sync = false;
                s.crash = true;
            }
            _ => unreachable!("only mode options are replayed"),
        }
    }
    if m.get_flag("no-ifdown") {
        s.ifdown = false;
    }
    if m.get_flag("no-sync") {
        s.sync = false;
    }
    if m.get_flag("status") {
        // -S reports; it loads, unloads and executes nothing.
        s = Steps {
            status: true,
            crash: s.crash,
            ..Steps::default()
        };
    }
    s
}

fn syscall(m: &ArgMatches) -> SyscallChoice {
    let last = SYSCALL_OPTIONS
        .iter()
        .filter_map(|id| given_at(m, id).map(|at| (at, *id)))
        .max();
    match last.map(|(_, id)| id) {
        Some("kexec-file-syscall") => SyscallChoice::File,
        Some("kexec-syscall") => SyscallChoice::Load,
        _ => SyscallChoice::Auto,
    }
}

/// strtoul(…, 0) as kexec-tools: 0x hex, leading-0 octal, else decimal.
pub fn parse_number(text: &str) -> Option<u64> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if t.len() > 1 && t.starts_with('0') {
        u64::from_str_radix(&t[1..], 8).ok()
    } else {
        t.parse().ok()
    }
}

/// --console-serial with --serial=ttyS0|ttyS1|0xPORT and --serial-baud.
fn serial_console(m: &ArgMatches) -> Result<Option<SerialConsole>, String> {
    let port = match m.get_one::<String>("serial").map(String::as_str) {
        None | Some("ttyS0") => 0x3f8,
        Some("ttyS1") => 0x2f8,
        Some(other) => match parse_number(other) {
            Some(p) if p > 0 && p <= 0xffff => p as u16,
            _ => {
                return Err(format!(
                    "error: --serial={other}: expected ttyS0, ttyS1 or an I/O port such as 0x3f8"
                ))
            }
        },
    };
    let baud = match m.get_one::<String>("serial-baud") {
        None => 115_200,
        Some(text) => match parse_number(text) {
            Some(b) if (9600..=115_200).contains(&b) && 115_200 % b == 0 => b as u32,
            _ => {
                return Err(format!(
                    "error: --serial-baud={text}: expected a divisor of 115200 from 9600 to 115200"
                ))
            }
        },
    };
    Ok(m.get_flag("console-serial")
        .then_some(SerialConsole { port, baud }))
}

/// Parses kexec's arguments for the machine this build runs on.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Parsed {
    parse_for(std::env::consts::ARCH, args)
}

/// Options of one architecture's kexec-tools, refused on the others:
/// (name, its architecture, why elsewhere).
const ARCH_OPTIONS: [(&str, &str, &str); 12] = [
    ("dtb", "aarch64", "is an arm/arm64/ppc/riscv/mips (and 32-bit bzImage) option: x86_64 kernels take no device tree; drop it"),
    ("port", "aarch64", "is an arm64 option (the purgatory's PL011 UART): on x86_64 use --console-serial --serial=PORT"),
    ("console-serial", "x86_64", "is an x86 option (a 16550 UART at an I/O port): on arm64 use --port=ADDR, the PL011 UART's MMIO address"),
    ("serial", "x86_64", "is an x86 option (a 16550 UART at an I/O port): on arm64 use --port=ADDR, the PL011 UART's MMIO address"),
    ("serial-baud", "x86_64", "is an x86 option: on arm64 the purgatory keeps the UART's speed; drop it"),
    ("console-vga", "x86_64", "is an x86 option (the VGA text screen): arm64 has none; drop it"),
    ("reset-vga", "x86_64", "is an x86 option (the VGA text screen): arm64 has none; drop it"),
    ("reuse-video-type", "x86_64", "is an x86 option (boot_params' video type): arm64 kernels take their framebuffer from the device tree or UEFI; drop it"),
    ("pass-memmap-cmdline", "x86_64", "is an x86 option: an arm64 capture kernel gets its memory as linux,usable-memory-range in the device tree; drop it"),
    ("noefi", "x86_64", "is an x86 option: an arm64 kernel finds UEFI through the device tree's /chosen; drop it"),
    ("decompress-at-load", "x86_64", "is an x86 option (a bzImage's payload): an arm64 Image is entered as it is; drop it"),
    ("no-decompress-at-load", "x86_64", "is an x86 option (a bzImage's payload): an arm64 Image is entered as it is; drop it"),
];

/// The first option of another architecture than `arch`, as its usage error.
fn other_arch_option(m: &ArgMatches, arch: &str) -> Option<String> {
    ARCH_OPTIONS
        .iter()
        .filter(|(_, owner, _)| *owner != arch)
        .filter_map(|(id, _, why)| given_at(m, id).map(|at| (at, id, why)))
        .min()
        .map(|(_, id, why)| format!("error: --{id} {why}"))
}

/// Parses kexec's arguments as the kexec of the architecture named `arch`
/// (`uname -m`) does: each architecture's own options are refused on the others.
pub fn parse_for(arch: &str, args: impl IntoIterator<Item = OsString>) -> Parsed {
    let mut cmd = command();
    let m = match cmd.try_get_matches_from_mut(args) {
        Ok(m) => m,
        Err(e) => return Parsed::Usage(e.to_string()),
    };
    if m.get_flag("help") {
        return Parsed::Help(cmd.render_long_help().to_string());
    }
    if m.get_flag("version") {
        return Parsed::Version(format!("kexec {} (Rust)", env!("CARGO_PKG_VERSION")));
    }
    if m.get_flag("print-ckr-size") {
        return Parsed::PrintCrashSize;
    }
    if let Some(e) = refused_option(&m).or_else(|| other_arch_option(&m, arch)) {
        return Parsed::Usage(e);
    }
    let steps = steps(&m);
    if let Some(e) = loader_option_without_load(&m, &steps)
        .or_else(|| kexec_load_only_with_file_syscall(&m, &steps))
    {
        return Parsed::Usage(e);
    }
    let uki_profile = match m.get_one::<String>("uki-profile") {
        None => 0,
        Some(text) => match text.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                return Parsed::Usage(format!(
                    "error: --uki-profile={text}: a profile number (0, 1, ...) is wanted"
                ))
            }
        },
    };
    let force_dtb = m.get_flag("force-dtb");
    let no_cma = m.get_flag("no-cma");
    // kexec_file_load flags: no -c, and nothing that only kexec_load honours.
    for (given, option, flag) in [
        (force_dtb, "--force-dtb", "KEXEC_FILE_FORCE_DTB"),
        (no_cma, "--no-cma", "KEXEC_FILE_NO_CMA"),
    ] {
        if !(given && steps.load) {
            continue;
        }
        if syscall(&m) == SyscallChoice::Load {
            return Parsed::Usage(format!(
                "error: {option} is a kexec_file_load flag ({flag}): drop -c, or drop {option}"
            ));
        }
        if let Some(id) = KEXEC_LOAD_ONLY.iter().find(|id| given_at(&m, id).is_some()) {
            return Parsed::Usage(format!(
                "error: {option} needs kexec_file_load, but --{id} works only through kexec_load: drop one of them"
            ));
        }
    }
    let pass_memmap_cmdline = m.get_flag("pass-memmap-cmdline");
    if pass_memmap_cmdline && !steps.crash {
        return Parsed::Usage(
            "error: --pass-memmap-cmdline gives a crash kernel (-p) its memory map on its command line; a kernel loaded with -l boots with the firmware's memory map: drop it".into(),
        );
    }
    let kernel_entry = match (
        m.get_flag("decompress-at-load"),
        m.get_flag("no-decompress-at-load"),
    ) {
        (true, true) => {
            return Parsed::Usage(
                "error: --decompress-at-load and --no-decompress-at-load contradict each other: keep one".into(),
            )
        }
        (true, false) if steps.crash => {
            return Parsed::Usage(
                "error: --decompress-at-load is for -l: a crash kernel (-p) is entered through its decompressor: drop it".into(),
            )
        }
        (true, false) => x86_64::KernelEntry::DecompressAtLoad,
        (false, true) => x86_64::KernelEntry::Decompressor,
        (false, false) => x86_64::KernelEntry::Auto,
    };
    let positional: Vec<&OsString> = m
        .get_many::<OsString>("kernel")
        .map(|v| v.collect())
        .unwrap_or_default();
    if positional.len() > 1 {
        return Parsed::Usage(format!(
            "error: more than one kernel given: {} (the kernel is the only argument that is not an option)",
            positional
                .iter()
                .map(|s| kexec::plan::path_text(s.as_ref()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let kernel = positional.first().map(PathBuf::from);
    let segments = match m
        .get_many::<OsString>("segment")
        .map(|v| {
            v.map(|t| SegmentSpec::parse(t))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
    {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => return Parsed::Usage(e),
    };
    if !segments.is_empty() && kernel.is_some() {
        return Parsed::Usage("error: give either a kernel or --segment options, not both".into());
    }
    let arch = match m.get_one::<String>("arch") {
        None => None,
        Some(t) => match kexec::sys::abi::KexecArch::from_name(t)
            .map(|a| a.value())
            .or_else(|| parse_number(t).map(|n| if n > 0xffff { n } else { n << 16 }))
        {
            Some(v) => Some(v),
            None => {
                return Parsed::Usage(format!(
                    "error: --arch={t}: not a KEXEC_ARCH_* name (X86_64, AARCH64, ...) or a number"
                ))
            }
        },
    };
    if steps.load && kernel.is_none() && segments.is_empty() {
        return Parsed::Usage(
            "error: no kernel specified: give the kernel image file, e.g. `kexec -l /boot/vmlinuz`"
                .into(),
        );
    }
    let kernel_type = match m.get_one::<String>("type").map(|t| kernel_type(t)) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => return Parsed::Usage(e),
    };
    let number = |id: &str, default: u64| -> Result<u64, String> {
        match m.get_one::<String>(id) {
            None => Ok(default),
            Some(text) => parse_number(text).ok_or_else(|| {
                format!("error: bad option value in --{id}={text}: expected a number (0x for hex)")
            }),
        }
    };
    let (mem_min, mem_max, load_flags) = match (
        number("mem-min", 0),
        number("mem-max", u64::MAX),
        number("load-flags", 0),
    ) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Parsed::Usage(e),
    };
    let entry = match m.get_one::<String>("entry").map(|t| (t, parse_number(t))) {
        None => None,
        Some((_, Some(n))) => Some(n),
        Some((t, None)) => {
            return Parsed::Usage(format!(
                "error: bad option value in --entry={t}: expected a number (0x for hex)"
            ))
        }
    };
    let boot_args = match ["args-linux", "args-elf", "args-none"].iter().filter_map(|id| given_at(&m, id).map(|at| (at, *id))).max() {
        Some((_, "args-elf")) => {
            return Parsed::Usage("error: --args-elf (ELF boot notes) is not supported: Linux kernels take boot_params, which --args-linux (the default) passes".into())
        }
        Some((_, "args-none")) => BootArgs::None,
        _ => BootArgs::Linux,
    };
    let console = match serial_console(&m) {
        Ok(c) => c,
        Err(e) => return Parsed::Usage(e),
    };
    let port = match m.get_one::<String>("port").map(|t| (t, parse_number(t))) {
        None => None,
        Some((_, Some(n))) if n > 0 => Some(n),
        Some((t, _)) => {
            return Parsed::Usage(format!(
                "error: bad option value in --port={t}: expected the UART's MMIO address, e.g. 0x9000000"
            ))
        }
    };
    let dtb = match m.get_one::<OsString>("dtb").map(|d| d.to_str()) {
        None => None,
        Some(Some(d)) => Some(d.to_string()),
        Some(None) => {
            return Parsed::Usage("error: --dtb: the device tree's path is not UTF-8".into())
        }
    };
    Parsed::Run(Request {
        steps,
        syscall: syscall(&m),
        kernel,
        initrd: m.get_one::<OsString>("initrd").map(PathBuf::from),
        append: m
            .get_one::<OsString>("append")
            .map(|a| a.clone().into_vec()),
        reuse_cmdline: m.get_flag("reuse-cmdline"),
        image_type: m.get_one::<String>("type").cloned(),
        debug: m.get_flag("debug"),
        dry_run: m.get_flag("dry-run"),
        json: m.get_flag("json"),
        skip_preflight: m.get_flag("skip-preflight"),
        status_kernel: given_at(&m, "load").is_some() && given_at(&m, "load-panic").is_none(),
        mem_min,
        mem_max,
        no_checks: m.get_flag("no-checks"),
        console,
        no_efi: m.get_flag("noefi"),
        boot_args,
        segments,
        entry,
        arch,
        load_flags,
        video: VideoOptions {
            console_vga: m.get_flag("console-vga"),
            reset_vga: m.get_flag("reset-vga"),
            reuse_video_type: m.get_flag("reuse-video-type"),
        },
        pass_memmap_cmdline,
        kernel_entry,
        kernel_type,
        aarch64: aarch64::Options { dtb, port },
        force_dtb,
        no_cma,
        uki_profile,
        hotplug: m.get_flag("hotplug"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Request {
        let argv = std::iter::once("kexec")
            .chain(args.iter().copied())
            .map(OsString::from);
        match parse(argv) {
            Parsed::Run(r) => r,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn usage(args: &[&str]) -> String {
        let argv = std::iter::once("kexec")
            .chain(args.iter().copied())
            .map(OsString::from);
        match parse(argv) {
            Parsed::Usage(text) => text,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn permuted_arguments_and_both_value_forms() {
        let r = run(&[
            "--initrd",
            "/i",
            "-s",
            "-s",
            "-l",
            "/k",
            "--command-line",
            "a b",
        ]);
        assert_eq!(r.kernel, Some(PathBuf::from("/k")));
        assert_eq!(r.initrd, Some(PathBuf::from("/i")));
        assert_eq!(r.append.as_deref(), Some(&b"a b"[..]));
        assert_eq!(r.syscall, SyscallChoice::File);
        assert!(r.steps.load && !r.steps.exec && !r.steps.shutdown);
        let r = run(&["/k", "--ramdisk=/i", "--append=x=1", "-l"]);
        assert_eq!(
            (r.initrd, r.append.as_deref()),
            (Some(PathBuf::from("/i")), Some(&b"x=1"[..]))
        );
    }

    #[test]
    fn append_and_command_line_are_one_option_last_wins() {
        assert_eq!(
            run(&["-l", "/k", "--append=a", "--command-line=b"])
                .append
                .as_deref(),
            Some(&b"b"[..])
        );
        assert_eq!(
            run(&["-l", "/k", "--command-line", "b", "--append", ""])
                .append
                .as_deref(),
            Some(&b""[..])
        );
        // A value that starts with a dash is still the value.
        assert_eq!(
            run(&["-l", "/k", "--append", "-x"]).append.as_deref(),
            Some(&b"-x"[..])
        );
    }

    #[test]
    fn combined_short_options_and_long_prefixes() {
        let r = run(&["-sp", "/k", "--ini=/i", "--reuse-cmd"]);
        assert!(r.steps.crash && r.steps.load);
        assert_eq!(r.syscall, SyscallChoice::File);
        assert!(r.reuse_cmdline);
        assert_eq!(r.initrd, Some(PathBuf::from("/i")));
    }

    #[test]
    fn modes_apply_in_order() {
        let s = run(&["-p", "-u"]).steps;
        assert!(s.unload && s.crash && !s.load);
        let s = run(&["-u", "-p", "/k"]).steps;
        assert!(s.unload && s.load && s.crash);
        let s = run(&["-l", "-e"]).steps;
        assert!(s.exec && !s.load && s.sync && s.ifdown);
        let s = run(&["-e", "-x", "-y"]).steps;
        assert!(s.exec && !s.sync && !s.ifdown);
        let s = run(&["-f", "/k"]).steps;
        assert!(s.load && s.exec && s.sync && s.ifdown && !s.shutdown);
        let s = run(&["/k"]).steps;
        assert!(s.load && s.shutdown);
        let s = run(&["-S"]).steps;
        assert!(s.status && !s.load && !s.crash);
        let s = run(&["-p", "-S"]).steps;
        assert!(s.status && s.crash && !s.load);
    }

    #[test]
    fn syscall_choice_last_wins_default_auto() {
        assert_eq!(run(&["-l", "/k"]).syscall, SyscallChoice::Auto);
        assert_eq!(run(&["-s", "-c", "-l", "/k"]).syscall, SyscallChoice::Load);
        assert_eq!(run(&["-c", "-s", "-l", "/k"]).syscall, SyscallChoice::File);
        assert_eq!(run(&["-s", "-a", "-l", "/k"]).syscall, SyscallChoice::Auto);
    }

    #[test]
    fn usage_errors() {
        assert!(usage(&["--bogus-option"]).contains("--bogus-option"));
        assert!(usage(&["-l"]).contains("no kernel specified"));
        assert!(usage(&["-l", "/a", "/b"]).contains("more than one kernel"));
        assert!(usage(&["-l", "/k", "--initrd"]).contains("--initrd"));
    }

    #[test]
    fn file_names_and_the_command_line_are_bytes() {
        use std::os::unix::ffi::OsStringExt;
        let bytes = |b: &[u8]| OsString::from_vec(b.to_vec());
        let argv = [
            bytes(b"kexec"),
            bytes(b"-l"),
            bytes(b"/boot/k\xff"),
            bytes(b"--initrd=/i\xfe"),
            bytes(b"--append=a=\xff b"),
        ];
        let Parsed::Run(r) = parse(argv) else {
            panic!("not UTF-8 is no usage error")
        };
        assert_eq!(r.kernel, Some(PathBuf::from(bytes(b"/boot/k\xff"))));
        assert_eq!(r.initrd, Some(PathBuf::from(bytes(b"/i\xfe"))));
        assert_eq!(r.append.as_deref(), Some(&b"a=\xff b"[..]));
        let argv = [
            bytes(b"kexec"),
            bytes(b"-c"),
            bytes(b"-l"),
            bytes(b"--segment=/s\xff@1@0x1000:0x2000"),
        ];
        let Parsed::Run(r) = parse(argv) else {
            panic!("a segment file name may be any bytes")
        };
        assert_eq!(
            r.segments,
            vec![SegmentSpec {
                file: PathBuf::from(bytes(b"/s\xff@1")),
                mem: 0x1000,
                memsz: Some(0x2000)
            }]
        );
        let argv = [
            bytes(b"kexec"),
            bytes(b"-l"),
            bytes(b"/a\xff"),
            bytes(b"/b"),
        ];
        assert!(matches!(parse(argv), Parsed::Usage(t) if t.contains(r"/a\xff, /b")));
    }

    #[test]
    fn help_and_version() {
        let argv = ["kexec", "-?"].map(OsString::from);
        assert!(matches!(parse(argv), Parsed::Help(text) if text.contains("--kexec-file-syscall")));
        let argv = ["kexec", "-v"].map(OsString::from);
        assert!(matches!(parse(argv), Parsed::Version(_)));
    }

    #[test]
    fn raw_segments() {
        let r = run(&[
            "-c",
            "-l",
            "--segment=/a@0x100000",
            "--segment",
            "/b@1048576:0x3000",
            "--entry=0x100000",
            "--arch=aarch64",
        ]);
        assert_eq!(
            r.segments,
            vec![
                SegmentSpec {
                    file: "/a".into(),
                    mem: 0x100000,
                    memsz: None
                },
                SegmentSpec {
                    file: "/b".into(),
                    mem: 0x100000,
                    memsz: Some(0x3000)
                },
            ]
        );
        assert_eq!((r.entry, r.arch), (Some(0x100000), Some(0xB70000)));
        assert_eq!(
            run(&["-c", "-l", "--segment=/a@0", "--arch=62"]).arch,
            Some(0x3e0000)
        );
        assert!(usage(&["-c", "-l", "--segment=/a"]).contains("no @MEM"));
        assert!(usage(&["-c", "-l", "/k", "--segment=/a@0"]).contains("not both"));
        assert!(usage(&["-c", "-l", "--segment=/a@0", "--arch=vax"]).contains("--arch=vax"));
    }

    #[test]
    fn kdump_callers_argument_shapes() {
        // Fedora kdumpctl: duplicate -s, -d, quoted --command-line=.
        let r = run(&[
            "-s",
            "-s",
            "-d",
            "-p",
            "--command-line=root=x irqpoll",
            "--initrd=/i",
            "/k",
        ]);
        assert!(r.steps.crash && r.debug);
        // Debian kdump-config passes --args-linux even for bzImages.
        let r = run(&[
            "-p",
            "--args-linux",
            "--command-line=x",
            "--initrd=/i",
            "/k",
        ]);
        assert!(r.steps.crash);
        // systemd: separate argv, may be an empty append.
        let r = run(&["--load", "/k", "--append", "", "--initrd", "/i"]);
        assert_eq!(r.append.as_deref(), Some(&b""[..]));
    }

    fn parsed_for(arch: &str, args: &[&str]) -> Parsed {
        let argv = std::iter::once("kexec")
            .chain(args.iter().copied())
            .map(OsString::from);
        parse_for(arch, argv)
    }

    /// kexec-tools' arm64 options reach the arm64 image; each
    /// architecture's own options are refused by name on the other.
    #[test]
    fn arm64_options_and_each_architectures_refusals() {
        let Parsed::Run(r) = parsed_for(
            "aarch64",
            &[
                "-c",
                "-l",
                "--dtb=/boot/virt.dtb",
                "--port",
                "0x9000000",
                "/Image",
            ],
        ) else {
            panic!("arm64 options parse on aarch64");
        };
        assert_eq!(r.aarch64.dtb.as_deref(), Some("/boot/virt.dtb"));
        assert_eq!(r.aarch64.port, Some(0x900_0000));
        let lib = r.library_request(kexec::Target::Normal, true);
        assert_eq!(lib.options.boot.first_arch_option(), Some("--dtb"));
        let usage_for = |arch, args: &[&str]| match parsed_for(arch, args) {
            Parsed::Usage(text) => text,
            other => panic!("{args:?}: {other:?}"),
        };
        let e = usage_for("x86_64", &["-l", "--dtb=/d", "/k"]);
        assert!(
            e.contains("--dtb") && e.contains("x86_64 kernels take no device tree"),
            "{e}"
        );
        let e = usage_for("x86_64", &["-l", "--port=0x9000000", "/k"]);
        assert!(e.contains("--port is an arm64 option"), "{e}");
        let e = usage_for("aarch64", &["-l", "--console-serial", "/k"]);
        assert!(
            e.contains("--console-serial is an x86 option") && e.contains("--port"),
            "{e}"
        );
        let e = usage_for("aarch64", &["-l", "--reset-vga", "/k"]);
        assert!(e.contains("--reset-vga is an x86 option"), "{e}");
        let e = usage_for("aarch64", &["-l", "--port=uart", "/k"]);
        assert!(e.contains("--port=uart"), "{e}");
        // -s cannot honour them: the kernel builds its own device tree.
        let e = usage_for("aarch64", &["-s", "-l", "--dtb=/d", "/k"]);
        assert!(e.contains("--dtb"), "{e}");
    }

    #[test]
    fn the_man_pages_option_facts() {
        assert_eq!(option_architecture("dtb"), Some("aarch64"));
        assert_eq!(option_architecture("console-serial"), Some("x86_64"));
        assert_eq!(option_architecture("initrd"), None);
        let refused: Vec<_> = refused_options().map(|(name, _)| name).collect();
        assert!(refused.contains(&"module") && !refused.contains(&"dtb"));
        // --hotplug is a real option now, not a refused one.
        assert!(!refused.contains(&"hotplug"));
        // Each one named is refused with the reason listed.
        for (name, why) in refused_options() {
            let e = usage(&["-l", &format!("--{name}=1"), "/k"]);
            let e = if e.contains(why) {
                e
            } else {
                usage(&["-l", &format!("--{name}"), "/k"])
            };
            assert!(e.contains(why), "--{name}: {e}");
        }
        assert!(
            type_help().contains("bzImage64 (x86_64)") && type_help().contains("Image (aarch64)")
        );
    }

    #[test]
    fn hotplug_is_an_option_that_reaches_the_librarys_load_options() {
        let r = run(&["-p", "--hotplug", "/k"]);
        assert!(r.hotplug && r.steps.crash);
        let lib = r.library_request(Target::Crash, true);
        assert!(lib.options.boot.hotplug);
        // It asks for no kexec_load: -a still tries kexec_file_load first.
        assert_eq!(lib.syscall, SyscallChoice::Auto);
        assert_eq!(lib.options.boot.first_arch_option(), None);
        // Accepted with -s and -c, and by unambiguous prefix, as getopt does.
        assert!(run(&["-s", "-p", "--hotplug", "/k"]).hotplug);
        assert!(run(&["-c", "-p", "--hotp", "/k"]).hotplug);
        assert!(!run(&["-p", "/k"]).hotplug);
        // As in kexec-tools, an unload with it is no usage error.
        assert!(run(&["-p", "-u", "--hotplug"]).hotplug);
    }

    #[test]
    fn force_dtb_is_a_file_load_flag() {
        let r = run(&["-l", "--force-dtb", "/k"]);
        assert!(r.force_dtb);
        let lib = r.library_request(kexec::Target::Normal, true);
        assert!(lib.options.force_dtb);
        assert!(usage(&["-c", "-l", "--force-dtb", "/k"]).contains("drop -c"));
        assert!(usage(&["-l", "--force-dtb", "--reset-vga", "/k"])
            .contains("--reset-vga works only through kexec_load"));
        assert!(usage(&["-e", "--force-dtb"]).contains("--force-dtb is an option for loading"));
    }

    /// --no-cma is KEXEC_FILE_NO_CMA: parsed (no longer refused), passed
    /// to the library, and refused with -c or a kexec_load-only option.
    #[test]
    fn no_cma_is_a_file_load_flag() {
        for args in [
            &["-l", "--no-cma", "/k"][..],
            &["-s", "-p", "/k", "--no-cma"],
        ] {
            let r = run(args);
            assert!(r.no_cma, "{args:?}");
            assert!(!r.force_dtb);
            let lib = r.library_request(kexec::Target::Normal, true);
            assert!(lib.options.no_cma);
        }
        assert!(!run(&["-l", "/k"]).no_cma);
        let u = usage(&["-c", "-l", "--no-cma", "/k"]);
        assert!(
            u.contains("KEXEC_FILE_NO_CMA") && u.contains("drop -c"),
            "{u}"
        );
        assert!(usage(&["-l", "--no-cma", "--reset-vga", "/k"])
            .contains("--reset-vga works only through kexec_load"));
        assert!(usage(&["-u", "--no-cma"]).contains("--no-cma is an option for loading"));
        assert!(command()
            .render_long_help()
            .to_string()
            .contains("KEXEC_FILE_NO_CMA, Linux 6.17+"));
    }
}
