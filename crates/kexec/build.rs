//! Builds the purgatory (crates/purgatory) for bare metal with the stock
//! x86_64-unknown-linux-gnu toolchain — no_std, position independent, linked
//! without a C library — and flattens it into a blob the loader can place at
//! any address: the bytes of its PT_LOAD segments from address 0, the list of
//! R_X86_64_RELATIVE relocations to add the load address to, and the offsets
//! of its entry point and parameter block.

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::{Object, ObjectSymbol, RelocationFlags, RelocationTarget};
use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "x86_64-unknown-linux-gnu";

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
    flatten(&bytes, &out);
}

fn build(crate_dir: &Path, target_dir: &Path) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Static PIE without a C library or start files; entry = purgatory_start.
    let flags = [
        "-Crelocation-model=pie",
        "-Cpanic=abort",
        "-Clink-arg=-nostartfiles",
        "-Clink-arg=-nostdlib",
        "-Clink-arg=-static-pie",
        "-Clink-arg=-Wl,--no-dynamic-linker",
        "-Clink-arg=-Wl,-e,purgatory_start",
        "-Clink-arg=-Wl,--build-id=none",
    ]
    .join("\x1f");
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

fn flatten(bytes: &[u8], out: &Path) {
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
            r_type == elf::R_X86_64_RELATIVE && reloc.target() == RelocationTarget::Absolute,
            "purgatory relocation at {offset:#x} has type {r_type}: only R_X86_64_RELATIVE can be applied"
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

    std::fs::write(out.join("purgatory.bin"), &image).unwrap();
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
    std::fs::write(out.join("purgatory_layout.rs"), meta).unwrap();
}
