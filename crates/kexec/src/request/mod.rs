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
use crate::plan::{
    describe_io, path_text, FileLoad, InputError, OpenOptions, Plan, Segment, SegmentData,
};
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
    /// --force-dtb: KEXEC_FILE_FORCE_DTB (Linux 6.18+), the boot device
    /// tree carried over to the next kernel; a kexec_file_load flag, so the
    /// load takes that call alone.
    pub force_dtb: bool,
    /// --no-cma: KEXEC_FILE_NO_CMA (Linux 6.17+), keep the segments out of
    /// CMA; a kexec_file_load flag, so the load takes that call alone.
    pub no_cma: bool,
    /// Make the call even when the rules model predicts a refusal.
    pub skip_preflight: bool,
    /// --uki-profile: which profile of a multi-profile UKI to load.
    pub uki_profile: u32,
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
            force_dtb: false,
            no_cma: false,
            skip_preflight: false,
            uki_profile: 0,
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
    /// crash memory, an empty kernel or --hotplug without kernel support:
    /// it dies before loading).
    pub fn refused(rejection: Rejection, message: String) -> Failure {
        let kind = match rejection.rule {
            Rule::NoCrashRegion | Rule::EmptyFile | Rule::NoCrashHotplug => FailureKind::Invalid,
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
    /// What an option did that the plan does not show (--hotplug on
    /// kexec_file_load): for a dry run, `--debug` and `--json`.
    pub notes: Vec<String>,
    /// The steps taken, for `--debug`.
    pub log: Vec<String>,
    /// The kernel's own KEXEC_FILE_DEBUG lines (from /dev/kmsg) written
    /// during the kexec_file_load call, with `--debug` on 6.8+.
    pub kernel_log: Vec<String>,
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
        if !self.notes.is_empty() {
            v["notes"] = json!(self.notes);
        }
        if !self.kernel_log.is_empty() {
            v["kernel_log"] = json!(self.kernel_log);
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
            notes: Vec::new(),
            log: Vec::new(),
            kernel_log: Vec::new(),
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
            Action::Load(payload) => {
                run.load(payload);
                run.hotplug_note();
            }
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

mod crash;
mod run;
mod strategy;
use run::Run;
#[cfg(test)]
mod tests;
