//! Issue #9, formats as plug-ins: a file no format accepts is named in the
//! refusal (gzip data, a PE, an arm64 Image, an initramfs...) on every
//! system-call choice, after the bzImage field at fault; `--type` picks a
//! format by its registry name.

mod common;

use common::Dir;
use kexec::testing::{bzimage64_sample, gzip, gzip_bytes};
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
            // Packed data is unpacked here too: what is inside is named,
            // or why it does not unpack.
            let field = if name == "vmlinuz.efi" {
                "compression type \"\" at offset 0x18"
            } else if name == "vmlinuz.gz" {
                "which unpacks to text: not a kernel"
            } else if name == "vmlinuz.zst" {
                "cannot unpack it (zstd-compressed data, zstd payload)"
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
fn a_packed_file_says_what_it_holds_when_that_is_not_a_kernel_for_this_machine() {
    let d = Dir::new("gzip");
    let (_, bytes, _) = not_kernels().remove(0);
    let text = d.put("vmlinuz.gz", &bytes);
    let arm64 = d.put("Image.gz", &gzip_bytes(&with_magic(0x38, b"ARM\x64")));
    for (path, want) in [
        (&text, "vmlinuz.gz: gzip-compressed data, which unpacks to text: not a kernel"),
        (
            &arm64,
            "Image.gz: gzip-compressed data, which unpacks to an arm64 kernel Image: a kernel for another architecture",
        ),
    ] {
        let mut host = FakeHost::typical();
        let (code, err) = kexec(&mut host, &["--dry-run", "-s", "-l", path]);
        assert_eq!(code, 255, "{err}");
        assert!(err.contains(want), "{err}");
    }
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
    let text = d.put(
        "notes.txt",
        &"not a kernel at all\n".repeat(100).into_bytes(),
    );
    for (args, want) in [
        (
            ["-c", "-l", "--type=bzImage64", &text],
            "the bzImage64 loader does not accept it: no \"HdrS\"",
        ),
        (
            ["-c", "-l", "--type=bzImage64", &gz],
            "gzip-compressed data, which unpacks to text",
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

/// A UKI holding `bzimage64_sample()`, an initramfs and a command line.
#[cfg(target_arch = "x86_64")]
fn uki_sample() -> Vec<u8> {
    kexec::image::uki::build(&[
        (".osrel", b"ID=test\n"),
        (".cmdline", b"console=ttyS0 quiet\n\0"),
        (".linux", &bzimage64_sample()),
        (".initrd", b"070701 uki initrd"),
    ])
}

#[cfg(target_arch = "x86_64")]
#[test]
fn a_uki_is_unwrapped_and_its_cmdline_used_when_none_is_given() {
    use kexec::sys::fake::Call;
    let d = Dir::new("uki");
    let uki = d.put("uki.efi", &uki_sample());
    let user = d.put("mine.img", b"070701 mine");
    // The .initrd (17 bytes) is padded to 4 before what follows it.
    let uki_initrd = b"070701 uki initrd\0\0\0".to_vec();
    for (extra, cmdline, initrd) in [
        (&[][..], &b"console=ttyS0 quiet\0"[..], uki_initrd.clone()),
        (&["--append=x"][..], b"x\0", uki_initrd.clone()),
        (&["--append="][..], b"\0", uki_initrd.clone()),
        (
            &["--initrd", user.as_str()][..],
            b"console=ttyS0 quiet\0",
            [&uki_initrd[..], b"070701 mine"].concat(),
        ),
    ] {
        let mut args = vec!["-s", "-l", uki.as_str()];
        args.extend(extra);
        let mut host = FakeHost::typical();
        let (code, out) = kexec(&mut host, &args);
        assert_eq!(code, 0, "{args:?}: {out}");
        assert!(
            matches!(&host.calls[..], [Call::FileLoad { kernel: true, initrd: true, cmdline: c, .. }] if c == cmdline),
            "{args:?}: {:?}",
            host.calls
        );
        let (kernel, passed_initrd) = &host.passed_files[0];
        assert_eq!(kernel.as_ref().unwrap().bytes, bzimage64_sample());
        assert_eq!(passed_initrd.as_ref().unwrap().bytes, initrd, "{args:?}");
    }
    // kexec_load builds its boot image from the same parts.
    let mut host = FakeHost::typical();
    let (code, out) = kexec(&mut host, &["-c", "-l", &uki]);
    assert_eq!(code, 0, "{out}");
    assert!(
        matches!(&host.calls[..], [Call::Load { .. }]),
        "{:?}",
        host.calls
    );
    // The dry run says which command line it took, and where the parts are from.
    let mut host = FakeHost::typical();
    let (code, out) = kexec(&mut host, &["--dry-run", "-s", "-l", &uki]);
    assert_eq!(code, 0, "{out}");
    for want in [
        "the .linux section of a unified kernel image",
        "the .initrd section of a unified kernel image",
        "\"console=ttyS0 quiet\"",
        "the UKI's .cmdline section, as no command line was given",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn a_uki_of_another_machine_is_named_not_unwrapped() {
    let d = Dir::new("uki-arm64");
    let arm = with_magic(0x38, b"ARM\x64");
    let uki = d.put("arm.efi", &kexec::image::uki::build(&[(".linux", &arm)]));
    let mut host = FakeHost::typical();
    let (code, err) = kexec(&mut host, &["-s", "-l", &uki]);
    assert_eq!(code, 255, "{err}");
    assert!(
        err.contains("a unified kernel image")
            && err.contains("holds no kernel this machine boots"),
        "{err}"
    );
    assert!(host.calls.is_empty());
}

#[cfg(target_arch = "x86_64")]
#[test]
fn a_crash_uki_is_restored_from_the_uki_alone() {
    use kexec::sys::fake::{Call, CRASH_LOADED};
    let d = Dir::new("uki-crash");
    let uki = d.put("uki.efi", &uki_sample());
    let mut host = FakeHost::typical();
    kexec::testing::add_crash_files(&mut host);
    let (code, out) = kexec(&mut host, &["-s", "-p", &uki]);
    assert_eq!(code, 0, "{out}");
    host.calls.clear();
    // The next crash load is refused after the old one was freed; the
    // record reopens the UKI, whose .initrd is not added a second time.
    host.load_results
        .push_back(Err(kexec::Errno::EADDRNOTAVAIL));
    let (code, out) = kexec(
        &mut host,
        &["-s", "-p", "--skip-preflight", &d.path("vmlinuz")],
    );
    assert_eq!(code, 255, "{out}");
    assert!(out.contains("it was restored"), "{out}");
    assert_eq!(host.files[CRASH_LOADED], "1\n");
    assert!(
        matches!(&host.calls[..], [_, Call::FileLoad { initrd: true, cmdline, .. }] if cmdline == b"console=ttyS0 quiet\0"),
        "{:?}",
        host.calls
    );
    let (kernel, initrd) = host.passed_files.last().unwrap();
    assert_eq!(kernel.as_ref().unwrap().bytes, bzimage64_sample());
    assert_eq!(
        initrd.as_ref().unwrap().bytes,
        b"070701 uki initrd\0\0\0".to_vec()
    );
}

/// A zstd frame that unpacks to `head` and then `zeros` zero bytes, in
/// 128 KiB RLE blocks of 4 bytes each: a bomb of any size in a small file.
#[cfg(target_arch = "x86_64")]
fn zstd_bomb(head: &[u8], zeros: u64) -> Vec<u8> {
    const BLOCK: usize = 128 << 10;
    // Magic; frame header: no content size, a 128 KiB window.
    let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38];
    let block = |f: &mut Vec<u8>, kind: u32, size: usize, last: bool| {
        let h = ((size as u32) << 3) | (kind << 1) | u32::from(last);
        f.extend_from_slice(&h.to_le_bytes()[..3]);
    };
    for part in head.chunks(BLOCK) {
        block(&mut f, 0, part.len(), false);
        f.extend_from_slice(part);
    }
    let mut left = zeros;
    while left > 0 {
        let n = left.min(BLOCK as u64) as usize;
        left -= n as u64;
        block(&mut f, 1, n, left == 0);
        f.push(0);
    }
    f
}

#[cfg(target_arch = "x86_64")]
#[test]
fn compressed_kernels_of_every_kind_are_unpacked_for_both_calls() {
    use kexec::image::compressed::Compression;
    use kexec::sys::fake::Call;
    use kexec::testing::compress;
    let d = Dir::new("packed");
    let bz = bzimage64_sample();
    for c in Compression::ALL {
        let path = d.put(
            &format!("bzImage.{}", c.name().replace(' ', "-")),
            &compress(c, &bz),
        );
        for choice in [&["-s"][..], &[], &["-c"]] {
            let mut args = choice.to_vec();
            args.extend(["-l", &path]);
            let mut host = FakeHost::typical();
            let (code, out) = kexec(&mut host, &args);
            assert_eq!(code, 0, "{args:?}: {out}");
            if choice == ["-c"] {
                assert!(
                    matches!(&host.calls[..], [Call::Load { .. }]),
                    "{args:?}: {:?}",
                    host.calls
                );
            } else {
                assert!(
                    matches!(&host.calls[..], [Call::FileLoad { kernel: true, .. }]),
                    "{args:?}: {:?}",
                    host.calls
                );
                // The kernel gets the bzImage itself, never the packed file.
                assert_eq!(
                    host.passed_files[0].0.as_ref().unwrap().bytes,
                    bz,
                    "{args:?}"
                );
            }
        }
        // The dry run names the container and what came out of it.
        let mut host = FakeHost::typical();
        let (code, out) = kexec(&mut host, &["--dry-run", "-s", "-l", &path]);
        assert_eq!(code, 0, "{out}");
        let file = std::fs::read(&path).unwrap();
        let sha = |b: &[u8]| kexec::hex::encode(&<sha2::Sha256 as sha2::Digest>::digest(b)[..8]);
        let want = format!(
            "{}, {}, sha256 {}… → unpacked 16 KiB, sha256 {}…",
            kexec::image::compressed::detect("", &file, file.len() as u64)
                .unwrap()
                .unwrap()
                .what,
            kexec::memory::human_size(file.len() as u64),
            sha(&file),
            sha(&bz)
        );
        assert!(out.contains(&want), "{}: {want} in {out}", c.name());
        // kexec_load's plan names the steps on the kernel's segment.
        let mut host = FakeHost::typical();
        let (code, out) = kexec(&mut host, &["--dry-run", "-c", "-l", &path]);
        assert_eq!(code, 0, "{out}");
        let segment = out
            .lines()
            .find(|l| l.contains("protected-mode part"))
            .unwrap_or("");
        assert!(segment.contains(&want), "{}: {want} in {out}", c.name());
    }
    // A vmlinux (ELF) gzipped, as distributions ship vmlinux.gz.
    let elf = kexec::testing::elf_vmlinux(&[(0x100_0000, 0x20_0000, 0x40_0000)], 0x100_0000);
    let path = d.put("vmlinux.gz", &gzip_bytes(&elf));
    let mut host = FakeHost::typical();
    let (code, out) = kexec(&mut host, &["-c", "-l", &path]);
    assert_eq!(code, 0, "{out}");
    assert!(
        matches!(&host.calls[..], [Call::Load { .. }]),
        "{:?}",
        host.calls
    );
}

#[cfg(target_arch = "x86_64")]
#[test]
fn a_bomb_and_a_cut_short_kernel_are_refused_by_name_before_any_call() {
    let d = Dir::new("bomb");
    let bz = bzimage64_sample();
    let bomb = d.put("bomb.zst", &zstd_bomb(&bz, 1 << 30));
    let gz = gzip_bytes(&bz);
    let cut = d.put("bzImage.gz", &gz[..gz.len() / 2]);
    for (path, want) in [
        // Stopped at half of the (fake) machine's RAM: no load may be larger.
        (&bomb, "bomb.zst: zstd-compressed data unpacks to more than 992 MiB, more than any kernel or than a load may take here: refusing it (a decompression bomb?)"),
        (&cut, "bzImage.gz: cannot unpack it (gzip-compressed data, gzip payload)"),
    ] {
        for choice in ["-s", "-c"] {
            let mut host = FakeHost::typical();
            let (code, err) = kexec(&mut host, &[choice, "-l", path]);
            assert_eq!(code, 255, "{err}");
            assert!(err.contains(want), "{choice}: {err}");
            assert!(host.calls.is_empty(), "{choice}: {:?}", host.calls);
        }
    }
}

#[test]
fn a_multiboot_kernel_is_named_with_the_tool_that_loads_it() {
    let d = Dir::new("multiboot");
    // An ELF32 with a multiboot header, as Xen's hypervisor.
    let mut xen = with_magic(0, b"\x7fELF\x01\x01\x01");
    xen[18..20].copy_from_slice(&3u16.to_le_bytes());
    let (magic, flags) = (0x1bad_b002u32, 3u32);
    xen[0x1000..0x1004].copy_from_slice(&magic.to_le_bytes());
    xen[0x1004..0x1008].copy_from_slice(&flags.to_le_bytes());
    xen[0x1008..0x100c]
        .copy_from_slice(&0u32.wrapping_sub(magic).wrapping_sub(flags).to_le_bytes());
    let plain = d.put("xen-4.17-amd64", &xen);
    let gz = d.put("xen-4.17-amd64.gz", &gzip_bytes(&xen));
    for path in [&plain, &gz] {
        for choice in [&["-s"][..], &["-c"], &[]] {
            let mut args = choice.to_vec();
            args.extend(["-l", path]);
            let mut host = FakeHost::typical();
            let (code, err) = kexec(&mut host, &args);
            assert_eq!(code, 255, "{args:?}: {err}");
            assert!(
                err.contains("a multiboot kernel (a Xen hypervisor")
                    && err.contains("--module=FILE"),
                "{args:?}: {err}"
            );
            assert!(host.calls.is_empty(), "{args:?}: {:?}", host.calls);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn a_refused_signature_says_what_unwrapping_did_to_it() {
    use kexec::image::compressed::Compression;
    let d = Dir::new("signature");
    let uki = d.put("uki.efi", &uki_sample());
    let xz = d.put(
        "bzImage.xz",
        &kexec::testing::compress(Compression::Xz, &bzimage64_sample()),
    );
    for (path, want) in [
        (
            &uki,
            "the UKI's own signature covers the UKI, not the kernel inside",
        ),
        (
            &xz,
            "unpacked from xz-compressed data: a signature on the packed file does not carry over",
        ),
    ] {
        let mut host = FakeHost::typical();
        host.load_result = Err(kexec::Errno::EKEYREJECTED);
        let (code, err) = kexec(&mut host, &["-s", "-l", path]);
        assert_eq!(code, 255, "{err}");
        assert!(
            err.contains("signature verification") && err.contains(want),
            "{err}"
        );
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn a_multi_profile_uki_loads_the_profile_asked_for() {
    use kexec::sys::fake::Call;
    let d = Dir::new("profiles");
    // Shared .linux and .cmdline; profile 0 keeps the shared .cmdline,
    // profile 1 brings its own .cmdline and .initrd.
    let uki = d.put(
        "multi.efi",
        &kexec::image::uki::build(&[
            (".osrel", b"ID=test\n"),
            (".linux", &bzimage64_sample()),
            (".cmdline", b"shared"),
            (".profile", b"ID=default\nTITLE=Default\n"),
            (".profile", b"ID=rescue\nTITLE=Rescue\n"),
            (".cmdline", b"rescue systemd.unit=rescue.target"),
            (".initrd", b"070701 rescue"),
        ]),
    );
    for (extra, cmdline, initrd) in [
        (&[][..], &b"shared\0"[..], None),
        (&["--uki-profile=0"][..], b"shared\0", None),
        (
            &["--uki-profile=1"][..],
            b"rescue systemd.unit=rescue.target\0",
            Some(b"070701 rescue\0\0\0".to_vec()),
        ),
    ] {
        let mut args = vec!["-s", "-l", uki.as_str()];
        args.extend(extra);
        let mut host = FakeHost::typical();
        let (code, out) = kexec(&mut host, &args);
        assert_eq!(code, 0, "{args:?}: {out}");
        assert!(
            matches!(&host.calls[..], [Call::FileLoad { cmdline: c, .. }] if c == cmdline),
            "{args:?}: {:?}",
            host.calls
        );
        let passed = host.passed_files[0].1.as_ref().map(|f| f.bytes.clone());
        assert_eq!(passed, initrd, "{args:?}");
    }
    // The dry run names the profile the command line came from.
    let mut host = FakeHost::typical();
    let (code, out) = kexec(
        &mut host,
        &["--dry-run", "-s", "-l", "--uki-profile=1", &uki],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("the UKI's .cmdline section (profile 1: ID=rescue TITLE=Rescue)"),
        "{out}"
    );
    // A crash load of profile 1 is recorded with its profile; a reload only
    // the kernel refuses restores that profile, not profile 0.
    let mut host = FakeHost::typical();
    kexec::testing::add_crash_files(&mut host);
    let (code, out) = kexec(&mut host, &["-s", "-p", "--uki-profile=1", &uki]);
    assert_eq!(code, 0, "{out}");
    let record = String::from_utf8(host.state_files["/run/kexec/crash.json"].clone()).unwrap();
    assert!(record.contains("\"uki_profile\": 1"), "{record}");
    host.calls.clear();
    host.load_results.push_back(Err(kexec::Errno::EINVAL));
    let (code, out) = kexec(
        &mut host,
        &["-s", "-p", "--skip-preflight", &uki, "--append=other"],
    );
    assert_eq!(code, 255, "{out}");
    assert!(out.contains("restored from /run/kexec/crash.json"), "{out}");
    assert!(
        matches!(&host.calls[..], [_, Call::FileLoad { cmdline: c, .. }] if c == b"rescue systemd.unit=rescue.target\0"),
        "the restore loads profile 1 again: {:?}",
        host.calls
    );
    // Profile 1's .initrd: only that profile has one.
    let restored = host
        .passed_files
        .last()
        .unwrap()
        .1
        .as_ref()
        .map(|f| f.bytes.clone());
    assert_eq!(restored, Some(b"070701 rescue\0\0\0".to_vec()));
    // A profile it lacks, and a profile of a kernel that is no UKI.
    let bz = d.put("bzImage", &bzimage64_sample());
    for (args, want) in [
        (
            ["-s", "-l", "--uki-profile=2", uki.as_str()],
            "--uki-profile=2, but this unified kernel image has 2 profiles (0 to 1)",
        ),
        (
            ["-s", "-l", "--uki-profile=1", bz.as_str()],
            "--uki-profile=1 picks a profile of a unified kernel image, and",
        ),
        (
            ["-s", "-l", "--uki-profile=x", bz.as_str()],
            "a profile number",
        ),
    ] {
        let mut host = FakeHost::typical();
        let (code, err) = kexec(&mut host, &args);
        assert_ne!(code, 0, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(host.calls.is_empty(), "{args:?}");
    }
}
