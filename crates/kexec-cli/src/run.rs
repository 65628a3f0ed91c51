//! Runs a parsed request against a `Host`: the real system in `main`, a fake
//! one in tests. Exit codes follow kexec-tools: 0 ok, 1 usage or "nothing
//! loaded", 255 a failed load; `-S` 1 when loaded, 0 when not.

use crate::args::{self, Parsed, Request, SyscallChoice};
use kexec::boot::{self, x86_linux::LoadOptions, LoadPlanError};
use kexec::exec::{self, ExecError, ExecOptions};
use kexec::memory::human_size;
use kexec::plan::InputError;
use kexec::rules::{self, Rejection, Rule, Source};
use kexec::status::Status;
use kexec::sys::abi::{FileFlags, KexecArch, KexecFlags, KEXEC_FILE_DEBUG, KEXEC_ON_CRASH};
use kexec::{cmdline, load, Errno, Facts, FileLoad, Host, Plan, Target};
use serde_json::{json, Value};
use std::ffi::OsString;
use std::io::Write;

pub const EXIT_OK: i32 = 0;
pub const EXIT_USAGE: i32 = 1;
pub const EXIT_FAILED: i32 = 255;

struct Out<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    debug: bool,
    json_mode: bool,
    /// A crash kernel was loaded when we started (for the "still loaded" note).
    crash_loaded: bool,
    /// "[0x...-0x...] (256 MiB)", for messages about crash loads.
    crash_region: String,
}

impl Out<'_> {
    fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }
    fn warn(&mut self, text: &str) {
        let _ = writeln!(self.err, "kexec: {text}");
    }
    fn debug(&mut self, text: &str) {
        if self.debug {
            let _ = writeln!(self.err, "kexec: debug: {text}");
        }
    }
    fn json(&mut self, value: &Value) {
        let _ = writeln!(self.out, "{value}");
    }
}

pub fn run(
    argv: impl IntoIterator<Item = OsString>,
    host: &mut dyn Host,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let argv: Vec<OsString> = argv.into_iter().collect();
    let wants_json = argv.iter().skip(1).any(|a| a == "--json");
    let mut io = Out {
        out,
        err,
        debug: false,
        json_mode: false,
        crash_loaded: false,
        crash_region: String::new(),
    };
    match args::parse(argv) {
        Parsed::Help(text) => {
            io.say(&text);
            EXIT_OK
        }
        Parsed::Version(text) => {
            io.say(&text);
            EXIT_OK
        }
        Parsed::Usage(text) => {
            if wants_json {
                let reason = text
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("error: ");
                io.json(&json!({ "errno": "EINVAL", "reason": reason, "source": "usage", "rule": "usage" }));
            }
            let _ = writeln!(io.err, "{}", text.trim_end());
            let _ = writeln!(io.err, "Try `kexec --help` for the options.");
            EXIT_USAGE
        }
        Parsed::PrintCrashSize => {
            io.say(&Facts::gather(host).crash_region_size().to_string());
            EXIT_OK
        }
        Parsed::Run(request) => {
            io.debug = request.debug;
            io.json_mode = request.json;
            execute(&request, host, &mut io)
        }
    }
}

fn rejection_json(r: &Rejection) -> Value {
    json!({ "errno": r.errno, "reason": r.reason, "source": r.source, "rule": r.rule })
}

const SUCCESS_JSON: fn() -> Value =
    || json!({ "errno": null, "reason": null, "source": null, "rule": null });

/// kexec-tools dies (exit 1) before loading when no crash memory is
/// reserved or the kernel file is empty ("Cannot read"); every other refused
/// load is a failed load (255).
fn exit_code_for(r: &Rejection) -> i32 {
    match r.rule {
        Rule::NoCrashRegion | Rule::EmptyFile => EXIT_USAGE,
        _ => EXIT_FAILED,
    }
}

fn execute(req: &Request, host: &mut dyn Host, io: &mut Out) -> i32 {
    let facts = Facts::gather(host);
    io.crash_loaded = facts.crash_loaded;
    io.crash_region = match facts.main_crash_region() {
        Some(r) if r.start != 0 => format!("[{r}] ({})", human_size(r.size())),
        _ => format!("({})", human_size(facts.crash_region_size())),
    };
    if req.steps.status {
        return status(req, &facts, io);
    }
    let target = if req.steps.crash {
        Target::Crash
    } else {
        Target::Normal
    };
    if req.steps.unload {
        let code = unload(req, target, host, &facts, io);
        if code != EXIT_OK || !req.steps.load {
            return code;
        }
    }
    if req.steps.load {
        let code = load_kernel(req, target, host, &facts, io);
        if code != EXIT_OK || req.dry_run {
            return code;
        }
    }
    if req.dry_run {
        return EXIT_OK;
    }
    if req.steps.shutdown {
        if !Facts::gather(host).kexec_loaded {
            io.warn(&ExecError::NothingLoaded.to_string());
            return EXIT_USAGE;
        }
        let err = host.exec_shutdown();
        io.warn(&format!(
            "cannot run `shutdown -r now` to reboot into the loaded kernel: {err}"
        ));
        return EXIT_FAILED;
    }
    if req.steps.exec {
        let options = ExecOptions {
            sync: req.steps.sync,
            ifdown: req.steps.ifdown,
        };
        let mut steps = Vec::new();
        let failure = exec::exec(host, options, &mut |line| steps.push(line.to_string()));
        for line in steps {
            io.debug(&line);
        }
        let code = match failure {
            ExecError::NothingLoaded => EXIT_USAGE,
            ExecError::Refused(_) => EXIT_FAILED,
        };
        if io.json_mode {
            io.json(&json!({ "action": "exec", "errno": match failure { ExecError::Refused(e) => json!(e), _ => json!("EINVAL") }, "reason": failure.to_string(), "source": "kernel" }));
        }
        io.warn(&failure.to_string());
        return code;
    }
    EXIT_OK
}

/// -S: kexec-tools reports the crash kernel unless -l asks for the kernel.
fn status(req: &Request, facts: &Facts, io: &mut Out) -> i32 {
    let report = Status::from_facts(facts);
    let loaded = if req.status_of_kernel() {
        facts.kexec_loaded
    } else {
        facts.crash_loaded
    };
    if io.json_mode {
        let mut v = serde_json::to_value(&report).unwrap_or(Value::Null);
        v["action"] = json!("status");
        io.json(&v);
    } else {
        let _ = write!(io.out, "{}", report.describe());
    }
    if loaded {
        1
    } else {
        0
    }
}

fn unload(req: &Request, target: Target, host: &mut dyn Host, facts: &Facts, io: &mut Out) -> i32 {
    let plan = match req.syscall {
        SyscallChoice::Load => Plan::unload(target),
        SyscallChoice::File | SyscallChoice::Auto => Plan::file_unload(target),
    };
    io.debug(&format!("unload plan:\n{}", plan.describe()));
    if req.dry_run {
        return report_dry_run(&plan, facts, io, "unload");
    }
    let mut result = load::load(host, &plan, facts, req.skip_preflight);
    if let Err(r) = &result {
        // Like kexec-tools -a: a kernel without kexec_file_load unloads through kexec_load.
        if req.syscall == SyscallChoice::Auto && r.errno == Errno::ENOSYS {
            io.debug("kexec_file_load is not implemented here; unloading with kexec_load");
            result = load::load(host, &Plan::unload(target), facts, req.skip_preflight);
        }
    }
    finish(
        &plan,
        result,
        io,
        &format!("cannot unload the {}", target.describe()),
    )
}

/// What a failed crash load did to the crash kernel loaded before it: a
/// refusal of ours keeps it; the kernel frees it before it checks the new one.
fn crash_note(plan: &Plan, source: Option<Source>, io: &Out) -> String {
    crash_load_note(plan.target(), plan.is_unload(), source, io)
}

fn crash_load_note(target: Target, unload: bool, source: Option<Source>, io: &Out) -> String {
    match (target, unload, io.crash_loaded, source) {
        (Target::Crash, false, true, Some(Source::Kernel)) => {
            " — the kernel had already unloaded the crash kernel loaded before (it frees it before it checks a new one): load a working one again".into()
        }
        (Target::Crash, false, true, _) => format!(
            " — nothing was sent to the kernel, so the crash kernel loaded before stays loaded in the Crash kernel region {}",
            io.crash_region
        ),
        _ => String::new(),
    }
}

fn finish(plan: &Plan, result: Result<(), Rejection>, io: &mut Out, what: &str) -> i32 {
    match result {
        Ok(()) => {
            if io.json_mode {
                let mut v = SUCCESS_JSON();
                v["plan"] = plan.to_json();
                io.json(&v);
            }
            EXIT_OK
        }
        Err(r) => {
            if io.json_mode {
                let mut v = rejection_json(&r);
                v["plan"] = plan.to_json();
                io.json(&v);
            }
            let note = crash_note(plan, Some(r.source), io);
            io.warn(&format!("{what}: {r}{note}"));
            exit_code_for(&r)
        }
    }
}

/// Prints the plan, why its system call was chosen, and the model's verdict.
fn report_dry_run(plan: &Plan, facts: &Facts, io: &mut Out, why: &str) -> i32 {
    let verdict = rules::check(plan, facts);
    if io.json_mode {
        let mut v = match &verdict {
            Ok(()) => SUCCESS_JSON(),
            Err(r) => rejection_json(r),
        };
        v["dry_run"] = json!(true);
        v["plan"] = plan.to_json();
        v["syscall_choice"] = json!(why);
        io.json(&v);
    } else {
        io.say(&format!(
            "dry run: nothing is loaded\n{}\n  chosen     {why}",
            plan.describe().trim_end()
        ));
        match &verdict {
            Ok(()) => io.say("  verdict    the kernel's rules predict success"),
            Err(r) => io.say(&format!("  verdict    {r}")),
        }
    }
    match verdict {
        Ok(()) => EXIT_OK,
        Err(r) => exit_code_for(&r),
    }
}

/// kexec-tools' -a: the file call's refusals that send it to kexec_load.
fn falls_back(errno: Errno) -> bool {
    matches!(
        errno,
        Errno::ENOSYS | Errno::EINVAL | Errno::ENOEXEC | Errno::EOPNOTSUPP
    )
}

fn load_options(req: &Request) -> LoadOptions {
    LoadOptions {
        mem_min: req.mem_min,
        mem_max: req.mem_max,
        skip_checks: req.no_checks,
        console: req.console,
        no_efi: req.no_efi,
    }
}

/// The kexec_load plan for the files the file plan already opened.
fn kexec_load_plan(
    req: &Request,
    file: &FileLoad,
    host: &dyn Host,
    facts: &Facts,
) -> Result<Plan, LoadPlanError> {
    let mut plan = boot::plan_kexec_load(host, facts, file, req.boot_args, &load_options(req))?;
    // --entry overrides where the kernel jumps, as in kexec-tools (which
    // then bypasses the purgatory): for experts debugging an image.
    if let (Plan::Load { entry, .. }, Some(addr)) = (&mut plan, req.entry) {
        *entry = addr;
    }
    Ok(plan)
}

/// Raw segments: exactly these, through kexec_load.
fn load_raw(
    req: &Request,
    target: Target,
    host: &mut dyn Host,
    facts: &Facts,
    io: &mut Out,
) -> i32 {
    if req.syscall == SyscallChoice::File {
        io.warn("--segment loads raw segments, which only kexec_load takes: drop -s");
        return EXIT_USAGE;
    }
    let mut segments = Vec::new();
    for spec in &req.segments {
        // Opened once and read through the same descriptor.
        let read = kexec::image::Input::open(&spec.file).and_then(|input| input.read_all());
        let data = match read {
            Ok(d) => d,
            Err(source) => {
                let e = InputError {
                    role: "segment",
                    path: spec.file.clone(),
                    source,
                };
                return input_failure(&e, io);
            }
        };
        let memsz = spec
            .memsz
            .unwrap_or_else(|| (data.len() as u64).div_ceil(rules::PAGE_SIZE) * rules::PAGE_SIZE);
        segments.push(kexec::Segment {
            digest: None,
            purpose: format!("raw segment {}", spec.file.display()),
            data,
            mem: spec.mem,
            memsz,
        });
    }
    let base = if target == Target::Crash {
        KEXEC_ON_CRASH.0
    } else {
        0
    };
    let arch = req.arch.unwrap_or(KexecArch::native().value());
    let plan = Plan::Load {
        target,
        entry: req.entry.unwrap_or(segments.first().map_or(0, |s| s.mem)),
        flags: KexecFlags(base | req.load_flags | arch),
        segments,
    };
    if req.dry_run {
        return report_dry_run(&plan, facts, io, "kexec_load: raw segments");
    }
    io.debug(&format!("plan:\n{}", plan.describe().trim_end()));
    let result = load::load(host, &plan, facts, req.skip_preflight);
    finish(
        &plan,
        result,
        io,
        &format!("cannot load the segments as the {}", target.describe()),
    )
}

fn load_kernel(
    req: &Request,
    target: Target,
    host: &mut dyn Host,
    facts: &Facts,
    io: &mut Out,
) -> i32 {
    if target == Target::Crash {
        // As kexec-tools: no crash memory, no crash load, whatever the call.
        if let Err(r) = rules::crash_region_reserved(facts) {
            if io.json_mode {
                io.json(&rejection_json(&r));
            }
            io.warn(&format!("cannot load a crash kernel: {}", r.reason));
            return exit_code_for(&r);
        }
    }
    if !req.segments.is_empty() {
        return load_raw(req, target, host, facts, io);
    }
    let kernel = req
        .kernel
        .as_deref()
        .expect("args ensure a kernel for loads");
    let base = if req.reuse_cmdline {
        facts
            .cmdline
            .as_deref()
            .map(|line| cmdline::reusable(line, target == Target::Crash))
    } else {
        None
    };
    let text = cmdline::compose(base.as_deref(), req.append.as_deref());
    let mut extra = FileFlags(0);
    if req.debug && rules::file_flags_accepted(facts.kernel_version()).contains(KEXEC_FILE_DEBUG) {
        extra |= KEXEC_FILE_DEBUG;
    }
    let file = match FileLoad::open(target, kernel, req.initrd.as_deref(), text, extra) {
        Ok(f) => f,
        Err(e) => return input_failure(&e, io),
    };
    let what = format!(
        "cannot load {} as the {}",
        kernel.display(),
        target.describe()
    );
    let only_kexec_load = boot::needs_kexec_load(&file.kernel_head);
    let (plan, why) = match req.syscall {
        SyscallChoice::Auto if only_kexec_load => {
            let why = "kexec_load: an ELF kernel, which only kexec_load can take (the kernel's file loader knows bzImage64 alone)";
            match kexec_load_plan(req, &file, host, facts) {
                Ok(plan) => (plan, why.to_string()),
                Err(e) => return plan_failure(&what, target, &e, io),
            }
        }
        SyscallChoice::Load => match kexec_load_plan(req, &file, host, facts) {
            Ok(plan) => (
                plan,
                "kexec_load (-c): our boot image and purgatory".to_string(),
            ),
            Err(e) => return plan_failure(&what, target, &e, io),
        },
        SyscallChoice::File => (
            Plan::FileLoad(file),
            "kexec_file_load (-s): the kernel parses the bzImage itself".to_string(),
        ),
        SyscallChoice::Auto => {
            let first = "kexec_file_load (auto, the default: the file call first, kexec_load if the kernel cannot take the image that way)";
            let file_plan = Plan::FileLoad(file);
            let verdict = if req.skip_preflight {
                Ok(())
            } else {
                rules::check(&file_plan, facts)
            };
            let verdict = match verdict {
                Ok(()) if req.dry_run => Ok(()),
                Ok(()) => {
                    io.debug(&format!("syscall: {first}"));
                    io.debug(&format!("plan:\n{}", file_plan.describe().trim_end()));
                    load::load(host, &file_plan, facts, true)
                }
                Err(r) => Err(r),
            };
            match verdict {
                Ok(()) if req.dry_run => (file_plan, first.to_string()),
                Ok(()) => return finish(&file_plan, Ok(()), io, &what),
                Err(r) if !falls_back(r.errno) => {
                    if req.dry_run {
                        return report_dry_run(&file_plan, facts, io, first);
                    }
                    return finish(&file_plan, Err(r), io, &what);
                }
                Err(r) => {
                    let why = format!(
                        "kexec_load (auto): kexec_file_load would be refused with {} ({}), which sends kexec-tools -a to kexec_load too",
                        r.errno.name(),
                        r.reason
                    );
                    let Plan::FileLoad(file) = &file_plan else {
                        unreachable!("built above")
                    };
                    match kexec_load_plan(req, file, host, facts) {
                        Ok(plan) => (plan, why),
                        Err(e) => {
                            // Neither call can take it: report both reasons.
                            if io.json_mode {
                                let mut v = rejection_json(&r);
                                v["plan"] = file_plan.to_json();
                                v["fallback"] = json!(format!("kexec_load: {e}"));
                                io.json(&v);
                            }
                            io.warn(&format!("{what}: {r}"));
                            let note = crash_note(&file_plan, None, io);
                            io.warn(&format!(
                                "the kexec_load fallback cannot take it either: {e}{note}"
                            ));
                            return exit_code_for(&r);
                        }
                    }
                }
            }
        }
    };
    if req.dry_run {
        return report_dry_run(&plan, facts, io, &why);
    }
    io.debug(&format!("syscall: {why}"));
    io.debug(&format!("plan:\n{}", plan.describe().trim_end()));
    let result = load::load(host, &plan, facts, req.skip_preflight);
    finish(&plan, result, io, &what)
}

fn plan_failure(what: &str, target: Target, e: &LoadPlanError, io: &mut Out) -> i32 {
    if io.json_mode {
        io.json(&json!({ "errno": "EINVAL", "reason": e.to_string(), "source": "model", "rule": "image" }));
    }
    let note = crash_load_note(target, false, None, io);
    io.warn(&format!("{what} with kexec_load: {e}{note}"));
    EXIT_FAILED
}

fn input_failure(e: &InputError, io: &mut Out) -> i32 {
    let errno = Errno::from_io(&e.source);
    if io.json_mode {
        io.json(&json!({ "errno": errno, "reason": e.to_string(), "source": "model", "rule": "unreadable-file" }));
    }
    io.warn(&e.to_string());
    EXIT_FAILED
}

#[cfg(test)]
mod tests {
    use super::*;
    use kexec::sys::abi::{KEXEC_FILE_NO_INITRAMFS, KEXEC_FILE_ON_CRASH, KEXEC_FILE_UNLOAD};
    use kexec::sys::fake::{Call, CRASH_LOADED, LOADED};
    use kexec::testing::bzimage64_sample;
    use kexec::FakeHost;
    use std::path::PathBuf;

    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let d = std::env::temp_dir().join(format!("kexec-cli-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("vmlinuz"), bzimage64_sample()).unwrap();
            std::fs::write(d.join("initrd"), b"070701 initrd").unwrap();
            std::fs::write(d.join("empty"), b"").unwrap();
            std::fs::write(d.join("text.txt"), "not a kernel\n".repeat(200)).unwrap();
            Dir(d)
        }
        fn path(&self, name: &str) -> String {
            self.0.join(name).display().to_string()
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    struct Ran {
        code: i32,
        out: String,
        err: String,
    }

    fn kexec(host: &mut FakeHost, args: &[&str]) -> Ran {
        let argv = std::iter::once("kexec")
            .chain(args.iter().copied())
            .map(OsString::from);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(argv, host, &mut out, &mut err);
        Ran {
            code,
            out: String::from_utf8(out).unwrap(),
            err: String::from_utf8(err).unwrap(),
        }
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
            r.out.contains(
                "chosen     kexec_load (auto): kexec_file_load would be refused with EINVAL"
            ),
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
        // When the kernel itself refuses, the old crash kernel is gone: say so.
        host.load_result = Err(Errno::ENOMEM);
        let r = kexec(&mut host, &["-s", "-p", &d.path("vmlinuz")]);
        assert!(r.err.contains("had already unloaded"), "{}", r.err);
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
            r.out.contains("purgatory") && r.out.contains("segment 3")
                || r.out.contains("segment 2"),
            "{}",
            r.out
        );
        assert!(host.calls.is_empty());
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
}
