//! Links the `kexec` and `vmcore-dmesg` binaries statically (static-pie with glibc), so that
//! each is one file that runs in an initramfs or rescue image without any shared library.
//!
//! Why not `-C target-feature=+crt-static`: without `--target`, cargo hands
//! RUSTFLAGS to proc-macros (clap's derive) and build scripts too, and a
//! proc-macro cannot be built with crt-static; cargo has no stable way to
//! give one binary its own rustc flags. So the binary alone (not the tests,
//! not the examples) gets link arguments instead:
//!
//! * `-static-pie`: the C compiler driver links a static position
//!   independent executable (rcrt1.o, no dynamic loader);
//! * `-L <dir>`: rustc names the C libraries as `-Wl,-Bdynamic -lgcc_s
//!   -lutil -lrt -lpthread -lm -ldl -lc`, which would find the shared ones;
//!   `<dir>` holds, for each, a `lib<name>.a` linker script naming the
//!   static archive. Both GNU ld and lld look in each directory for
//!   `lib<name>.so` then `lib<name>.a`, and `<dir>` comes before the
//!   system's, so the static archives win. `gcc_s` (the shared unwinder)
//!   becomes libgcc_eh.a and libgcc.a, as in gcc's own `-static` link;
//! * `-z pack-relative-relocs`: RELR relocations (below).
//!
//! The binary uses nothing of glibc that loads shared objects at run time
//! (no NSS: no getaddrinfo, no getpwnam). glibc links its own dlopen for
//! iconv, which its message catalogs would need only after setlocale, which
//! nothing calls: its "Using 'dlopen' in statically linked applications"
//! note does not apply.
//!
//! In the release profile the binary also leaves out the unwind tables
//! (see below). With fat LTO, one codegen unit, opt-level "z" and
//! panic = "abort" (Cargo.toml) that keeps it under 2,000,000 bytes.
//!
//! When the C toolchain has no static C library (`cc -print-file-name`
//! finds no libc.a), the binary is linked dynamically as before and the
//! build warns; tests/run-all.sh fails on such a binary. `KEXEC_DYNAMIC=1`
//! asks for the dynamic link.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The binaries linked statically: kexec, and vmcore-dmesg (which a kdump
/// initramfs carries beside it).
const BINS: [&str; 2] = ["kexec", "vmcore-dmesg"];

/// The C libraries rustc's standard library asks for on linux-gnu.
const LIBS: [&str; 6] = ["util", "rt", "pthread", "m", "dl", "c"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    println!("cargo:rerun-if-env-changed=KEXEC_DYNAMIC");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux")
        || env::var("CARGO_CFG_TARGET_ENV").as_deref() != Ok("gnu")
    {
        return;
    }
    // Built with `-C target-feature=+crt-static` already: rustc does it all.
    if env::var("CARGO_CFG_TARGET_FEATURE")
        .is_ok_and(|features| features.split(',').any(|f| f == "crt-static"))
    {
        return;
    }
    // An escape hatch for a toolchain whose static link misbehaves.
    if env::var_os("KEXEC_DYNAMIC").is_some_and(|v| v == "1") {
        println!("cargo:warning=KEXEC_DYNAMIC=1: the kexec and vmcore-dmesg binaries are linked dynamically");
        return;
    }
    // The C compiler rustc links with: the configured linker, else `cc`.
    let cc = env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_string());
    let dir = PathBuf::from(env::var("OUT_DIR").unwrap()).join("static-libs");
    match write_stubs(&cc, &dir) {
        Ok(()) => {
            for bin in BINS {
                println!("cargo:rustc-link-arg-bin={bin}=-static-pie");
                // RELR: the relocations of a position independent executable
                // in a few hundred bytes instead of 70 kB (glibc 2.36 and
                // later relocate them in a static-pie).
                println!("cargo:rustc-link-arg-bin={bin}=-Wl,-z,pack-relative-relocs");
                println!("cargo:rustc-link-arg-bin={bin}=-L{}", dir.display());
            }
        }
        Err(why) => {
            println!(
                "cargo:warning=the kexec and vmcore-dmesg binaries are linked dynamically: {why}"
            );
            return;
        }
    }
    // The release profile aborts on a panic (panic = "abort"): nothing
    // unwinds, so the unwind tables (.eh_frame, 0.2 MB) only served a
    // RUST_BACKTRACE print. Dropping them keeps the binary under 2 MB.
    if env::var("PROFILE").as_deref() == Ok("release") {
        let script = dir.join("no-unwind-tables.ld");
        let text = "SECTIONS { /DISCARD/ : { *(.eh_frame) } } INSERT AFTER .text;\n";
        match write(&script, text) {
            Ok(()) => {
                for bin in BINS {
                    println!("cargo:rustc-link-arg-bin={bin}=-Wl,-T,{}", script.display());
                }
            }
            Err(why) => println!(
                "cargo:warning=the kexec and vmcore-dmesg binaries keep their unwind tables: {why}"
            ),
        }
    }
}

/// Writes `lib<name>.a` in `dir` for each library rustc names, each a
/// linker script with the absolute path of the static archive.
fn write_stubs(cc: &str, dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let gcc_eh = archive(cc, "libgcc_eh.a")?;
    let gcc = archive(cc, "libgcc.a")?;
    let unwinder = format!("INPUT({} {})\n", quote(&gcc_eh), quote(&gcc));
    write(&dir.join("libgcc_s.a"), &unwinder)?;
    for name in LIBS {
        let file = format!("lib{name}.a");
        let path = archive(cc, &file)?;
        // glibc's libc.a needs libgcc in turn: one group, as gcc -static does.
        let script = if name == "c" {
            format!(
                "GROUP({} {} {})\n",
                quote(&path),
                quote(&gcc_eh),
                quote(&gcc)
            )
        } else {
            format!("INPUT({})\n", quote(&path))
        };
        write(&dir.join(&file), &script)?;
    }
    Ok(())
}

/// The absolute path of a static archive, as the C compiler finds it.
fn archive(cc: &str, file: &str) -> Result<PathBuf, String> {
    let output = Command::new(cc)
        .arg(format!("-print-file-name={file}"))
        .output()
        .map_err(|e| format!("run `{cc} -print-file-name={file}`: {e}"))?;
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    // gcc prints the bare name back when it finds no such file.
    if output.status.success() && path.is_absolute() && path.is_file() {
        Ok(path)
    } else {
        Err(format!("`{cc} -print-file-name={file}` finds no {file}"))
    }
}

/// A path for a linker script, quoted (a path may hold spaces).
fn quote(path: &Path) -> String {
    format!("\"{}\"", path.display())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}
