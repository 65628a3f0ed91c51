//! `vmcore-dmesg`: prints the crashed kernel's log out of a vmcore
//! (`/proc/vmcore` in a kdump capture kernel, or a saved copy), as
//! kexec-tools' vmcore-dmesg does. The reading is the library's
//! (`kexec::vmcore`); this parses the command line and reports.

use clap::{Arg, Command};
use std::io::Write;
use std::path::PathBuf;

/// Exit status of a command line that cannot be run (kexec-tools': 1).
const EXIT_USAGE: i32 = 1;
/// Exit status when the vmcore cannot be read or the log written.
const EXIT_FAILED: i32 = 2;

fn command() -> Command {
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
        .after_help("Exit status: 0 the log was printed, 1 usage, 2 the vmcore could not be read (the error says which field of it) or the log not written.")
        .arg(
            Arg::new("vmcore")
                .value_name("VMCORE")
                .required(true)
                .value_parser(clap::value_parser!(PathBuf))
                .help("The kernel core file, e.g. /proc/vmcore"),
        )
}

fn main() {
    let matches = match command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    let path = matches.get_one::<PathBuf>("vmcore").expect("required");
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 << 10, stdout.lock());
    let result = kexec::vmcore::Vmcore::open(path).and_then(|mut v| v.dmesg(&mut out));
    // What was printed before an error is the log up to the fault: keep it.
    let flushed = out.flush().map_err(kexec::vmcore::Error::Output);
    if let Err(e) = result.and(flushed) {
        eprintln!("vmcore-dmesg: {e}");
        std::process::exit(EXIT_FAILED);
    }
}
