//! Issue #9, formats as plug-ins: a file no format accepts is named in the
//! refusal (gzip data, a PE, an arm64 Image, an initramfs...) on every
//! system-call choice, after the bzImage field at fault; `--type` picks a
//! format by its registry name.

mod common;

use common::Dir;
use kexec::testing::{bzimage64_sample, gzip};
use kexec::FakeHost;

/// The exit code, and what was written (a dry run's verdict goes to stdout).
fn kexec(host: &mut FakeHost, args: &[&str]) -> (i32, String) {
    let ran = common::kexec(host, args);
    (ran.code, ran.out + &ran.err)
}

/// `magic` at `at` in a file of 64 KiB of zeros: as large as a probe reads.
fn with_magic(at: usize, magic: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 64 * 1024];
    f[at..at + magic.len()].copy_from_slice(magic);
    f
}

fn not_kernels() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut gz = gzip(&"console=ttyS0 ".repeat(100));
    gz.resize(64 * 1024, 0);
    let mut pe = with_magic(0, b"MZ");
    pe[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    pe[0x80..0x84].copy_from_slice(b"PE\0\0");
    let mut zboot = with_magic(0, b"MZ");
    zboot[4..8].copy_from_slice(b"zimg");
    vec![
        ("vmlinuz.gz", gz, "gzip-compressed data"),
        (
            "vmlinuz.zst",
            with_magic(0, b"\x28\xb5\x2f\xfd"),
            "zstd-compressed data",
        ),
        ("bootx64.efi", pe, "PE/COFF"),
        ("vmlinuz.efi", zboot, "EFI zboot"),
        ("Image", with_magic(0x38, b"ARM\x64"), "arm64 kernel Image"),
        ("initrd.img", with_magic(0, b"070701"), "cpio archive"),
    ]
}

#[test]
fn a_file_no_format_accepts_is_named_on_every_syscall_choice() {
    let d = Dir::new("named");
    for (name, bytes, what) in not_kernels() {
        let path = d.put(name, &bytes);
        for choice in [&["-s"][..], &["-c"], &[]] {
            let mut args = choice.to_vec();
            args.extend(["-l", &path]);
            let mut host = FakeHost::typical();
            let (code, err) = kexec(&mut host, &args);
            assert_eq!(code, 255, "{args:?}: {err}");
            // A zboot image is unpacked, so its own header's field is named.
            // kexec_load knows an arm64 Image and says whose it is.
            let field = if name == "vmlinuz.efi" {
                "compression type \"\" at offset 0x18"
            } else if name == "Image" && choice == ["-c"] {
                "this machine is x86_64, which cannot boot it"
            } else {
                "HdrS"
            };
            assert!(
                err.contains(field) && err.contains(what) && err.contains(name),
                "{args:?} must keep the field and name {what}: {err}"
            );
            assert!(host.calls.is_empty(), "{args:?}: {:?}", host.calls);
        }
    }
}

#[test]
fn gzip_kernel_is_told_to_decompress_first() {
    let d = Dir::new("gzip");
    let (_, bytes, _) = not_kernels().remove(0);
    let path = d.put("vmlinuz.gz", &bytes);
    let mut host = FakeHost::typical();
    let (code, err) = kexec(&mut host, &["--dry-run", "-s", "-l", &path]);
    assert_eq!(code, 255, "{err}");
    assert!(
        err.contains("is gzip-compressed data, not a bzImage: decompress it first"),
        "{err}"
    );
}

#[test]
fn type_names_a_registry_format_and_refusals_name_the_file() {
    let d = Dir::new("type");
    let bz = d.put("vmlinuz", &bzimage64_sample());
    let gz = d.put("vmlinuz.gz", &not_kernels().remove(0).1);
    let mut arm = with_magic(0, b"\x7fELF");
    arm[4] = 2;
    arm[5] = 1;
    arm[18..20].copy_from_slice(&183u16.to_le_bytes());
    let arm = d.put("vmlinux-arm64", &arm);
    let mut host = FakeHost::typical();
    let (code, err) = kexec(&mut host, &["-c", "-l", "--type=bzImage64", &bz]);
    assert_eq!(code, 0, "{err}");
    for (args, want) in [
        (
            ["-c", "-l", "--type=bzImage64", &gz],
            "the bzImage64 loader does not accept it: no \"HdrS\"",
        ),
        (
            ["-c", "-l", "--type=bzImage64", &gz],
            "gzip-compressed data",
        ),
        (
            ["-c", "-l", "--type=elf-x86_64", &arm],
            "it is an ELF file, but not an x86_64 one (an ELF64 file for AArch64",
        ),
    ] {
        let mut host = FakeHost::typical();
        let (code, err) = kexec(&mut host, &args);
        assert_eq!(code, 255, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(host.calls.is_empty());
    }
    let mut host = FakeHost::typical();
    let (code, err) = kexec(&mut host, &["-c", "-l", "--type=vax", &bz]);
    assert_eq!(code, 1);
    assert!(
        err.contains("this kexec's loaders are bzImage64 and elf-x86_64"),
        "{err}"
    );
}
