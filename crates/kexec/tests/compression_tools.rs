//! Our decoders against the real tools: what xz, lzma, bzip2, zstd, lz4 and
//! gzip write — with the options the kernel's own build uses (xz's x86 BCJ
//! filter and CRC32, lz4's legacy frame, the uncompressed size appended) —
//! unpacks to the bytes that went in. tests/run-all.sh installs the tools
//! (xz-utils, bzip2, zstd, lz4); a missing one fails this test.

use kexec::image::compressed::{detect, unpack, Compression, MAX_UNPACKED};
use std::io::Write;
use std::process::{Command, Stdio};

/// Bytes that compress like a kernel: this test binary itself (x86 code,
/// which the BCJ filter rewrites), twice over.
fn sample() -> Vec<u8> {
    let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let mut s = me[..me.len().min(6 << 20)].to_vec();
    s.extend_from_slice(&me[..me.len().min(3 << 20)]);
    s
}

fn run_tool(argv: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (tests/run-all.sh installs it)", argv[0]));
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{argv:?} failed");
    out.stdout
}

#[test]
fn what_the_tools_write_unpacks_to_what_went_in() {
    let data = sample();
    let size = (data.len() as u32).to_le_bytes();
    for (argv, want, append_size) in [
        (&["gzip", "-n", "-9"][..], Compression::Gzip, true),
        (&["zstd", "-q", "-19", "-c"], Compression::Zstd, true),
        (
            &["xz", "--check=crc32", "--x86", "--lzma2=dict=32MiB", "-c"],
            Compression::Xz,
            true,
        ),
        (&["xz", "-c"], Compression::Xz, false),
        (&["lzma", "-9", "-c"], Compression::Lzma, true),
        (
            &["lz4", "-q", "-l", "-9", "-c"],
            Compression::Lz4Legacy,
            true,
        ),
        (&["lz4", "-q", "-c"], Compression::Lz4, false),
        (&["bzip2", "-9", "-c"], Compression::Bzip2, true),
    ] {
        let mut file = run_tool(argv, &data);
        // As the kernel's build does (scripts/Makefile.lib size_append).
        if append_size {
            file.extend_from_slice(&size);
        }
        let packed = detect("k", &file, file.len() as u64)
            .unwrap()
            .unwrap_or_else(|| panic!("{argv:?}: not detected"));
        assert_eq!(packed.compression, want, "{argv:?}");
        let mut out = Vec::new();
        let made = unpack("k", &packed, &file, &mut out, MAX_UNPACKED)
            .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        assert_eq!(made.size, data.len() as u64, "{argv:?}");
        assert!(out == data, "{argv:?}: the bytes differ");
    }
}
