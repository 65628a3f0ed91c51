//! vmcore-dmesg(8) and its bash, zsh and fish completions, generated from
//! the command line the `vmcore-dmesg` binary parses
//! (`kexec_cli::vmcore_args::command()`): SYNOPSIS and OPTIONS are
//! clap_mangen's, so they name exactly the arguments the parser takes; the
//! exit statuses are the binary's constants. The prose says what
//! `kexec::vmcore` reads and prints.

use super::{examples, finish, inline, item, man, para, render, render_roff, section, start};
use super::{see_also_pages, tagged, Example};
use clap::{Command, ValueHint};
use clap_complete::Shell;
use clap_mangen::roff::{roman, Roff};
use clap_mangen::Man;
use kexec::vmcore::dmesg::timestamp;
use kexec_cli::vmcore_args::{self, EXIT_FAILED, EXIT_OK, EXIT_USAGE};

/// The shells completions are written for, with the file name each one's
/// completion loader looks for.
pub const SHELLS: [(Shell, &str); 3] = [
    (Shell::Bash, "vmcore-dmesg.bash"),
    (Shell::Zsh, "_vmcore-dmesg"),
    (Shell::Fish, "vmcore-dmesg.fish"),
];

/// The timestamp (ns) of DESCRIPTION's sample line, printed there as the
/// reader prints it (`kexec::vmcore::dmesg::timestamp`).
pub const SAMPLE_NSEC: u64 = 12_345_678_999;
/// The text of DESCRIPTION's sample line.
pub const SAMPLE_TEXT: &str = "Linux version 6.1.0-18-amd64 ...";

/// The EXAMPLES section. The tests parse every `vmcore-dmesg` command in
/// it (up to a `>` or `|`) with the command's own parser.
pub const EXAMPLES: [Example; 3] = [
    Example {
        what: "In the kdump capture kernel (booted by the crash, see *kexec*(8) *-p*), save the \
               crashed kernel's log first: it is small, where the whole dump may not fit:",
        arch: None,
        commands: &["vmcore-dmesg /proc/vmcore > /var/crash/dmesg.txt"],
    },
    Example {
        what: "Save a dump in ELF format, without the pages a crash analysis seldom needs, and \
               read its log later, on any machine. (*makedumpfile*'s default kdump-compressed \
               format is not ELF: *makedumpfile --dump-dmesg* reads the log out of those.)",
        arch: None,
        commands: &[
            "makedumpfile -E -d 31 /proc/vmcore /var/crash/vmcore",
            "vmcore-dmesg /var/crash/vmcore",
        ],
    },
    Example {
        what: "Show the end of the log, where the oops or panic is:",
        arch: None,
        commands: &["vmcore-dmesg /var/crash/vmcore | tail -n 60"],
    },
];

/// `kexec_cli::vmcore_args::command()` as completions offer it: its
/// argument is a file.
pub fn completion_command() -> Command {
    vmcore_args::command().mut_arg("vmcore", |a| a.value_hint(ValueHint::FilePath))
}

/// One shell's completion script.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(
        shell,
        &mut completion_command(),
        "vmcore-dmesg",
        &mut script,
    );
    script
}

/// `kexec_cli::vmcore_args::command()` as the man page's OPTIONS section
/// shows it: clap's own help and version flags with what they do, in
/// words that read in a man page.
pub fn man_command() -> Command {
    let mut cmd = vmcore_args::command();
    // The flags exist once the command is built (Man::new builds it again,
    // which keeps what is changed here).
    cmd.build();
    cmd.mut_arg("help", |a| {
        a.long_help("Print the help (-h a summary, --help all of it) and exit.")
    })
    .mut_arg("version", |a| a.long_help("Print the version and exit."))
}

/// The man page, vmcore-dmesg.8, as roff source.
pub fn man_page() -> String {
    let man = man(man_command(), "VMCORE-DMESG");
    let mut page: Vec<u8> = Vec::new();
    start(&man, &mut page);
    render(&man, Man::render_name_section, &mut page);
    render(&man, Man::render_synopsis_section, &mut page);
    render_roff(&description(), &mut page);
    render(&man, Man::render_options_section, &mut page);
    render_roff(&exit_status(), &mut page);
    render_roff(&files(), &mut page);
    render_roff(&examples(&EXAMPLES), &mut page);
    render_roff(
        &see_also_pages(
            &[
                ("kexec", "8"),
                ("makedumpfile", "8"),
                ("dmesg", "1"),
                ("proc", "5"),
            ],
            "; the kernel's Documentation/admin-guide/kdump/kdump.rst.",
        ),
        &mut page,
    );
    finish(page)
}

fn description() -> Roff {
    let mut roff = Roff::new();
    section(&mut roff, "DESCRIPTION");
    roff.text(inline(
        "*vmcore-dmesg* prints the kernel log of a crashed kernel, what *dmesg*(1) would have \
         shown on it, out of its memory dump: {VMCORE} is /proc/vmcore in the kdump capture \
         kernel that the crash started (loaded beforehand with *kexec -p*), or a copy of it \
         saved in ELF format. It replaces kexec-tools' *vmcore-dmesg*: it takes the same argument \
         and prints the same lines on standard output.",
    ));
    para(
        &mut roff,
        "The vmcore is read as an ELF core file, 32- or 64-bit, of either byte order. The \
         VMCOREINFO note among its PT_NOTE segments, which the crashed kernel wrote, gives the \
         addresses of the log's symbols and the sizes and offsets of its structures; the \
         PT_LOAD segments map the kernel's virtual addresses to the file. Neither a vmlinux nor \
         debug information is needed. Besides the headers only the log is read, so a dump as \
         large as the crashed machine's memory is no burden. The VMCOREINFO symbols tell which \
         of the kernel's log formats the dump holds:",
    );
    item(
        &mut roff,
        "Linux 5.10 and later",
        "The lockless ring buffer, *printk_ringbuffer* (SYMBOL(prb)): the records from the \
         oldest to the newest descriptor; a record still being written or already given up for \
         reuse is skipped.",
    );
    item(
        &mut roff,
        "Linux 3.5 to 5.9",
        "*printk_log* records in *log_buf* (SYMBOL(log_first_idx)), from the first to the next \
         index. The record that marks the wrap to the buffer's start is printed, as kexec-tools \
         prints it: a timestamp of zero and no text.",
    );
    item(
        &mut roff,
        "before Linux 3.5",
        "The plain character buffer *log_buf* (SYMBOL(log_buf)), its oldest character first, \
         printed as it is.",
    );
    para(
        &mut roff,
        "Each record is printed on a line of its own: its timestamp, seconds and microseconds \
         since boot, as *[*{seconds}*.*{microseconds}*]* with the seconds right-aligned in five \
         columns, then a space and its text:",
    );
    roff.control("RS", []);
    roff.control("nf", []);
    roff.text([roman(format!("{}{SAMPLE_TEXT}", timestamp(SAMPLE_NSEC)))]);
    roff.control("fi", []);
    roff.control("RE", []);
    para(
        &mut roff,
        "A newline in the text is kept; any other byte that is neither printable ASCII nor white \
         space is written as *\\x*{NN}, two hexadecimal digits. Only the text is printed: no log \
         level, facility or caller.",
    );
    para(
        &mut roff,
        "Every offset and size taken from the file is checked. A damaged or truncated dump, or \
         one whose VMCOREINFO lacks an entry the log's format needs, ends with an error that \
         names the file, the field and the rule broken; the records printed before it are the \
         log up to the fault.",
    );
    para(
        &mut roff,
        "Reading /proc/vmcore needs root; a saved copy needs only read permission.",
    );
    roff
}

fn exit_status() -> Roff {
    let mut roff = Roff::new();
    section(&mut roff, "EXIT STATUS");
    item(
        &mut roff,
        &format!("*{EXIT_OK}*"),
        "The log was printed; or the help or the version, with *--help* or *--version*.",
    );
    item(
        &mut roff,
        &format!("*{EXIT_USAGE}*"),
        "A usage error: no {VMCORE}, more than one, or an unknown option.",
    );
    item(
        &mut roff,
        &format!("*{EXIT_FAILED}*"),
        "The vmcore could not be opened or read, is not an ELF core file, has no VMCOREINFO \
         note, or its log could not be read out of it; or the log could not be written (a \
         closed pipe, a full disk). The reason is on standard error.",
    );
    roff
}

fn files() -> Roff {
    let mut roff = Roff::new();
    section(&mut roff, "FILES");
    tagged(
        &mut roff,
        &["/proc/vmcore"],
        "The crashed kernel's memory as an ELF core file, in the kdump capture kernel only.",
    );
    roff
}
