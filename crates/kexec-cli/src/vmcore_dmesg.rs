//! `vmcore-dmesg`: prints the crashed kernel's log out of a vmcore
//! (`/proc/vmcore` in a kdump capture kernel, or a saved copy), as
//! kexec-tools' vmcore-dmesg does. The reading is the library's
//! (`kexec::vmcore`), the command line's `kexec_cli::vmcore_args`; this
//! runs them and reports.

use kexec_cli::vmcore_args::{command, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use std::io::Write;
use std::path::PathBuf;

fn main() {
    let matches = match command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
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
