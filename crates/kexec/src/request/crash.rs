//! The crash-reload transaction: a crash load that succeeds is recorded;
//! one that fails reports (and, when the kernel had freed it, restores) the
//! crash kernel loaded before.

use super::run::Run;
use super::*;

impl Run<'_> {
    /// "[0x...-0x...] (256 MiB)", for messages about crash loads.
    pub(super) fn crash_region(&self) -> String {
        match self.facts.main_crash_region() {
            Some(r) if r.start != 0 => format!("[{r}] ({})", human_size(r.size())),
            _ => format!("({})", human_size(self.facts.crash_region_size())),
        }
    }

    /// After a failed crash load: what /sys/kernel/kexec_crash_loaded says
    /// now, with the crash kernel loaded before restored from its record
    /// when the kernel had freed it. "" for anything but a crash load.
    pub(super) fn crash_aftermath(&mut self, unload: bool) -> String {
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
    pub(super) fn finish(&mut self, plan: Plan, result: Result<(), Rejection>, what: &str) {
        if let Err(r) = result {
            let note = self.crash_aftermath(plan.is_unload());
            let message = format!("{what}: {r}{note}");
            self.fail(Failure::refused(r, message));
        }
        self.out.plan = Some(plan);
    }

    /// `finish` for a load; a crash load that succeeded is recorded, so
    /// that a failed reload can restore it.
    pub(super) fn finish_load(
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

    /// A kernel load's end; a successful crash load is recorded with the
    /// files its plan was made from.
    pub(super) fn finish_kernel_load(
        &mut self,
        plan: Plan,
        result: Result<(), Rejection>,
        what: &str,
    ) {
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

    pub(super) fn remember_crash_load(&mut self, recipe: std::io::Result<Recipe>) {
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
}
