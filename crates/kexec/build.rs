//! Builds the purgatory (crates/purgatory) for bare metal with the stock
//! x86_64-unknown-linux-gnu toolchain — no_std, position independent, linked
//! without a C library — and flattens it into a blob the loader can place at
//! any address: the bytes of its PT_LOAD segments from address 0, the list of
//! R_X86_64_RELATIVE relocations to add the load address to, and the offsets
//! of its entry point and parameter block.
//!
//! The arm64 purgatory (crates/purgatory-aarch64) is built the same way for
//! aarch64-unknown-linux-gnu (R_AARCH64_RELATIVE relocations only) when the
//! library is built for aarch64 or KEXEC_PURGATORY_AARCH64=1 asks for it on
//! another host (a test of the image on bare-metal QEMU); it needs an
//! aarch64 core library (tests/cross/aarch64.sh's RUSTC) and linker. Only
//! then is `kexec_purgatory_aarch64` set, so the library builds without it.

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::{Object, ObjectSymbol, RelocationFlags, RelocationTarget};
use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "x86_64-unknown-linux-gnu";
const TARGET_AARCH64: &str = "aarch64-unknown-linux-gnu";
/// The linker variable cargo reads for aarch64 targets.
const LINKER_AARCH64: &str = "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER";

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let purgatory = manifest.join("../purgatory");
    for watched in ["src", "Cargo.toml", "Cargo.lock"] {
        println!(
            "cargo:rerun-if-changed={}",
            purgatory.join(watched).display()
        );
    }
    // The parameter block's crate is built into the purgatory too.
    for watched in ["src", "Cargo.toml"] {
        println!(
            "cargo:rerun-if-changed={}",
            manifest.join("../purgatory-abi").join(watched).display()
        );
    }
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let elf_path = build(&purgatory, &out.join("purgatory-target"));
    let bytes = std::fs::read(&elf_path).expect("read the purgatory ELF");
    flatten(&bytes, &out, "purgatory", elf::R_X86_64_RELATIVE);

    println!("cargo::rustc-check-cfg=cfg(kexec_purgatory_aarch64)");
    println!("cargo:rerun-if-env-changed=KEXEC_PURGATORY_AARCH64");
    println!("cargo:rerun-if-env-changed={LINKER_AARCH64}");
    let purgatory_aarch64 = manifest.join("../purgatory-aarch64");
    for watched in ["src", "Cargo.toml", "Cargo.lock"] {
        println!(
            "cargo:rerun-if-changed={}",
            purgatory_aarch64.join(watched).display()
        );
    }
    let for_aarch64 = env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("aarch64");
    if for_aarch64 || env::var("KEXEC_PURGATORY_AARCH64").as_deref() == Ok("1") {
        let elf_path = build_aarch64(&purgatory_aarch64, &out.join("purgatory-aarch64-target"));
        let bytes = std::fs::read(&elf_path).expect("read the arm64 purgatory ELF");
        flatten(&bytes, &out, "purgatory_aarch64", elf::R_AARCH64_RELATIVE);
        println!("cargo:rustc-cfg=kexec_purgatory_aarch64");
    }
}

/// Static PIE without a C library or start files; entry = purgatory_start.
const PURGATORY_FLAGS: [&str; 8] = [
    "-Crelocation-model=pie",
    "-Cpanic=abort",
    "-Clink-arg=-nostartfiles",
    "-Clink-arg=-nostdlib",
    "-Clink-arg=-static-pie",
    "-Clink-arg=-Wl,--no-dynamic-linker",
    "-Clink-arg=-Wl,-e,purgatory_start",
    "-Clink-arg=-Wl,--build-id=none",
];

/// The arm64 purgatory runs with the MMU off, where all data is Device
/// memory and an unaligned access faults: +strict-align. 4 KiB segment
/// alignment keeps the flat image small (GNU ld's aarch64 default is 64 KiB).
fn build_aarch64(crate_dir: &Path, target_dir: &Path) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut flags: Vec<&str> = PURGATORY_FLAGS.to_vec();
    flags.extend([
        "-Ctarget-feature=+strict-align",
        "-Clink-arg=-Wl,-z,max-page-size=4096",
        "-Clink-arg=-Wl,-z,noseparate-code",
    ]);
    // The cross build names its linker (tests/cross/aarch64.sh); a native
    // aarch64 build links with its own cc; elsewhere the Debian cross gcc.
    let linker = env::var(LINKER_AARCH64).unwrap_or_else(|_| {
        if env::var("HOST").is_ok_and(|h| h.starts_with("aarch64-")) {
            "cc".into()
        } else {
            "aarch64-linux-gnu-gcc".into()
        }
    });
    let status = Command::new(cargo)
        .current_dir(crate_dir)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            TARGET_AARCH64,
            "--target-dir",
        ])
        .arg(target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"))
        .env(LINKER_AARCH64, &linker)
        .status()
        .expect("run cargo to build the arm64 purgatory");
    assert!(
        status.success(),
        "building the arm64 purgatory (crates/purgatory-aarch64) failed: it needs an aarch64 \
         core library (RUSTC as tests/cross/aarch64.sh sets it) and the linker {linker} \
         ({LINKER_AARCH64})"
    );
    target_dir
        .join(TARGET_AARCH64)
        .join("release")
        .join("purgatory-aarch64")
}

fn build(crate_dir: &Path, target_dir: &Path) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let flags = PURGATORY_FLAGS.join("\x1f");
    let status = Command::new(cargo)
        .current_dir(crate_dir)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            TARGET,
            "--target-dir",
        ])
        .arg(target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env("CARGO_ENCODED_RUSTFLAGS", flags)
        .status()
        .expect("run cargo to build the purgatory");
    assert!(status.success(), "building the purgatory failed");
    target_dir.join(TARGET).join("release").join("purgatory")
}

/// Writes `{name}.bin` and `{name}_layout.rs` to `out`; every relocation
/// must be of type `relative` (the architecture's R_*_RELATIVE).
fn flatten(bytes: &[u8], out: &Path, name: &str, relative: elf::RelocationType) {
    let file = ElfFile64::<object::Endianness>::parse(bytes).expect("purgatory is ELF64");
    let endian = file.endian();
    let header = file.elf_header();
    let mut image: Vec<u8> = Vec::new();
    let mut memsz = 0u64;
    for ph in header
        .program_headers(endian, bytes)
        .expect("program headers")
    {
        if ph.p_type(endian) != elf::PT_LOAD {
            continue;
        }
        let vaddr = ph.p_vaddr(endian);
        let data = ph.data(endian, bytes).expect("segment data");
        let end = vaddr as usize + data.len();
        if image.len() < end {
            image.resize(end, 0);
        }
        image[vaddr as usize..end].copy_from_slice(data);
        memsz = memsz.max(vaddr + ph.p_memsz(endian));
    }
    // The ELF and program headers are not needed at run time; zero them so
    // the segment cannot pass for an elfcorehdr (the kernel takes the first
    // segment that starts with ELF magic as one).
    let headers_end = header.e_phoff(endian) as usize
        + usize::from(header.e_phnum(endian)) * usize::from(header.e_phentsize(endian));
    let headers_end = headers_end
        .max(usize::from(header.e_ehsize(endian)))
        .min(image.len());
    image[..headers_end].fill(0);
    let mut relocations = Vec::new();
    for (offset, reloc) in file.dynamic_relocations().into_iter().flatten() {
        let r_type = match reloc.flags() {
            RelocationFlags::Elf { r_type } => r_type,
            other => panic!("unexpected relocation flags {other:?}"),
        };
        assert!(
            r_type == relative && reloc.target() == RelocationTarget::Absolute,
            "{name} relocation at {offset:#x} has type {r_type}: only type {relative} (RELATIVE) can be applied"
        );
        relocations.push((offset, reloc.addend()));
    }
    let symbol = |name: &str| {
        file.symbols()
            .find(|s| s.name() == Ok(name))
            .unwrap_or_else(|| panic!("purgatory has no symbol {name}"))
    };
    let entry = symbol("purgatory_start").address();
    let params = symbol("PURGATORY_PARAMS");
    assert_eq!(
        params.size(),
        purgatory_abi::PARAMS_SIZE as u64,
        "PURGATORY_PARAMS is purgatory_abi::Params"
    );
    assert_eq!(
        entry,
        header.e_entry(endian),
        "entry point is purgatory_start"
    );

    std::fs::write(out.join(format!("{name}.bin")), &image).unwrap();
    let mut meta = String::new();
    writeln!(meta, "pub const MEMSZ: u64 = {memsz:#x};").unwrap();
    writeln!(meta, "pub const ENTRY: u64 = {entry:#x};").unwrap();
    writeln!(meta, "pub const PARAMS: u64 = {:#x};", params.address()).unwrap();
    writeln!(meta, "pub const PARAMS_SIZE: u64 = {:#x};", params.size()).unwrap();
    writeln!(
        meta,
        "pub const RELOCATIONS: &[(u64, i64)] = &{relocations:#x?};"
    )
    .unwrap();
    std::fs::write(out.join(format!("{name}_layout.rs")), meta).unwrap();
}
