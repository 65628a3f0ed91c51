use super::*;
use crate::sys::fake::{Call, CRASH_LOADED};
use crate::sys::FakeHost;
use crate::testing::{add_crash_files, bzimage64_sample};
use std::path::Path;

struct Files(PathBuf);

impl Files {
    fn new(name: &str) -> Files {
        let d = std::env::temp_dir().join(format!("kexec-request-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("vmlinuz"), bzimage64_sample()).unwrap();
        std::fs::write(d.join("empty"), b"").unwrap();
        std::fs::write(d.join("text"), "not a kernel\n".repeat(200)).unwrap();
        Files(d)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn perform(host: &mut FakeHost, request: &Request) -> Outcome {
    Kexec::new(host).perform(request)
}

fn failure(outcome: &Outcome) -> &Failure {
    outcome.result.as_ref().expect_err("the request fails")
}

/// What `--json` reports of every kind of failure is the library's own
/// vocabulary: the rule and source read back as `Rule` and `Source`.
#[test]
fn every_failure_is_reported_in_the_librarys_vocabulary() {
    let f = Files::new("vocabulary");
    let mut host = FakeHost::typical();
    let kernel = f.path("vmlinuz");
    let mut wrong_type = Request::load(Target::Normal, &kernel);
    if let Action::Load(Payload::Kernel { format, .. }) = &mut wrong_type.action {
        *format = Some("elf-x86_64");
    }
    let mut reuse = Request::load(Target::Normal, &kernel);
    if let Action::Load(Payload::Kernel { cmdline, .. }) = &mut reuse.action {
        cmdline.reuse = true;
    }
    let segments = |file: &Path, syscall| Request {
        action: Action::Load(Payload::Segments(vec![RawSegment {
            file: file.to_path_buf(),
            mem: 0x100000,
            memsz: None,
        }])),
        syscall,
        ..Request::unload(Target::Normal)
    };
    let mut elf_by_file_call = Request::load(Target::Normal, f.path("text"));
    elf_by_file_call.syscall = SyscallChoice::Load;
    let cases: Vec<(&str, Request, Rule, Errno, FailureKind)> = vec![
        (
            "missing kernel",
            Request::load(Target::Normal, f.path("nope")),
            Rule::UnreadableFile,
            Errno::ENOENT,
            FailureKind::Refused,
        ),
        (
            "wrong --type",
            wrong_type,
            Rule::WrongType,
            Errno::ENOEXEC,
            FailureKind::Refused,
        ),
        (
            "empty segment",
            segments(&f.path("empty"), SyscallChoice::Load),
            Rule::EmptyFile,
            Errno::EINVAL,
            FailureKind::Refused,
        ),
        (
            "segments by the file call",
            segments(&f.path("vmlinuz"), SyscallChoice::File),
            Rule::Usage,
            Errno::EINVAL,
            FailureKind::Invalid,
        ),
        (
            "not a kernel, kexec_load",
            elf_by_file_call,
            Rule::Image,
            Errno::EINVAL,
            FailureKind::Refused,
        ),
        (
            "empty kernel",
            Request::load(Target::Normal, f.path("empty")),
            Rule::EmptyFile,
            Errno::EINVAL,
            FailureKind::Invalid,
        ),
    ];
    for (name, request, rule, errno, kind) in cases {
        let outcome = perform(&mut host, &request);
        let failure = failure(&outcome);
        assert_eq!(
            (
                failure.rejection.rule,
                failure.rejection.errno,
                failure.kind
            ),
            (rule, errno, kind),
            "{name}: {}",
            failure.message
        );
        let json = outcome.to_json();
        let read: Rule = serde_json::from_value(json["rule"].clone()).unwrap();
        let source: Source = serde_json::from_value(json["source"].clone()).unwrap();
        assert_eq!((read, source), (rule, failure.rejection.source), "{name}");
        assert_eq!(json["errno"], errno.name(), "{name}");
    }
    host.unset("/proc/cmdline");
    let outcome = perform(&mut host, &reuse);
    let failure = failure(&outcome);
    assert_eq!(
        (failure.rejection.rule, failure.kind),
        (Rule::UnreadableFile, FailureKind::Invalid)
    );
    assert!(
        failure.message.contains("--reuse-cmdline"),
        "{}",
        failure.message
    );
    assert!(host.calls.is_empty(), "{:?}", host.calls);
}

/// -a: a file call the kernel refuses with a fallback errno goes on to
/// kexec_load, and the outcome says why; other errnos do not.
#[test]
fn auto_falls_back_to_kexec_load_only_on_kexec_tools_errnos() {
    let f = Files::new("auto");
    let mut host = FakeHost::typical();
    host.load_results.push_back(Err(Errno::EOPNOTSUPP));
    let outcome = perform(&mut host, &Request::load(Target::Normal, f.path("vmlinuz")));
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    let why = outcome.syscall_choice.as_deref().unwrap();
    assert!(
        why.starts_with("kexec_load (auto): kexec_file_load would be refused with EOPNOTSUPP"),
        "{why}"
    );
    assert!(
        matches!(host.calls[..], [Call::FileLoad { .. }, Call::Load { .. }]),
        "{:?}",
        host.calls
    );
    assert!(matches!(outcome.plan, Some(Plan::Load { .. })));

    let mut host = FakeHost::typical();
    host.load_results.push_back(Err(Errno::EPERM));
    let outcome = perform(&mut host, &Request::load(Target::Normal, f.path("vmlinuz")));
    assert_eq!(failure(&outcome).rejection.errno, Errno::EPERM);
    assert_eq!(host.calls.len(), 1, "{:?}", host.calls);
}

/// A successful crash load is recorded; a crash unload forgets it, and
/// the session then knows no crash kernel is loaded.
#[test]
fn crash_loads_are_recorded_and_unloads_forget_them() {
    let f = Files::new("journal");
    let mut host = FakeHost::typical();
    add_crash_files(&mut host);
    let mut kexec = Kexec::new(&mut host);
    let outcome = kexec.perform(&Request::load(Target::Crash, f.path("vmlinuz")));
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert!(
        outcome.log.iter().any(|l| l.starts_with("recorded in")),
        "{:?}",
        outcome.log
    );
    assert_eq!(kexec.facts().crash_loaded, Some(true));
    let outcome = kexec.perform(&Request::unload(Target::Crash));
    assert!(outcome.result.is_ok());
    assert_eq!(kexec.facts().crash_loaded, Some(false));
    assert!(crash_journal::read_record(&host).is_err());
    assert_eq!(host.files[CRASH_LOADED], "0\n");
}

/// A kexec_load crash load of the sample kernel with `initrd` (written to
/// `f`), and the initrd's record in the crash journal it left.
fn crash_load_recording(f: &Files, initrd: &[u8]) -> (FakeHost, crash_journal::RecordedFile) {
    std::fs::write(f.path("initrd"), initrd).unwrap();
    let mut host = FakeHost::typical();
    add_crash_files(&mut host);
    let mut request = Request::load(Target::Crash, f.path("vmlinuz")).initrd(f.path("initrd"));
    request.syscall = SyscallChoice::Load;
    assert!(perform(&mut host, &request).result.is_ok());
    let record = crash_journal::read_record(&host).unwrap();
    let crash_journal::Recipe::KernelLoad {
        initrd: Some(recorded),
        ..
    } = record.recipe
    else {
        panic!("{record:?}")
    };
    (host, recorded)
}

/// The record's initrd digest is the purgatory's digest of the loaded
/// bytes (the file is not read twice), and it is the file's XXH3-128, the
/// x86_64 purgatory's hash.
#[test]
fn a_kexec_load_crash_record_reuses_the_initrd_digest_and_it_is_the_files() {
    let f = Files::new("journal-digest");
    let initrd: Vec<u8> = (0..3 * 4096 + 17).map(|i| (i * 7 % 251) as u8).collect();
    let (_, recorded) = crash_load_recording(&f, &initrd);
    assert_eq!(recorded.size, initrd.len() as u64);
    assert_eq!(recorded.algorithm.as_deref(), Some("xxh3-128"));
    assert_eq!(
        recorded.digest.as_deref(),
        Some(&*format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&initrd)))
    );
}

/// An initrd larger than a piece is hashed in pieces on every CPU: the
/// record keeps their combined digest and piece length, a restore checks
/// the file the same way, and a byte changed in any piece is caught.
#[test]
fn a_crash_record_of_an_initrd_in_pieces_restores_and_catches_a_change() {
    use crate::arch::digests::{combined, pieces, Algorithm, Piece, PIECE_MIN};
    let f = Files::new("journal-pieces");
    let mut initrd: Vec<u8> = (0..2 * PIECE_MIN as usize + 4099)
        .map(|i| (i * 13 % 251) as u8)
        .collect();
    let (mut host, recorded) = crash_load_recording(&f, &initrd);
    let want: Vec<Piece> = pieces(initrd.len() as u64, PIECE_MIN)
        .map(|(offset, len)| Piece {
            offset,
            len,
            algorithm: Algorithm::Xxh3_128,
            digest: Algorithm::Xxh3_128.digest(&initrd[offset as usize..(offset + len) as usize]),
        })
        .collect();
    assert_eq!(want.len(), 3);
    assert_eq!(recorded.piece_len, Some(PIECE_MIN));
    assert_eq!(
        recorded.digest.as_deref(),
        Some(&*crate::hex::encode(&combined(&want)[..16]))
    );
    assert!(crash_journal::restore(&mut host).is_ok());
    initrd[PIECE_MIN as usize + 5] ^= 1;
    std::fs::write(f.path("initrd"), &initrd).unwrap();
    let why = crash_journal::restore(&mut host).unwrap_err().to_string();
    assert!(why.contains("its xxh3-128 is"), "{why}");
}

/// --debug asks for KEXEC_FILE_DEBUG only where the kernel knows it (6.8+).
#[test]
fn file_debug_is_asked_for_only_where_the_kernel_has_it() {
    let f = Files::new("debug");
    let mut request = Request::load(Target::Normal, f.path("vmlinuz"));
    request.syscall = SyscallChoice::File;
    request.options.debug = true;
    for (release, wanted) in [("6.1.0-25-amd64", false), ("6.8.0", true)] {
        let mut host = FakeHost::typical();
        host.set("/proc/sys/kernel/osrelease", &format!("{release}\n"));
        let outcome = perform(&mut host, &request);
        let Some(Plan::FileLoad(load)) = &outcome.plan else {
            panic!("{release}: {:?}", outcome.result)
        };
        assert_eq!(load.flags.contains(KEXEC_FILE_DEBUG), wanted, "{release}");
    }
}

/// A crash host on a kernel with crash hotplug (Debian 13's 6.12).
fn hotplug_host(size: Option<&str>) -> FakeHost {
    let mut host = FakeHost::typical();
    add_crash_files(&mut host);
    host.set("/proc/sys/kernel/osrelease", "6.12.48+deb13-amd64\n");
    if let Some(size) = size {
        host.set(facts::path::CRASH_ELFCOREHDR_SIZE, size);
    }
    host
}

fn hotplug_request(f: &Files, target: Target, syscall: SyscallChoice) -> Request {
    let mut request = Request::load(target, f.path("vmlinuz"));
    request.syscall = syscall;
    request.options.boot.hotplug = true;
    request
}

/// --hotplug -c -p: KEXEC_UPDATE_ELFCOREHDR, and an elfcorehdr segment of
/// crash_elfcorehdr_size bytes, the only one that starts with ELF magic.
#[test]
fn hotplug_crash_loads_through_kexec_load_pass_the_flag_and_size_the_elfcorehdr() {
    let f = Files::new("hotplug-load");
    let mut host = hotplug_host(Some("147584\n"));
    let outcome = perform(
        &mut host,
        &hotplug_request(&f, Target::Crash, SyscallChoice::Load),
    );
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    let [crate::sys::fake::Call::Load {
        flags, segments, ..
    }] = &host.calls[..]
    else {
        panic!("{:?}", host.calls)
    };
    assert_eq!(
        flags.0, 0x3e_0005,
        "KEXEC_ON_CRASH|KEXEC_UPDATE_ELFCOREHDR|KEXEC_ARCH_X86_64"
    );
    let elf: Vec<_> = host
        .last_load_data
        .iter()
        .filter(|(_, d)| d.starts_with(b"\x7fELF"))
        .collect();
    assert_eq!(elf.len(), 1);
    let (mem, memsz, bufsz) = *segments.iter().find(|s| s.0 == elf[0].0).unwrap();
    assert_eq!(memsz, 0x25000, "147584 rounded up to a page");
    assert!(bufsz < 0x1000 && mem % 0x1000 == 0);
    assert!(
        outcome
            .notes
            .iter()
            .any(|n| n.contains("KEXEC_UPDATE_ELFCOREHDR")
                && n.contains("memsz 0x25000")
                && n.contains("left out of the purgatory's digests")),
        "{:?}",
        outcome.notes
    );
    // The crash-load record keeps --hotplug: a restored crash kernel has it too.
    let record = crash_journal::read_record(&host).unwrap();
    assert!(
        format!("{record:?}").contains("hotplug: true"),
        "{record:?}"
    );

    // Without --hotplug on the same kernel: no flag, a one-page header.
    let mut host = hotplug_host(Some("147584\n"));
    let mut plain = hotplug_request(&f, Target::Crash, SyscallChoice::Load);
    plain.options.boot.hotplug = false;
    assert!(perform(&mut host, &plain).result.is_ok());
    let crate::sys::fake::Call::Load {
        flags, segments, ..
    } = &host.calls[0]
    else {
        panic!("{:?}", host.calls)
    };
    assert_eq!(flags.0, 0x3e_0001);
    let core = host
        .last_load_data
        .iter()
        .find(|(_, d)| d.starts_with(b"\x7fELF"))
        .unwrap()
        .0;
    assert_eq!(segments.iter().find(|s| s.0 == core).unwrap().1, 0x1000);
}

/// A dry run shows the flag and why the elfcorehdr is that large.
#[test]
fn a_hotplug_dry_run_shows_the_flag_and_the_size() {
    let f = Files::new("hotplug-dry");
    let mut host = hotplug_host(Some("147584\n"));
    let mut request = hotplug_request(&f, Target::Crash, SyscallChoice::Load);
    request.dry_run = true;
    let outcome = perform(&mut host, &request);
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert!(host.calls.is_empty());
    let text = outcome.plan.as_ref().unwrap().describe();
    assert!(text.contains("KEXEC_UPDATE_ELFCOREHDR"), "{text}");
    assert!(
        text.contains(
            "--hotplug: memsz 0x25000 from /sys/kernel/crash_elfcorehdr_size (147584 bytes"
        ),
        "{text}"
    );
    assert!(!outcome.notes.is_empty());
    assert!(outcome.to_json()["notes"][0]
        .as_str()
        .unwrap()
        .contains("--hotplug"));
}

/// Without crash_elfcorehdr_size (Debian 12's 6.1) --hotplug is refused
/// before anything is read or called, naming the file and the kernel, as
/// kexec-tools dies; whatever the call.
#[test]
fn hotplug_is_refused_on_a_kernel_without_crash_hotplug() {
    let f = Files::new("hotplug-61");
    for syscall in [
        SyscallChoice::Load,
        SyscallChoice::File,
        SyscallChoice::Auto,
    ] {
        for dry_run in [false, true] {
            let mut host = FakeHost::typical();
            add_crash_files(&mut host);
            let mut request = hotplug_request(&f, Target::Crash, syscall);
            request.dry_run = dry_run;
            let outcome = perform(&mut host, &request);
            let failure = failure(&outcome);
            assert_eq!(
                (
                    failure.rejection.rule,
                    failure.rejection.errno,
                    failure.kind
                ),
                (
                    Rule::NoCrashHotplug,
                    Errno::EOPNOTSUPP,
                    FailureKind::Invalid
                ),
                "{syscall:?}"
            );
            assert!(
                failure
                    .message
                    .contains("/sys/kernel/crash_elfcorehdr_size")
                    && failure.message.contains("6.1.0-56-amd64")
                    && failure.message.contains("Linux 6.1 predates crash hotplug"),
                "{}",
                failure.message
            );
            assert!(host.calls.is_empty(), "{syscall:?}: {:?}", host.calls);
            assert!(outcome.plan.is_none());
        }
    }
    // 6.12 built without CONFIG_CRASH_HOTPLUG: the same, with that reason.
    let mut host = hotplug_host(None);
    let outcome = perform(
        &mut host,
        &hotplug_request(&f, Target::Crash, SyscallChoice::Load),
    );
    assert!(
        failure(&outcome)
            .message
            .contains("built without CONFIG_CRASH_HOTPLUG"),
        "{}",
        failure(&outcome).message
    );
}

/// kexec_file_load: nothing to pass, the kernel does it; the note says so.
#[test]
fn hotplug_through_kexec_file_load_passes_nothing_and_says_so() {
    let f = Files::new("hotplug-file");
    for syscall in [SyscallChoice::File, SyscallChoice::Auto] {
        let mut host = hotplug_host(Some("147584\n"));
        let outcome = perform(&mut host, &hotplug_request(&f, Target::Crash, syscall));
        assert!(outcome.result.is_ok(), "{:?}", outcome.result);
        let [crate::sys::fake::Call::FileLoad { flags, .. }] = &host.calls[..] else {
            panic!("{:?}", host.calls)
        };
        assert_eq!(
            flags.0, 0x6,
            "KEXEC_FILE_ON_CRASH|KEXEC_FILE_NO_INITRAMFS, nothing for hotplug"
        );
        assert!(
            outcome
                .notes
                .iter()
                .any(|n| n.contains("kexec_file_load needs no flag")),
            "{:?}",
            outcome.notes
        );
    }
}

/// A normal load has no elfcorehdr: --hotplug is ignored with a warning
/// (kexec-tools passes the flag, which the kernel ignores for it); raw
/// segments have no elfcorehdr of ours to size: a usage error.
#[test]
fn hotplug_on_a_normal_load_is_ignored_with_a_warning_and_on_segments_refused() {
    let f = Files::new("hotplug-normal");
    let mut host = FakeHost::typical();
    let outcome = perform(
        &mut host,
        &hotplug_request(&f, Target::Normal, SyscallChoice::Load),
    );
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    let crate::sys::fake::Call::Load { flags, .. } = &host.calls[0] else {
        panic!("{:?}", host.calls)
    };
    assert_eq!(flags.0 & 0xffff, 0);
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.contains("--hotplug is for crash kernels (-p)")),
        "{:?}",
        outcome.warnings
    );
    let mut host = hotplug_host(Some("4096\n"));
    let request = Request {
        action: Action::Load(Payload::Segments(vec![RawSegment {
            file: f.path("vmlinuz"),
            mem: 0x6600_0000,
            memsz: None,
        }])),
        ..hotplug_request(&f, Target::Crash, SyscallChoice::Load)
    };
    let outcome = perform(&mut host, &request);
    assert_eq!(failure(&outcome).rejection.rule, Rule::Usage);
    assert!(failure(&outcome).message.contains("--load-flags"));
    assert!(host.calls.is_empty());
}

const LIMIT_PANIC: &str = "/proc/sys/kernel/kexec_load_limit_panic";
const LIMIT_REBOOT: &str = "/proc/sys/kernel/kexec_load_limit_reboot";

/// A host with a crash kernel loaded (and recorded) by us.
fn host_with_crash_kernel(f: &Files) -> FakeHost {
    let mut host = FakeHost::typical();
    add_crash_files(&mut host);
    let outcome = perform(&mut host, &Request::load(Target::Crash, f.path("vmlinuz")));
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    host.calls.clear();
    host
}

/// kexec_load_limit_panic at 1 with a crash kernel loaded: the reload is
/// refused before any call, since its failure could not be undone; with
/// --skip-preflight the call is made, and when the kernel refuses it the
/// restore is refused for the spent limit and says so.
#[test]
fn the_last_crash_load_is_not_spent_on_a_reload_that_could_not_be_undone() {
    let f = Files::new("lastload");
    let mut host = host_with_crash_kernel(&f);
    host.set(LIMIT_PANIC, "1\n");
    let request = Request::load(Target::Crash, f.path("vmlinuz"));
    let outcome = perform(&mut host, &request);
    let r = &failure(&outcome).rejection;
    assert_eq!(
        (r.errno, r.rule, r.source),
        (Errno::EPERM, Rule::LastCrashLoad, Source::Model)
    );
    assert!(host.calls.is_empty(), "{:?}", host.calls);
    assert_eq!(host.files[CRASH_LOADED], "1\n");
    assert_eq!(host.files[LIMIT_PANIC], "1\n", "nothing spent");

    let mut forced = request.clone();
    forced.options.skip_preflight = true;
    host.load_results.push_back(Err(Errno::EKEYREJECTED));
    let outcome = perform(&mut host, &forced);
    let message = &failure(&outcome).message;
    assert!(
        message.contains("NOT restored: /proc/sys/kernel/kexec_load_limit_panic is 0"),
        "{message}"
    );
    assert_eq!(
        host.calls.len(),
        1,
        "no restore call the kernel would refuse: {:?}",
        host.calls
    );
    assert_eq!(host.files[CRASH_LOADED], "0\n");
}

/// -a with two crash loads left: the refused file call spends one, the
/// kexec_load fallback would spend the last, which the restore needs: so
/// no fallback, and the crash kernel is put back.
#[test]
fn auto_keeps_the_last_crash_load_for_the_restore() {
    let f = Files::new("keeplast");
    let mut host = host_with_crash_kernel(&f);
    host.set(LIMIT_PANIC, "2\n");
    host.load_results.push_back(Err(Errno::ENOEXEC));
    let outcome = perform(&mut host, &Request::load(Target::Crash, f.path("vmlinuz")));
    let failure = failure(&outcome);
    assert!(
        failure.message.contains("the kexec_load fallback was not tried: /proc/sys/kernel/kexec_load_limit_panic is now 1, and that load is kept")
            && failure.message.contains("it was restored from"),
        "{}",
        failure.message
    );
    assert!(
        matches!(
            host.calls[..],
            [Call::FileLoad { .. }, Call::FileLoad { .. }]
        ),
        "the file call, then the restore: {:?}",
        host.calls
    );
    assert_eq!(host.files[CRASH_LOADED], "1\n");
    assert_eq!(host.files[LIMIT_PANIC], "0\n");

    // Three left: the fallback is made (and the restore would still be possible).
    let mut host = host_with_crash_kernel(&f);
    host.set(LIMIT_PANIC, "3\n");
    host.load_results.push_back(Err(Errno::ENOEXEC));
    let outcome = perform(&mut host, &Request::load(Target::Crash, f.path("vmlinuz")));
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert!(
        matches!(host.calls[..], [Call::FileLoad { .. }, Call::Load { .. }]),
        "{:?}",
        host.calls
    );
}

/// -a for a normal kernel with one load left: the refused file call spent
/// it, so the fallback is not made (the kernel would answer EPERM), and the
/// message says why.
#[test]
fn auto_does_not_fall_back_past_a_spent_limit() {
    let f = Files::new("spent");
    let mut host = FakeHost::typical();
    host.set(LIMIT_REBOOT, "1\n");
    host.load_results.push_back(Err(Errno::ENOEXEC));
    let outcome = perform(&mut host, &Request::load(Target::Normal, f.path("vmlinuz")));
    let failure = failure(&outcome);
    assert_eq!(failure.rejection.errno, Errno::ENOEXEC);
    assert!(
        failure.message.contains("the kexec_load fallback was not tried: /proc/sys/kernel/kexec_load_limit_reboot is now 0"),
        "{}",
        failure.message
    );
    assert_eq!(host.calls.len(), 1, "{:?}", host.calls);
    // Unlimited (-1): the fallback as before.
    let mut host = FakeHost::typical();
    host.set(LIMIT_REBOOT, "-1\n");
    host.load_results.push_back(Err(Errno::ENOEXEC));
    let outcome = perform(&mut host, &Request::load(Target::Normal, f.path("vmlinuz")));
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert_eq!(host.calls.len(), 2, "{:?}", host.calls);
}

/// -d on 6.8+: the kexec code's lines written to /dev/kmsg during the
/// call are kept (others dropped); an unreadable /dev/kmsg is said in the
/// debug log and the load goes on.
#[test]
fn file_debug_lines_come_from_the_kernel_log() {
    let f = Files::new("kmsg");
    let mut request = Request::load(Target::Normal, f.path("vmlinuz"));
    request.options.debug = true;
    let mut host = FakeHost::typical();
    host.set("/proc/sys/kernel/osrelease", "6.12.48+deb13-amd64\n");
    host.kmsg_on_debug_load = vec![
        "6,100,10,-;kexec_file: kernel: 000000001234abcd kernel_size: 0xc3e200\n".into(),
        "6,101,11,-;virtio_net virtio0 enp0s2: link up\n".into(),
        "6,102,12,-;kexec-bzImage64: Loaded purgatory at 0x7fffe000\n".into(),
    ];
    // Written before the call: not ours.
    host.kmsg
        .as_ref()
        .unwrap()
        .borrow_mut()
        .push("6,99,9,-;kexec_file: an older load\n".into());
    let outcome = perform(&mut host, &request);
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert_eq!(
        outcome.kernel_log,
        [
            "kexec_file: kernel: 000000001234abcd kernel_size: 0xc3e200",
            "kexec-bzImage64: Loaded purgatory at 0x7fffe000"
        ]
    );
    assert_eq!(
        outcome.to_json()["kernel_log"][1],
        "kexec-bzImage64: Loaded purgatory at 0x7fffe000"
    );

    // No -d, or a kernel before 6.8: no flag, no log read.
    let mut host = FakeHost::typical();
    host.kmsg_on_debug_load = vec!["6,100,10,-;kexec_file: x\n".into()];
    let outcome = perform(&mut host, &request);
    assert!(outcome.kernel_log.is_empty());

    let mut host = FakeHost::typical();
    host.set("/proc/sys/kernel/osrelease", "6.12.48+deb13-amd64\n");
    host.kmsg = None;
    let outcome = perform(&mut host, &request);
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert!(
        outcome.log.iter().any(
            |l| l.starts_with("cannot read the kernel's KEXEC_FILE_DEBUG lines from /dev/kmsg")
        ),
        "{:?}",
        outcome.log
    );
}

/// crashkernel=…,cma memory reaches the capture kernel only through
/// kexec_file_load: a kexec_load crash load says so before the call; a
/// file load and a normal load say nothing.
#[test]
fn a_kexec_load_crash_kernel_is_warned_that_it_will_not_get_the_cma_areas() {
    let f = Files::new("cma-note");
    let cma_note = |target: Target, syscall: SyscallChoice| {
        let mut host = hotplug_host(None);
        host.set("/proc/sys/kernel/osrelease", "6.17.1-amd64\n");
        host.set(
            facts::path::CMDLINE,
            "root=/dev/vda crashkernel=256M crashkernel=64M,cma\n",
        );
        let mut request = Request::load(target, f.path("vmlinuz"));
        request.syscall = syscall;
        let outcome = perform(&mut host, &request);
        assert!(outcome.result.is_ok(), "{:?}", outcome.result);
        outcome.warnings.into_iter().find(|w| w.contains("CMA"))
    };
    let warning = cma_note(Target::Crash, SyscallChoice::Load).expect("a warning about CMA");
    assert!(
        warning.starts_with("crashkernel=64M,cma reserved crash kernel memory in CMA")
            && warning.contains("only kexec_file_load (-s)"),
        "{warning}"
    );
    assert_eq!(cma_note(Target::Crash, SyscallChoice::File), None);
    assert_eq!(cma_note(Target::Normal, SyscallChoice::Load), None);
}

/// A 6.18 kernel built with kexec handover, booted with `kho_word`.
fn handover_host(kho_word: &str) -> FakeHost {
    let mut host = FakeHost::typical();
    host.set("/proc/sys/kernel/osrelease", "6.18.0\n");
    host.set(
        "/boot/config-6.18.0",
        "CONFIG_KEXEC=y\nCONFIG_KEXEC_FILE=y\nCONFIG_KEXEC_HANDOVER=y\n",
    );
    host.set(
        "/proc/cmdline",
        &format!("root=/dev/vda1 crashkernel=256M {kho_word}\n"),
    );
    host
}

/// -a with kexec handover on: kexec_file_load, and never the kexec_load
/// fallback, whose image would not get the handed-over memory; it says why.
#[test]
fn auto_never_falls_back_to_kexec_load_while_kexec_handover_is_on() {
    let f = Files::new("kho-auto");
    let mut host = handover_host("kho=on");
    host.load_results.push_back(Err(Errno::ENOEXEC));
    let outcome = perform(&mut host, &Request::load(Target::Normal, f.path("vmlinuz")));
    let failure = failure(&outcome);
    assert_eq!(failure.rejection.errno, Errno::ENOEXEC);
    assert!(
        failure.message.contains(
            "the kexec_load fallback was not tried: kexec handover is on (kho=on in /proc/cmdline)"
        ),
        "{}",
        failure.message
    );
    assert!(
        matches!(host.calls[..], [Call::FileLoad { .. }]),
        "{:?}",
        host.calls
    );
    assert!(
        outcome
            .log
            .iter()
            .any(|l| l.starts_with("no kexec_load fallback: kexec handover is on")),
        "{:?}",
        outcome.log
    );
    // A load the kernel takes says why -a chose as it did.
    let mut host = handover_host("kho=on");
    let outcome = perform(&mut host, &Request::load(Target::Normal, f.path("vmlinuz")));
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    let why = outcome.syscall_choice.unwrap();
    assert!(
        why.starts_with("kexec_file_load (auto): kexec handover is on")
            && why.ends_with("so no kexec_load fallback"),
        "{why}"
    );
    // With it off, the fallback as always.
    let mut host = handover_host("kho=off");
    host.load_results.push_back(Err(Errno::ENOEXEC));
    let outcome = perform(&mut host, &Request::load(Target::Normal, f.path("vmlinuz")));
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert_eq!(host.calls.len(), 2, "{:?}", host.calls);
}

/// -c with kexec handover on: refused before any call (our rule, EINVAL),
/// for kernels for `kexec -e` only; --skip-preflight loads anyway; crash
/// loads are not concerned; with KHO off nothing changes.
#[test]
fn kexec_load_is_refused_while_kexec_handover_is_on() {
    let f = Files::new("kho-load");
    let mut request = Request::load(Target::Normal, f.path("vmlinuz"));
    request.syscall = SyscallChoice::Load;
    let mut host = handover_host("kho=y");
    let outcome = perform(&mut host, &request);
    let failure = failure(&outcome);
    assert_eq!(
        (
            failure.rejection.errno,
            failure.rejection.rule,
            failure.rejection.source
        ),
        (Errno::EINVAL, Rule::KexecHandover, Source::Model)
    );
    assert!(
        failure
            .rejection
            .reason
            .contains("kexec handover is on (kho=y in /proc/cmdline)")
            && failure.rejection.reason.contains("would not receive it")
            && failure.rejection.reason.contains("--skip-preflight"),
        "{}",
        failure.rejection.reason
    );
    assert!(
        failure.message.contains(
            "kexec refuses it: the kernel would take it and lose the handover; reported as EINVAL"
        ),
        "{}",
        failure.message
    );
    assert!(host.calls.is_empty(), "{:?}", host.calls);
    // A dry run gives the same verdict.
    let mut dry = request.clone();
    dry.dry_run = true;
    let outcome = perform(&mut handover_host("kho=y"), &dry);
    assert_eq!(failure_rule(&outcome), Rule::KexecHandover);
    // An expert's override.
    let mut forced = request.clone();
    forced.options.skip_preflight = true;
    let mut host = handover_host("kho=y");
    let outcome = perform(&mut host, &forced);
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert!(
        matches!(host.calls[..], [Call::Load { .. }]),
        "{:?}",
        host.calls
    );
    // A crash kernel through kexec_load is not concerned.
    let mut crash = request.clone();
    crash.target = Target::Crash;
    let mut host = handover_host("kho=y");
    add_crash_files(&mut host);
    let outcome = perform(&mut host, &crash);
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    // KHO off (or not built): -c as always.
    for word in ["kho=0", "quiet"] {
        let mut host = handover_host(word);
        let outcome = perform(&mut host, &request);
        assert!(outcome.result.is_ok(), "{word}: {:?}", outcome.result);
    }
}

fn failure_rule(outcome: &Outcome) -> Rule {
    failure(outcome).rejection.rule
}
