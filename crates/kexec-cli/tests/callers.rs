//! Fedora/RHEL kdumpctl's argument shapes, which no machine here boots
//! (issue #14): each is run as kdumpctl builds it against the fake kernel,
//! once as a dry run (what would be loaded, and how) and once as a load
//! (what the system call received).
//!
//! The shapes are facts read from rhkdump/kdump-utils (commit 63f248c of
//! 2026-03-23); no code of it is copied:
//!
//! - `kdumpctl`, `load_kdump()`: one bash array, so each element is one
//!   argument however many spaces it holds: the words of
//!   `prepare_kexec_args "$KEXEC_ARGS"` (split on spaces), then `-p`,
//!   `--command-line=<prepare_cmdline …>`, `--initrd=$TARGET_INITRD`, and
//!   `$KDUMP_KERNEL`.
//! - `kdump-lib.sh`, `prepare_kexec_args()`: appends ` -s` when
//!   `is_secure_boot_enforced` (EFI SecureBoot=1 and SetupMode=0, or s390's
//!   /sys/firmware/ipl/secure), whatever KEXEC_ARGS holds: with the x86_64
//!   default that makes `-s -s`. On i386/i686 alone it adds
//!   `--elf64-core-headers` or `--elf32-core-headers`.
//! - `gen-kdump-sysconfig.sh` (/etc/sysconfig/kdump): KEXEC_ARGS is `-s` on
//!   x86_64, aarch64, ppc64le and s390x, `--dt-no-old-root` on ppc64, empty
//!   elsewhere; the file's own example is `KEXEC_ARGS="--elf32-core-headers"`,
//!   and `kexec-kdump-howto.txt` advises adding `-d` for debugging (CoreOS
//!   logs show `kexec -s -d -p '--command-line=…' --initrd=… vmlinuz`).
//! - `kdump-lib.sh`, `prepare_cmdline()`: /proc/cmdline (or
//!   KDUMP_COMMANDLINE) without root, crashkernel, panic_on_warn, rd.lvm.lv,
//!   rd.luks.uuid, … and KDUMP_COMMANDLINE_REMOVE (x86_64: hugepages
//!   hugepagesz slub_debug quiet log_buf_len swiotlb hugetlb_cma
//!   ignition.firstboot cma), then KDUMP_COMMANDLINE_APPEND,
//!   `disable_cpu_apicid=N` and `rd.systemd.gpt_auto=no`. BOOT_IMAGE stays.
//! - `kdump-lib.sh`, `prepare_kdump_kernel()`/`prepare_kdump_bootinfo()`:
//!   the kernel is `/boot/vmlinuz-<kver>`, or a UKI
//!   `EFI/Linux/<machine-id>-<kver>.efi` under /boot, /boot/efi or /efi;
//!   the initrd `<bootdir>/initramfs-<kver>kdump.img`, or
//!   `/var/lib/kdump/initramfs-<kver>kdump.img` when there is no initrd
//!   beside the kernel (a UKI). `load_kdump()` passes it for a UKI too ("we
//!   still need to build a kdump initrd independent of UKI image").
//! - `kdumpctl`, `stop_kdump()`: `-s -p -u` when Secure Boot is enforced,
//!   else `-p -u`; KEXEC_ARGS is not used.
//! - `dracut/99earlykdump/early-kdump.sh`, `early_kdump_load()`:
//!   `$EARLY_KEXEC_ARGS -p --command-line=… --initrd=/boot/initramfs-earlykdump
//!   /boot/kernel-earlykdump`, the same shape.
//!
//! `src/args.rs`'s `kdump_callers_argument_shapes` checks the parse alone.
#![cfg(target_arch = "x86_64")]

mod common;

use common::{kexec, Dir};
use kexec::sys::abi::{FileFlags, KEXEC_FILE_DEBUG, KEXEC_FILE_ON_CRASH, KEXEC_FILE_UNLOAD};
use kexec::sys::fake::{Call, CRASH_LOADED};
use kexec::testing::{add_crash_files, bzimage64_sample};
use kexec::FakeHost;

/// What `prepare_cmdline` makes of Fedora 43's /proc/cmdline
/// (`BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.17.1-300.fc43.x86_64 root=UUID=… ro
/// rootflags=subvol=root rhgb quiet crashkernel=2G-64G:256M,64G-:512M`) with
/// x86_64's sysconfig defaults, on a machine whose boot CPU has APIC id 0.
const KDUMP_CMDLINE: &str = "BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.17.1-300.fc43.x86_64 ro \
rootflags=subvol=root rhgb novmcoredd hugetlb_cma=0 kfence.sample_interval=0 \
initramfs_options=size=90% irqpoll nr_cpus=1 reset_devices cgroup_disable=memory mce=off \
numa=off udev.children-max=2 panic=10 acpi_no_memhotplug transparent_hugepage=never nokaslr \
hest_disable cma=0 pcie_ports=compat disable_cpu_apicid=0 rd.systemd.gpt_auto=no";

/// The kdump initramfs mkdumprd builds (its bytes only need to be told apart).
const KDUMP_INITRD: &[u8] = b"070701 kdump initramfs";

/// KEXEC_ARGS as `prepare_kexec_args` hands it to `load_kdump()`.
const KEXEC_ARGS: [(&str, &[&str]); 5] = [
    ("x86_64's default KEXEC_ARGS", &["-s"]),
    ("x86_64's default under Secure Boot", &["-s", "-s"]),
    ("KEXEC_ARGS=\"-s -d\"", &["-s", "-d"]),
    (
        "KEXEC_ARGS=\"-s -d\" under Secure Boot",
        &["-s", "-d", "-s"],
    ),
    ("KEXEC_ARGS=\"\"", &[]),
];

/// The files of a Fedora machine's kdump, in a temporary directory.
struct Boot {
    dir: Dir,
    kernel: String,
    initrd: String,
}

fn boot(name: &str) -> Boot {
    let dir = Dir::new(name);
    let kernel = dir.put("vmlinuz-6.17.1-300.fc43.x86_64", &bzimage64_sample());
    let initrd = dir.put("initramfs-6.17.1-300.fc43.x86_64kdump.img", KDUMP_INITRD);
    Boot {
        dir,
        kernel,
        initrd,
    }
}

/// `load_kdump()`'s argv after `kexec`: KEXEC_ARGS, `-p`, the command line,
/// the initrd, the kernel.
fn load_kdump_argv(kexec_args: &[&str], initrd: &str, kernel: &str) -> Vec<String> {
    kexec_args
        .iter()
        .map(|a| a.to_string())
        .chain([
            "-p".to_string(),
            format!("--command-line={KDUMP_CMDLINE}"),
            format!("--initrd={initrd}"),
            kernel.to_string(),
        ])
        .collect()
}

/// A machine with crashkernel= reserved, running `release`.
fn host_running(release: &str) -> FakeHost {
    let mut host = FakeHost::typical();
    add_crash_files(&mut host);
    host.set("/proc/sys/kernel/osrelease", &format!("{release}\n"));
    // What KEXEC_FILE_DEBUG makes the kernel log during the call (6.8+).
    host.kmsg_on_debug_load = vec!["6,7,1,-;kexec_file: nr_segments = 4\n".into()];
    host
}

fn run(host: &mut FakeHost, args: &[String]) -> common::Ran {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    kexec(host, &args)
}

/// The flags a crash load through kexec_file_load must carry: `-d` asks for
/// KEXEC_FILE_DEBUG, which only 6.8 and later have.
fn crash_flags(debug: bool, release: &str) -> FileFlags {
    if debug && release.starts_with("7.") {
        KEXEC_FILE_ON_CRASH | KEXEC_FILE_DEBUG
    } else {
        KEXEC_FILE_ON_CRASH
    }
}

/// The one call a kdumpctl load makes: kexec_file_load of the kernel and
/// the initrd with `cmdline`, as a crash kernel.
fn crash_file_load(cmdline: &[u8], debug: bool, release: &str) -> Call {
    Call::FileLoad {
        kernel: true,
        initrd: true,
        cmdline: cmdline.to_vec(),
        flags: crash_flags(debug, release),
    }
}

const RELEASES: [&str; 2] = ["6.1.0-56-amd64", "7.2.0-1-amd64"];

#[test]
fn kdumpctl_load_kdump_dry_runs_plan_a_crash_load_through_kexec_file_load() {
    let b = boot("kdumpctl-dry");
    for release in RELEASES {
        for (what, kexec_args) in KEXEC_ARGS {
            let mut host = host_running(release);
            let mut args = vec!["--dry-run".to_string()];
            args.extend(load_kdump_argv(kexec_args, &b.initrd, &b.kernel));
            let r = run(&mut host, &args);
            let debug = kexec_args.contains(&"-d");
            let flags = crash_flags(debug, release);
            assert_eq!(r.code, 0, "{what} on {release}: {}{}", r.out, r.err);
            assert_eq!(
                r.err, "",
                "{what} on {release}: a dry run says it all on stdout"
            );
            let chosen = if kexec_args.contains(&"-s") {
                "kexec_file_load (-s): the kernel reads and parses the kernel file itself"
            } else {
                "kexec_file_load (auto, the default: the file call first, kexec_load if the kernel cannot take the image that way)"
            };
            let flag_names = if flags == KEXEC_FILE_ON_CRASH {
                "KEXEC_FILE_ON_CRASH"
            } else {
                "KEXEC_FILE_ON_CRASH|KEXEC_FILE_DEBUG"
            };
            for line in [
                "dry run: nothing is loaded".to_string(),
                "  syscall    kexec_file_load, crash kernel load".to_string(),
                format!("  flags      {:#x} ({flag_names})", flags.0),
                format!("  kernel     {} (16 KiB, boot protocol 2.15,", b.kernel),
                format!("  initrd     {} ({} bytes)", b.initrd, KDUMP_INITRD.len()),
                format!(
                    "  cmdline    \"{KDUMP_CMDLINE}\" ({} bytes with NUL)",
                    KDUMP_CMDLINE.len() + 1
                ),
                format!("  chosen     {chosen}"),
                "  verdict    the kernel's rules predict success".to_string(),
            ] {
                assert!(
                    r.out.lines().any(|l| l.starts_with(&line)),
                    "{what} on {release}: no line {line:?} in\n{}",
                    r.out
                );
            }
            assert!(host.calls.is_empty(), "{what}: a dry run loads nothing");
            assert_eq!(host.files[CRASH_LOADED], "0\n");
        }
    }
}

#[test]
fn kdumpctl_load_kdump_loads_the_kernel_initrd_and_command_line_it_names() {
    let b = boot("kdumpctl-load");
    let mut cmdline = KDUMP_CMDLINE.as_bytes().to_vec();
    cmdline.push(0);
    for release in RELEASES {
        for (what, kexec_args) in KEXEC_ARGS {
            let mut host = host_running(release);
            let r = run(
                &mut host,
                &load_kdump_argv(kexec_args, &b.initrd, &b.kernel),
            );
            let debug = kexec_args.contains(&"-d");
            assert_eq!(r.code, 0, "{what} on {release}: {}", r.err);
            assert_eq!(
                host.calls,
                [crash_file_load(&cmdline, debug, release)],
                "{what} on {release}"
            );
            // The files themselves, not copies: a bzImage needs no unpacking.
            let (kernel, initrd) = &host.passed_files[0];
            let (kernel, initrd) = (kernel.as_ref().unwrap(), initrd.as_ref().unwrap());
            assert!(kernel.regular && initrd.regular, "{what}");
            assert_eq!(kernel.bytes, bzimage64_sample(), "{what}");
            assert_eq!(initrd.bytes, KDUMP_INITRD, "{what}");
            assert_eq!(host.files[CRASH_LOADED], "1\n", "{what}");
            // kdumpctl logs what kexec prints: nothing on success, the
            // plan and the kernel's own lines with -d.
            assert_eq!(r.out, "", "{what}");
            if debug {
                for want in [
                    "kexec: debug: syscall: kexec_file_load".to_string(),
                    "kexec: debug: plan:".to_string(),
                    "  syscall    kexec_file_load, crash kernel load".to_string(),
                    format!("  initrd     {} ({} bytes)", b.initrd, KDUMP_INITRD.len()),
                ] {
                    assert!(
                        r.err.contains(&want),
                        "{what} on {release}: {want:?} in\n{}",
                        r.err
                    );
                }
                assert_eq!(
                    r.err.contains("kexec: kernel: kexec_file: nr_segments = 4"),
                    release.starts_with("7."),
                    "{what} on {release}: the kernel's lines come with KEXEC_FILE_DEBUG alone\n{}",
                    r.err
                );
            } else {
                assert_eq!(r.err, "", "{what} on {release}");
            }
        }
    }
}

/// kdumpctl's restart (`kdumpctl reload`, the udev rule on hotplug) loads
/// again over the loaded crash kernel, with the same argv.
#[test]
fn kdumpctl_reload_replaces_the_loaded_crash_kernel() {
    let b = boot("kdumpctl-reload");
    let mut host = host_running(RELEASES[0]);
    let argv = load_kdump_argv(&["-s", "-s"], &b.initrd, &b.kernel);
    assert_eq!(run(&mut host, &argv).code, 0);
    let r = run(&mut host, &argv);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(host.calls.len(), 2, "{:?}", host.calls);
    assert!(
        matches!(&host.calls[1], Call::FileLoad { kernel: true, initrd: true, flags, .. } if *flags == KEXEC_FILE_ON_CRASH),
        "{:?}",
        host.calls
    );
    assert_eq!(host.files[CRASH_LOADED], "1\n");
}

#[test]
fn kdumpctl_stop_kdump_unloads_through_kexec_file_load() {
    let b = boot("kdumpctl-stop");
    // Secure Boot enforced: `-s -p -u`; otherwise `-p -u`.
    for unload in [&["-s", "-p", "-u"][..], &["-p", "-u"]] {
        let args: Vec<String> = unload.iter().map(|a| a.to_string()).collect();
        let mut host = host_running(RELEASES[0]);
        assert_eq!(
            run(&mut host, &load_kdump_argv(&["-s"], &b.initrd, &b.kernel)).code,
            0
        );
        host.calls.clear();
        let mut dry = vec!["--dry-run".to_string()];
        dry.extend(args.iter().cloned());
        let r = run(&mut host, &dry);
        assert_eq!(r.code, 0, "{unload:?}: {}", r.err);
        for line in [
            "  syscall    kexec_file_load, unload the crash kernel",
            "  flags      0x3 (KEXEC_FILE_UNLOAD|KEXEC_FILE_ON_CRASH)",
            "  verdict    the kernel's rules predict success",
        ] {
            assert!(r.out.contains(line), "{unload:?}: {line:?} in\n{}", r.out);
        }
        assert!(host.calls.is_empty());
        let r = run(&mut host, &args);
        assert_eq!(
            (r.code, r.out.as_str(), r.err.as_str()),
            (0, "", ""),
            "{unload:?}"
        );
        assert_eq!(
            host.calls,
            [Call::FileLoad {
                kernel: false,
                initrd: false,
                cmdline: Vec::new(),
                flags: KEXEC_FILE_UNLOAD | KEXEC_FILE_ON_CRASH,
            }],
            "{unload:?}"
        );
        assert_eq!(host.files[CRASH_LOADED], "0\n", "{unload:?}");
        // `kdumpctl stop` with nothing loaded: the kernel unloads nothing
        // and says so with 0, as for kexec-tools.
        let r = run(&mut host, &args);
        assert_eq!(r.code, 0, "{unload:?}: {}", r.err);
    }
}

/// Without crashkernel= kexec-tools dies "Memory for crashkernel is not
/// reserved" (exit 1) before any call, on either system call; so do we,
/// naming the fix. Unloading needs no reserved memory.
#[test]
fn kdumpctl_without_reserved_memory_is_refused_before_any_call() {
    let b = boot("kdumpctl-noreserve");
    for (what, kexec_args) in KEXEC_ARGS {
        for dry_run in [false, true] {
            let mut host = host_running(RELEASES[0]);
            host.set(
                "/proc/iomem",
                "00000000-00000fff : Reserved\n\
                 00001000-0009fbff : System RAM\n\
                 00100000-7ffdffff : System RAM\n",
            );
            host.set("/sys/kernel/kexec_crash_size", "0\n");
            let mut args = if dry_run {
                vec!["--dry-run".to_string()]
            } else {
                Vec::new()
            };
            args.extend(load_kdump_argv(kexec_args, &b.initrd, &b.kernel));
            let r = run(&mut host, &args);
            assert_eq!(r.code, 1, "{what}: {}{}", r.out, r.err);
            assert!(
                r.err.contains("no memory is reserved for a crash kernel (/proc/iomem has no \"Crash kernel\" range)")
                    && r.err.contains("crashkernel="),
                "{what}: {}",
                r.err
            );
            assert!(host.calls.is_empty(), "{what}: {:?}", host.calls);
            if kexec_args.len() < 2 {
                let r = run(&mut host, &["-s".into(), "-p".into(), "-u".into()]);
                assert_eq!(r.code, 0, "{}", r.err);
            }
        }
    }
}

/// KEXEC_ARGS from other architectures' sysconfig, or its own example, on
/// x86_64: kexec-tools ignores `--elf32-core-headers` and
/// `--dt-no-old-root` here; we refuse them by name (exit 1, nothing
/// loaded), as for every option that would change nothing. The
/// `--elf64-core-headers` i386's prepare_kexec_args adds is what x86_64
/// does anyway, and is taken.
#[test]
fn kdumpctl_kexec_args_of_other_architectures_are_named() {
    let b = boot("kdumpctl-otherarch");
    for (option, reason) in [
        (
            "--elf32-core-headers",
            "--elf32-core-headers is not supported: x86_64 crash kernels get ELF64 core headers",
        ),
        (
            "--dt-no-old-root",
            "--dt-no-old-root is an arm/ppc64 device-tree option: x86_64 kernels take no device tree",
        ),
    ] {
        let mut host = host_running(RELEASES[0]);
        let r = run(&mut host, &load_kdump_argv(&[option, "-s"], &b.initrd, &b.kernel));
        assert_eq!(r.code, 1, "{option}: {}", r.err);
        assert!(r.err.contains(reason), "{option}: {}", r.err);
        assert!(host.calls.is_empty(), "{option}");
        assert_eq!(host.files[CRASH_LOADED], "0\n");
    }
    let mut host = host_running(RELEASES[0]);
    let r = run(
        &mut host,
        &load_kdump_argv(&["-s", "--elf64-core-headers"], &b.initrd, &b.kernel),
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        matches!(&host.calls[..], [Call::FileLoad { flags, .. }] if *flags == KEXEC_FILE_ON_CRASH),
        "{:?}",
        host.calls
    );
}

/// A Fedora UKI (`kernel-uki-virt`): the kernel, the initramfs made to boot
/// the machine, microcode and a command line.
fn fedora_uki() -> Vec<u8> {
    kexec::image::uki::build(&[
        (".osrel", b"ID=fedora\nVERSION_ID=43\n"),
        (".cmdline", b"root=UUID=0f1e ro quiet\n\0"),
        (".linux", &bzimage64_sample()),
        (".ucode", b"070701 microcode"),
        (".initrd", b"070701 boot initramfs"),
    ])
}

/// kdumpctl with a UKI: `prepare_kdump_kernel()` finds
/// `/boot/efi/EFI/Linux/<machine-id>-<kver>.efi`, and `load_kdump()` passes
/// it with the kdump initramfs (`/var/lib/kdump/initramfs-<kver>kdump.img`)
/// and its own command line. As kexec-tools (2.0.31+ on x86_64) loads it:
/// the `.linux` kernel, that initramfs alone (kexec-tools takes `.initrd`
/// only without `--initrd`), the given command line (kexec-tools ignores
/// `.cmdline`). kexec-tools before 2.0.31 refuses the file ("Cannot
/// determine the file type"); we load it on either call.
#[test]
fn kdumpctl_with_a_uki_loads_its_kernel_with_the_kdump_initramfs_alone() {
    let b = boot("kdumpctl-uki");
    let uki = b.dir.put(
        "e986846f63134c7295458cf36300ba5b-6.17.1-300.fc43.x86_64.efi",
        &fedora_uki(),
    );
    let mut cmdline = KDUMP_CMDLINE.as_bytes().to_vec();
    cmdline.push(0);
    for (what, kexec_args) in KEXEC_ARGS {
        let debug = kexec_args.contains(&"-d");
        let mut host = host_running(RELEASES[1]);
        let mut args = vec!["--dry-run".to_string()];
        args.extend(load_kdump_argv(kexec_args, &b.initrd, &uki));
        let r = run(&mut host, &args);
        assert_eq!(r.code, 0, "{what}: {}{}", r.out, r.err);
        for line in [
            "  syscall    kexec_file_load, crash kernel load".to_string(),
            format!("  kernel     {uki} (the .linux section of a unified kernel image: 16 KiB, boot protocol 2.15,"),
            format!(
                "  initrd     {} ({} bytes; given for a crash kernel, so the UKI's .ucode and .initrd sections are not used)",
                b.initrd,
                KDUMP_INITRD.len()
            ),
            format!(
                "  cmdline    \"{KDUMP_CMDLINE}\" ({} bytes with NUL; given, so the UKI's .cmdline section is not used)",
                KDUMP_CMDLINE.len() + 1
            ),
            "  verdict    the kernel's rules predict success".to_string(),
        ] {
            assert!(
                r.out.lines().any(|l| l.starts_with(&line)),
                "{what}: no line {line:?} in\n{}",
                r.out
            );
        }
        assert!(host.calls.is_empty());

        let r = run(&mut host, &load_kdump_argv(kexec_args, &b.initrd, &uki));
        assert_eq!(r.code, 0, "{what}: {}", r.err);
        assert_eq!(
            host.calls,
            [crash_file_load(&cmdline, debug, RELEASES[1])],
            "{what}"
        );
        let (kernel, initrd) = &host.passed_files[0];
        let (kernel, initrd) = (kernel.as_ref().unwrap(), initrd.as_ref().unwrap());
        assert_eq!(kernel.bytes, bzimage64_sample(), "{what}: .linux");
        assert_ne!(kernel.seals, 0, "{what}: .linux goes in a sealed memfd");
        assert_eq!(
            initrd.bytes, KDUMP_INITRD,
            "{what}: the kdump initramfs alone"
        );
        assert_eq!(initrd.seals, 0, "{what}: the file itself");
        assert_eq!(host.files[CRASH_LOADED], "1\n");
    }
    // `kdumpctl restart` whose reload the kernel refuses (say, a kernel
    // without a signature it trusts): the crash kernel it freed is loaded
    // again from the record, with the kdump initramfs alone again.
    let mut host = host_running(RELEASES[0]);
    let argv = load_kdump_argv(&["-s", "-s"], &b.initrd, &uki);
    assert_eq!(run(&mut host, &argv).code, 0);
    host.load_results.push_back(Err(kexec::Errno::EKEYREJECTED));
    let r = run(&mut host, &argv);
    assert_eq!(r.code, 255, "{}", r.err);
    assert!(r.err.contains("it was restored"), "{}", r.err);
    assert_eq!(host.files[CRASH_LOADED], "1\n");
    assert_eq!(host.calls.len(), 3, "{:?}", host.calls);
    assert!(
        matches!(&host.calls[2], Call::FileLoad { kernel: true, initrd: true, cmdline: c, .. } if *c == cmdline),
        "{:?}",
        host.calls
    );
    let (kernel, initrd) = host.passed_files.last().unwrap();
    assert_eq!(kernel.as_ref().unwrap().bytes, bzimage64_sample());
    assert_eq!(initrd.as_ref().unwrap().bytes, KDUMP_INITRD);
    // Through kexec_load (-c, or the default's fallback) the boot image is
    // built from the same parts.
    let mut host = host_running(RELEASES[0]);
    let r = run(&mut host, &load_kdump_argv(&["-c"], &b.initrd, &uki));
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        matches!(&host.calls[..], [Call::Load { .. }]),
        "{:?}",
        host.calls
    );
    let held = |what: &[u8]| {
        host.last_load_data
            .iter()
            .any(|(_, data)| data.windows(what.len()).any(|w| w == what))
    };
    assert!(held(KDUMP_INITRD), "the kdump initramfs is a segment");
    assert!(!held(b"boot initramfs") && !held(b"microcode"));
    assert!(held(KDUMP_CMDLINE.as_bytes()), "the command line");
}
