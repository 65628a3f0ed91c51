//! The `vmcore-dmesg` binary end to end, on synthetic vmcore files
//! (`kexec::vmcore::testing`): what it prints and exits with.

mod common;

use common::Dir;
use kexec::vmcore::testing::{elf64, LocklessCore, State, RAM_PADDR, RAM_VADDR};
use std::process::{Command, Output};

fn vmcore_dmesg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vmcore-dmesg"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

#[test]
fn prints_the_log_and_exits_0() {
    let d = Dir::new("vmcore-dmesg-ok");
    let mut core = LocklessCore::new();
    core.record(12_345_678_999, b"Linux version 6.1.0-18-amd64")
        .record_in(13_000_000_000, b"not yet committed", State::Reserved)
        .record(14_000_000_000, b"BUG: kernel NULL pointer\x07\nsecond line");
    let path = d.put("vmcore", &core.build());
    let r = vmcore_dmesg(&[&path]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
    assert_eq!(
        text(&r.stdout),
        "[   12.345678] Linux version 6.1.0-18-amd64\n\
         [   14.000000] BUG: kernel NULL pointer\\x07\nsecond line\n"
    );
    assert_eq!(text(&r.stderr), "");
}

#[test]
fn a_vmcore_it_cannot_read_is_exit_2_naming_the_file_and_the_fault() {
    let d = Dir::new("vmcore-dmesg-bad");
    let path = d.put(
        "vmcore",
        &elf64(
            &[(b"CORE", 1, &[0; 336])],
            &[(RAM_VADDR, RAM_PADDR, &[0; 64])],
        ),
    );
    let r = vmcore_dmesg(&[&path]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(
        text(&r.stderr),
        format!("vmcore-dmesg: {path}: no VMCOREINFO note among its 1 PT_NOTE segment\n")
    );
    assert!(r.stdout.is_empty());

    let missing = d.path("no-such-vmcore");
    let r = vmcore_dmesg(&[&missing]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        text(&r.stderr).starts_with(&format!("vmcore-dmesg: {missing}: cannot open: ")),
        "{}",
        text(&r.stderr)
    );

    // What came before the fault is printed; the fault is named after it.
    let mut core = LocklessCore::new();
    core.record(1_000_000, b"printed")
        .record(2_000_000, b"cut off");
    let bytes = core.build();
    let cut = bytes.len() - 0x1_0000 + 0x4000 + 24; // before the second text
    let path = d.put("cut", &bytes[..cut]);
    let r = vmcore_dmesg(&[&path]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(text(&r.stdout), "[    0.001000] printed\n");
    assert!(
        text(&r.stderr).contains("the file is cut short: the text of prb_desc_ring.descs[15]"),
        "{}",
        text(&r.stderr)
    );
}

#[test]
fn help_version_and_usage() {
    let r = vmcore_dmesg(&["--help"]);
    assert_eq!(r.status.code(), Some(0));
    assert!(text(&r.stdout).contains("VMCORE"), "{}", text(&r.stdout));
    assert!(text(&r.stdout).contains("/proc/vmcore"));
    let r = vmcore_dmesg(&["--version"]);
    assert_eq!(r.status.code(), Some(0));
    assert_eq!(
        text(&r.stdout),
        format!("vmcore-dmesg {} (Rust)\n", env!("CARGO_PKG_VERSION"))
    );
    for args in [&[][..], &["a", "b"][..], &["--no-such-option", "x"][..]] {
        let r = vmcore_dmesg(args);
        assert_eq!(r.status.code(), Some(1), "{args:?}");
        assert!(!r.stderr.is_empty());
    }
}
