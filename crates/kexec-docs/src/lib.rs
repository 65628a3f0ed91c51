//! kexec(8)'s man page and its bash, zsh and fish completions, generated
//! from the `kexec` command's own clap definition
//! (`kexec_cli::args::command()`), so that neither can list an option the
//! command does not have or miss one it has. The prose sections (exit
//! status, files, refused options) take their numbers, paths and names from
//! the code that uses them.
//!
//! vmcore-dmesg(8) and its completions likewise, from
//! `kexec_cli::vmcore_args::command()` ([`vmcore_dmesg`]).
//!
//! A separate crate so that the shipped `kexec` links neither clap_mangen
//! nor clap_complete.

use clap::{Arg, Command, ValueHint};
use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;
use kexec::arch::aarch64::crash as arm64_crash;
use kexec::arch::aarch64::linux::FIRMWARE_FDT;
use kexec::arch::x86_64::efi::RUNTIME_MAP;
use kexec::boot::{BOOT_PARAMS, FB0_NAME};
use kexec::crash_journal::RECORD_PATH;
use kexec::facts::path;
use kexec::image::FORMATS;
use kexec::memory::{iomem, memmap::SYSFS_MEMMAP};
use kexec_cli::args::{self, KEXEC_LOAD_ONLY};
use kexec_cli::run::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use std::io;
use std::path::{Path, PathBuf};

pub mod vmcore_dmesg;

/// The shells completions are written for, with the file name each one's
/// completion loader looks for.
pub const SHELLS: [(Shell, &str); 3] = [
    (Shell::Bash, "kexec.bash"),
    (Shell::Zsh, "_kexec"),
    (Shell::Fish, "kexec.fish"),
];

/// One EXAMPLES entry: what it does, the architecture it is for (None: any)
/// and the command lines, as a shell takes them.
pub struct Example {
    /// One sentence, in the page's markup (`*bold*`, `{italic}`).
    pub what: &'static str,
    /// `uname -m` of the machine the commands are for, when they use an
    /// architecture's own options.
    pub arch: Option<&'static str>,
    /// Each a command line, as a shell takes it; double quotes group words.
    pub commands: &'static [&'static str],
}

/// The EXAMPLES section; the tests parse every command with the command's
/// own parser.
pub const EXAMPLES: [Example; 10] = [
    Example {
        what: "Load the installed kernel with its initrd and this kernel's command line, then boot into it:",
        arch: None,
        commands: &[
            "kexec -l /vmlinuz --initrd=/initrd.img --reuse-cmdline",
            "kexec -e",
        ],
    },
    Example {
        what: "See the plan and whether the running kernel would take it, without loading anything (needs no privileges):",
        arch: None,
        commands: &["kexec --dry-run -l /vmlinuz --initrd=/initrd.img --reuse-cmdline"],
    },
    Example {
        what: "The same for *kexec_file_load*(2) alone, as one JSON object:",
        arch: None,
        commands: &["kexec --dry-run --json -s -l /vmlinuz --initrd=/initrd.img"],
    },
    Example {
        what: "Load a crash kernel for kdump (boot with *crashkernel=* first); this kernel's command line without *crashkernel=*, plus three words:",
        arch: None,
        commands: &["kexec -p /vmlinuz --initrd=/initrd.img --reuse-cmdline --append=\"irqpoll nr_cpus=1 reset_devices\""],
    },
    Example {
        what: "Load a crash kernel through *kexec_load*(2) that the running kernel (6.6 or later, CONFIG_CRASH_HOTPLUG) updates in place when CPUs or memory are hot-plugged, instead of reloading it after each change:",
        arch: None,
        commands: &["kexec -c -p /vmlinuz --initrd=/initrd.img --reuse-cmdline --hotplug"],
    },
    Example {
        what: "Report what is loaded; the exit status is 1 when a crash kernel is loaded, 0 when not:",
        arch: None,
        commands: &["kexec -S"],
    },
    Example {
        what: "Unload the crash kernel:",
        arch: None,
        commands: &["kexec -p -u"],
    },
    Example {
        what: "x86_64: load through *kexec_load*(2), the purgatory reporting on the first serial port:",
        arch: Some("x86_64"),
        commands: &["kexec -c -l /vmlinuz --initrd=/initrd.img --reuse-cmdline --console-serial --serial=ttyS0 --serial-baud=115200"],
    },
    Example {
        what: "arm64: load through *kexec_load*(2) with a device tree of your own, the purgatory reporting on the PL011 UART at 0x9000000:",
        arch: Some("aarch64"),
        commands: &["kexec -c -l /boot/Image --dtb=/boot/board.dtb --port=0x9000000 --reuse-cmdline"],
    },
    Example {
        what: "Load two raw segments and enter the first:",
        arch: None,
        commands: &["kexec -c -l --segment=code.bin@0x100000 --segment=data.bin@0x200000:0x10000 --entry=0x100000"],
    },
];

/// `kexec_cli::args::command()` as completions offer it: without the
/// hidden options (the kexec-tools options kexec refuses), with which
/// values are files, and `-t`'s loader names from the format registry.
pub fn completion_command() -> Command {
    let full = args::command();
    // clap_complete offers hidden options too, and a Command cannot drop one.
    let mut cmd = Command::new("kexec")
        .about(full.get_about().cloned().unwrap_or_default())
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args(full.get_arguments().filter(|a| !a.is_hide_set()).cloned());
    for id in ["kernel", "initrd", "dtb"] {
        cmd = cmd.mut_arg(id, |a| a.value_hint(ValueHint::FilePath));
    }
    let names: Vec<&'static str> = FORMATS.iter().map(|f| f.name()).collect();
    cmd.mut_arg("type", |a| a.value_parser(names))
}

/// `kexec_cli::args::command()` as the man page's OPTIONS section shows
/// it: each option's help with its aliases, the architecture whose kexec
/// has it, and what it means for the choice of system call.
pub fn man_command() -> Command {
    let mut cmd = args::command();
    let ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    for id in ids {
        cmd = cmd.mut_arg(id, annotate);
    }
    cmd
}

fn annotate(arg: Arg) -> Arg {
    let mut help = arg
        .get_help()
        .map(|h| h.to_string().replace('`', "\""))
        .unwrap_or_default();
    let id = arg.get_id().as_str();
    let mut also: Vec<String> = Vec::new();
    also.extend(
        arg.get_all_short_aliases()
            .unwrap_or_default()
            .iter()
            .map(|c| format!("-{c}")),
    );
    also.extend(
        arg.get_all_aliases()
            .unwrap_or_default()
            .iter()
            .map(|a| format!("--{a}")),
    );
    if !also.is_empty() {
        help.push_str(&format!(" (also {})", also.join(", ")));
    }
    let mut notes: Vec<String> = Vec::new();
    if KEXEC_LOAD_ONLY.contains(&id) {
        notes.push("Only kexec_load honours it: with -a (the default) it makes kexec use kexec_load, and -s refuses it".into());
    }
    if let Some(arch) = args::option_architecture(id) {
        notes.push(format!(
            "Only on {arch} ({}); kexec refuses it on other architectures",
            arch_alias(arch)
        ));
    }
    for note in notes {
        help = format!("{help}. {note}");
    }
    if !help.is_empty() && !help.ends_with('.') {
        help.push('.');
    }
    // Long help: clap_mangen leaves out the help of options hidden from
    // the short help (-h), which the page must still describe.
    arg.long_help(help)
}

/// The name people use besides `uname -m`'s.
fn arch_alias(arch: &str) -> &str {
    match arch {
        "aarch64" => "arm64",
        "x86_64" => "amd64",
        other => other,
    }
}

/// The man page, kexec.8, as roff source.
pub fn man_page() -> String {
    let man = man(man_command(), "KEXEC");
    let mut page: Vec<u8> = Vec::new();
    start(&man, &mut page);
    render(&man, Man::render_name_section, &mut page);
    render_roff(&synopsis(), &mut page);
    render_roff(&description(), &mut page);
    render(&man, Man::render_options_section, &mut page);
    render_roff(&kernel_files(), &mut page);
    render_roff(&refused(), &mut page);
    render_roff(&exit_status(), &mut page);
    render_roff(&files(), &mut page);
    render_roff(&examples(&EXAMPLES), &mut page);
    render_roff(&see_also(), &mut page);
    finish(page)
}

/// The man page's settings, as every page of this crate has them.
fn man(cmd: Command, title: &str) -> Man {
    let source = format!("{} {} (Rust)", cmd.get_name(), env!("CARGO_PKG_VERSION"));
    Man::new(cmd)
        .title(title)
        .section("8")
        // No date (the page is the same whenever it is built), but a
        // placeholder: roff drops an empty argument, which would shift the
        // source into the date's place.
        .date("\\&")
        .source(source)
        .manual("System Manager's Manual")
}

/// Renders one of clap_mangen's sections of `man` into `page`.
fn render(man: &Man, f: fn(&Man, &mut dyn io::Write) -> io::Result<()>, page: &mut Vec<u8>) {
    // Writing to a Vec cannot fail.
    f(man, page).expect("rendering into memory");
}

/// The title, then no hyphenation: options and paths must not be
/// hyphenated or broken at their hyphens.
fn start(man: &Man, page: &mut Vec<u8>) {
    render(man, Man::render_title, page);
    let mut roff = Roff::new();
    roff.control("nh", []);
    render_roff(&roff, page);
}

/// The page's text, from its rendered sections.
fn finish(page: Vec<u8>) -> String {
    let page = String::from_utf8(page).expect("roff output is UTF-8");
    // Each rendering starts with roff's apostrophe preamble: keep the first.
    let preamble = Roff::new().render();
    match page.split_once(&preamble) {
        Some((before, after)) => format!("{before}{preamble}{}", after.replace(&preamble, "")),
        None => page,
    }
}

fn render_roff(roff: &Roff, page: &mut Vec<u8>) {
    roff.to_writer(page).expect("rendering into memory");
}

/// The page's small markup: `*bold*` and `{italic}`; the rest is roman.
fn inline(text: &str) -> Vec<Inline> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(['*', '{']) {
        if at > 0 {
            parts.push(roman(&rest[..at]));
        }
        let (close, font): (char, fn(String) -> Inline) = if rest[at..].starts_with('*') {
            ('*', |s| bold(s))
        } else {
            ('}', |s| italic(s))
        };
        let inner = &rest[at + 1..];
        let end = inner
            .find(close)
            .unwrap_or_else(|| panic!("unclosed {close} in {text:?}"));
        parts.push(font(inner[..end].to_string()));
        rest = &inner[end + 1..];
    }
    if !rest.is_empty() {
        parts.push(roman(rest));
    }
    parts
}

fn section(roff: &mut Roff, title: &str) {
    roff.control("SH", [title]);
}

fn para(roff: &mut Roff, text: &str) {
    roff.control("PP", []);
    roff.text(inline(text));
}

/// A tagged paragraph: `tag` in markup, then its text.
fn item(roff: &mut Roff, tag: &str, text: &str) {
    roff.control("TP", []);
    roff.text(inline(tag));
    roff.text(inline(text));
}

fn synopsis() -> Roff {
    let mut roff = Roff::new();
    section(&mut roff, "SYNOPSIS");
    let forms = [
        "*kexec* [{options}] [*-l* | *-p*] {kernel} [*--initrd=*{file}] [*--append=*{command-line}] [*--reuse-cmdline*]",
        "*kexec* *-f* [{options}] {kernel}",
        "*kexec* *-e* [*-x*] [*-y*]",
        "*kexec* *-u* [*-p*]",
        "*kexec* *-S* [*-l* | *-p*]",
        "*kexec* *-c* [*-l* | *-p*] *--segment=*{file}*@*{mem}[*:*{memsz}] ... [*--entry=*{addr}] [*--arch=*{name}]",
        "*kexec* *--print-ckr-size*",
    ];
    for (i, form) in forms.iter().enumerate() {
        if i > 0 {
            roff.control("br", []);
        }
        roff.text(inline(form));
    }
    roff
}

fn description() -> Roff {
    let mut roff = Roff::new();
    section(&mut roff, "DESCRIPTION");
    roff.text(inline(
        "*kexec* loads a new Linux kernel into memory, so that the running kernel can later jump \
         straight into it with *reboot*(2)'s LINUX_REBOOT_CMD_KEXEC, without the firmware and the \
         boot loader; or it loads a crash (capture) kernel, which the running kernel starts when \
         it panics (kdump).",
    ));
    para(
        &mut roff,
        "This *kexec* is a drop-in replacement for the *kexec* of kexec-tools: the same options, \
         parsed the same way (arguments in any order, *--initrd=*{file} or *--initrd* {file}, \
         combined short options such as *-sp*, unambiguous prefixes of long options, the last of \
         repeated options wins), and kexec-tools' exit statuses 0, 1 and 255.",
    );
    para(&mut roff, "What it does depends on the mode options:");
    item(
        &mut roff,
        "*kexec -l* {kernel}",
        "Load the kernel, for a later *kexec -e*.",
    );
    item(
        &mut roff,
        "*kexec -p* {kernel}",
        "Load a crash kernel into the memory the running kernel reserved with its \
         *crashkernel=* parameter; the running kernel starts it when it panics.",
    );
    item(
        &mut roff,
        "*kexec -e*",
        "Execute the loaded kernel now: sync file systems (unless *-y*), take network \
         interfaces down (unless *-x*) and call *reboot*(2). Services are not stopped and file \
         systems are not unmounted; *systemctl kexec* shuts the system down first.",
    );
    item(
        &mut roff,
        "*kexec -f* {kernel}",
        "Load and execute at once, as *-l* and then *-e*, without shutting the system down.",
    );
    item(
        &mut roff,
        "*kexec* {kernel}",
        "Without *-l*, *-p*, *-e*, *-u* or *-f*: load the kernel, then run *shutdown -r now*. \
         Whether that reboot enters the loaded kernel is up to the init system.",
    );
    item(
        &mut roff,
        "*kexec -u*",
        "Unload the kernel; with *-p*, the crash kernel.",
    );
    item(
        &mut roff,
        "*kexec -S*",
        "Report what is loaded, whether the system calls are available and the crash kernel's \
         memory; the exit status says whether the crash kernel (with *-l*: the kernel) is loaded.",
    );
    para(
        &mut roff,
        "Two system calls load kernels. *kexec_file_load*(2) (*-s*) hands the kernel file, the \
         initrd and the command line to the running kernel, which builds the boot image itself and \
         checks the kernel's signature where its configuration or lockdown demands it. \
         *kexec_load*(2) (*-c*) takes memory segments that this *kexec* builds: the boot image \
         (on x86_64 the boot parameters and memory map, on arm64 the device tree), for crash \
         kernels the ELF core header, and a purgatory of its own that checks the digest of every \
         segment (x86_64: XXH3-128, arm64: SHA-256) before it enters the new kernel. The default, *-a*, is that of \
         kexec-tools 2.0.27 and later: *kexec_file_load* first, *kexec_load* when the running \
         kernel cannot take the image that way, or at once when an option or the kernel's \
         format needs it.",
    );
    para(
        &mut roff,
        "Before each system call the kernel's checks are predicted from what it tells in /proc \
         and /sys: a load the kernel would refuse is refused first, naming the file, field or \
         value at fault, so that the kernel loaded before stays loaded. *--dry-run* prints the \
         plan and the predicted verdict and loads nothing; *--skip-preflight* makes the call \
         anyway. *--json* prints each outcome as one JSON object on standard output, with \
         *errno* (null on success), *rule*, *reason* and *source* (*model*: predicted before the \
         call; *kernel*: the kernel's answer; *usage*: the command line).",
    );
    para(
        &mut roff,
        &format!(
            "The kernel frees the loaded crash kernel before it checks a new one, so a crash \
             load it refuses would leave the machine without kdump. Every successful crash load \
             is therefore recorded in {RECORD_PATH}; when a later one fails and {} shows the \
             crash kernel gone, the recorded one is loaded again if its files are unchanged, and \
             *kexec* says whether it was.",
            path::KEXEC_CRASH_LOADED
        ),
    );
    para(
        &mut roff,
        &format!(
            "A crash kernel's ELF core header lists the CPUs and the memory to dump. Since Linux \
             6.6 a kernel built with CONFIG_CRASH_HOTPLUG rewrites it when CPUs or memory are \
             hot-plugged: always for a crash kernel loaded with *kexec_file_load*, and for one \
             loaded with *kexec_load* only when *--hotplug* asks, which passes \
             KEXEC_UPDATE_ELFCOREHDR (x86_64; KEXEC_CRASH_HOTPLUG_SUPPORT on arm64) and makes \
             the header's segment as large as {} says, outside the purgatory's digests. Without \
             that file *--hotplug* is refused, as kexec-tools refuses it; on a normal load \
             (*-l*) it is ignored with a warning. *-S* shows {} and {}: whether the loaded crash \
             kernel follows hotplug, or goes stale and must be reloaded after each change.",
            path::CRASH_ELFCOREHDR_SIZE,
            path::CPU_CRASH_HOTPLUG,
            path::MEMORY_CRASH_HOTPLUG
        ),
    );
    para(
        &mut roff,
        &format!(
            "Since Linux 6.3 {} and {} (default -1, unlimited) count the loads the kernel still \
             allows until reboot: every *kexec_load* and *kexec_file_load* call of that kind \
             lowers them, unloads and refused calls included, and they can only be lowered. At 0 \
             the call is refused (EPERM) before it is made. With a crash kernel loaded and one \
             crash load left, a crash reload is refused (*--skip-preflight* makes it anyway): \
             putting the crash kernel back after a refusal would need a second load. The default \
             *-a* makes no *kexec_load* fallback the limit no longer allows, nor one that would \
             spend the load such a restore needs. *-S* shows the limits that are set.",
            path::KEXEC_LOAD_LIMIT_REBOOT,
            path::KEXEC_LOAD_LIMIT_PANIC
        ),
    );
    para(
        &mut roff,
        &format!(
            "With *-d*, *kexec_file_load* carries KEXEC_FILE_DEBUG where the kernel has it (6.8+), \
             and the kernel's own lines about the load, read from {} during the call, are \
             printed on standard error as *kexec: kernel:* lines. *--no-cma* \
             (KEXEC_FILE_NO_CMA, 6.17+) asks the kernel not to place a kernel's segments in CMA \
             memory; the kernel never does for a crash kernel. *crashkernel=*{{size}}*,cma* on the \
             kernel command line (6.17+) adds crash kernel memory from CMA, which /proc/iomem \
             does not show and *-S* reports.",
            kexec::sys::KMSG
        ),
    );
    para(
        &mut roff,
        "Kexec handover (KHO, Linux 6.16 and later, CONFIG_KEXEC_HANDOVER; on with *kho=on* on \
         the kernel command line, or by default with CONFIG_KEXEC_HANDOVER_ENABLE_DEFAULT) hands \
         memory of the running kernel over to the next one. The kernel adds the handover to a \
         kernel loaded with *kexec_file_load* only, so while it is on the default *-a* makes no \
         *kexec_load* fallback, and *-c* for a kernel for *-e* is refused before the call (rule \
         kexec-handover, EINVAL; *--skip-preflight* loads it anyway, without the handover). \
         Crash kernels are not concerned. The Live Update Orchestrator (Linux 6.19 and later, \
         /dev/liveupdate, on with *liveupdate=on*) preserves its sessions the same way; the \
         program holding them must keep them open until *kexec -e*. *-S* shows both, with \
         KHO's scratch areas when debugfs can be read.",
    );
    para(
        &mut roff,
        "Loading, unloading and executing need the CAP_SYS_BOOT capability; *--dry-run*, *-S* \
         and *--print-ckr-size* do not.",
    );
    roff
}

fn kernel_files() -> Roff {
    let mut roff = Roff::new();
    section(&mut roff, "KERNEL FILES");
    roff.text(inline(
        "The kernel file's format is recognised from its contents; *-t* names the loader \
         *kexec_load* must use instead. The loaders:",
    ));
    for format in FORMATS {
        let arch = format.arch().map_or(String::from("any architecture"), |a| {
            format!("{a} ({})", arch_alias(a))
        });
        item(
            &mut roff,
            &format!("*{}*", format.name()),
            &format!("Boots on {arch}."),
        );
    }
    para(
        &mut roff,
        "A compressed kernel (gzip, zstd, xz, lzma, lz4 or bzip2, told by its magic: vmlinux.gz, \
         bzImage.xz, arm64's Image.gz) and EFI zboot images are unpacked, no further than half \
         of RAM, into a sealed memfd that both system calls take; *--dry-run* shows the steps \
         with sizes and SHA-256 digests. A unified kernel image (UKI) \
         is unwrapped: its .linux section is the kernel, .ucode, .initrd and *--initrd* make the \
         initrd, and .cmdline is the command line unless *--append* or *--reuse-cmdline* is given.",
    );
    para(
        &mut roff,
        "The kernel, the initrd and *--segment* files may be pipes, FIFOs or devices: they are \
         read once, to their end, into a sealed memfd; an empty one is an error. File names and \
         the command line are taken as bytes, whatever their encoding.",
    );
    roff
}

fn refused() -> Roff {
    let mut roff = Roff::new();
    section(&mut roff, "KEXEC-TOOLS OPTIONS NOT SUPPORTED");
    roff.text(inline(&format!(
        "No kexec-tools option is accepted and ignored. These are refused by name, with the \
         reason (exit status {EXIT_USAGE}); so are the other architecture's options of OPTIONS, \
         *--args-elf*, and loading options given with *-e*, *-u* or *-S*, as kexec-tools refuses \
         them:",
    )));
    for (name, why) in args::refused_options() {
        roff.control("IP", ["\\(bu", "2"]);
        roff.text([bold(format!("--{name}")), roman(format!(" {why}."))]);
    }
    roff
}

fn exit_status() -> Roff {
    let mut roff = Roff::new();
    section(&mut roff, "EXIT STATUS");
    item(
        &mut roff,
        &format!("*{EXIT_OK}*"),
        "Success. With *--dry-run*: the running kernel is predicted to take the load. With *-S*: \
         nothing is loaded.",
    );
    item(
        &mut roff,
        &format!("*{EXIT_USAGE}*"),
        &format!(
            "A usage error (an unknown, refused or misplaced option, a bad value, no kernel), or \
             a request that cannot be carried out as given, so nothing was tried: *-p* with no \
             memory reserved for a crash kernel, an empty kernel file, {} unreadable for \
             *--reuse-cmdline*, *-e* with nothing loaded or on a kernel without kexec. With \
             *-S*: the crash kernel (with *-l*: the kernel) is loaded.",
            path::CMDLINE
        ),
    );
    item(
        &mut roff,
        &format!("*{EXIT_FAILED}*"),
        "A load or unload failed: refused by the kernel's rules before the system call, or by \
         the kernel itself, or a file could not be read; *reboot*(2) returned (*-e*, *-f*); \
         *shutdown* could not be run. With *-S*: /sys cannot tell what is loaded.",
    );
    para(
        &mut roff,
        "With *--dry-run* the status is the one the load would end with, as predicted.",
    );
    roff
}

fn files() -> Roff {
    let mut roff = Roff::new();
    section(&mut roff, "FILES");
    let config = "/boot/config-{release}";
    let shutdown = ["/sbin/shutdown", "/etc/shutdown", "/bin/shutdown"];
    let entries: [(&[&str], &str); 17] = [
        (
            &[path::KEXEC_LOADED],
            "1 when a kernel is loaded for *kexec -e* (*-S*, *-e*).",
        ),
        (
            &[path::KEXEC_CRASH_LOADED],
            "1 when a crash kernel is loaded (*-S*, and after a failed crash load).",
        ),
        (
            &[path::KEXEC_CRASH_SIZE],
            "The size of the crash kernel's memory (*--print-ckr-size* when /proc/iomem hides \
             addresses).",
        ),
        (
            &[iomem::PATH],
            "System RAM and the \"Crash kernel\" region: where *kexec_load* segments may go, \
             *-p*, *--print-ckr-size*.",
        ),
        (
            &[path::CMDLINE],
            "The running kernel's command line, for *--reuse-cmdline*.",
        ),
        (
            &[
                path::KEXEC_LOAD_DISABLED,
                path::KEXEC_LOAD_LIMIT_REBOOT,
                path::KEXEC_LOAD_LIMIT_PANIC,
            ],
            "Whether, and how many more times, the kernel allows a load (-1: no limit; unloads \
             and refused calls count).",
        ),
        (
            &[kexec::sys::KMSG],
            "The kernel log: with *-d*, the lines KEXEC_FILE_DEBUG makes the kernel write during \
             *kexec_file_load*.",
        ),
        (
            &[path::CMA_AREAS],
            "CMA areas; *crashkernel=*{size}*,cma* reserves ones named crashkernel (*-S*).",
        ),
        (
            &[path::LOCKDOWN],
            "The lockdown mode: under lockdown the kernel refuses *kexec_load*.",
        ),
        (
            &[path::CONFIG_GZ, config, path::KALLSYMS],
            "Whether the running kernel was built with each system call.",
        ),
        (&[path::SELF_STATUS], "Whether *kexec* has CAP_SYS_BOOT."),
        (
            &[SYSFS_MEMMAP, BOOT_PARAMS, RUNTIME_MAP, FB0_NAME],
            "x86_64, *kexec_load*: the firmware's memory map, the boot parameters, the UEFI \
             runtime map and the framebuffer driver (see *--reuse-video-type*).",
        ),
        (
            &[FIRMWARE_FDT],
            "arm64, *kexec_load*: the device tree the next kernel gets, unless *--dtb* names \
             another.",
        ),
        (
            &[
                arm64_crash::VMCOREINFO,
                arm64_crash::KCORE,
                arm64_crash::CPU_DIR,
            ],
            "Crash kernels through *kexec_load*: the ELF core header's VMCOREINFO note, the \
             kernel text and the CPUs.",
        ),
        (
            &[
                path::CRASH_ELFCOREHDR_SIZE,
                path::CPU_CRASH_HOTPLUG,
                path::MEMORY_CRASH_HOTPLUG,
            ],
            "Crash hotplug (Linux 6.6 and later): the size *--hotplug* gives the ELF core \
             header, and whether the loaded crash kernel is updated in place on CPU and memory \
             hotplug (*-S*).",
        ),
        (
            &[
                path::KHO_SCRATCH_PHYS,
                path::KHO_SCRATCH_LEN,
                path::KHO_FINALIZE,
                path::LIVEUPDATE_DEV,
            ],
            "Kexec handover (Linux 6.16 and later; debugfs, root only, there only with it on): \
             its scratch areas and, on 6.16, whether its state is finalized; the Live Update \
             Orchestrator's device, there only with it on (*-S*).",
        ),
        (
            &[RECORD_PATH],
            "The record of the loaded crash kernel (root only), to restore it after a failed \
             reload.",
        ),
    ];
    for (paths, what) in entries {
        tagged(&mut roff, paths, what);
    }
    tagged(
        &mut roff,
        &[kexec::sys::linux::CACHE_DIR],
        "x86_64, *kexec_load*: the last bzImage kernel unpacked at load (root only), by the \
         XXH3-128 of the file: a later load or dry run of the same file skips \
         the decompression. *KEXEC_CACHE_DIR* names another directory; empty, no cache.",
    );
    tagged(
        &mut roff,
        &shutdown,
        "Run as *shutdown -r now* (the first one present) by *kexec* {kernel} without a mode.",
    );
    tagged(
        &mut roff,
        &[
            "/etc/default/kexec",
            "/etc/init.d/kexec-load",
            "/etc/init.d/kexec",
        ],
        "Debian package, sysvinit: with *LOAD_KEXEC=true* a reboot loads *KERNEL_IMAGE*, \
         *INITRD* and *APPEND* (or grub's default entry, *USE_GRUB_CONFIG=true*) with *kexec -l* \
         and enters it with *kexec -e* after the root file system is read-only; */no-kexec-reboot* \
         skips that once. Masked under systemd: use *systemctl kexec*. Not read by *kexec* \
         itself.",
    );
    roff
}

/// A paragraph tagged with several paths, one a line; `{...}` in a path is
/// italic (a part that varies).
fn tagged(roff: &mut Roff, paths: &[&str], text: &str) {
    for (i, file) in paths.iter().enumerate() {
        roff.control(if i == 0 { "TP" } else { "TQ" }, []);
        let mut tag = Vec::new();
        for (j, part) in file.split(['{', '}']).enumerate() {
            if !part.is_empty() {
                tag.push(if j % 2 == 0 { bold(part) } else { italic(part) });
            }
        }
        roff.text(tag);
    }
    roff.text(inline(text));
}

fn examples(list: &[Example]) -> Roff {
    let mut roff = Roff::new();
    section(&mut roff, "EXAMPLES");
    for example in list {
        roff.control("PP", []);
        roff.text(inline(example.what));
        roff.control("RS", []);
        roff.control("nf", []);
        for command in example.commands {
            roff.text([roman(*command)]);
        }
        roff.control("fi", []);
        roff.control("RE", []);
    }
    roff
}

fn see_also() -> Roff {
    see_also_pages(
        &[
            ("kexec_load", "2"),
            ("kexec_file_load", "2"),
            ("reboot", "2"),
            ("proc", "5"),
            ("systemctl", "1"),
            ("shutdown", "8"),
            ("makedumpfile", "8"),
            ("vmcore-dmesg", "8"),
        ],
        "; the kernel's Documentation/admin-guide/kdump/kdump.rst.",
    )
}

/// SEE ALSO: the pages, as *name*(section), then `tail`.
fn see_also_pages(pages: &[(&str, &str)], tail: &str) -> Roff {
    let mut roff = Roff::new();
    section(&mut roff, "SEE ALSO");
    let mut line = Vec::new();
    for (i, (name, section)) in pages.iter().enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        line.push(bold(*name));
        line.push(roman(format!("({section})")));
    }
    line.push(roman(tail));
    roff.text(line);
    roff
}

/// One shell's completion script.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut completion_command(), "kexec", &mut script);
    script
}

/// One command's documentation, as [`write_all`] writes it.
struct Docs {
    /// The page's file name.
    page: &'static str,
    /// The page, as roff source.
    text: String,
    /// The shells, with each one's completion file name.
    shells: &'static [(Shell, &'static str)],
    /// The completion script for a shell.
    script: fn(Shell) -> Vec<u8>,
}

/// Writes `dir/kexec.8`, `dir/completions/{kexec.bash,_kexec,kexec.fish}`,
/// `dir/vmcore-dmesg.8` and
/// `dir/completions/{vmcore-dmesg.bash,_vmcore-dmesg,vmcore-dmesg.fish}`;
/// returns the paths written, in that order.
pub fn write_all(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let completions = dir.join("completions");
    std::fs::create_dir_all(&completions)?;
    let mut written = Vec::new();
    for docs in [
        Docs {
            page: "kexec.8",
            text: man_page(),
            shells: &SHELLS,
            script: completion,
        },
        Docs {
            page: "vmcore-dmesg.8",
            text: vmcore_dmesg::man_page(),
            shells: &vmcore_dmesg::SHELLS,
            script: vmcore_dmesg::completion,
        },
    ] {
        let page = dir.join(docs.page);
        std::fs::write(&page, docs.text)?;
        written.push(page);
        for &(shell, name) in docs.shells {
            let file = completions.join(name);
            std::fs::write(&file, (docs.script)(shell))?;
            written.push(file);
        }
    }
    Ok(written)
}
