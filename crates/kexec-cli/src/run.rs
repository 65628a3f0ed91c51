//! Runs a parsed command line against a `Host` (the real system in `main`,
//! a fake one in tests) through the library's entry point, and renders what
//! it returns. Exit codes follow kexec-tools: 0 ok, 1 usage or "nothing
//! loaded", 255 a failed load; `-S` 1 when loaded, 0 when not.

use crate::args::{self, Parsed, Request};
use kexec::exec::{ExecError, ExecOptions};
use kexec::request::{Failure, FailureKind, Outcome};
use kexec::status::Status;
use kexec::{Facts, Host, Kexec, Target};
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
                io.json(&Failure::usage(reason).rejection.to_json());
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

fn exit_code(failure: &Failure) -> i32 {
    match failure.kind {
        FailureKind::Invalid => EXIT_USAGE,
        FailureKind::Refused => EXIT_FAILED,
    }
}

fn execute(req: &Request, host: &mut dyn Host, io: &mut Out) -> i32 {
    let mut kexec = Kexec::new(host);
    if req.steps.status {
        return status(req, kexec.facts(), io);
    }
    let target = if req.steps.crash {
        Target::Crash
    } else {
        Target::Normal
    };
    if req.steps.unload {
        let code = render(&kexec.perform(&req.library_request(target, false)), io);
        if code != EXIT_OK || !req.steps.load {
            return code;
        }
    }
    if req.steps.load {
        let code = render(&kexec.perform(&req.library_request(target, true)), io);
        if code != EXIT_OK || req.dry_run {
            return code;
        }
    }
    if req.dry_run {
        return EXIT_OK;
    }
    let failure = if req.steps.shutdown {
        kexec.shutdown()
    } else if req.steps.exec {
        let (failure, steps) = kexec.exec(ExecOptions {
            sync: req.steps.sync,
            ifdown: req.steps.ifdown,
        });
        for line in steps {
            io.debug(&line);
        }
        if io.json_mode {
            let mut v = failure.rejection().to_json();
            v["action"] = json!("exec");
            io.json(&v);
        }
        failure
    } else {
        return EXIT_OK;
    };
    io.warn(&failure.to_string());
    match failure {
        ExecError::NothingLoaded | ExecError::NoKexec(_) => EXIT_USAGE,
        ExecError::Refused(_) | ExecError::Shutdown { .. } => EXIT_FAILED,
    }
}

/// -S: kexec-tools reports the crash kernel unless -l asks for the kernel;
/// like it, 255 when the sysfs file cannot be read.
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
    match loaded {
        Some(true) => 1,
        Some(false) => 0,
        None => EXIT_FAILED,
    }
}

/// Shows an outcome: the debug log, then the JSON line or the messages.
fn render(outcome: &Outcome, io: &mut Out) -> i32 {
    for line in &outcome.log {
        io.debug(line);
    }
    if !outcome.dry_run {
        for note in &outcome.notes {
            io.debug(note);
        }
    }
    // KEXEC_FILE_DEBUG's lines (only asked for with -d): the kernel's words.
    for line in &outcome.kernel_log {
        io.warn(&format!("kernel: {line}"));
    }
    if outcome.dry_run {
        return render_dry_run(outcome, io);
    }
    if io.json_mode {
        io.json(&outcome.to_json());
    }
    match &outcome.result {
        Ok(()) => {
            for warning in &outcome.warnings {
                io.warn(warning);
            }
            EXIT_OK
        }
        Err(failure) => {
            for line in failure.message.lines() {
                io.warn(line);
            }
            exit_code(failure)
        }
    }
}

/// A dry run: the plan, why its system call was chosen, and the model's verdict.
fn render_dry_run(outcome: &Outcome, io: &mut Out) -> i32 {
    let why = outcome.syscall_choice.as_deref().unwrap_or_default();
    if io.json_mode {
        io.json(&outcome.to_json());
    } else {
        let plan = outcome
            .plan
            .as_ref()
            .map(|p| p.describe())
            .unwrap_or_default();
        io.say(&format!(
            "dry run: nothing is loaded\n{}\n  chosen     {why}",
            plan.trim_end()
        ));
        for note in &outcome.notes {
            io.say(&format!("  note       {note}"));
        }
        match &outcome.result {
            Ok(()) => io.say("  verdict    the kernel's rules predict success"),
            Err(f) => io.say(&format!("  verdict    {}", f.rejection)),
        }
    }
    match &outcome.result {
        Ok(()) => EXIT_OK,
        Err(f) => exit_code(f),
    }
}
