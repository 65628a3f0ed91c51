//! The library's entry point: one [`Request`] (what to load or unload, from
//! which inputs, through which system call) becomes one [`Outcome`] (the
//! plan, the call chosen and why, and a typed result). Everything the
//! `kexec` command decides lives here, so any front end — an init system, a
//! boot menu, a provisioning agent — gets the same behaviour:
//!
//! - the `-a` strategy: kexec_file_load first, kexec_load when the kernel
//!   cannot take the image through the file call (kexec-tools' fallback
//!   errnos), or straight to kexec_load when an option or the format needs it;
//! - the crash-reload transaction: a successful crash load is recorded in
//!   [`crash_journal::RECORD_PATH`], and a failed one restores the crash
//!   kernel the kernel freed before it refused the new one;
//! - the command line: `--reuse-cmdline` and `--append` composed;
//! - KEXEC_FILE_DEBUG when the caller asks for debugging and the kernel has it.
//!
//! Every failure is a [`Failure`] whose [`Rejection`] (errno, rule, source)
//! comes from the closed vocabulary of [`Rule`] and [`Errno`].

use crate::boot::{self, x86_linux::BootArgs, x86_linux::LoadOptions, LoadPlanError};
use crate::crash_journal::{self, Aftermath, Recipe};
use crate::exec::{self, ExecError, ExecOptions};
use crate::facts::{self, Facts};
use crate::image::format as formats;
use crate::image::Input;
use crate::memory::human_size;
use crate::plan::{describe_io, path_text, FileLoad, InputError, Plan, Segment, SegmentData};
use crate::plan::{Syscall, Target};
use crate::rules::{self, Rejection, Rule, Source};
use crate::sys::abi::{FileFlags, KexecArch, KexecFlags, KEXEC_FILE_DEBUG, KEXEC_ON_CRASH};
use crate::sys::errno::Errno;
use crate::sys::Host;
use crate::{cmdline, load};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Which system call loads (and unloads) the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallChoice {
    /// kexec_file_load only (kexec-tools' `-s`).
    File,
    /// kexec_load only (`-c`).
    Load,
    /// kexec_file_load, falling back to kexec_load when the kernel cannot
    /// take the image through the file call (`-a`, the default).
    Auto,
}

/// What to do with the image slot of the request's target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Load a new image.
    Load(Payload),
    /// Unload what is loaded.
    Unload,
}

/// What a load puts into memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// A kernel file, maybe an initrd, and a command line.
    Kernel {
        /// The kernel file (any path; a pipe or FIFO is read into a sealed memfd).
        kernel: PathBuf,
        /// The initrd file, if any.
        initrd: Option<PathBuf>,
        /// How the next kernel's command line is made.
        cmdline: CmdlineSpec,
        /// The format the kernel must be (kexec-tools' `--type`), by the
        /// registry's name; `None` accepts whatever the registry recognises.
        format: Option<&'static str>,
    },
    /// Raw segments for kexec_load, exactly as given.
    Segments(Vec<RawSegment>),
}

/// The next kernel's command line: the running kernel's (`--reuse-cmdline`,
/// without the words that only make sense once) and then `append`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CmdlineSpec {
    /// Start from /proc/cmdline.
    pub reuse: bool,
    /// Words to add (bytes, not necessarily UTF-8).
    pub append: Option<Vec<u8>>,
}

/// One raw kexec_load segment: a file's bytes at a physical address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawSegment {
    /// Where the bytes come from.
    pub file: PathBuf,
    /// The physical address they go to.
    pub mem: u64,
    /// The memory size; `None`: the file's size rounded up to a page.
    pub memsz: Option<u64>,
}

/// How a load is carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Our kexec_load boot image's options (placement, console, EFI, video).
    pub boot: LoadOptions,
    /// What an ELF kernel receives in its boot-argument register.
    pub boot_args: BootArgs,
    /// kexec_load's entry point instead of our purgatory's.
    pub entry: Option<u64>,
    /// The KEXEC_ARCH_* value of raw-segment loads (native when `None`).
    pub arch: Option<u64>,
    /// Extra low flag bits for raw-segment kexec_load calls.
    pub load_flags: u64,
    /// Ask the kernel for KEXEC_FILE_DEBUG where it has it (Linux 6.8+).
    pub debug: bool,
    /// Make the call even when the rules model predicts a refusal.
    pub skip_preflight: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            boot: LoadOptions::default(),
            boot_args: BootArgs::Linux,
            entry: None,
            arch: None,
            load_flags: 0,
            debug: false,
            skip_preflight: false,
        }
    }
}

/// One load or unload, as a front end asks for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The image slot: the kernel for `kexec -e`, or the crash kernel.
    pub target: Target,
    /// Load or unload.
    pub action: Action,
    /// Which system call.
    pub syscall: SyscallChoice,
    /// How.
    pub options: Options,
    /// Build the plan and judge it by the rules model, but call nothing.
    pub dry_run: bool,
}

impl Request {
    /// A load of `kernel` into `target` with the `-a` strategy and defaults.
    pub fn load(target: Target, kernel: impl Into<PathBuf>) -> Request {
        Request {
            target,
            action: Action::Load(Payload::Kernel {
                kernel: kernel.into(),
                initrd: None,
                cmdline: CmdlineSpec::default(),
                format: None,
            }),
            syscall: SyscallChoice::Auto,
            options: Options::default(),
            dry_run: false,
        }
    }

    /// An unload of `target` with the `-a` strategy.
    pub fn unload(target: Target) -> Request {
        Request {
            target,
            action: Action::Unload,
            syscall: SyscallChoice::Auto,
            options: Options::default(),
            dry_run: false,
        }
    }

    /// Sets the initrd of a kernel load.
    pub fn initrd(mut self, path: impl Into<PathBuf>) -> Request {
        if let Action::Load(Payload::Kernel { initrd, .. }) = &mut self.action {
            *initrd = Some(path.into());
        }
        self
    }

    /// Sets the words appended to the command line of a kernel load.
    pub fn append(mut self, words: impl Into<Vec<u8>>) -> Request {
        if let Action::Load(Payload::Kernel { cmdline, .. }) = &mut self.action {
            cmdline.append = Some(words.into());
        }
        self
    }
}

/// How a front end should treat a failure: kexec-tools exits 1 when the
/// request cannot be carried out as given, 255 when a load failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The request is unusable as given (a usage error, no crash memory, an
    /// empty kernel file, an unreadable /proc/cmdline): nothing was tried.
    Invalid,
    /// The load or unload was refused, by the model or by the kernel.
    Refused,
}

/// Why a request failed.
#[derive(Debug)]
pub struct Failure {
    /// The errno, rule and source: what `--json` reports.
    pub rejection: Rejection,
    /// The whole explanation for a person, one or more lines: what failed,
    /// why, and what became of the crash kernel loaded before.
    pub message: String,
    /// When `-a` fell back to kexec_load and that failed too: why.
    pub fallback: Option<String>,
    /// Exit status class.
    pub kind: FailureKind,
}

impl Failure {
    /// A failure the rejection explains; its kind follows kexec-tools (no
    /// crash memory or an empty kernel: it dies before loading).
    pub fn refused(rejection: Rejection, message: String) -> Failure {
        let kind = match rejection.rule {
            Rule::NoCrashRegion | Rule::EmptyFile => FailureKind::Invalid,
            _ => FailureKind::Refused,
        };
        Failure {
            rejection,
            message,
            fallback: None,
            kind,
        }
    }

    /// A usage error of a front end's making (bad options).
    pub fn usage(reason: impl Into<String>) -> Failure {
        let reason = reason.into();
        Failure {
            message: reason.clone(),
            rejection: Rejection {
                errno: Errno::EINVAL,
                rule: Rule::Usage,
                reason,
                source: Source::Usage,
            },
            fallback: None,
            kind: FailureKind::Invalid,
        }
    }

    fn with_kind(mut self, kind: FailureKind) -> Failure {
        self.kind = kind;
        self
    }
}

/// What became of a request.
#[derive(Debug)]
pub struct Outcome {
    /// The plan carried out (or, in a dry run, judged); `None` when the
    /// request failed before there was one.
    pub plan: Option<Plan>,
    /// The system call chosen and why (loads).
    pub syscall_choice: Option<String>,
    /// Success, or why not. In a dry run: the rules model's verdict.
    pub result: Result<(), Failure>,
    /// A dry run's verdict: the plan was judged by the rules model, not
    /// carried out (a dry run that fails before it has a plan is `false`).
    pub dry_run: bool,
    /// After a failed crash load: what became of the crash kernel loaded before.
    pub crash_kernel: Option<Aftermath>,
    /// Warnings about a success (the crash load could not be recorded ...).
    pub warnings: Vec<String>,
    /// The steps taken, for `--debug`.
    pub log: Vec<String>,
}

impl Outcome {
    /// The outcome as one JSON object, as `kexec --json` prints it: `errno`,
    /// `reason`, `source` and `rule` (all null on success), the `plan` when
    /// there is one, `fallback` and `crash_kernel` after a failure, and
    /// `dry_run` with `syscall_choice` for a dry run's verdict.
    ///
    /// ```
    /// use kexec::request::{Kexec, Request};
    /// use kexec::{FakeHost, Target};
    ///
    /// let mut host = FakeHost::typical();
    /// let mut request = Request::unload(Target::Normal);
    /// request.dry_run = true;
    /// let json = Kexec::new(&mut host).perform(&request).to_json();
    /// assert_eq!(json["dry_run"], true);
    /// assert!(json["errno"].is_null());
    /// assert_eq!(json["plan"]["syscall"], "kexec_file_load");
    /// ```
    pub fn to_json(&self) -> Value {
        let mut v = match &self.result {
            Ok(()) => json!({ "errno": null, "reason": null, "source": null, "rule": null }),
            Err(f) => f.rejection.to_json(),
        };
        if let Some(plan) = &self.plan {
            v["plan"] = plan.to_json();
        }
        if self.dry_run {
            v["dry_run"] = json!(true);
            v["syscall_choice"] = json!(self.syscall_choice.as_deref().unwrap_or_default());
        } else if let Err(f) = &self.result {
            if let Some(fallback) = &f.fallback {
                v["fallback"] = json!(fallback);
            }
            if let Some(a) = &self.crash_kernel {
                v["crash_kernel"] = a.to_json();
            }
        }
        v
    }

    fn new() -> Outcome {
        Outcome {
            plan: None,
            syscall_choice: None,
            result: Ok(()),
            dry_run: false,
            crash_kernel: None,
            warnings: Vec::new(),
            log: Vec::new(),
        }
    }
}

/// A session with one host: the facts gathered once, then any number of
/// requests, the jump and the status.
///
/// ```
/// use kexec::request::{Kexec, Request};
/// use kexec::{FakeHost, Target};
///
/// let mut host = FakeHost::typical();
/// let mut kexec = Kexec::new(&mut host);
/// let outcome = kexec.perform(&Request::unload(Target::Crash));
/// assert!(outcome.result.is_ok());
/// ```
pub struct Kexec<'h> {
    host: &'h mut dyn Host,
    facts: Facts,
}

impl<'h> Kexec<'h> {
    /// Gathers the facts the rules model and the builders need.
    pub fn new(host: &'h mut dyn Host) -> Kexec<'h> {
        let facts = Facts::gather(host);
        Kexec { host, facts }
    }

    /// What is known about the running kernel.
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// Jumps into the loaded kernel (`kexec -e`): returns only when it
    /// could not, with why and the steps taken before.
    pub fn exec(&mut self, options: ExecOptions) -> (ExecError, Vec<String>) {
        let mut steps = Vec::new();
        let failure = exec::exec(self.host, options, &mut |line| steps.push(line.to_string()));
        (failure, steps)
    }

    /// Reboots into the loaded kernel through `shutdown -r now` (`kexec`
    /// without a mode); returns only when it could not.
    pub fn shutdown(&mut self) -> ExecError {
        exec::shutdown(self.host)
    }

    /// Carries out one request.
    pub fn perform(&mut self, request: &Request) -> Outcome {
        let mut run = Run {
            host: &mut *self.host,
            facts: &self.facts,
            req: request,
            out: Outcome::new(),
            crash_loaded: self.facts.crash_loaded == Some(true),
            built_from: None,
        };
        match &request.action {
            Action::Unload => run.unload(),
            Action::Load(payload) => run.load(payload),
        }
        let out = run.out;
        // A crash unload or load changes what a later request finds loaded.
        if request.target == Target::Crash && !request.dry_run && out.result.is_ok() {
            self.facts.crash_loaded = Some(matches!(request.action, Action::Load(_)));
        }
        out
    }
}

/// kexec-tools' -a: the file call's refusals that send it to kexec_load.
pub fn falls_back(errno: Errno) -> bool {
    matches!(
        errno,
        Errno::ENOSYS | Errno::EINVAL | Errno::ENOEXEC | Errno::EOPNOTSUPP
    )
}

/// The first option given that only our kexec_load boot image honours:
/// with `-a` it chooses kexec_load.
pub fn kexec_load_only_option(options: &Options, format: Option<&str>) -> Option<&'static str> {
    match format {
        Some(_) => Some("--type"),
        None => options.boot.first_arch_option(),
    }
}

/// One request being carried out.
struct Run<'a> {
    host: &'a mut dyn Host,
    facts: &'a Facts,
    req: &'a Request,
    out: Outcome,
    /// A crash kernel was loaded when the request began.
    crash_loaded: bool,
    /// The files a kexec_load plan was built from (a crash load records them).
    built_from: Option<FileLoad>,
}

impl Run<'_> {
    fn log(&mut self, line: impl Into<String>) {
        self.out.log.push(line.into());
    }

    fn fail(&mut self, failure: Failure) {
        self.out.result = Err(failure);
    }

    fn target(&self) -> Target {
        self.req.target
    }

    /// "[0x...-0x...] (256 MiB)", for messages about crash loads.
    fn crash_region(&self) -> String {
        match self.facts.main_crash_region() {
            Some(r) if r.start != 0 => format!("[{r}] ({})", human_size(r.size())),
            _ => format!("({})", human_size(self.facts.crash_region_size())),
        }
    }

    fn unload(&mut self) {
        let target = self.target();
        let plan = match self.req.syscall {
            SyscallChoice::Load => Plan::unload(target),
            SyscallChoice::File | SyscallChoice::Auto => Plan::file_unload(target),
        };
        self.log(format!("unload plan:\n{}", plan.describe()));
        if self.req.dry_run {
            return self.judge(plan, "unload".into());
        }
        let skip = self.req.options.skip_preflight;
        let mut result = load::load(self.host, &plan, self.facts, skip);
        if let Err(r) = &result {
            // Like kexec-tools -a: a kernel without kexec_file_load unloads through kexec_load.
            if self.req.syscall == SyscallChoice::Auto && r.errno == Errno::ENOSYS {
                self.log("kexec_file_load is not implemented here; unloading with kexec_load");
                result = load::load(self.host, &Plan::unload(target), self.facts, skip);
            }
        }
        let what = format!("cannot unload the {}", target.describe());
        let unloaded = result.is_ok();
        self.finish(plan, result, &what);
        if unloaded && target == Target::Crash {
            self.crash_loaded = false;
            if let Err(e) = crash_journal::forget(self.host) {
                self.out
                    .warnings
                    .push(format!("the crash kernel is unloaded, but {e}"));
            }
        }
    }

    /// A dry run's end: the plan, why its call was chosen, and the model's verdict.
    fn judge(&mut self, plan: Plan, why: String) {
        let verdict = rules::check(&plan, self.facts);
        self.out.dry_run = true;
        self.out.plan = Some(plan);
        self.out.syscall_choice = Some(why);
        if let Err(r) = verdict {
            let message = r.to_string();
            self.fail(Failure::refused(r, message));
        }
    }

    fn load(&mut self, payload: &Payload) {
        let target = self.target();
        // kexec_load plans read the files and the memory map first: a kernel
        // without the call is told before any of that.
        let kexec_load_only =
            self.req.syscall == SyscallChoice::Load || matches!(payload, Payload::Segments(_));
        if kexec_load_only && self.refuse_missing_syscall(Syscall::KexecLoad) {
            return;
        }
        if target == Target::Crash {
            // As kexec-tools: no crash memory, no crash load, whatever the call.
            if let Err(r) = rules::crash_region_reserved(self.facts) {
                let message = format!("cannot load a crash kernel: {}", r.reason);
                return self.fail(Failure::refused(r, message));
            }
        }
        match payload {
            Payload::Segments(segments) => self.load_segments(segments),
            Payload::Kernel {
                kernel,
                initrd,
                cmdline,
                format,
            } => self.load_kernel(kernel, initrd.as_ref(), cmdline, *format),
        }
    }

    /// A kernel built without `call` answers ENOSYS before it looks at
    /// anything (unless the preflight is skipped). A dry run goes on: it
    /// shows the plan, and its verdict names the missing call.
    fn refuse_missing_syscall(&mut self, call: Syscall) -> bool {
        if self.req.options.skip_preflight || self.req.dry_run {
            return false;
        }
        let Err(r) = rules::syscall_built(call, self.facts) else {
            return false;
        };
        let message = format!("cannot load the {}: {r}", self.target().describe());
        self.fail(Failure::refused(r, message));
        true
    }

    /// The command line: /proc/cmdline's reusable words, then `append`.
    fn compose_cmdline(&mut self, spec: &CmdlineSpec) -> Option<Vec<u8>> {
        let base = if spec.reuse {
            // Unreadable is an error (kexec-tools dies too), never an empty line.
            match self.host.read_bytes(facts::path::CMDLINE) {
                Ok(line) => Some(cmdline::reusable(&line, self.target() == Target::Crash)),
                Err(e) => {
                    let reason = format!(
                        "cannot read {} for --reuse-cmdline: {}",
                        facts::path::CMDLINE,
                        describe_io(&e)
                    );
                    let rejection = model(Errno::from_io(&e), Rule::UnreadableFile, &reason);
                    self.fail(Failure::refused(rejection, reason).with_kind(FailureKind::Invalid));
                    return None;
                }
            }
        } else {
            None
        };
        Some(cmdline::compose(base.as_deref(), spec.append.as_deref()))
    }

    /// KEXEC_FILE_DEBUG when asked for and the running kernel knows it.
    fn file_flags(&self) -> FileFlags {
        let accepted = rules::file_flags_accepted(self.facts.kernel_version());
        if self.req.options.debug && accepted.contains(KEXEC_FILE_DEBUG) {
            KEXEC_FILE_DEBUG
        } else {
            FileFlags(0)
        }
    }

    fn input_failure(&mut self, e: &InputError) {
        let rejection = model(
            Errno::from_io(&e.source),
            Rule::UnreadableFile,
            &e.to_string(),
        );
        self.fail(Failure::refused(rejection, e.to_string()));
    }

    /// After a failed crash load: what /sys/kernel/kexec_crash_loaded says
    /// now, with the crash kernel loaded before restored from its record
    /// when the kernel had freed it. "" for anything but a crash load.
    fn crash_aftermath(&mut self, unload: bool) -> String {
        if self.target() != Target::Crash || unload {
            return String::new();
        }
        let aftermath = crash_journal::after_failed_load(self.host, self.crash_loaded);
        self.log(format!(
            "kexec_crash_loaded before {}, after the attempt {:?}, restore {:?}",
            self.crash_loaded, aftermath.after_attempt, aftermath.restore
        ));
        let note = aftermath.describe(&self.crash_region());
        self.out.crash_kernel = Some(aftermath);
        note
    }

    /// The end of a load or unload that reached the kernel (or the model).
    fn finish(&mut self, plan: Plan, result: Result<(), Rejection>, what: &str) {
        if let Err(r) = result {
            let note = self.crash_aftermath(plan.is_unload());
            let message = format!("{what}: {r}{note}");
            self.fail(Failure::refused(r, message));
        }
        self.out.plan = Some(plan);
    }

    /// `finish` for a load; a crash load that succeeded is recorded, so
    /// that a failed reload can restore it.
    fn finish_load(
        &mut self,
        plan: Plan,
        recipe: impl FnOnce(&Plan) -> std::io::Result<Recipe>,
        result: Result<(), Rejection>,
        what: &str,
    ) {
        let recorded = result.is_ok() && plan.target() == Target::Crash;
        let recipe = recorded.then(|| recipe(&plan));
        self.finish(plan, result, what);
        if let Some(recipe) = recipe {
            self.remember_crash_load(recipe);
        }
    }

    fn remember_crash_load(&mut self, recipe: std::io::Result<Recipe>) {
        let recorded = match recipe {
            Ok(recipe) => crash_journal::record(self.host, recipe),
            Err(e) => {
                // An older record no longer describes what is loaded.
                let _ = crash_journal::forget(self.host);
                Err(crash_journal::RecordError(e))
            }
        };
        match recorded {
            Ok(record) => {
                self.log(format!(
                    "recorded in {}: {}",
                    crash_journal::RECORD_PATH,
                    record.recipe.describe()
                ));
                if let Some(why) = record.recipe.unrestorable() {
                    self.out.warnings.push(format!(
                        "the crash kernel is loaded, but a failed reload could not restore it: {why}"
                    ));
                }
            }
            Err(e) => self.out.warnings.push(format!(
                "the crash kernel is loaded, but {e}: a failed reload could not restore it"
            )),
        }
    }

    /// Raw segments: exactly these, through kexec_load.
    fn load_segments(&mut self, specs: &[RawSegment]) {
        let target = self.target();
        if self.req.syscall == SyscallChoice::File {
            return self.fail(Failure::usage(
                "--segment loads raw segments, which only kexec_load takes: drop -s",
            ));
        }
        let mut segments = Vec::new();
        let limit = rules::stream_limit(self.facts, target);
        for spec in specs {
            // Opened once and mapped through the same descriptor (a pipe or
            // device is first read to EOF into a sealed memfd).
            let mapped = Input::open_within(&spec.file, limit).and_then(|i| Ok((i.map()?, i)));
            let (map, input) = match mapped {
                Ok(m) => m,
                Err(source) => {
                    return self.input_failure(&InputError {
                        role: "segment",
                        path: spec.file.clone(),
                        source,
                    })
                }
            };
            if map.is_empty() {
                // A 0-byte segment would load nothing from this file, silently.
                let reason = format!(
                    "the segment file {} is empty: nothing to load",
                    input.describe()
                );
                let rejection = model(Errno::EINVAL, Rule::EmptyFile, &reason);
                return self
                    .fail(Failure::refused(rejection, reason).with_kind(FailureKind::Refused));
            }
            let memsz = spec.memsz.unwrap_or_else(|| {
                (map.len() as u64).div_ceil(rules::PAGE_SIZE) * rules::PAGE_SIZE
            });
            segments.push(Segment {
                digest: None,
                purpose: format!("raw segment {}", input.describe()),
                data: SegmentData::share(map.bytes(), &[&map]),
                mem: spec.mem,
                memsz,
            });
        }
        let base = if target == Target::Crash {
            KEXEC_ON_CRASH.0
        } else {
            0
        };
        let options = &self.req.options;
        let arch = options.arch.unwrap_or(KexecArch::native().value());
        let plan = Plan::Load {
            target,
            entry: options
                .entry
                .unwrap_or(segments.first().map_or(0, |s| s.mem)),
            flags: KexecFlags(base | options.load_flags | arch),
            segments,
        };
        let why = "kexec_load: raw segments".to_string();
        if self.req.dry_run {
            return self.judge(plan, why);
        }
        self.out.syscall_choice = Some(why);
        self.log(format!("plan:\n{}", plan.describe().trim_end()));
        let result = load::load(self.host, &plan, self.facts, options.skip_preflight);
        let what = format!("cannot load the segments as the {}", target.describe());
        let paths: Vec<&std::path::Path> = specs.iter().map(|s| s.file.as_path()).collect();
        self.finish_load(plan, |p| Ok(Recipe::segments(&paths, p)), result, &what);
    }

    /// `--type`: the named loader must accept the file, as kexec-tools'
    /// probe decides ("Wrong file type ..."); formats are probed in the
    /// registry's order.
    fn type_mismatch(wanted: &str, kernel_head: &[u8]) -> Option<String> {
        let actual = formats::probe(kernel_head);
        if actual.is_some_and(|f| f.name() == wanted) {
            return None;
        }
        let what = match actual {
            Some(f) => format!("it is a {} kernel", f.name()),
            None => formats::not_a_kernel(kernel_head),
        };
        Some(format!(
            "--type={wanted}: the {wanted} loader does not accept it: {what}"
        ))
    }

    /// The kexec_load plan for the files the file plan already opened.
    fn kexec_load_plan(&self, file: &FileLoad) -> Result<Plan, LoadPlanError> {
        let options = &self.req.options;
        let mut plan = boot::plan_kexec_load(
            self.host,
            self.facts,
            file,
            options.boot_args,
            &options.boot,
        )?;
        // An entry given overrides where the kernel jumps, as in kexec-tools
        // (which then bypasses the purgatory): for experts debugging an image.
        if let (Plan::Load { entry, .. }, Some(addr)) = (&mut plan, options.entry) {
            *entry = addr;
        }
        Ok(plan)
    }

    fn plan_failure(&mut self, what: &str, e: &LoadPlanError) {
        let note = self.crash_aftermath(false);
        let message = format!("{what} with kexec_load: {e}{note}");
        self.fail(Failure::refused(e.rejection(), message).with_kind(FailureKind::Refused));
    }

    fn load_kernel(
        &mut self,
        kernel: &std::path::Path,
        initrd: Option<&PathBuf>,
        spec: &CmdlineSpec,
        format: Option<&'static str>,
    ) {
        let target = self.target();
        let Some(text) = self.compose_cmdline(spec) else {
            return;
        };
        let limit = rules::stream_limit(self.facts, target);
        let flags = self.file_flags();
        let initrd = initrd.map(PathBuf::as_path);
        let file = match FileLoad::open_within(target, kernel, initrd, text, flags, limit) {
            Ok(f) => f,
            Err(e) => return self.input_failure(&e),
        };
        let what = format!(
            "cannot load {} as the {}",
            path_text(kernel),
            target.describe()
        );
        if let Some(why) = format.and_then(|f| Self::type_mismatch(f, &file.kernel_head)) {
            let note = self.crash_aftermath(false);
            let message = format!("{what}: {why}{note}");
            let rejection = model(Errno::ENOEXEC, Rule::WrongType, &why);
            return self.fail(Failure::refused(rejection, message));
        }
        let Some((plan, why)) = self.choose(file, format, &what) else {
            return;
        };
        if self.req.dry_run {
            return self.judge(plan, why);
        }
        self.log(format!("syscall: {why}"));
        self.log(format!("plan:\n{}", plan.describe().trim_end()));
        self.out.syscall_choice = Some(why);
        let result = load::load(
            self.host,
            &plan,
            self.facts,
            self.req.options.skip_preflight,
        );
        self.finish_kernel_load(plan, result, &what);
    }

    /// A kernel load's end; a successful crash load is recorded with the
    /// files its plan was made from.
    fn finish_kernel_load(&mut self, plan: Plan, result: Result<(), Rejection>, what: &str) {
        let options = self.req.options.clone();
        let built_from = self.built_from.take();
        self.finish_load(
            plan,
            |plan| match (plan, &built_from) {
                (Plan::FileLoad(f), _) => Recipe::file_load(f),
                (_, Some(f)) => {
                    Recipe::kernel_load(f, plan, &options.boot, options.boot_args, options.entry)
                }
                _ => Err(std::io::Error::other(
                    "the files of the kexec_load plan are unknown",
                )),
            },
            result,
            what,
        );
    }

    /// The `-a` strategy (and `-s`/`-c`): which call, and the plan for it.
    /// `None` when the request has ended (loaded already, or failed). The
    /// kexec_load plan's files are kept in `built_from` until the load ends.
    fn choose(
        &mut self,
        file: FileLoad,
        format: Option<&str>,
        what: &str,
    ) -> Option<(Plan, String)> {
        let load_only_option = kexec_load_only_option(&self.req.options, format);
        let only_kexec_load = boot::needs_kexec_load(&file.kernel_head);
        match self.req.syscall {
            SyscallChoice::Auto if load_only_option.is_some() => {
                let why = format!(
                    "kexec_load (auto): {} is honoured only by kexec_load (our boot image and purgatory)",
                    load_only_option.unwrap_or_default()
                );
                self.with_kexec_load(file, why, what)
            }
            SyscallChoice::Auto if only_kexec_load => {
                let why = "kexec_load: an ELF kernel, which only kexec_load can take (the kernel's file loader knows bzImage64 alone)";
                if self.refuse_missing_syscall(Syscall::KexecLoad) {
                    return None;
                }
                self.with_kexec_load(file, why.into(), what)
            }
            SyscallChoice::Load => {
                let why = "kexec_load (-c): our boot image and purgatory";
                self.with_kexec_load(file, why.into(), what)
            }
            SyscallChoice::File => Some((
                Plan::FileLoad(file),
                "kexec_file_load (-s): the kernel parses the bzImage itself".to_string(),
            )),
            SyscallChoice::Auto => self.auto(file, what),
        }
    }

    fn with_kexec_load(
        &mut self,
        file: FileLoad,
        why: String,
        what: &str,
    ) -> Option<(Plan, String)> {
        match self.kexec_load_plan(&file) {
            Ok(plan) => {
                self.built_from = Some(file);
                Some((plan, why))
            }
            Err(e) => {
                self.plan_failure(what, &e);
                None
            }
        }
    }

    /// -a: the file call first; on a refusal kexec-tools falls back on, kexec_load.
    fn auto(&mut self, file: FileLoad, what: &str) -> Option<(Plan, String)> {
        let first = "kexec_file_load (auto, the default: the file call first, kexec_load if the kernel cannot take the image that way)";
        let file_plan = Plan::FileLoad(file);
        let skip = self.req.options.skip_preflight;
        let verdict = if skip {
            Ok(())
        } else {
            rules::check(&file_plan, self.facts)
        };
        let verdict = match verdict {
            Ok(()) if self.req.dry_run => return Some((file_plan, first.into())),
            Ok(()) => {
                self.log(format!("syscall: {first}"));
                self.log(format!("plan:\n{}", file_plan.describe().trim_end()));
                self.out.syscall_choice = Some(first.into());
                load::load(self.host, &file_plan, self.facts, true)
            }
            Err(r) => Err(r),
        };
        let r = match verdict {
            Ok(()) => {
                self.finish_kernel_load(file_plan, Ok(()), what);
                return None;
            }
            Err(r) => r,
        };
        // No fallback either when the kernel lacks kexec_load too.
        if !falls_back(r.errno) || rules::syscall_built(Syscall::KexecLoad, self.facts).is_err() {
            if self.req.dry_run {
                self.judge(file_plan, first.into());
            } else {
                self.out.syscall_choice = Some(first.into());
                self.finish(file_plan, Err(r), what);
            }
            return None;
        }
        let why = format!(
            "kexec_load (auto): kexec_file_load would be refused with {} ({}), which sends kexec-tools -a to kexec_load too",
            r.errno.name(),
            r.reason
        );
        let Plan::FileLoad(file) = file_plan else {
            unreachable!("built above")
        };
        match self.kexec_load_plan(&file) {
            Ok(plan) => {
                self.built_from = Some(file);
                Some((plan, why))
            }
            Err(e) => {
                // Neither call can take it: report both reasons, and what
                // the file call (if it reached the kernel) did to the crash kernel.
                let note = self.crash_aftermath(false);
                let message = format!(
                    "{what}: {r}\nthe kexec_load fallback cannot take it either: {e}{note}"
                );
                let mut failure = Failure::refused(r, message);
                failure.fallback = Some(format!("kexec_load: {e}"));
                self.out.plan = Some(Plan::FileLoad(file));
                self.fail(failure);
                None
            }
        }
    }
}

fn model(errno: Errno, rule: Rule, reason: &str) -> Rejection {
    Rejection {
        errno,
        rule,
        reason: reason.to_string(),
        source: Source::Model,
    }
}

impl LoadPlanError {
    /// The errno, rule and source `--json` reports for this refusal of our
    /// kexec_load builder.
    pub fn rejection(&self) -> Rejection {
        let (errno, rule) = match self {
            LoadPlanError::Rejected(r) => return r.clone(),
            LoadPlanError::Empty { .. } => (Errno::EINVAL, Rule::EmptyFile),
            LoadPlanError::Read { source, .. } => (Errno::from_io(source), Rule::UnreadableFile),
            LoadPlanError::Memmap(_) => (Errno::EINVAL, Rule::UnreadableFile),
            LoadPlanError::Random(e) => (Errno::from_io(e), Rule::Other),
            LoadPlanError::Build(_) => (Errno::EINVAL, Rule::Image),
            LoadPlanError::UnsupportedArch { .. } => (Errno::EINVAL, Rule::UnsupportedArch),
        };
        model(errno, rule, &self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fake::{Call, CRASH_LOADED};
    use crate::sys::FakeHost;
    use crate::testing::{add_crash_files, bzimage64_sample};
    use std::path::Path;

    struct Files(PathBuf);

    impl Files {
        fn new(name: &str) -> Files {
            let d =
                std::env::temp_dir().join(format!("kexec-request-{name}-{}", std::process::id()));
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
}
