//! The `kexec` command end to end, in-process against a fake kernel: what
//! it calls, prints and exits with for each kind of command line.

mod common;

use common::{kexec, kexec_os, Dir};
use kexec::sys::abi::{FileFlags, KexecFlags};
use kexec::sys::abi::{KEXEC_FILE_NO_INITRAMFS, KEXEC_FILE_ON_CRASH, KEXEC_FILE_UNLOAD};
use kexec::sys::fake::{Call, CRASH_LOADED, LOADED};
use kexec::Errno;
use kexec::FakeHost;
use kexec_cli::run::EXIT_FAILED;
use serde_json::Value;
use std::ffi::OsString;

#[test]
fn without_sysfs_exec_force_and_shutdown_go_ahead() {
    let d = Dir::new("nosys");
    let mut host = FakeHost::typical();
    host.unmount_sys();
    // -e: the kernel's answer to reboot() decides (EINVAL: nothing loaded).
    let r = kexec(&mut host, &["-e"]);
    assert_eq!(r.code, 255, "{}", r.err);
    assert_eq!(
        host.calls,
        [Call::Sync, Call::InterfacesDown, Call::Reboot],
        "{}",
        r.err
    );
    assert!(r.err.contains("EINVAL"), "{}", r.err);
    // -f: load, then the jump.
    let mut host = FakeHost::typical();
    host.unmount_sys();
    kexec(&mut host, &["-f", "-s", &d.path("vmlinuz")]);
    assert!(matches!(host.calls[0], Call::FileLoad { .. }));
    assert_eq!(host.calls.last(), Some(&Call::Reboot), "{:?}", host.calls);
    // No mode: load, then shutdown -r now.
    let mut host = FakeHost::typical();
    host.unmount_sys();
    kexec(&mut host, &["-s", &d.path("vmlinuz")]);
    assert_eq!(host.calls.last(), Some(&Call::ExecShutdown));
    // A load needs no sysfs either.
    let mut host = FakeHost::typical();
    host.unmount_sys();
    let r = kexec(&mut host, &["-c", "-l", &d.path("vmlinuz")]);
    assert_eq!(r.code, 0, "{}", r.err);
}

#[test]
fn status_without_sysfs_is_unknown_and_exits_255_as_kexec_tools() {
    let mut host = FakeHost::typical();
    host.unmount_sys();
    let r = kexec(&mut host, &["-S"]);
    assert_eq!(r.code, 255);
    assert!(r.out.contains("kexec_crash_loaded: unknown"), "{}", r.out);
    let r = kexec(&mut host, &["--status", "--json"]);
    let v: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(v["kexec_loaded"], Value::Null);
    assert_eq!(v["syscalls"]["kexec_file_load"]["state"], "unknown");
}

#[test]
fn a_kernel_without_kexec_file_load_is_predicted_and_auto_uses_kexec_load() {
    let d = Dir::new("nofile");
    let mut host = FakeHost::typical();
    let config = "/boot/config-6.1.0-56-amd64";
    host.set(config, "CONFIG_KEXEC=y\n# CONFIG_KEXEC_FILE is not set\n");
    let r = kexec(
        &mut host,
        &["--dry-run", "--json", "-s", "-l", &d.path("vmlinuz")],
    );
    assert_eq!(r.code, 255);
    let v: Value = serde_json::from_str(r.out.trim()).unwrap();
    assert_eq!(
        (v["errno"].as_str(), v["rule"].as_str()),
        (Some("ENOSYS"), Some("syscall-not-built"))
    );
    assert_eq!(
        v["reason"],
        format!("kexec_file_load is not built into this kernel (CONFIG_KEXEC_FILE is not set in {config}): use -c (kexec_load)")
    );
    let r = kexec(&mut host, &["-s", "-p", "-u"]);
    assert_eq!(r.code, 255);
    assert!(host.calls.is_empty(), "predicted, not sent");
    // -a falls back as it does on the kernel's ENOSYS; -u too.
    let r = kexec(&mut host, &["-d", "-l", &d.path("vmlinuz")]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(matches!(host.calls.as_slice(), [Call::Load { .. }]));
    assert!(r.err.contains("refused with ENOSYS"), "{}", r.err);
    assert_eq!(kexec(&mut host, &["-u"]).code, 0);
    assert!(matches!(host.calls.as_slice(), [_, Call::Load { .. }]));
    let r = kexec(&mut host, &["--status"]);
    assert!(
        r.out.contains(&format!(
            "kexec_file_load:    unsupported (CONFIG_KEXEC_FILE is not set in {config})"
        )) && r.out.contains(&format!(
            "kexec_load:         supported (CONFIG_KEXEC=y in {config})"
        )),
        "{}",
        r.out
    );
}

#[test]
fn a_kernel_without_kexec_refuses_every_load_clearly() {
    let d = Dir::new("nokexec");
    let mut host = FakeHost::typical();
    kexec::testing::remove_kexec(&mut host);
    for args in [
        vec!["--dry-run", "-l", &d.path("vmlinuz")],
        vec!["-l", &d.path("vmlinuz")],
        vec!["-c", "-p", &d.path("vmlinuz")],
        vec!["-u"],
    ] {
        let r = kexec(&mut host, &args);
        assert_eq!(r.code, 255, "{args:?}");
        let text = format!("{}{}", r.out, r.err);
        assert!(
            text.contains("is not built into this kernel (/sys/kernel has no kexec_loaded")
                && text.contains("cannot load another kernel")
                && text.contains("ENOSYS"),
            "{args:?}: {text}"
        );
    }
    assert!(host.calls.is_empty(), "{:?}", host.calls);
    let r = kexec(&mut host, &["-e"]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("no kexec support"), "{}", r.err);
    assert!(host.calls.is_empty());
    let r = kexec(&mut host, &["-S"]);
    assert_eq!(r.code, 255);
    assert!(
        r.out.contains("kexec_crash_loaded: unsupported"),
        "{}",
        r.out
    );
    let r = kexec(&mut host, &["--status", "--json"]);
    let v: Value = serde_json::from_str(&r.out).unwrap();
    for call in ["kexec_load", "kexec_file_load"] {
        assert_eq!(v["syscalls"][call]["state"], "unsupported", "{v}");
    }
}

#[test]
fn file_names_and_command_lines_are_bytes() {
    use std::os::unix::ffi::OsStringExt;
    let d = Dir::new("bytes");
    let odd = d.0.join(OsString::from_vec(b"initrd-\xff".to_vec()));
    std::fs::write(&odd, b"070701 initrd").unwrap();
    let mut initrd = b"--initrd=".to_vec();
    initrd.extend_from_slice(odd.as_os_str().as_encoded_bytes());
    let initrd = OsString::from_vec(initrd);
    let append = OsString::from_vec(b"--append=utf8test=\xff\xfe \xc3\xa9".to_vec());
    let args = |extra: &[&str]| -> Vec<OsString> {
        extra
            .iter()
            .map(OsString::from)
            .chain([
                OsString::from(d.path("vmlinuz")),
                initrd.clone(),
                append.clone(),
            ])
            .collect()
    };
    let mut host = FakeHost::typical();
    let r = kexec_os(&mut host, &args(&["-s", "-l"]));
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        host.calls,
        [Call::FileLoad {
            kernel: true,
            initrd: true,
            cmdline: b"utf8test=\xff\xfe \xc3\xa9\0".to_vec(),
            flags: FileFlags(0)
        }]
    );
    let r = kexec_os(&mut host, &args(&["-c", "-l"]));
    assert_eq!(r.code, 0, "{}", r.err);
    // Shown escaped, never replaced.
    let r = kexec_os(&mut host, &args(&["--dry-run", "-s", "-l"]));
    assert!(
        r.out
            .contains(r#""utf8test=\xff\xfe é" (15 bytes with NUL)"#)
            && r.out.contains("initrd-\\xff (13 bytes)"),
        "{}",
        r.out
    );
    let r = kexec_os(&mut host, &args(&["--dry-run", "--json", "-s", "-l"]));
    let v: Value = serde_json::from_str(r.out.trim()).unwrap();
    assert_eq!(v["plan"]["cmdline"], r"utf8test=\xff\xfe é");
    assert_eq!(v["plan"]["cmdline_hex"], "75746638746573743dfffe20c3a9");
    assert!(v["plan"]["initrd"]["path"]
        .as_str()
        .unwrap()
        .ends_with(r"initrd-\xff"));
    // A missing file with such a name is named the same way.
    let missing = b"--initrd=/nonexistent-\xff".to_vec();
    let r = kexec_os(
        &mut host,
        &[
            "-s".into(),
            "-l".into(),
            d.path("vmlinuz").into(),
            OsString::from_vec(missing),
        ],
    );
    assert_eq!(r.code, 255);
    assert!(
        r.err.contains(r"/nonexistent-\xff: No such file"),
        "{}",
        r.err
    );
}

#[test]
fn reuse_cmdline_takes_bytes_and_an_unreadable_proc_cmdline_is_an_error() {
    let d = Dir::new("reusebytes");
    let mut host = FakeHost::typical();
    host.set_bytes("/proc/cmdline", b"BOOT_IMAGE=/v root=/dev/vda1 x=\xff\n");
    let r = kexec(
        &mut host,
        &["-s", "-l", &d.path("vmlinuz"), "--reuse-cmdline"],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        matches!(&host.calls[0], Call::FileLoad { cmdline, .. } if cmdline == b"root=/dev/vda1 x=\xff\0"),
        "{:?}",
        host.calls
    );
    let mut host = FakeHost::typical();
    host.unset("/proc/cmdline");
    let r = kexec(
        &mut host,
        &[
            "-s",
            "-l",
            &d.path("vmlinuz"),
            "--reuse-cmdline",
            "--append=x",
        ],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.err
            .contains("cannot read /proc/cmdline for --reuse-cmdline: "),
        "{}",
        r.err
    );
    assert!(host.calls.is_empty());
}

#[test]
fn load_passes_files_cmdline_and_flags() {
    let d = Dir::new("load");
    let mut host = FakeHost::typical();
    let append = "--append=console=ttyS0 marker";
    let initrd = format!("--initrd={}", d.path("initrd"));
    let r = kexec(
        &mut host,
        &["-s", "-l", &d.path("vmlinuz"), &initrd, append],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        host.calls,
        vec![Call::FileLoad {
            kernel: true,
            initrd: true,
            cmdline: b"console=ttyS0 marker\0".to_vec(),
            flags: FileFlags(0)
        }]
    );
    assert_eq!(host.files[LOADED], "1\n");
}

#[test]
fn no_initrd_sets_no_initramfs_and_reuse_cmdline_drops_boot_image() {
    let d = Dir::new("reuse");
    let mut host = FakeHost::typical();
    let r = kexec(
        &mut host,
        &[
            "-p",
            &d.path("vmlinuz"),
            "--reuse-cmdline",
            "--append",
            "irqpoll",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        host.calls,
        vec![Call::FileLoad {
            kernel: true,
            initrd: false,
            cmdline: b"root=/dev/vda1 ro quiet irqpoll\0".to_vec(),
            flags: KEXEC_FILE_ON_CRASH | KEXEC_FILE_NO_INITRAMFS
        }]
    );
}

#[test]
fn predicted_failures_exit_255_name_the_cause_and_keep_the_loaded_kernel() {
    let d = Dir::new("fail");
    let mut host = FakeHost::typical();
    host.set(LOADED, "1\n");
    let long = format!("--append={}", "a".repeat(3000));
    let missing = format!("--initrd={}", d.path("nonexistent"));
    let cases: [(Vec<String>, &str); 4] = [
        (
            vec![
                "-s".into(),
                "-l".into(),
                d.path("vmlinuz"),
                format!("--initrd={}", d.path("empty")),
            ],
            "the initrd",
        ),
        (vec!["-l".into(), d.path("text.txt")], "HdrS"),
        (vec!["-l".into(), d.path("vmlinuz"), missing], "nonexistent"),
        (
            vec!["-l".into(), d.path("vmlinuz"), long],
            "command line is too long",
        ),
    ];
    for (args, cause) in cases {
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let r = kexec(&mut host, &args);
        assert_eq!(r.code, 255, "{args:?}");
        assert!(r.err.contains(cause), "{args:?}: {}", r.err);
    }
    assert!(host.calls.is_empty(), "no failing load reached the kernel");
    assert_eq!(host.files[LOADED], "1\n");
}

#[test]
fn an_empty_kernel_exits_1_as_kexec_tools() {
    let d = Dir::new("empty");
    let mut host = FakeHost::typical();
    let r = kexec(&mut host, &["-s", "-l", &d.path("empty")]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("is empty (0 bytes)"), "{}", r.err);
    assert!(host.calls.is_empty());
}

#[test]
fn non_root_is_told_about_cap_sys_boot() {
    let d = Dir::new("nonroot");
    let mut host = FakeHost::typical();
    host.set("/proc/self/status", "CapEff:\t0000000000000000\n");
    let r = kexec(&mut host, &["-l", &d.path("vmlinuz")]);
    assert_eq!(r.code, 255);
    assert!(
        r.err.contains("CAP_SYS_BOOT") && r.err.contains("EPERM"),
        "{}",
        r.err
    );
}

#[test]
fn kernel_errors_are_explained_not_bare() {
    let d = Dir::new("kerr");
    let mut host = FakeHost::typical();
    host.load_result = Err(Errno::EKEYREJECTED);
    let r = kexec(&mut host, &["-s", "-l", &d.path("vmlinuz")]);
    assert_eq!(r.code, 255);
    assert!(
        r.err.contains("signature verification") && r.err.contains("EKEYREJECTED"),
        "{}",
        r.err
    );
}

#[test]
fn usage_errors_still_answer_in_json() {
    let mut host = FakeHost::typical();
    let r = kexec(&mut host, &["--json", "--bogus-option"]);
    assert_eq!(r.code, 1);
    let v: Value = serde_json::from_str(r.out.trim()).unwrap();
    assert_eq!(
        (v["errno"].as_str(), v["source"].as_str()),
        (Some("EINVAL"), Some("usage"))
    );
    assert!(v["reason"].as_str().unwrap().contains("--bogus-option"));
}

#[test]
fn exec_with_nothing_loaded_exits_1() {
    let mut host = FakeHost::typical();
    let r = kexec(&mut host, &["-e"]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("nothing has been loaded"), "{}", r.err);
    assert!(host.calls.is_empty());
}

#[test]
fn force_loads_syncs_ifdowns_and_jumps() {
    let d = Dir::new("force");
    let mut host = FakeHost::typical();
    host.reboot_result = Errno::EPERM;
    let r = kexec(&mut host, &["-f", "-s", &d.path("vmlinuz")]);
    assert_eq!(r.code, 255);
    assert!(r.err.contains("CAP_SYS_BOOT"), "{}", r.err);
    assert!(matches!(host.calls[0], Call::FileLoad { .. }));
    assert_eq!(
        host.calls[1..],
        [Call::Sync, Call::InterfacesDown, Call::Reboot]
    );
}

#[test]
fn no_mode_loads_then_runs_shutdown() {
    let d = Dir::new("shutdown");
    let mut host = FakeHost::typical();
    let r = kexec(&mut host, &[&d.path("vmlinuz")]);
    assert_eq!(r.code, 255);
    assert_eq!(host.calls.last(), Some(&Call::ExecShutdown));
}

#[test]
fn status_exit_codes() {
    let mut host = FakeHost::typical();
    assert_eq!(kexec(&mut host, &["-S"]).code, 0);
    host.set(LOADED, "1\n");
    assert_eq!(
        kexec(&mut host, &["-S"]).code,
        0,
        "-S reports the crash kernel"
    );
    assert_eq!(kexec(&mut host, &["-l", "-S"]).code, 1);
    host.set(CRASH_LOADED, "1\n");
    let r = kexec(&mut host, &["-S"]);
    assert_eq!(r.code, 1);
    assert!(
        r.out.contains("kexec_crash_loaded: yes") && r.out.contains("0x65000000-0x74ffffff"),
        "{}",
        r.out
    );
    let r = kexec(&mut host, &["--status", "--json"]);
    let v: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(v["kexec_crash_loaded"], true);
    assert_eq!(v["kexec_crash_size"], 268435456);
}

/// -S shows crash hotplug: a crash kernel loaded through kexec_load without
/// --hotplug on a kernel that has it goes stale on hotplug, and -S says so.
#[test]
fn status_shows_whether_the_crash_kernel_follows_hotplug() {
    let mut host = FakeHost::typical();
    let r = kexec(&mut host, &["-S"]);
    assert!(
        r.out.contains(
            "crash_hotplug:      unsupported (/sys/kernel/crash_elfcorehdr_size does not exist"
        ),
        "{}",
        r.out
    );
    host.set("/proc/sys/kernel/osrelease", "6.12.48+deb13-amd64\n");
    host.set("/sys/kernel/crash_elfcorehdr_size", "147584\n");
    host.set("/sys/devices/system/cpu/crash_hotplug", "0\n");
    host.set("/sys/devices/system/memory/crash_hotplug", "0\n");
    host.set(CRASH_LOADED, "1\n");
    let r = kexec(&mut host, &["-S"]);
    assert_eq!(r.code, 1);
    assert!(
        r.out.contains("crash_hotplug:      stale (")
            && r.out
                .contains("reload it after each hotplug, or load it with --hotplug"),
        "{}",
        r.out
    );
    host.set("/sys/devices/system/cpu/crash_hotplug", "1\n");
    host.set("/sys/devices/system/memory/crash_hotplug", "1\n");
    let r = kexec(&mut host, &["-S", "--json"]);
    let v: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(v["crash_hotplug"]["state"], "updated");
    assert_eq!(v["crash_hotplug"]["memory"], true);
}

#[test]
fn unload_both_and_auto_falls_back_on_enosys() {
    let mut host = FakeHost::typical();
    host.set(CRASH_LOADED, "1\n");
    assert_eq!(kexec(&mut host, &["-s", "-p", "-u"]).code, 0);
    assert_eq!(
        host.calls,
        vec![Call::FileLoad {
            kernel: false,
            initrd: false,
            cmdline: vec![],
            flags: KEXEC_FILE_UNLOAD | KEXEC_FILE_ON_CRASH
        }]
    );
    assert_eq!(host.files[CRASH_LOADED], "0\n");
    let mut host = FakeHost::typical();
    host.load_result = Err(Errno::ENOSYS);
    let r = kexec(&mut host, &["-u"]);
    assert_eq!(host.calls.len(), 2);
    assert!(
        matches!(host.calls[1], Call::Load { entry: 0, ref segments, .. } if segments.is_empty())
    );
    assert_eq!(r.code, 255, "both calls failed");
}

#[test]
fn dry_run_makes_no_call_and_json_reports_the_verdict() {
    let d = Dir::new("dry");
    let mut host = FakeHost::typical();
    let r = kexec(
        &mut host,
        &["--dry-run", "-s", "-l", &d.path("vmlinuz"), "--append=x"],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.contains("kexec_file_load") && r.out.contains("predict success"),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("chosen     kexec_file_load (-s)"),
        "{}",
        r.out
    );
    // Auto mode says why it goes to kexec_load.
    let long = format!("--append={}", "a".repeat(2029));
    let r = kexec(&mut host, &["--dry-run", "-l", &d.path("vmlinuz"), &long]);
    assert!(
        r.out
            .contains("chosen     kexec_load (auto): kexec_file_load would be refused with EINVAL"),
        "{}",
        r.out
    );
    let r = kexec(
        &mut host,
        &["--dry-run", "--json", "-s", "-l", &d.path("text.txt")],
    );
    assert_eq!(r.code, 255);
    let v: Value = serde_json::from_str(r.out.trim()).unwrap();
    assert_eq!(v["errno"], "ENOEXEC");
    assert_eq!(v["source"], "model");
    assert_eq!(v["plan"]["syscall"], "kexec_file_load");
    assert!(host.calls.is_empty());
    let r = kexec(&mut host, &["--json", "-s", "-l", &d.path("vmlinuz")]);
    let v: Value = serde_json::from_str(r.out.trim()).unwrap();
    assert_eq!(v["errno"], Value::Null);
}

#[test]
fn raw_segments_load_exactly_and_the_model_judges_them() {
    let d = Dir::new("raw");
    let mut host = FakeHost::typical();
    let seg = format!("--segment={}@0x100000", d.path("initrd"));
    let r = kexec(&mut host, &["-c", "-l", &seg, "--entry=0x100000", "--json"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        host.calls,
        vec![Call::Load {
            entry: 0x100000,
            segments: vec![(0x100000, 0x1000, 13)],
            flags: KexecFlags(0x3e0000)
        }]
    );
    let v: Value = serde_json::from_str(r.out.trim()).unwrap();
    assert_eq!(v["errno"], Value::Null);
    // Unaligned: predicted, explained, not sent.
    let seg = format!("--segment={}@0x100800", d.path("initrd"));
    let r = kexec(&mut host, &["-c", "-l", &seg, "--dry-run", "--json"]);
    let v: Value = serde_json::from_str(r.out.trim()).unwrap();
    assert_eq!(
        (r.code, v["errno"].as_str(), v["source"].as_str()),
        (255, Some("EADDRNOTAVAIL"), Some("model"))
    );
    assert_eq!(host.calls.len(), 1);
    // --skip-preflight sends it; the kernel's answer comes back as the kernel's.
    host.load_result = Err(Errno::EADDRNOTAVAIL);
    let r = kexec(
        &mut host,
        &[
            "-c",
            "-l",
            &seg,
            "--skip-preflight",
            "--json",
            "--arch=AARCH64",
            "--load-flags=0x10",
        ],
    );
    let v: Value = serde_json::from_str(r.out.trim()).unwrap();
    assert_eq!(
        (v["errno"].as_str(), v["source"].as_str()),
        (Some("EADDRNOTAVAIL"), Some("kernel"))
    );
    assert!(matches!(
        host.calls[1],
        Call::Load {
            flags: KexecFlags(0xB70010),
            ..
        }
    ));
    let r = kexec(&mut host, &["-s", "-l", &seg]);
    assert_eq!(r.code, 1);
}

#[test]
fn crash_load_through_kexec_load() {
    let d = Dir::new("cp");
    let mut host = FakeHost::typical();
    kexec::testing::add_crash_files(&mut host);
    let r = kexec(
        &mut host,
        &["-c", "-p", &d.path("vmlinuz"), "--append=irqpoll"],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    let Call::Load {
        entry,
        segments,
        flags,
    } = &host.calls[0]
    else {
        panic!("{:?}", host.calls)
    };
    assert_eq!(flags.0, 0x3e0001, "KEXEC_ON_CRASH | KEXEC_ARCH_X86_64");
    assert!((0x6500_0000..0x7500_0000).contains(entry));
    assert_eq!(
        segments.len(),
        4,
        "purgatory, zero page, kernel, elfcorehdr"
    );
    assert_eq!(host.files[CRASH_LOADED], "1\n");
    // -c -p -u unloads through kexec_load.
    let r = kexec(&mut host, &["-c", "-p", "-u"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        matches!(&host.calls[1], Call::Load { segments, flags, .. } if segments.is_empty() && flags.0 == 0x3e0001)
    );
}

#[test]
fn failed_crash_reloads_keep_the_loaded_crash_kernel_and_say_where() {
    let d = Dir::new("reload");
    let mut host = FakeHost::typical();
    host.set(CRASH_LOADED, "1\n");
    let big = d.0.join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    let initrd = format!("--initrd={}", big.display());
    for syscall in ["-s", "-c"] {
        for args in [
            vec![syscall, "-p", &d.path("text.txt")],
            vec![syscall, "-p", &d.path("vmlinuz"), &initrd],
        ] {
            let r = kexec(&mut host, &args);
            assert_eq!(r.code, 255, "{args:?}");
            assert!(
                r.err.contains("Crash kernel region")
                    && r.err.contains("256 MiB")
                    && r.err.contains("stays loaded"),
                "{args:?}: {}",
                r.err
            );
        }
    }
    assert!(host.calls.is_empty(), "{:?}", host.calls);
    assert_eq!(host.files[CRASH_LOADED], "1\n");
    // When the kernel itself refuses, the old crash kernel is gone, and
    // with no record of it (loaded by another tool) it cannot come back: say so.
    host.load_result = Err(Errno::ENOMEM);
    let r = kexec(&mut host, &["-s", "-p", &d.path("vmlinuz")]);
    assert!(
        r.err
            .contains("had unloaded the crash kernel loaded before")
            && r.err.contains("NOT restored: no crash kernel was recorded")
            && r.err.contains("kexec_crash_loaded is 0"),
        "{}",
        r.err
    );
}

#[test]
fn crash_load_without_region_says_crashkernel() {
    let d = Dir::new("nocrash");
    let mut host = FakeHost::typical();
    host.set("/proc/iomem", "00100000-7ffdffff : System RAM\n");
    host.set("/sys/kernel/kexec_crash_size", "0\n");
    let r = kexec(&mut host, &["-s", "-p", &d.path("vmlinuz")]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("crashkernel="), "{}", r.err);
    assert_eq!(kexec(&mut host, &["--print-ckr-size"]).out, "0\n");
}

#[test]
fn kexec_load_builds_segments_with_the_purgatory_entry() {
    let d = Dir::new("c");
    let mut host = FakeHost::typical();
    let initrd = format!("--initrd={}", d.path("initrd"));
    let r = kexec(
        &mut host,
        &["-c", "-l", &d.path("vmlinuz"), &initrd, "--append=x"],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    let Call::Load {
        entry,
        segments,
        flags,
    } = &host.calls[0]
    else {
        panic!("{:?}", host.calls)
    };
    assert_eq!(flags.0, 0x3e0000);
    assert_eq!(segments.len(), 4);
    assert!(
        segments[0].0 <= *entry && *entry < segments[0].0 + segments[0].1,
        "entry is in the purgatory"
    );
    assert_eq!(host.files[LOADED], "1\n");
}

#[test]
fn entry_overrides_the_kexec_load_entry() {
    let d = Dir::new("entry");
    let mut host = FakeHost::typical();
    let r = kexec(
        &mut host,
        &["-c", "-l", &d.path("vmlinuz"), "--entry=0x1000000"],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(matches!(
        host.calls[0],
        Call::Load {
            entry: 0x1000000,
            ..
        }
    ));
}

#[test]
fn auto_falls_back_to_kexec_load_when_the_file_call_refuses() {
    let d = Dir::new("auto");
    let mut host = FakeHost::typical();
    // 2030 bytes: too long for kexec_file_load (2017), fine for kexec_load (2047).
    let append = format!("--append={}", "a".repeat(2029));
    let r = kexec(&mut host, &["-d", "-l", &d.path("vmlinuz"), &append]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.err.contains("sends kexec-tools -a to kexec_load too"),
        "{}",
        r.err
    );
    assert!(
        matches!(host.calls.as_slice(), [Call::Load { .. }]),
        "{:?}",
        host.calls
    );
    // EPERM is final: no fallback.
    let mut host = FakeHost::typical();
    host.load_result = Err(Errno::EKEYREJECTED);
    let r = kexec(&mut host, &["-l", &d.path("vmlinuz")]);
    assert_eq!(r.code, 255);
    assert_eq!(host.calls.len(), 1);
    // A kernel ENOEXEC falls back.
    let mut host = FakeHost::typical();
    host.load_result = Err(Errno::ENOEXEC);
    kexec(&mut host, &["-l", &d.path("vmlinuz")]);
    assert!(
        matches!(
            host.calls.as_slice(),
            [Call::FileLoad { .. }, Call::Load { .. }]
        ),
        "{:?}",
        host.calls
    );
}

#[test]
fn dry_run_shows_the_kexec_load_layout() {
    let d = Dir::new("dryc");
    let mut host = FakeHost::typical();
    let r = kexec(
        &mut host,
        &[
            "--dry-run",
            "-c",
            "-l",
            &d.path("vmlinuz"),
            "--console-serial",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.contains("purgatory") && r.out.contains("segment 3") || r.out.contains("segment 2"),
        "{}",
        r.out
    );
    assert!(host.calls.is_empty());
}

/// Issue #8, finding 2: a pipe, FIFO or device as an input is read to
/// EOF; kexec_file_load gets its bytes as a sealed memfd, kexec_load as
/// a segment; an empty one is refused by name.
mod streamed_inputs {
    use super::*;
    use kexec::sys::mapping::INPUT_SEALS;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    /// 300 KiB, more than a pipe holds, so reading must loop to EOF.
    fn payload() -> Vec<u8> {
        (0..300 * 1024u32).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// A FIFO in `d` with a writer that sends `bytes` once a reader opens it.
    fn fifo(d: &Dir, name: &str, bytes: Vec<u8>) -> String {
        let path = d.path(name);
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let writer_path = path.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(writer_path)
                .unwrap();
            let _ = f.write_all(&bytes);
        });
        path
    }

    fn initrd_segment(host: &FakeHost) -> Vec<u8> {
        let segments = host.passed_segments.last().expect("a kexec_load");
        let initrd: Vec<&kexec::Segment> = segments
            .iter()
            .filter(|s| s.purpose.starts_with("initrd"))
            .collect();
        assert_eq!(initrd.len(), 1, "{segments:?}");
        initrd[0].data.to_vec()
    }

    fn assert_sealed_memfd_with(host: &FakeHost, bytes: &[u8]) {
        let (_, initrd) = host.passed_files.last().expect("a kexec_file_load");
        let initrd = initrd.as_ref().expect("an initrd descriptor");
        assert!(initrd.regular, "kexec_file_load reads only regular files");
        assert_eq!(initrd.seals & INPUT_SEALS, INPUT_SEALS);
        assert!(initrd.bytes == bytes, "{} bytes passed", initrd.bytes.len());
    }

    #[test]
    fn a_fifo_initrd_reaches_kexec_file_load_as_a_sealed_memfd() {
        let d = Dir::new("fifo-s");
        let initrd = fifo(&d, "initrd.fifo", payload());
        let mut host = FakeHost::typical();
        let arg = format!("--initrd={initrd}");
        let r = kexec(&mut host, &["-s", "-l", &d.path("vmlinuz"), &arg]);
        assert_eq!(r.code, 0, "{}", r.err);
        assert_sealed_memfd_with(&host, &payload());
    }

    #[test]
    fn a_pipe_initrd_becomes_the_initrd_segment_of_kexec_load() {
        let d = Dir::new("pipe-c");
        let (reader, mut writer) = std::io::pipe().unwrap();
        std::thread::spawn(move || writer.write_all(&payload()));
        let arg = format!("--initrd=/proc/self/fd/{}", reader.as_raw_fd());
        let mut host = FakeHost::typical();
        let r = kexec(&mut host, &["-c", "-l", &d.path("vmlinuz"), &arg]);
        assert_eq!(r.code, 0, "{}", r.err);
        assert!(initrd_segment(&host) == payload());
        drop(reader);
    }

    #[test]
    fn a_fifo_initrd_reaches_the_crash_kernel() {
        let d = Dir::new("fifo-p");
        let mut host = FakeHost::typical();
        kexec::testing::add_crash_files(&mut host);
        let initrd = format!("--initrd={}", fifo(&d, "p.fifo", payload()));
        let r = kexec(&mut host, &["-p", &d.path("vmlinuz"), &initrd]);
        assert_eq!(r.code, 0, "{}", r.err);
        assert_sealed_memfd_with(&host, &payload());
        let initrd = format!("--initrd={}", fifo(&d, "cp.fifo", payload()));
        let r = kexec(&mut host, &["-c", "-p", &d.path("vmlinuz"), &initrd]);
        assert_eq!(r.code, 0, "{}", r.err);
        assert!(initrd_segment(&host) == payload());
    }

    #[test]
    fn the_default_fallback_to_kexec_load_keeps_a_fifo_initrd() {
        let d = Dir::new("fifo-a");
        let initrd = format!("--initrd={}", fifo(&d, "a.fifo", payload()));
        let mut host = FakeHost::typical();
        // The kernel refuses the file call: -a goes on with kexec_load.
        host.load_result = Err(Errno::EINVAL);
        kexec(&mut host, &["-l", &d.path("vmlinuz"), &initrd]);
        assert_sealed_memfd_with(&host, &payload());
        assert!(
            initrd_segment(&host) == payload(),
            "the fallback's initrd segment holds every byte read from the FIFO"
        );
    }

    #[test]
    fn an_empty_fifo_initrd_is_refused_by_name_on_both_calls() {
        let d = Dir::new("fifo-empty");
        for (i, args) in [
            vec!["-s", "-l"],
            vec!["-c", "-l"],
            vec!["-l"],
            vec!["--dry-run", "-c", "-l"],
            vec!["--dry-run", "-s", "-l"],
        ]
        .into_iter()
        .enumerate()
        {
            let path = fifo(&d, &format!("empty{i}.fifo"), Vec::new());
            let initrd = format!("--initrd={path}");
            let mut host = FakeHost::typical();
            host.set(LOADED, "1\n");
            let kernel = d.path("vmlinuz");
            let mut argv = args.clone();
            argv.extend([kernel.as_str(), initrd.as_str()]);
            let r = kexec(&mut host, &argv);
            assert_eq!(r.code, 255, "{args:?}");
            let said = format!("{}{}", r.out, r.err);
            assert!(
                said.contains(&format!("initrd {path} (a FIFO, read to EOF) is empty"))
                    && said.contains("is empty")
                    && said.contains("nothing to load"),
                "{args:?}: {said}"
            );
            assert!(host.calls.is_empty(), "{args:?}: {:?}", host.calls);
            assert_eq!(host.files[LOADED], "1\n");
        }
    }

    #[test]
    fn a_fifo_segment_is_read_to_eof_and_an_empty_one_refused() {
        let d = Dir::new("fifo-seg");
        let seg = format!("--segment={}@0x1000000", fifo(&d, "seg.fifo", payload()));
        let mut host = FakeHost::typical();
        let r = kexec(&mut host, &["-c", "-l", &seg]);
        assert_eq!(r.code, 0, "{}", r.err);
        let segments = &host.passed_segments[0];
        assert!(segments[0].data.to_vec() == payload());
        assert_eq!(segments[0].memsz, 300 * 1024);
        let empty = fifo(&d, "empty.fifo", Vec::new());
        let seg = format!("--segment={empty}@0x1000000:0x1000");
        let mut host = FakeHost::typical();
        let r = kexec(&mut host, &["-c", "-l", &seg]);
        assert_eq!(r.code, 255);
        assert!(
            r.err.contains(&format!("segment file {empty} (a FIFO"))
                && r.err.contains("is empty: nothing to load"),
            "{}",
            r.err
        );
        assert!(host.calls.is_empty());
    }

    #[test]
    fn the_plan_says_a_pipe_was_read_to_eof_and_passed_as_a_memfd() {
        let d = Dir::new("pipe-dry");
        let (reader, mut writer) = std::io::pipe().unwrap();
        std::thread::spawn(move || writer.write_all(&payload()));
        let path = format!("/proc/self/fd/{}", reader.as_raw_fd());
        let arg = format!("--initrd={path}");
        let mut host = FakeHost::typical();
        let r = kexec(
            &mut host,
            &["--dry-run", "-s", "-l", &d.path("vmlinuz"), &arg],
        );
        assert_eq!(r.code, 0, "{}", r.err);
        assert!(
            r.out.contains(&format!(
                "{path} (a pipe, read to EOF: 300 KiB, passed to kexec_file_load as a sealed memfd)"
            )),
            "{}",
            r.out
        );
        drop(reader);
    }

    #[test]
    fn size_rules_refuse_a_huge_initrd_before_reading_it() {
        // 32 GiB, sparse, with room for it in RAM but MemTotal 2 GiB:
        // hashing it first would take a minute, not milliseconds.
        let d = Dir::new("huge");
        let huge = std::fs::File::create(d.0.join("huge.img")).unwrap();
        huge.set_len(32 << 30).unwrap();
        let initrd = format!("--initrd={}", d.path("huge.img"));
        for (args, cause) in [
            (vec!["-c", "-l"], "half of RAM"),
            (vec!["--dry-run", "-c", "-l"], "half of RAM"),
            (vec!["-l"], "half of RAM"),
            (vec!["-c", "-p"], "larger than the whole region"),
            (vec!["-p"], "4 GiB"),
        ] {
            let mut host = FakeHost::typical();
            kexec::testing::add_crash_files(&mut host);
            host.set(
                "/proc/iomem",
                "00000000-00000fff : Reserved\n\
                 00001000-0009fbff : System RAM\n\
                 00100000-fffffffff : System RAM\n\
                 \x20 01000000-01e00000 : Kernel code\n\
                 \x20 65000000-74ffffff : Crash kernel\n",
            );
            // The file call refuses a kernel it cannot probe: -a falls back.
            let kernel = if args == ["-l"] {
                d.path("text.txt")
            } else {
                d.path("vmlinuz")
            };
            let mut argv = args.clone();
            argv.extend([kernel.as_str(), initrd.as_str()]);
            let started = std::time::Instant::now();
            let r = kexec(&mut host, &argv);
            assert_eq!(r.code, 255, "{args:?}: {}{}", r.out, r.err);
            assert!(
                format!("{}{}", r.out, r.err).contains(cause),
                "{args:?}: {}{}",
                r.out,
                r.err
            );
            assert!(host.calls.is_empty(), "{args:?}");
            assert!(started.elapsed().as_secs() < 10, "{args:?} read the initrd");
        }
    }

    #[test]
    fn a_stream_larger_than_any_load_is_not_read_to_the_end() {
        let d = Dir::new("zero");
        let mut host = FakeHost::typical();
        host.set("/proc/meminfo", "MemTotal:        2048 kB\n");
        let r = kexec(
            &mut host,
            &[
                "--dry-run",
                "-c",
                "-l",
                &d.path("vmlinuz"),
                "--initrd=/dev/zero",
            ],
        );
        assert_eq!(r.code, 255);
        assert!(
            r.err.contains("/dev/zero")
                && r.err.contains("a character device")
                && r.err.contains("stopped reading"),
            "{}",
            r.err
        );
    }
}
// --- crash loads are transactional (issue #8: the crash kernel is kept
// whatever fails) ---

use kexec::crash_journal::RECORD_PATH;

/// A machine with a crash kernel loaded by us with `args` (recorded).
fn crash_loaded_with(args: &[&str]) -> FakeHost {
    let mut host = FakeHost::typical();
    kexec::testing::add_crash_files(&mut host);
    let r = kexec(&mut host, args);
    assert_eq!(r.code, 0, "{args:?}: {}", r.err);
    assert_eq!(host.files[CRASH_LOADED], "1\n");
    assert!(
        host.state_files.contains_key(RECORD_PATH),
        "{args:?} recorded"
    );
    host.calls.clear();
    host
}

fn last_json(out: &str) -> Value {
    serde_json::from_str(out.lines().rfind(|l| l.starts_with('{')).unwrap()).unwrap()
}

#[test]
fn a_crash_reload_the_kernel_refuses_restores_the_recorded_crash_kernel() {
    let d = Dir::new("restore");
    let initrd = format!("--initrd={}", d.path("initrd"));
    for syscall in ["-s", "-c"] {
        let mut host = crash_loaded_with(&[
            syscall,
            "-p",
            &d.path("vmlinuz"),
            &initrd,
            "--append=irqpoll",
        ]);
        // The attempt reaches the (fake) kernel, which frees the loaded
        // crash kernel and refuses the new one; the restore is accepted.
        host.load_results.push_back(Err(Errno::EADDRNOTAVAIL));
        let r = kexec(
            &mut host,
            &[
                syscall,
                "-p",
                "--skip-preflight",
                "--json",
                &d.path("vmlinuz"),
                "--append=other",
            ],
        );
        assert_eq!(r.code, 255, "{syscall}: {}", r.err);
        assert_eq!(host.files[CRASH_LOADED], "1\n", "{syscall}");
        assert!(
            r.err
                .contains("had unloaded the crash kernel loaded before")
                && r.err.contains("it was restored from /run/kexec/crash.json")
                && r.err.contains("kexec_crash_loaded is 1 again"),
            "{syscall}: {}",
            r.err
        );
        let v = last_json(&r.out);
        assert_eq!(v["errno"], "EADDRNOTAVAIL");
        assert_eq!(v["crash_kernel"]["loaded"], true, "{v}");
        assert_eq!(v["crash_kernel"]["loaded_after_attempt"], false, "{v}");
        assert_eq!(v["crash_kernel"]["restored"], true, "{v}");
        // The same call as recorded: the initrd and command line came back.
        assert_eq!(host.calls.len(), 2, "{:?}", host.calls);
        match (&host.calls[1], syscall) {
            (
                Call::FileLoad {
                    initrd,
                    cmdline,
                    flags,
                    ..
                },
                "-s",
            ) => {
                assert!(*initrd);
                assert_eq!(cmdline, b"irqpoll\0");
                assert_eq!(*flags, KEXEC_FILE_ON_CRASH);
            }
            (
                Call::Load {
                    segments, flags, ..
                },
                "-c",
            ) => {
                assert_eq!(flags.0, 0x3e0001);
                assert!(segments.len() >= 4, "{segments:?}");
            }
            (call, _) => panic!("{syscall}: restored with {call:?}"),
        }
    }
}

#[test]
fn a_changed_or_missing_recorded_file_is_not_restored_and_the_message_says_so() {
    let d = Dir::new("changed");
    let initrd = format!("--initrd={}", d.path("initrd"));
    let mut host = crash_loaded_with(&["-s", "-p", &d.path("vmlinuz"), &initrd]);
    std::fs::write(d.path("initrd"), b"070701 other!").unwrap();
    host.load_result = Err(Errno::EKEYREJECTED);
    let r = kexec(&mut host, &["-s", "-p", "--json", &d.path("vmlinuz")]);
    assert_eq!(r.code, 255);
    assert_eq!(host.files[CRASH_LOADED], "0\n");
    assert_eq!(host.calls.len(), 1, "nothing reloaded: {:?}", host.calls);
    assert!(
        r.err.contains("NOT restored: the initrd")
            && r.err.contains("changed since the crash kernel was loaded")
            && r.err.contains("its xxh3-128 is")
            && r.err.contains("kexec_crash_loaded is 0"),
        "{}",
        r.err
    );
    let v = last_json(&r.out);
    assert_eq!(v["crash_kernel"]["loaded"], false, "{v}");
    assert_eq!(v["crash_kernel"]["restored"], false, "{v}");
    assert!(v["crash_kernel"]["not_restored_because"]
        .as_str()
        .unwrap()
        .contains("changed"));

    let mut host = crash_loaded_with(&["-c", "-p", &d.path("vmlinuz")]);
    let gone = d.0.join("vmlinuz.gone");
    std::fs::rename(d.path("vmlinuz"), &gone).unwrap();
    host.load_result = Err(Errno::EADDRNOTAVAIL);
    let outside = format!("--segment={}@0x1000000", d.path("initrd"));
    let r = kexec(&mut host, &["-c", "-p", &outside, "--skip-preflight"]);
    std::fs::rename(&gone, d.path("vmlinuz")).unwrap();
    assert!(
        r.err.contains("NOT restored: the kernel") && r.err.contains("No such file"),
        "{}",
        r.err
    );
}

#[test]
fn auto_mode_after_the_file_call_reached_the_kernel_restores_and_tells_the_truth() {
    // Finding 3: the file call reaches the kernel (which frees the crash
    // kernel) and fails with EINVAL; the kexec_load fallback then cannot
    // take it either. "Nothing was sent to the kernel" would be false.
    let d = Dir::new("autotruth");
    let big = d.0.join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    let big_initrd = format!("--initrd={}", big.display());
    let initrd = format!("--initrd={}", d.path("initrd"));

    // (a) the fallback cannot even be built (the initrd is larger than the region).
    let mut host = crash_loaded_with(&["-s", "-p", &d.path("vmlinuz"), &initrd]);
    host.load_results.push_back(Err(Errno::EINVAL));
    let r = kexec(
        &mut host,
        &[
            "-p",
            "--skip-preflight",
            "--json",
            &d.path("vmlinuz"),
            &big_initrd,
        ],
    );
    assert_eq!(r.code, 255);
    assert!(
        matches!(
            host.calls.as_slice(),
            [Call::FileLoad { .. }, Call::FileLoad { .. }]
        ),
        "the attempt, then the restore: {:?}",
        host.calls
    );
    assert_eq!(host.files[CRASH_LOADED], "1\n");
    assert!(
        r.err.contains("fallback cannot take it either")
            && r.err.contains("it was restored from /run/kexec/crash.json")
            && !r.err.contains("nothing was sent"),
        "{}",
        r.err
    );
    assert_eq!(last_json(&r.out)["crash_kernel"]["restored"], true);

    // (b) the fallback is built, sent, and refused by the kernel too.
    let mut host = crash_loaded_with(&["-c", "-p", &d.path("vmlinuz"), &initrd]);
    host.load_results
        .extend([Err(Errno::EINVAL), Err(Errno::ENOMEM)]);
    let r = kexec(&mut host, &["-p", "--json", &d.path("vmlinuz")]);
    assert_eq!(r.code, 255);
    assert!(
        matches!(
            host.calls.as_slice(),
            [Call::FileLoad { .. }, Call::Load { .. }, Call::Load { .. }]
        ),
        "file call, fallback, restore through the recorded kexec_load: {:?}",
        host.calls
    );
    assert_eq!(host.files[CRASH_LOADED], "1\n");
    assert!(r.err.contains("it was restored"), "{}", r.err);

    // (c) and when the restore is refused too, say so with its errno.
    let mut host = crash_loaded_with(&["-s", "-p", &d.path("vmlinuz"), &initrd]);
    host.load_result = Err(Errno::EINVAL);
    let r = kexec(
        &mut host,
        &["-p", "--skip-preflight", &d.path("vmlinuz"), &big_initrd],
    );
    assert_eq!(host.files[CRASH_LOADED], "0\n");
    assert!(
        r.err
            .contains("NOT restored: the reload through kexec_file_load failed")
            && r.err.contains("EINVAL")
            && r.err.contains("No crash kernel is loaded now"),
        "{}",
        r.err
    );
}

#[test]
fn raw_crash_segments_are_recorded_restored_and_unload_forgets() {
    let d = Dir::new("rawrestore");
    let seg = format!("--segment={}@0x65000000", d.path("initrd"));
    let mut host = crash_loaded_with(&["-c", "-p", &seg, "--entry=0x65000000"]);
    host.load_results.push_back(Err(Errno::EADDRNOTAVAIL));
    let outside = format!("--segment={}@0x1000000", d.path("initrd"));
    let r = kexec(&mut host, &["-c", "-p", &outside, "--skip-preflight"]);
    assert_eq!(r.code, 255);
    assert_eq!(
        host.calls.last(),
        Some(&Call::Load {
            entry: 0x6500_0000,
            segments: vec![(0x6500_0000, 0x1000, 13)],
            flags: KexecFlags(0x3e0001)
        })
    );
    assert!(r.err.contains("raw segments"), "{}", r.err);
    assert_eq!(host.files[CRASH_LOADED], "1\n");
    // A crash unload leaves nothing to restore.
    assert_eq!(kexec(&mut host, &["-c", "-p", "-u"]).code, 0);
    assert!(host.state_files.is_empty(), "{:?}", host.state_files.keys());
    // Nothing was loaded before this failure: nothing is restored or claimed.
    host.load_result = Err(Errno::EADDRNOTAVAIL);
    let r = kexec(
        &mut host,
        &["-c", "-p", &outside, "--skip-preflight", "--json"],
    );
    assert!(
        !r.err.contains("restored") && !r.err.contains("stays loaded"),
        "{}",
        r.err
    );
    assert_eq!(last_json(&r.out)["crash_kernel"]["loaded_before"], false);
}

/// Regression (issue 8, finding 1): an ELF kernel with more PT_LOADs
/// than kexec_load takes panicked in the purgatory builder (exit 101).
#[test]
fn an_elf_kernel_with_too_many_pt_loads_is_refused_by_name() {
    let d = Dir::new("elf17");
    let elf = |name: &str, base: u64, n: u64| {
        let loads: Vec<(u64, u64, u64)> = (0..n)
            .map(|i| (base + i * 0x2000, 0x1000, 0x1000))
            .collect();
        std::fs::write(d.0.join(name), kexec::testing::elf_vmlinux(&loads, base)).unwrap();
        d.path(name)
    };
    let mut host = FakeHost::typical();
    kexec::testing::add_crash_files(&mut host);
    let initrd = format!("--initrd={}", d.path("initrd"));
    // Purgatory + zero page + 14 PT_LOADs = 16 segments: the limit.
    let fits = elf("elf14", 0x100_0000, 14);
    let r = kexec(&mut host, &["--dry-run", "-c", "-l", &fits]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let crash_fits = elf("crash13", 0x6600_0000, 13);
    let r = kexec(&mut host, &["--dry-run", "-c", "-p", &crash_fits]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    for (args, total) in [
        (vec!["-l", &elf("elf17", 0x100_0000, 17)], 19),
        (vec!["-l", &elf("elf15", 0x100_0000, 15)], 17),
        (vec!["-l", &fits, &initrd], 17),
        (vec!["-p", &elf("crash14", 0x6600_0000, 14)], 17),
    ] {
        let mut argv = vec!["--dry-run", "-c"];
        argv.extend(args.iter().copied());
        let r = kexec(&mut host, &argv);
        assert_eq!(r.code, EXIT_FAILED, "{argv:?}: {}{}", r.out, r.err);
        assert!(
            r.err.contains(args[1])
                && r.err
                    .contains(&format!("needs {total} kexec_load segments"))
                && r.err.contains("at most 16 (KEXEC_SEGMENT_MAX)"),
            "{argv:?}: {}",
            r.err
        );
    }
    assert!(host.calls.is_empty());
}

/// Regression (issue 8, finding 9): a raw segment whose end lies past
/// 2^64 was printed with a wrapped end address; the kernel refuses it
/// (mstart > mend: EADDRNOTAVAIL) and so must the model.
#[test]
fn a_segment_past_the_top_of_memory_is_printed_and_refused_truly() {
    let d = Dir::new("wrap");
    let mut host = FakeHost::typical();
    for (spec, end) in [
        (
            "@0xfffffffffffff000:0x2000",
            "0x10000000000000fff (past 2^64)",
        ),
        ("@0xfffffffffffff000:0x1000", "0xffffffffffffffff"),
    ] {
        let seg = format!("--segment={}{spec}", d.path("initrd"));
        let r = kexec(&mut host, &["--dry-run", "-c", "-l", &seg]);
        assert_eq!(r.code, 255, "{}{}", r.out, r.err);
        assert!(
            r.out.contains(&format!("0xfffffffffffff000-{end} ")),
            "{}",
            r.out
        );
        assert!(
            r.out.contains("EADDRNOTAVAIL") && r.out.contains("wraps around"),
            "{}",
            r.out
        );
        let r = kexec(&mut host, &["--dry-run", "--json", "-c", "-l", &seg]);
        let v: Value = serde_json::from_str(r.out.trim()).unwrap();
        assert_eq!(v["errno"], "EADDRNOTAVAIL", "{}", r.out);
        assert_eq!(v["plan"]["segments"][0]["mem"], 0xffff_ffff_ffff_f000u64);
    }
    // An empty segment at 0 for a crash load: refused, not a wrapped end.
    host.set("/sys/kernel/kexec_crash_size", "268435456\n");
    let seg = format!("--segment={}@0x0:0x0", d.path("empty"));
    let r = kexec(
        &mut host,
        &["--dry-run", "-c", "-p", &seg, "--entry=0x65000000"],
    );
    assert_ne!(r.code, 0, "{}{}", r.out, r.err);
    assert!(!r.out.contains("0xffffffffffffffff"), "{}", r.out);
    assert!(host.calls.is_empty());
}

/// Kexec handover on (a 6.18 kernel built with it, booted with kho=on, as
/// root so debugfs shows the scratch areas): -S says so; -c is refused
/// before any call with rule kexec-handover unless --skip-preflight; -a
/// loads with kexec_file_load and makes no kexec_load fallback, and -d says
/// why.
#[test]
fn kexec_handover_on_is_shown_and_keeps_loads_on_kexec_file_load() {
    let d = Dir::new("kho");
    let kho_host = || {
        let mut host = FakeHost::typical();
        host.set("/proc/sys/kernel/osrelease", "6.18.0\n");
        host.set(
            "/boot/config-6.18.0",
            "CONFIG_KEXEC=y\nCONFIG_KEXEC_FILE=y\nCONFIG_KEXEC_HANDOVER=y\n",
        );
        host.set("/proc/cmdline", "root=/dev/vda1 crashkernel=256M kho=on\n");
        host.set("/sys/kernel/debug/kho/out/scratch_phys", "0x1000000\n");
        host.set("/sys/kernel/debug/kho/out/scratch_len", "0x4000000\n");
        host
    };
    let mut host = kho_host();
    let r = kexec(&mut host, &["-S"]);
    assert!(
        r.out
            .contains("Kexec handover:     on (/sys/kernel/debug/kho exists")
            && r.out.contains("scratch areas 0x1000000-0x4ffffff (64 MiB)"),
        "{}",
        r.out
    );
    let r = kexec(&mut host, &["-S", "--json"]);
    let v: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(v["kexec_handover"]["state"], "on");
    assert_eq!(v["kexec_handover"]["scratch"][0]["end"], 0x500_0000);

    let r = kexec(&mut host, &["--json", "-c", "-l", &d.path("vmlinuz")]);
    assert_eq!(r.code, EXIT_FAILED, "{}", r.err);
    let v: Value = serde_json::from_str(r.out.trim()).unwrap();
    assert_eq!(
        (
            v["errno"].as_str(),
            v["rule"].as_str(),
            v["source"].as_str()
        ),
        (Some("EINVAL"), Some("kexec-handover"), Some("model"))
    );
    assert!(host.calls.is_empty(), "{:?}", host.calls);
    let r = kexec(
        &mut host,
        &["--skip-preflight", "-c", "-l", &d.path("vmlinuz")],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(matches!(host.calls.as_slice(), [Call::Load { .. }]));

    let mut host = kho_host();
    host.load_results.push_back(Err(Errno::ENOEXEC));
    let r = kexec(&mut host, &["-d", "-l", &d.path("vmlinuz")]);
    assert_eq!(r.code, EXIT_FAILED, "{}", r.err);
    assert!(matches!(host.calls.as_slice(), [Call::FileLoad { .. }]));
    assert!(
        r.err
            .contains("no kexec_load fallback: kexec handover is on")
            && r.err.contains("the kexec_load fallback was not tried"),
        "{}",
        r.err
    );
}
