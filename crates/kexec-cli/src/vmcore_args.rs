//! The `vmcore-dmesg` command line (the binary is `src/vmcore_dmesg.rs`),
//! here in the library so that kexec-docs writes vmcore-dmesg(8) and its
//! completions from the parser the binary runs.

use clap::{Arg, Command};
use std::path::PathBuf;

/// Exit status when the log was printed (and of `--help`, `--version`).
pub const EXIT_OK: i32 = 0;
/// Exit status of a command line that cannot be run (kexec-tools': 1).
pub const EXIT_USAGE: i32 = 1;
/// Exit status when the vmcore cannot be read or the log written.
pub const EXIT_FAILED: i32 = 2;

/// The `vmcore-dmesg` command: one VMCORE argument, and clap's own
/// `-h`/`--help` and `-V`/`--version`.
pub fn command() -> Command {
    Command::new("vmcore-dmesg")
        .version(concat!(env!("CARGO_PKG_VERSION"), " (Rust)"))
        .about("Print the crashed kernel's log out of a vmcore")
        .long_about(
            "Print the crashed kernel's log out of a vmcore: /proc/vmcore in a kdump \
             capture kernel, or a saved copy of it. The vmcore's VMCOREINFO note says \
             where the log is: the lockless printk ring buffer (Linux 5.10 and later), \
             printk_log records (3.5 to 5.9) or the plain buffer of older kernels. Each \
             record is printed as \"[seconds.microseconds] text\", with bytes that are \
             neither printable nor white space as \\xNN, as kexec-tools' vmcore-dmesg \
             prints them.",
        )
        .after_help(format!(
            "Exit status: {EXIT_OK} the log was printed, {EXIT_USAGE} usage, {EXIT_FAILED} the \
             vmcore could not be read (the error says which field of it) or the log not written."
        ))
        .arg(
            Arg::new("vmcore")
                .value_name("VMCORE")
                .required(true)
                .value_parser(clap::value_parser!(PathBuf))
                .help("The kernel core file, e.g. /proc/vmcore")
                .long_help(
                    "The kernel core file: /proc/vmcore in the kdump capture kernel, or a \
                     copy of it saved in ELF format.",
                ),
        )
}
