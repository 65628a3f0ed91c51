//! Which system call: `-s`, `-c`, and the `-a` strategy (kexec-tools
//! 2.0.27+'s: the file call first, kexec_load when the kernel cannot take
//! the image that way, or at once when an option or the format needs it).

use super::run::Run;
use super::*;

impl Run<'_> {
    /// The `-a` strategy (and `-s`/`-c`): which call, and the plan for it.
    /// `None` when the request has ended (loaded already, or failed). The
    /// kexec_load plan's files are kept in `built_from` until the load ends.
    pub(super) fn choose(
        &mut self,
        file: FileLoad,
        format: Option<&str>,
        what: &str,
    ) -> Option<(Plan, String)> {
        let load_only_option = kexec_load_only_option(&self.req.options, format);
        let only_kexec_load = boot::needs_kexec_load(&file.kernel_head);
        match self.req.syscall {
            SyscallChoice::Auto if self.req.options.force_dtb => Some((
                Plan::FileLoad(file),
                "kexec_file_load (auto): --force-dtb is a kexec_file_load flag (KEXEC_FILE_FORCE_DTB), so no kexec_load fallback".to_string(),
            )),
            SyscallChoice::Auto if self.req.options.no_cma => Some((
                Plan::FileLoad(file),
                "kexec_file_load (auto): --no-cma is a kexec_file_load flag (KEXEC_FILE_NO_CMA), so no kexec_load fallback".to_string(),
            )),
            SyscallChoice::Auto if load_only_option.is_some() => {
                let why = format!(
                    "kexec_load (auto): {} is honoured only by kexec_load (our boot image and purgatory)",
                    load_only_option.unwrap_or_default()
                );
                self.with_kexec_load(file, why, what)
            }
            SyscallChoice::Auto if only_kexec_load => {
                let format = crate::image::format::for_kexec_load(&file.kernel_head)
                    .map_or("this", |f| f.name());
                let why = format!(
                    "kexec_load: the kernel is {format}, which only kexec_load can take (the {} kernel's file loader does not)",
                    std::env::consts::ARCH
                );
                if self.refuse_missing_syscall(Syscall::KexecLoad) {
                    return None;
                }
                self.with_kexec_load(file, why, what)
            }
            SyscallChoice::Load => {
                let why = "kexec_load (-c): our boot image and purgatory";
                self.with_kexec_load(file, why.into(), what)
            }
            SyscallChoice::File => Some((
                Plan::FileLoad(file),
                "kexec_file_load (-s): the kernel reads and parses the kernel file itself"
                    .to_string(),
            )),
            SyscallChoice::Auto => self.auto(file, what),
        }
    }

    pub(super) fn with_kexec_load(
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
    pub(super) fn auto(&mut self, file: FileLoad, what: &str) -> Option<(Plan, String)> {
        // With kexec handover on, only a kexec_file_load image gets the
        // handed-over memory: a kexec_load fallback would boot without it.
        let handover = self.handover_blocks_fallback();
        let first = match &handover {
            Some(why) => format!("kexec_file_load (auto): {why}, so no kexec_load fallback"),
            None => "kexec_file_load (auto, the default: the file call first, kexec_load if the kernel cannot take the image that way)".to_string(),
        };
        let first = first.as_str();
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
                self.call(&file_plan, true)
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
        // The file call reached the kernel: it used one load of the limit.
        let limit_note = if r.source == Source::Kernel && falls_back(r.errno) {
            self.fallback_beyond_limit()
        } else {
            None
        };
        let limit_spent = limit_note.is_some();
        let limit_note = match (&handover, limit_note) {
            (Some(why), None) if falls_back(r.errno) => {
                self.log(format!("no kexec_load fallback: {why}"));
                Some(format!("{FALLBACK_NOT_TRIED}: {why}"))
            }
            (_, note) => note,
        };
        let r = match limit_note {
            Some(note) => Rejection {
                reason: format!("{}; {note}", r.reason),
                ..r
            },
            None => r,
        };
        // No fallback either when the kernel lacks kexec_load too.
        if !falls_back(r.errno)
            || limit_spent
            || handover.is_some()
            || rules::syscall_built(Syscall::KexecLoad, self.facts).is_err()
        {
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

    /// Why `-a` must not fall back to kexec_load: kexec handover is on and
    /// this is a kernel for `kexec -e` (see
    /// [`rules::kexec_handover_allows_kexec_load`]).
    pub(super) fn handover_blocks_fallback(&self) -> Option<String> {
        let evidence = rules::kexec_handover_binds(self.target(), self.facts)?;
        Some(format!(
            "kexec handover is on ({evidence}), and only kexec_file_load hands the preserved memory over to the next kernel"
        ))
    }

    /// After a refused kexec_file_load, whether the load limit still allows
    /// the kexec_load fallback: read again, since every call (this refused
    /// one too) lowered it. A crash reload keeps its last load for putting
    /// back the crash kernel the kernel freed. `Some(why)` means: no fallback.
    pub(super) fn fallback_beyond_limit(&mut self) -> Option<String> {
        let target = self.target();
        let (_, file) = self.facts.load_limit(target);
        let left = facts::current_load_limit(self.host, target)?;
        self.log(format!("{file} is {left} after the kexec_file_load call"));
        let keep_one = target == Target::Crash && self.crash_loaded;
        match left {
            0 => Some(format!(
                "{FALLBACK_NOT_TRIED}: {file} is now 0 (the refused kexec_file_load used the last load), so the kernel would refuse it with EPERM"
            )),
            1 if keep_one => Some(format!(
                "{FALLBACK_NOT_TRIED}: {file} is now 1, and that load is kept to put back the crash kernel the kernel freed"
            )),
            _ => None,
        }
    }

    /// The kexec_load plan for the files the file plan already opened.
    pub(super) fn kexec_load_plan(&self, file: &FileLoad) -> Result<Plan, LoadPlanError> {
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

    pub(super) fn plan_failure(&mut self, what: &str, e: &LoadPlanError) {
        let note = self.crash_aftermath(false);
        let message = format!("{what} with kexec_load: {e}{note}");
        self.fail(Failure::refused(e.rejection(), message).with_kind(FailureKind::Refused));
    }

    /// `--type`: the named loader must accept the file, as kexec-tools'
    /// probe decides ("Wrong file type ..."); formats are probed in the
    /// registry's order.
    pub(super) fn type_mismatch(wanted: &str, kernel_head: &[u8]) -> Option<String> {
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
}

/// How a refusal says the load limit stopped the `-a` fallback.
const FALLBACK_NOT_TRIED: &str = "the kexec_load fallback was not tried";
