//! The kexec argument parser (kexec-tools' getopt contract). Slow (clap
//! builds its command each run), so it gets a smaller budget than the rest.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::ffi::OsString;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let argv = std::iter::once("kexec").chain(text.split('\0')).map(OsString::from);
    let _ = kexec_cli::args::parse(argv);
});
