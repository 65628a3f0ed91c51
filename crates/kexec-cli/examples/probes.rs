//! Test instrument: provokes the rejections only a library caller can reach
//! (the `kexec` command never passes such arguments) and prints how they are
//! explained. Run it in a disposable guest, as root.
//!
//! Usage: probes ebadf KERNEL      a descriptor not open for reading
//!        probes etxtbsy KERNEL    the file is open for writing elsewhere
//!        probes no-nul KERNEL     a command line without its NUL
//! Prints "probe NAME: ERRNO: REASON" (or "success").

use kexec::sys::abi::KEXEC_FILE_NO_INITRAMFS;
use kexec::{rules, Facts, FileLoad, Host, LinuxHost, Plan, Target};
use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (probe, kernel) = match args.as_slice() {
        [_, probe, kernel] => (probe.as_str(), Path::new(kernel)),
        _ => {
            eprintln!("usage: probes ebadf|etxtbsy|no-nul KERNEL");
            std::process::exit(1);
        }
    };
    let mut host = LinuxHost;
    let facts = Facts::gather(&host);
    let plan = Plan::FileLoad(
        FileLoad::open(Target::Normal, kernel, None, Vec::new(), Default::default())
            .expect("kernel opens"),
    );
    let reader = File::open(kernel).expect("kernel opens for reading");
    let result = match probe {
        "ebadf" => {
            let write_only = OpenOptions::new()
                .write(true)
                .open(kernel)
                .expect("opens for writing");
            host.kexec_file_load(
                Some(write_only.as_fd()),
                None,
                b"\0",
                KEXEC_FILE_NO_INITRAMFS,
            )
        }
        "etxtbsy" => {
            let _writer = OpenOptions::new()
                .append(true)
                .open(kernel)
                .expect("opens for writing");
            host.kexec_file_load(Some(reader.as_fd()), None, b"\0", KEXEC_FILE_NO_INITRAMFS)
        }
        "no-nul" => host.kexec_file_load(
            Some(reader.as_fd()),
            None,
            b"console=ttyS0",
            KEXEC_FILE_NO_INITRAMFS,
        ),
        other => {
            eprintln!("unknown probe {other}");
            std::process::exit(1);
        }
    };
    match result {
        Ok(()) => println!("probe {probe}: success"),
        Err(errno) => {
            let r = rules::explain(errno, &plan, &facts);
            println!("probe {probe}: {}: {}", errno.name(), r.reason);
        }
    }
}
