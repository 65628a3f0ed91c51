//! The `vmcore-dmesg` binary end to end, on synthetic vmcore files
//! (`kexec::vmcore::testing`): what it prints and exits with.

mod common;

use common::Dir;
use kexec::vmcore::testing::{elf64, LocklessCore, RecordsCore, State, RAM_PADDR, RAM_VADDR};
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

/// Byte for byte against kexec-tools' own vmcore-dmesg: the one
/// `KEXEC_TOOLS_VMCORE_DMESG` names, else the distribution's
/// (/usr/sbin or /sbin, which tests/vm/setup.sh installs with kexec-tools;
/// Debian 12's is 2.0.25, and later releases print the same). Without one
/// the test only says it was skipped.
#[test]
fn the_same_output_as_kexec_tools() {
    let reference = std::env::var_os("KEXEC_TOOLS_VMCORE_DMESG").or_else(|| {
        ["/usr/sbin/vmcore-dmesg", "/sbin/vmcore-dmesg"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())
            .map(Into::into)
    });
    let Some(reference) = reference else {
        eprintln!("skipped: no kexec-tools vmcore-dmesg (set KEXEC_TOOLS_VMCORE_DMESG)");
        return;
    };
    let d = Dir::new("vmcore-dmesg-same");
    let mut lockless = LocklessCore::new();
    lockless.first_lpos = 0x4000_0000 + 824; // the sixth printed block wraps
    lockless
        .record(0, b"Linux version 6.1.0-18-amd64")
        .record_in(1_234_567_890, b"multi\nline", State::Committed)
        .record_in(1_300_000_000, b"never shown", State::Reserved)
        .record(1_500_000_000, b"esc\x1b[1mbold\x7f\xc3\xa9\ttab\r\x0b\x0c")
        .record_in(1_600_000_000, b"free", State::Reusable)
        .stale(1_700_000_000, b"old")
        .record(2_000_000_000, b"")
        .record(3_000_001_000, &[b'w'; 60])
        .record(4_000_000_000, b"after wrap");
    let mut many = LocklessCore::new();
    many.count_bits = 6;
    many.size_bits = 12;
    for i in 0..60u64 {
        let text = format!("line {i} \x7f\u{e9}\tend{}", "\0".repeat(i as usize % 3));
        many.record(i * 1_234_567_891, text.as_bytes());
    }
    let mut i386 = LocklessCore::i386();
    i386.first_lpos = 0x4000_0000 + 976;
    i386.record(1_000_000_000, b"i386 first")
        .record_in(2_000_000_000, b"skipped", State::Reusable)
        .stale(2_500_000_000, b"stale")
        .record(3_000_000_000, b"wraps to the start: 30 bytes")
        .record(4_000_000_000, b"last");
    let mut records = RecordsCore::new();
    records
        .record(5_000_000, b"first line")
        .record(6_000_000, b"second\x01")
        .record(7_000_000, b"third line here")
        .record(8_000_000, b"fourth");
    let mut empty = LocklessCore::new();
    empty.record_in(0, b"", State::Reusable);
    // Both rings wrapped many times: the log starts at the pushed tail.
    let mut wrapped = LocklessCore::new();
    for i in 0..200u64 {
        let state = [State::Finalized, State::Committed, State::Reusable][i as usize % 3];
        let text = format!("record {i} {}", "y".repeat(i as usize % 13));
        wrapped.record_in(i * 999_999_999, text.as_bytes(), state);
    }
    for (name, core) in [
        ("wrapped", &mut wrapped),
        ("lockless", &mut lockless),
        ("many", &mut many),
        ("i386", &mut i386),
        ("empty", &mut empty),
    ] {
        same(&reference, &d.put(name, &core.build()), name);
    }
    same(&reference, &d.put("records", &records.build()), "records");
}

fn same(reference: &std::ffi::OsStr, path: &str, name: &str) {
    let theirs = Command::new(reference).arg(path).output().unwrap();
    let ours = vmcore_dmesg(&[path]);
    assert_eq!(
        theirs.status.code(),
        Some(0),
        "{name}: {}",
        text(&theirs.stderr)
    );
    assert_eq!(
        ours.status.code(),
        Some(0),
        "{name}: {}",
        text(&ours.stderr)
    );
    assert_eq!(text(&ours.stdout), text(&theirs.stdout), "{name}");
}
