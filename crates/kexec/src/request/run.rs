//! Carrying out one request: unloads, raw segments, kernel loads, and the
//! failures on the way, each in the library's vocabulary.

use super::*;

/// One request being carried out.
pub(super) struct Run<'a> {
    pub(super) host: &'a mut dyn Host,
    pub(super) facts: &'a Facts,
    pub(super) req: &'a Request,
    pub(super) out: Outcome,
    /// A crash kernel was loaded when the request began.
    pub(super) crash_loaded: bool,
    /// The files a kexec_load plan was built from (a crash load records them).
    pub(super) built_from: Option<FileLoad>,
}

impl Run<'_> {
    pub(super) fn log(&mut self, line: impl Into<String>) {
        self.out.log.push(line.into());
    }

    pub(super) fn fail(&mut self, failure: Failure) {
        self.out.result = Err(failure);
    }

    pub(super) fn target(&self) -> Target {
        self.req.target
    }

    pub(super) fn unload(&mut self) {
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
    pub(super) fn judge(&mut self, plan: Plan, why: String) {
        let verdict = rules::check(&plan, self.facts);
        self.out.dry_run = true;
        self.out.plan = Some(plan);
        self.out.syscall_choice = Some(why);
        if let Err(r) = verdict {
            let message = r.to_string();
            self.fail(Failure::refused(r, message));
        }
    }

    pub(super) fn load(&mut self, payload: &Payload) {
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
        if self.req.options.boot.hotplug && !self.hotplug_possible(payload) {
            return;
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

    /// --hotplug, as kexec-tools treats it: without
    /// /sys/kernel/crash_elfcorehdr_size a crash load is refused before
    /// anything is read, whatever the call (kexec-tools dies). A normal load
    /// has no elfcorehdr: kexec-tools passes its flag anyway, which the
    /// kernel ignores for a normal image; here it is left out, with a
    /// warning. Raw segments have no elfcorehdr of ours to size.
    pub(super) fn hotplug_possible(&mut self, payload: &Payload) -> bool {
        if matches!(payload, Payload::Segments(_)) {
            self.fail(Failure::usage(
                "--hotplug sizes the elfcorehdr of the boot image kexec builds; raw --segment loads have none: pass the flag itself with --load-flags (0x4 on x86_64, 0x8 elsewhere) and size your elfcorehdr segment from /sys/kernel/crash_elfcorehdr_size",
            ));
            return false;
        }
        if self.target() == Target::Normal {
            let note = "--hotplug is for crash kernels (-p): a kernel loaded with -l has no elfcorehdr to update on hotplug, so it is ignored (kexec-tools passes its flag, which the kernel ignores for a normal image)";
            self.out.warnings.push(note.to_string());
            self.out.notes.push(note.to_string());
            return true;
        }
        if let Err(r) = rules::crash_hotplug_size(self.facts) {
            let message = format!("cannot load the crash kernel: {}", r.reason);
            self.fail(Failure::refused(r, message));
            return false;
        }
        true
    }

    /// What --hotplug did to a crash load's plan, for the notes.
    pub(super) fn hotplug_note(&mut self) {
        let (Some(plan), Some(size)) = (&self.out.plan, self.facts.crash_elfcorehdr_size) else {
            return;
        };
        let failed = self.out.result.is_err() && !self.out.dry_run;
        if failed || !self.req.options.boot.hotplug || plan.target() != Target::Crash {
            return;
        }
        let note = match plan {
            Plan::FileLoad(_) => format!(
                "--hotplug: kexec_file_load needs no flag: the kernel (CONFIG_CRASH_HOTPLUG, {} = {size}) sizes this crash kernel's elfcorehdr itself and updates it on CPU and memory hotplug",
                facts::path::CRASH_ELFCOREHDR_SIZE
            ),
            Plan::Load { flags, segments, .. } => {
                let core = segments
                    .iter()
                    .find(|s| s.data.starts_with(b"\x7fELF"))
                    .map_or(String::new(), |s| {
                        format!(", elfcorehdr at {:#x} with memsz {:#x}", s.mem, s.memsz)
                    });
                format!(
                    "--hotplug: kexec_load flags {flags}{core} (from {} = {size}, page aligned), left out of the purgatory's digests: the kernel rewrites it on CPU and memory hotplug",
                    facts::path::CRASH_ELFCOREHDR_SIZE
                )
            }
            _ => return,
        };
        self.out.notes.push(note);
    }

    /// A kernel built without `call` answers ENOSYS before it looks at
    /// anything (unless the preflight is skipped). A dry run goes on: it
    /// shows the plan, and its verdict names the missing call.
    pub(super) fn refuse_missing_syscall(&mut self, call: Syscall) -> bool {
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
    pub(super) fn compose_cmdline(&mut self, spec: &CmdlineSpec) -> Option<Vec<u8>> {
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

    /// Makes the call of `plan` (after the model's preflight unless
    /// skipped). With KEXEC_FILE_DEBUG, the kernel's lines written to
    /// /dev/kmsg meanwhile are kept in `kernel_log`; a log that cannot be
    /// read is said in the debug log and never fails the load.
    pub(super) fn call(&mut self, plan: &Plan, skip_preflight: bool) -> Result<(), Rejection> {
        let debug = matches!(plan, Plan::FileLoad(f) if f.flags.contains(KEXEC_FILE_DEBUG));
        if !debug {
            return load::load(self.host, plan, self.facts, skip_preflight);
        }
        let reader = self.host.kernel_log();
        let result = load::load(self.host, plan, self.facts, skip_preflight);
        let records = reader.and_then(|mut r| r.read_new());
        match records {
            Ok(records) => {
                let lines = crate::kmsg::kexec_lines(&records);
                self.log(format!(
                    "{}: {} records written during kexec_file_load, {} of them the kexec code's (KEXEC_FILE_DEBUG)",
                    crate::sys::KMSG,
                    records.len(),
                    lines.len()
                ));
                self.out.kernel_log.extend(lines);
            }
            Err(e) => self.log(format!(
                "cannot read the kernel's KEXEC_FILE_DEBUG lines from {}: {} (the load goes on without them)",
                crate::sys::KMSG,
                describe_io(&e)
            )),
        }
        result
    }

    /// KEXEC_FILE_DEBUG when asked for and the running kernel knows it.
    pub(super) fn file_flags(&self) -> FileFlags {
        let accepted = rules::file_flags_accepted(self.facts.kernel_version());
        let mut flags = FileFlags(0);
        if self.req.options.debug && accepted.contains(KEXEC_FILE_DEBUG) {
            flags |= KEXEC_FILE_DEBUG;
        }
        // Asked for by name: passed even where the kernel does not know it,
        // so the model names the kernel version that refuses it.
        if self.req.options.force_dtb {
            flags |= crate::sys::abi::KEXEC_FILE_FORCE_DTB;
        }
        if self.req.options.no_cma {
            flags |= crate::sys::abi::KEXEC_FILE_NO_CMA;
        }
        flags
    }

    pub(super) fn input_failure(&mut self, e: &InputError) {
        let rejection = model(
            Errno::from_io(&e.source),
            Rule::UnreadableFile,
            &e.to_string(),
        );
        self.fail(Failure::refused(rejection, e.to_string()));
    }

    /// Raw segments: exactly these, through kexec_load.
    pub(super) fn load_segments(&mut self, specs: &[RawSegment]) {
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

    pub(super) fn load_kernel(
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
        let how = OpenOptions {
            stream_limit: limit,
            uki_profile: self.req.options.uki_profile,
        };
        let mut file = match FileLoad::open_with(target, kernel, initrd, text, flags, how) {
            Ok(f) => f,
            Err(e) => return self.input_failure(&e),
        };
        // A UKI's .cmdline stands in for a command line the user did not give.
        if !spec.reuse && spec.append.is_none() {
            file.use_uki_cmdline();
        }
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
        self.cma_note(&plan);
        if self.req.dry_run {
            return self.judge(plan, why);
        }
        self.log(format!("syscall: {why}"));
        self.log(format!("plan:\n{}", plan.describe().trim_end()));
        self.out.syscall_choice = Some(why);
        let result = self.call(&plan, self.req.options.skip_preflight);
        self.finish_kernel_load(plan, result, &what);
    }

    /// `crashkernel=…,cma` memory reaches a capture kernel only through
    /// kexec_file_load: the kernel adds it to the capture kernel's memory
    /// map, while /proc/iomem, which a kexec_load boot image is built from,
    /// does not show it. Said before the call, as a warning.
    fn cma_note(&mut self, plan: &Plan) {
        let cma = self.facts.crashkernel_cma_in_effect();
        if plan.target() != Target::Crash || matches!(plan, Plan::FileLoad(_)) || cma.is_empty() {
            return;
        }
        let note = format!(
            "{} reserved crash kernel memory in CMA, which this capture kernel will not get: only kexec_file_load (-s) hands CMA areas over, and kexec_load boot images are built from /proc/iomem, which does not show them; the capture kernel has the Crash kernel region {} alone",
            cma.join(" "),
            self.crash_region()
        );
        self.out.warnings.push(note.clone());
        self.out.notes.push(note);
    }
}

pub(super) fn model(errno: Errno, rule: Rule, reason: &str) -> Rejection {
    Rejection {
        errno,
        rule,
        reason: reason.to_string(),
        source: Source::Model,
    }
}
