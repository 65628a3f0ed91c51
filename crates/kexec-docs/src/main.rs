//! `kexec-docs OUTDIR`: writes OUTDIR/kexec.8,
//! OUTDIR/completions/{kexec.bash,_kexec,kexec.fish}, OUTDIR/vmcore-dmesg.8
//! and OUTDIR/completions/{vmcore-dmesg.bash,_vmcore-dmesg,vmcore-dmesg.fish}
//! (see README, Install).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [dir] = args.as_slice() else {
        eprintln!(
            "usage: kexec-docs OUTDIR   (writes OUTDIR/kexec.8, OUTDIR/vmcore-dmesg.8 and OUTDIR/completions/)"
        );
        return ExitCode::from(2);
    };
    match kexec_docs::write_all(dir) {
        Ok(paths) => {
            for path in paths {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kexec-docs: cannot write into {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
