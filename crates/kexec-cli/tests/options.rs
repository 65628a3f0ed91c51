//! Issue #8, finding 8: every option kexec-tools accepts either works (its
//! effect is visible in the system call, the zero page, the command line or
//! the purgatory's parameters) or is refused by name with the reason, exit 1.

mod common;

use common::{kexec, Dir};
use kexec::boot::purgatory::{FLAG_DIGEST_XXH3, PARAMS_MAGIC, PARAMS_SIZE};
use kexec::boot::BOOT_PARAMS;
use kexec::sys::fake::{Call, LOADED};
use kexec::testing::add_crash_files;
use kexec::FakeHost;

/// A usage refusal: exit 1, the option named, nothing sent to the kernel.
fn refused(args: &[&str], names: &str) -> String {
    let mut host = FakeHost::typical();
    let r = kexec(&mut host, args);
    assert_eq!(r.code, 1, "{args:?}: {}", r.err);
    assert!(
        r.err.contains(names),
        "{args:?} must name {names}: {}",
        r.err
    );
    assert!(
        !r.err.contains("similar argument") && !r.err.contains("unexpected argument"),
        "{args:?}: clap's generic message: {}",
        r.err
    );
    assert!(host.calls.is_empty(), "{args:?}: {:?}", host.calls);
    r.err
}

/// The zero page of the last kexec_load: the segment with "HdrS" at 0x202.
fn zero_page(host: &FakeHost) -> &[u8] {
    host.last_load_data
        .iter()
        .map(|(_, d)| d.as_slice())
        .find(|d| d.len() > 4096 && &d[0x202..0x206] == b"HdrS")
        .expect("a zero page segment")
}

fn loaded_cmdline(host: &FakeHost) -> String {
    let zp = zero_page(host);
    let end = zp[4096..].iter().position(|&b| b == 0).unwrap() + 4096;
    String::from_utf8(zp[4096..end].to_vec()).unwrap()
}

/// The purgatory's flags word: after "KXPURG01", the block's size,
/// entry and rsi. (The code compares with the magic too: size tells apart.)
fn purgatory_flags(host: &FakeHost) -> u64 {
    let mut block = PARAMS_MAGIC.to_le_bytes().to_vec();
    block.extend_from_slice(&(PARAMS_SIZE as u64).to_le_bytes());
    let data = &host.last_load_data[0].1;
    let at = data
        .windows(16)
        .position(|w| w == block)
        .expect("params block");
    let flags = u64::from_le_bytes(data[at + 32..at + 40].try_into().unwrap());
    // Always there on x86_64: the purgatory checks XXH3-128 digests.
    assert_ne!(flags & FLAG_DIGEST_XXH3, 0, "flags {flags:#x}");
    flags & !FLAG_DIGEST_XXH3
}

#[test]
fn kexec_tools_options_of_any_architecture_are_refused_by_name() {
    let d = Dir::new("refused");
    let k = d.path("vmlinuz");
    for args in [
        vec!["-l", &k, "--dtb", "/boot/x.dtb"],
        vec!["-l", &k, "--dtb=/boot/x.dtb"],
        vec!["-l", &k, "--module", "/boot/xen.gz args"],
        vec!["-l", &k, "--reuseinitrd"],
        vec!["--load-preserve-context", &k, "--mem-max=0x10000000"],
        vec!["--load-jump-back-helper", "--entry=0x1000"],
        vec!["--load-live-update", &k],
        vec!["--exec-live-update"],
        vec!["-c", "-l", &k, "--real-mode"],
        vec!["-c", "-l", &k, "--entry-32bit"],
        vec!["-p", &k, "--elf32-core-headers"],
        vec!["-l", &k, "--dt-no-old-root"],
        vec!["-l", &k, "--atags"],
        vec!["-l", &k, "--image-size=0x1000"],
        vec!["-l", &k, "--page-offset=0xc0000000"],
        vec!["-l", &k, "--devicetreeblob=/x"],
        vec!["-l", &k, "--reuse-node=/x"],
        vec!["-l", &k, "--gamecube=1"],
        vec!["-l", &k, "--bootinfo=/x"],
        vec!["-l", &k, "--noio"],
        vec!["-l", &k, "--vmm=/x"],
        vec!["-l", &k, "--empty-zero=0"],
        vec!["-l", &k, "--howto=1"],
        vec!["-l", &k, "--miniroot=/x"],
        vec!["-c", "-l", &k, "--args-elf"],
    ] {
        let name = args
            .iter()
            .find(|a| {
                a.starts_with("--") && !a.starts_with("--mem-max") && !a.starts_with("--entry=")
            })
            .unwrap();
        let name = name.split('=').next().unwrap();
        let msg = refused(&args, name);
        assert!(msg.len() > name.len() + 30, "the reason is given: {msg}");
    }
    // The reasons say what to do.
    let msg = refused(&["-l", &k, "--dtb=/x"], "--dtb");
    assert!(
        msg.contains("device tree") && msg.contains("drop it"),
        "{msg}"
    );
}

/// --hotplug (issue #12): -c -p passes KEXEC_UPDATE_ELFCOREHDR and sizes
/// the elfcorehdr from /sys/kernel/crash_elfcorehdr_size; on 6.1, which has
/// no crash hotplug, it is refused (exit 1) naming the file and the kernel.
#[test]
fn hotplug_is_an_option_of_crash_loads() {
    let d = Dir::new("hotplug");
    let k = d.path("vmlinuz");
    let mut host = FakeHost::typical();
    add_crash_files(&mut host);
    let r = kexec(&mut host, &["-c", "-p", &k, "--hotplug"]);
    assert_eq!(r.code, 1, "{}", r.err);
    assert!(
        r.err.contains("/sys/kernel/crash_elfcorehdr_size")
            && r.err.contains("6.1.0-56-amd64")
            && r.err.contains("drop --hotplug"),
        "{}",
        r.err
    );
    assert!(host.calls.is_empty(), "{:?}", host.calls);

    host.set("/proc/sys/kernel/osrelease", "6.12.48+deb13-amd64\n");
    host.set("/sys/kernel/crash_elfcorehdr_size", "147584\n");
    let r = kexec(&mut host, &["-c", "-p", &k, "--hotplug", "-d"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let Call::Load {
        flags, segments, ..
    } = &host.calls[0]
    else {
        panic!("{:?}", host.calls)
    };
    assert_eq!(
        flags.0, 0x3e0005,
        "KEXEC_ON_CRASH|KEXEC_UPDATE_ELFCOREHDR|KEXEC_ARCH_X86_64"
    );
    assert!(
        segments.iter().any(|&(_, memsz, _)| memsz == 0x25000),
        "{segments:?}"
    );
    assert!(
        r.err.contains("debug: --hotplug: kexec_load flags"),
        "{}",
        r.err
    );

    // The dry run shows the flag and where the size comes from.
    let r = kexec(&mut host, &["-c", "-p", &k, "--hotplug", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.contains("KEXEC_UPDATE_ELFCOREHDR")
            && r.out
                .contains("--hotplug: memsz 0x25000 from /sys/kernel/crash_elfcorehdr_size")
            && r.out.contains("  note       --hotplug: kexec_load flags"),
        "{}",
        r.out
    );
    // Through kexec_file_load there is nothing to pass: the note says so.
    let r = kexec(&mut host, &["-s", "-p", &k, "--hotplug", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains("kexec_file_load needs no flag"), "{}", r.out);
    // A normal load: ignored, with a warning.
    let r = kexec(&mut host, &["-c", "-l", &k, "--hotplug"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.err.contains("--hotplug is for crash kernels (-p)"),
        "{}",
        r.err
    );
}

#[test]
fn loader_options_without_a_load_are_refused_as_kexec_tools_does() {
    for (args, name) in [
        (vec!["-e", "--append=x"], "--append"),
        (vec!["-e", "--command-line", "x"], "--append/--command-line"),
        (vec!["-u", "--initrd=/i"], "--initrd"),
        (vec!["-p", "-u", "--ramdisk=/i"], "--initrd/--ramdisk"),
        (vec!["-S", "--reuse-cmdline"], "--reuse-cmdline"),
        (vec!["-e", "--args-linux"], "--args-linux"),
        (vec!["-u", "--args-none"], "--args-none"),
        (
            vec!["-p", "-u", "--pass-memmap-cmdline"],
            "--pass-memmap-cmdline",
        ),
        (vec!["-e", "--noefi"], "--noefi"),
        (vec!["-S", "--reuse-video-type"], "--reuse-video-type"),
    ] {
        let msg = refused(&args, name);
        assert!(msg.contains("loads nothing"), "{msg}");
    }
    // kexec-tools' arch options are not loader options: -e goes ahead (and
    // finds nothing loaded).
    let mut host = FakeHost::typical();
    for arch_option in [
        "--reset-vga",
        "--console-vga",
        "--console-serial",
        "--serial=ttyS1",
        "--elf64-core-headers",
    ] {
        let r = kexec(&mut host, &["-e", arch_option]);
        assert!(
            r.err.contains("nothing has been loaded"),
            "{arch_option}: {}",
            r.err
        );
    }
    // -u then a load (-u -p KERNEL) is a load: its options are fine.
    let d = Dir::new("unload-load");
    let r = kexec(
        &mut host,
        &["-s", "-u", "-l", &d.path("vmlinuz"), "--append=x"],
    );
    assert_eq!(r.code, 0, "{}", r.err);
}

#[test]
fn type_selects_the_loader_and_the_file_must_suit_it() {
    let d = Dir::new("type");
    let (bz, elf) = (d.path("vmlinuz"), d.path("vmlinux"));
    // The right loader: kexec_load, as kexec-tools' -t (even under -a).
    for args in [
        vec!["-c", "-l", "--type=bzImage64", &bz],
        vec!["-l", "-t", "bzImage64", &bz],
    ] {
        let mut host = FakeHost::typical();
        let r = kexec(&mut host, &args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.err);
        assert!(
            matches!(host.calls.as_slice(), [Call::Load { .. }]),
            "{args:?}: {:?}",
            host.calls
        );
        assert_eq!(host.files[LOADED], "1\n");
    }
    // The wrong one: refused before the syscall, as kexec-tools' "Wrong file type".
    for (args, why) in [
        (
            vec!["-c", "-l", "--type=elf-x86_64", &bz],
            "bzImage64 kernel",
        ),
        (
            vec!["-c", "-l", "--type=bzImage64", &elf],
            "elf-x86_64 kernel",
        ),
    ] {
        let mut host = FakeHost::typical();
        let r = kexec(&mut host, &args);
        assert_eq!(r.code, 255, "{args:?}");
        assert!(
            r.err.contains("--type=") && r.err.contains(why),
            "{args:?}: {}",
            r.err
        );
        assert!(host.calls.is_empty());
    }
    // kexec-tools' other x86_64 loaders: refused by name.
    for name in [
        "multiboot2-x86",
        "multiboot-x86",
        "elf-x86",
        "bzImage",
        "beoboot-x86",
        "nbi-x86",
        "uki",
        "vax",
    ] {
        refused(
            &["-c", "-l", &format!("--type={name}"), &bz],
            &format!("--type={name}"),
        );
    }
    // The file call has no loader to choose.
    refused(&["-s", "-l", "--type=bzImage64", &bz], "--type");
}

#[test]
fn vga_options_reach_the_purgatory() {
    let d = Dir::new("vga");
    let k = d.path("vmlinuz");
    let mut host = FakeHost::typical();
    let r = kexec(&mut host, &["-c", "-l", &k]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(purgatory_flags(&host), 0);
    for (option, bit) in [("--reset-vga", 1 << 2), ("--console-vga", 1 << 3)] {
        let mut host = FakeHost::typical();
        // -a goes to kexec_load for them: only our purgatory has a VGA console.
        let r = kexec(&mut host, &["-l", &k, option]);
        assert_eq!(r.code, 0, "{}", r.err);
        assert!(
            matches!(host.calls.as_slice(), [Call::Load { .. }]),
            "{:?}",
            host.calls
        );
        assert_eq!(purgatory_flags(&host), bit, "{option}");
        refused(&["-s", "-l", &k, option], option);
    }
    let mut host = FakeHost::typical();
    let r = kexec(
        &mut host,
        &[
            "-c",
            "-l",
            &k,
            "--reset-vga",
            "--console-vga",
            "--console-serial",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(purgatory_flags(&host), (1 << 1) | (1 << 2) | (1 << 3));
    refused(&["-s", "-l", &k, "--console-serial"], "--console-serial");
}

#[test]
fn reuse_video_type_keeps_the_boot_video_type_under_a_drm_framebuffer() {
    let d = Dir::new("video");
    let k = d.path("vmlinuz");
    let mut running = vec![0u8; 4096];
    running[0x06] = 3; // orig_video_mode
    running[0x07] = 80; // orig_video_cols
    running[0x0e] = 25; // orig_video_lines
    running[0x0f] = 0x70; // orig_video_isVGA: VIDEO_TYPE_EFI
    running[0x12..0x14].copy_from_slice(&1024u16.to_le_bytes()); // lfb_width
    running[0x18..0x1c].copy_from_slice(&0x8000_0000u32.to_le_bytes()); // lfb_base
    let host_with = |fb: Option<&str>| {
        let mut host = FakeHost::typical();
        host.binary_files
            .insert(BOOT_PARAMS.into(), running.clone());
        if let Some(name) = fb {
            host.set("/sys/class/graphics/fb0/name", &format!("{name}\n"));
        }
        host
    };
    // No fb0, or the firmware's framebuffer on it: this boot's screen_info.
    for fb in [None, Some("EFI VGA"), Some("VESA VGA")] {
        let mut host = host_with(fb);
        assert_eq!(kexec(&mut host, &["-c", "-l", &k]).code, 0);
        assert_eq!(zero_page(&host)[..0x40], running[..0x40], "{fb:?}");
    }
    // A DRM driver owns fb0: as kexec-tools, no boot framebuffer...
    let mut host = host_with(Some("bochs-drmdrmfb"));
    let r = kexec(&mut host, &["-c", "-l", &k]);
    assert_eq!(r.code, 0, "{}", r.err);
    let zp = zero_page(&host);
    assert_eq!(
        (zp[0x07], zp[0x0e], zp[0x0f]),
        (80, 25, 0),
        "80x25, orig_video_isVGA 0"
    );
    assert_eq!(&zp[0x18..0x1c], &[0; 4], "no lfb_base");
    let r = kexec(
        &mut host_with(Some("bochs-drmdrmfb")),
        &["--dry-run", "-c", "-l", &k],
    );
    assert!(
        r.out
            .contains("no boot framebuffer: /dev/fb0 is bochs-drmdrmfb"),
        "{}",
        r.out
    );
    // ...unless --reuse-video-type keeps it.
    let mut host = host_with(Some("bochs-drmdrmfb"));
    let r = kexec(&mut host, &["-l", &k, "--reuse-video-type"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(zero_page(&host)[..0x40], running[..0x40]);
    refused(
        &["-s", "-l", &k, "--reuse-video-type"],
        "--reuse-video-type",
    );
}

#[test]
fn pass_memmap_cmdline_gives_the_capture_kernel_its_memory_map() {
    let d = Dir::new("memmap");
    let k = d.path("vmlinuz");
    let mut host = FakeHost::typical();
    add_crash_files(&mut host);
    let r = kexec(&mut host, &["-c", "-p", &k, "--append=irqpoll"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        !loaded_cmdline(&host).contains("memmap="),
        "{}",
        loaded_cmdline(&host)
    );

    let mut host = FakeHost::typical();
    add_crash_files(&mut host);
    let r = kexec(
        &mut host,
        &["-p", &k, "--append=irqpoll", "--pass-memmap-cmdline"],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        matches!(host.calls.as_slice(), [Call::Load { .. }]),
        "-a goes to kexec_load: {:?}",
        host.calls
    );
    let cmdline = loaded_cmdline(&host);
    // The typical host: RAM 0x1000-0x9fbff below 640 KiB, and the 256 MiB
    // crash region 0x65000000-0x74ffffff less the one page of elfcorehdr.
    assert!(cmdline.starts_with("irqpoll elfcorehdr=0x"), "{cmdline}");
    assert!(
        cmdline.contains(" memmap=exactmap memmap=635K@4K "),
        "{cmdline}"
    );
    let ram_k: u64 = cmdline
        .split(' ')
        .filter_map(|w| w.strip_prefix("memmap="))
        .filter_map(|w| w.split_once("K@"))
        .filter(|(_, start)| start != &"4K")
        .map(|(size, _)| size.parse::<u64>().unwrap())
        .sum();
    assert_eq!(ram_k, 256 * 1024 - 4, "{cmdline}");
    let words: Vec<&str> = cmdline
        .split(' ')
        .filter(|w| w.starts_with("memmap="))
        .collect();
    assert!(words.len() >= 3, "{cmdline}");
    // The elfcorehdr is not RAM to the capture kernel.
    let hdr = u64::from_str_radix(
        cmdline
            .split("elfcorehdr=0x")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap(),
        16,
    )
    .unwrap();
    for w in &words[1..] {
        let (size, start) = w["memmap=".len()..].split_once("K@").unwrap();
        let start = start.trim_end_matches('K').parse::<u64>().unwrap() * 1024;
        let end = start + size.parse::<u64>().unwrap() * 1024;
        assert!(
            hdr + 4096 <= start || end <= hdr,
            "{w} covers the elfcorehdr at {hdr:#x}"
        );
    }
    // Only crash loads have a capture kernel; the file call writes its map itself.
    refused(
        &["-l", &k, "--pass-memmap-cmdline"],
        "--pass-memmap-cmdline",
    );
    refused(
        &["-s", "-p", &k, "--pass-memmap-cmdline"],
        "--pass-memmap-cmdline",
    );
}

#[test]
fn help_lists_what_works_and_says_the_rest_is_refused() {
    let mut host = FakeHost::typical();
    let help = kexec(&mut host, &["--help"]).out;
    for option in [
        "--console-vga",
        "--reset-vga",
        "--reuse-video-type",
        "--pass-memmap-cmdline",
        "--type",
    ] {
        assert!(help.contains(option), "{option} in --help");
    }
    assert!(help.contains("refused"), "{help}");
}

/// --force-dtb is KEXEC_FILE_FORCE_DTB: sent with kexec_file_load (the
/// default goes to that call alone), and on a kernel older than 6.18,
/// which does not know the flag, refused before the call with the reason.
#[test]
fn force_dtb_reaches_kexec_file_load_where_the_kernel_knows_it() {
    let d = Dir::new("forcedtb");
    let k = d.path("vmlinuz");
    let mut host = FakeHost::typical();
    host.set("/proc/sys/kernel/osrelease", "6.18.3-amd64\n");
    let r = kexec(&mut host, &["-l", &k, "--force-dtb"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        matches!(&host.calls[0], Call::FileLoad { flags, .. } if flags.0 & 0x20 != 0),
        "{:?}",
        host.calls
    );
    let mut host = FakeHost::typical(); // 6.1
    let r = kexec(&mut host, &["-s", "-l", &k, "--force-dtb"]);
    assert_eq!(r.code, 255, "{}", r.err);
    assert!(
        r.err.contains("0x20") && r.err.contains("6.1.0-56-amd64") && r.err.contains("EINVAL"),
        "{}",
        r.err
    );
    assert!(host.calls.is_empty(), "{:?}", host.calls);
}

/// --no-cma is KEXEC_FILE_NO_CMA (0x10): sent with kexec_file_load alone
/// (the default takes no kexec_load fallback with it), on 6.17 and later;
/// on Debian 13's 6.12 refused before the call, naming the flag and the
/// release that has it.
#[test]
fn no_cma_reaches_kexec_file_load_from_6_17_and_is_explained_before() {
    let d = Dir::new("nocma");
    let k = d.path("vmlinuz");
    for release in ["6.17.1-amd64\n", "7.2.0-1-amd64\n"] {
        for args in [vec!["-l", &k, "--no-cma"], vec!["-s", "-l", &k, "--no-cma"]] {
            let mut host = FakeHost::typical();
            host.set("/proc/sys/kernel/osrelease", release);
            let r = kexec(&mut host, &args);
            assert_eq!(r.code, 0, "{args:?}: {}", r.err);
            assert!(
                matches!(&host.calls[..], [Call::FileLoad { flags, .. }] if flags.0 & 0x10 != 0),
                "{:?}",
                host.calls
            );
        }
    }
    let mut host = FakeHost::typical();
    host.set("/proc/sys/kernel/osrelease", "6.12.48+deb13-amd64\n");
    let r = kexec(&mut host, &["-l", &k, "--no-cma"]);
    assert_eq!(r.code, 255, "{}", r.err);
    assert!(
        r.err.contains("KEXEC_FILE_NO_CMA")
            && r.err.contains("needs Linux 6.17 or later")
            && r.err.contains("6.12.48+deb13-amd64")
            && r.err.contains("EINVAL"),
        "{}",
        r.err
    );
    assert!(host.calls.is_empty(), "{:?}", host.calls);
    // A dry run says which call and why.
    let mut host = FakeHost::typical();
    host.set("/proc/sys/kernel/osrelease", "6.17.1-amd64\n");
    let r = kexec(&mut host, &["--dry-run", "-l", &k, "--no-cma"]);
    assert!(
        r.out.contains("--no-cma is a kexec_file_load flag"),
        "{}",
        r.out
    );
    // -c cannot carry it.
    let r = kexec(&mut host, &["-c", "-l", &k, "--no-cma"]);
    assert_eq!(r.code, 1, "{}", r.err);
}

/// -d with kexec_file_load on 6.8+: the kernel's KEXEC_FILE_DEBUG lines
/// from /dev/kmsg on stderr, marked as the kernel's.
#[test]
fn debug_shows_the_kernels_kexec_lines() {
    let d = Dir::new("kmsglines");
    let k = d.path("vmlinuz");
    let mut host = FakeHost::typical();
    host.set("/proc/sys/kernel/osrelease", "7.2.0-1-amd64\n");
    host.kmsg_on_debug_load = vec![
        "6,7,1,-;kexec_file: nr_segments = 4\n".into(),
        "6,8,2,-;ata1: link up\n".into(),
    ];
    let r = kexec(&mut host, &["-d", "-s", "-l", &k]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.err
            .contains("kexec: kernel: kexec_file: nr_segments = 4\n"),
        "{}",
        r.err
    );
    assert!(!r.err.contains("ata1"), "{}", r.err);
}
