//! `kexec`: a drop-in for kexec-tools' kexec(8).

fn main() {
    let mut host = kexec::LinuxHost;
    let code = kexec_cli::run::run(
        std::env::args_os(),
        &mut host,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
