//! Kexec handover (KHO, Linux 6.16+) and the Live Update Orchestrator
//! (LUO, 6.19+), as far as a kexec tool is concerned: whether the running
//! kernel has them, whether they are on, and where KHO's scratch areas are.
//!
//! What matters for loading: with KHO on, the kernel adds its handover
//! data (the KHO FDT and the scratch area list) to images loaded with
//! kexec_file_load only (x86: a SETUP_KEXEC_KHO setup_data entry; arm64:
//! properties under /chosen), and places their segments in the scratch
//! areas. A kexec_load image gets none of it: the next kernel boots without
//! the memory the running one handed over.
//!
//! Facts from the kernel's sources (read, not copied):
//! - `CONFIG_KEXEC_HANDOVER`; `CONFIG_KEXEC_HANDOVER_ENABLE_DEFAULT` (later
//!   kernels) turns it on without `kho=`; `kho=` is parsed by `kstrtobool`
//!   as an early parameter (the last valid one wins).
//! - debugfs (`CONFIG_KEXEC_HANDOVER_DEBUGFS`, default with KHO):
//!   /sys/kernel/debug/kho exists only when KHO is on (kho_init returns
//!   early otherwise); out/scratch_phys and out/scratch_len list the
//!   scratch areas one hex number a line; the first KHO kernels (6.16)
//!   also have out/finalize (0 or 1), which mainline has since dropped
//!   (kexec -e finalizes).
//! - LUO: `CONFIG_LIVEUPDATE` (needs KHO), `liveupdate=` (kstrtobool, off by
//!   default), and /dev/liveupdate, registered only when LUO is on (which
//!   needs KHO on too).

use crate::facts::{config_value, flag_file, path, Support};
use crate::memory::Range;
use serde::Serialize;

/// The first release with kexec handover.
pub const KHO_SINCE: (u32, u32) = (6, 16);
/// The first release with the Live Update Orchestrator (/dev/liveupdate).
pub const LIVEUPDATE_SINCE: (u32, u32) = (6, 19);

/// Kexec handover in the running kernel. Unknown stays None.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Handover {
    /// CONFIG_KEXEC_HANDOVER, and the fact that says so.
    pub built: Support,
    /// Whether KHO is on now; None when no fact decides it.
    pub on: Option<bool>,
    /// The fact behind `on` (also when it stays unknown).
    pub on_evidence: Option<String>,
    /// The `kho=` word of /proc/cmdline the kernel acts on (the last one).
    pub cmdline_word: Option<String>,
    /// The `kho_scratch=` word, as given.
    pub scratch_param: Option<String>,
    /// The scratch areas from debugfs; None when unreadable (debugfs is
    /// root's, and only there with KHO on).
    pub scratch: Option<Vec<Range>>,
    /// 6.16's /sys/kernel/debug/kho/out/finalize; None where missing.
    pub finalized: Option<bool>,
    /// The Live Update Orchestrator.
    pub liveupdate: Liveupdate,
}

/// The Live Update Orchestrator in the running kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Liveupdate {
    /// CONFIG_LIVEUPDATE, and the fact that says so.
    pub built: Support,
    /// Whether LUO is on (/dev/liveupdate is there); None when unknown.
    pub on: Option<bool>,
    /// The fact behind `on`.
    pub on_evidence: Option<String>,
    /// The `liveupdate=` word of /proc/cmdline the kernel acts on.
    pub cmdline_word: Option<String>,
    /// Whether /dev/liveupdate exists; None when /dev cannot be listed.
    pub device: Option<bool>,
}

/// The kernel's `kstrtobool` for the words every kernel with KHO takes:
/// y/Y/t/T/1 and "on" are true, n/N/f/F/0 and "off" false (only the first
/// character counts, two for o...). None for anything else, including e/d
/// ("enable"/"disable"), which only the newest kernels take.
///
/// ```rust
/// use kexec::handover::kstrtobool;
/// assert_eq!(kstrtobool("on"), Some(true));
/// assert_eq!(kstrtobool("Yes"), Some(true));
/// assert_eq!(kstrtobool("0"), Some(false));
/// assert_eq!(kstrtobool("oFF"), Some(false));
/// assert_eq!(kstrtobool("o"), None);
/// assert_eq!(kstrtobool("enable"), None);
/// assert_eq!(kstrtobool(""), None);
/// ```
pub fn kstrtobool(word: &str) -> Option<bool> {
    let b = word.as_bytes();
    match b.first()? {
        b'y' | b'Y' | b't' | b'T' | b'1' => Some(true),
        b'n' | b'N' | b'f' | b'F' | b'0' => Some(false),
        b'o' | b'O' => match b.get(1)? {
            b'n' | b'N' => Some(true),
            b'f' | b'F' => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// What a boolean early parameter's words in a command line come to.
#[derive(Debug, PartialEq, Eq)]
pub enum Param {
    /// No `name=` word the kernel takes.
    Absent,
    /// The last word every kernel takes, and its value.
    Set(String, bool),
    /// The last word is one only some kernels take (e/d: enable/disable).
    Unsure(String),
}

impl Param {
    /// The word the kernel acts on, as given; None when absent.
    pub fn word(&self) -> Option<String> {
        match self {
            Param::Set(w, _) | Param::Unsure(w) => Some(w.clone()),
            Param::Absent => None,
        }
    }
}

/// `name=value` early parameters of a command line as the kernel reads
/// them: words after `--` go to init, a word the parser refuses changes
/// nothing, the last accepted one wins.
///
/// ```rust
/// use kexec::handover::{boolean_param, Param};
/// let line = b"root=/dev/vda1 kho=on kho_scratch=16M,512M,256M";
/// assert_eq!(boolean_param(line, "kho"), Param::Set("kho=on".into(), true));
/// assert_eq!(boolean_param(b"kho=on kho=bogus kho=0", "kho"), Param::Set("kho=0".into(), false));
/// assert_eq!(boolean_param(b"quiet -- kho=on", "kho"), Param::Absent);
/// ```
pub fn boolean_param(cmdline: &[u8], name: &str) -> Param {
    let line = String::from_utf8_lossy(cmdline);
    let prefix = format!("{name}=");
    let mut found = Param::Absent;
    for word in line.split_ascii_whitespace() {
        if word == "--" {
            break;
        }
        let Some(value) = word.strip_prefix(&prefix) else {
            continue;
        };
        // Quotes around the value are the parser's, not the value's.
        let value = value.trim_matches('"');
        match kstrtobool(value) {
            Some(v) => found = Param::Set(word.to_string(), v),
            None if value.starts_with(['e', 'E', 'd', 'D']) => {
                found = Param::Unsure(word.to_string())
            }
            None => {}
        }
    }
    found
}

/// The `kho_scratch=` word, when there is one.
fn scratch_word(cmdline: &[u8]) -> Option<String> {
    String::from_utf8_lossy(cmdline)
        .split_ascii_whitespace()
        .take_while(|w| *w != "--")
        .filter(|w| w.starts_with("kho_scratch="))
        .last()
        .map(str::to_string)
}

/// One hex number a line ("0x1f000000"), as scratch_phys and scratch_len print them.
fn hex_lines(text: &str) -> Option<Vec<u64>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(crate::memory::parse_hex)
        .collect()
}

/// The scratch areas, when both files can be read and agree.
fn scratch_areas(host: &dyn crate::sys::Host) -> Option<Vec<Range>> {
    let phys = hex_lines(&host.read_text(path::KHO_SCRATCH_PHYS).ok()?)?;
    let len = hex_lines(&host.read_text(path::KHO_SCRATCH_LEN).ok()?)?;
    if phys.len() != len.len() {
        return None;
    }
    phys.iter()
        .zip(&len)
        .map(|(&start, &size)| Some(Range::new(start, start.checked_add(size)?)))
        .collect()
}

/// Whether `dir` lists `name`: None when `dir` cannot be listed.
fn dir_has(host: &dyn crate::sys::Host, dir: &str, name: &str) -> Option<bool> {
    let names = host.list_dir(dir).ok()?;
    Some(names.iter().any(|n| n == name))
}

fn version_text((major, minor): (u32, u32)) -> String {
    format!("{major}.{minor}")
}

/// Whether `feature` is built in: its config `option` when the config says
/// (the file it came from named), else "no" for a release before `since`,
/// else unknown.
fn built_in(
    config: Option<&(String, String)>,
    option: &str,
    version: Option<(u32, u32)>,
    since: (u32, u32),
    feature: &str,
) -> Support {
    let said = config.and_then(|(text, source)| Some((config_value(text, option)?, source)));
    match (said, version) {
        (Some((true, source)), _) => Support::known(true, format!("{option}=y in {source}")),
        (Some((false, source)), _) => {
            Support::known(false, format!("{option} is not set in {source}"))
        }
        (_, Some(v)) if v < since => Support::known(
            false,
            format!(
                "Linux {} predates {feature} ({})",
                version_text(v),
                version_text(since)
            ),
        ),
        _ => Support::default(),
    }
}

impl Handover {
    /// The facts, from the kernel's config (when found), /proc/cmdline,
    /// debugfs and /dev. `version` is the running kernel's (major, minor).
    pub fn gather(
        host: &dyn crate::sys::Host,
        config: Option<&(String, String)>,
        cmdline: Option<&[u8]>,
        version: Option<(u32, u32)>,
    ) -> Handover {
        let debugfs = host.list_dir(path::KHO_DEBUGFS).is_ok();
        let device = dir_has(host, path::DEV, "liveupdate");
        let option = |name: &str| config.and_then(|(text, _)| config_value(text, name));
        let source = config.map(|(_, s)| s.as_str()).unwrap_or_default();
        let dev = path::LIVEUPDATE_DEV;

        let built = if debugfs {
            Support::known(true, format!("{} exists", path::KHO_DEBUGFS))
        } else if device == Some(true) {
            Support::known(true, format!("{dev} exists (LUO needs KHO)"))
        } else {
            built_in(
                config,
                "CONFIG_KEXEC_HANDOVER",
                version,
                KHO_SINCE,
                "kexec handover",
            )
        };

        let kho_param = cmdline.map_or(Param::Absent, |l| boolean_param(l, "kho"));
        let cmdline_word = kho_param.word();
        let (on, on_evidence) = if built.built == Some(false) {
            (Some(false), built.evidence.clone())
        } else if debugfs {
            (
                Some(true),
                Some(format!(
                    "{} exists: the kernel makes it only with KHO on",
                    path::KHO_DEBUGFS
                )),
            )
        } else if device == Some(true) {
            (
                Some(true),
                Some(format!("{dev} exists: LUO runs only with KHO on")),
            )
        } else {
            let built_in = built.built == Some(true);
            match (&kho_param, cmdline) {
                (_, None) => (None, Some(format!("{} cannot be read", path::CMDLINE))),
                (Param::Set(w, v), _) if built_in => {
                    (Some(*v), Some(format!("{w} in {}", path::CMDLINE)))
                }
                (Param::Set(w, _), _) => (
                    None,
                    Some(format!(
                        "{w} in {}, but whether the kernel has CONFIG_KEXEC_HANDOVER is unknown",
                        path::CMDLINE
                    )),
                ),
                (Param::Unsure(w), _) => (
                    None,
                    Some(format!(
                        "{w} in {}: only the newest kernels' kstrtobool takes e/d words",
                        path::CMDLINE
                    )),
                ),
                // No kho= word: the build's default.
                (Param::Absent, _) if built_in && config.is_some() => {
                    let default = option("CONFIG_KEXEC_HANDOVER_ENABLE_DEFAULT") == Some(true);
                    let why = if default {
                        format!(
                            "CONFIG_KEXEC_HANDOVER_ENABLE_DEFAULT=y in {source} and no kho= in {}",
                            path::CMDLINE
                        )
                    } else {
                        format!("no kho= in {} (off by default)", path::CMDLINE)
                    };
                    (Some(default), Some(why))
                }
                (Param::Absent, _) => (None, None),
            }
        };

        let finalized = flag_file(host, path::KHO_FINALIZE);
        Handover {
            scratch: scratch_areas(host),
            scratch_param: cmdline.and_then(scratch_word),
            finalized,
            liveupdate: Liveupdate::gather(config, cmdline, version, device, on, &built),
            built,
            on,
            on_evidence,
            cmdline_word,
        }
    }

    /// A kernel without kexec_file_load has no KHO either
    /// (CONFIG_KEXEC_HANDOVER selects CONFIG_KEXEC_FILE), nor LUO (which
    /// needs KHO). Facts that show KHO there win over this.
    pub fn without_kexec_file_load(&mut self, why: &str) {
        let evidence =
            format!("kexec handover needs kexec_file_load, which this kernel lacks: {why}");
        if self.built.built.is_none() {
            self.built = Support::known(false, evidence.clone());
            self.on = Some(false);
            self.on_evidence = Some(evidence.clone());
        }
        if self.liveupdate.built.built.is_none() {
            self.liveupdate.built = Support::known(false, evidence.clone());
            self.liveupdate.on = Some(false);
            self.liveupdate.on_evidence = Some(evidence);
        }
    }

    /// Whether KHO is known to be on: then only kexec_file_load hands its
    /// memory over to a kernel loaded for `kexec -e`.
    pub fn is_on(&self) -> bool {
        self.on == Some(true)
    }
}

impl Liveupdate {
    fn gather(
        config: Option<&(String, String)>,
        cmdline: Option<&[u8]>,
        version: Option<(u32, u32)>,
        device: Option<bool>,
        kho_on: Option<bool>,
        kho_built: &Support,
    ) -> Liveupdate {
        let dev = path::LIVEUPDATE_DEV;
        let built = if device == Some(true) {
            Support::known(true, format!("{dev} exists"))
        } else {
            match built_in(
                config,
                "CONFIG_LIVEUPDATE",
                version,
                LIVEUPDATE_SINCE,
                "the Live Update Orchestrator",
            ) {
                // CONFIG_LIVEUPDATE depends on KHO: a config without KHO has
                // no CONFIG_LIVEUPDATE line at all, not even "is not set".
                unknown if unknown.built.is_none() && kho_built.built == Some(false) => {
                    Support::known(
                        false,
                        format!(
                            "it needs kexec handover, which is not built in: {}",
                            kho_built.evidence.as_deref().unwrap_or("unknown why")
                        ),
                    )
                }
                known => known,
            }
        };
        let param = cmdline.map_or(Param::Absent, |l| boolean_param(l, "liveupdate"));
        let cmdline_word = param.word();
        // The device is the one sure sign; its absence counts only where
        // /dev was listed.
        let (on, on_evidence) = match (device, &built.built) {
            (Some(true), _) => (Some(true), Some(format!("{dev} exists"))),
            (_, Some(false)) => (Some(false), built.evidence.clone()),
            (Some(false), _) => {
                let why = match (&param, kho_on) {
                    (Param::Absent, _) => format!(
                        "{dev} does not exist: no liveupdate= in {} (off by default)",
                        path::CMDLINE
                    ),
                    (_, Some(false)) => format!("{dev} does not exist: KHO is off"),
                    (Param::Set(w, _) | Param::Unsure(w), _) => {
                        format!("{dev} does not exist ({w} in {})", path::CMDLINE)
                    }
                };
                (Some(false), Some(why))
            }
            (None, _) if kho_on == Some(false) => (
                Some(false),
                Some("KHO is off, and LUO turns itself off without it".to_string()),
            ),
            (None, _) => (None, Some(format!("{} cannot be listed", path::DEV))),
        };
        Liveupdate {
            built,
            on,
            on_evidence,
            cmdline_word,
            device,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::FakeHost;

    const CONFIG: &str = "/boot/config-6.18.0";

    fn config(text: &str) -> (String, String) {
        (text.to_string(), CONFIG.to_string())
    }

    #[test]
    fn kstrtobool_takes_what_the_kernel_takes() {
        for w in ["1", "y", "Y", "yes", "t", "true", "on", "ON", "oN"] {
            assert_eq!(kstrtobool(w), Some(true), "{w}");
        }
        for w in ["0", "n", "no", "N", "f", "false", "off", "OF"] {
            assert_eq!(kstrtobool(w), Some(false), "{w}");
        }
        for w in ["", "o", "ox", "2", "x", "enable", "disable", " on"] {
            assert_eq!(kstrtobool(w), None, "{w}");
        }
    }

    #[test]
    fn the_last_valid_word_before_the_init_arguments_wins() {
        assert_eq!(
            boolean_param(b"kho=1 kho=x", "kho"),
            Param::Set("kho=1".into(), true)
        );
        assert_eq!(
            boolean_param(b"kho_scratch=5% kho=\"off\"", "kho"),
            Param::Set("kho=\"off\"".into(), false)
        );
        assert_eq!(
            boolean_param(b"kho=on kho=enable", "kho"),
            Param::Unsure("kho=enable".into())
        );
        assert_eq!(boolean_param(b"kho", "kho"), Param::Absent);
        assert_eq!(boolean_param(b"nokho=1", "kho"), Param::Absent);
    }

    #[test]
    fn scratch_areas_pair_the_two_files() {
        let mut host = FakeHost::typical();
        host.set(path::KHO_SCRATCH_PHYS, "0x1000000\n0x100000000\n");
        host.set(path::KHO_SCRATCH_LEN, "0x1000000\n0x20000000\n");
        assert_eq!(
            scratch_areas(&host),
            Some(vec![
                Range::new(0x100_0000, 0x200_0000),
                Range::new(0x1_0000_0000, 0x1_2000_0000)
            ])
        );
        host.set(path::KHO_SCRATCH_LEN, "0x1000000\n");
        assert_eq!(scratch_areas(&host), None, "counts differ");
        host.set(path::KHO_SCRATCH_LEN, "0x1000000\nzz\n");
        assert_eq!(scratch_areas(&host), None, "not hex");
    }

    #[test]
    fn kho_state_from_config_and_cmdline() {
        let host = FakeHost::typical();
        let v = Some((6, 18));
        // Not built.
        let c = config("# CONFIG_KEXEC_HANDOVER is not set\n");
        let h = Handover::gather(&host, Some(&c), Some(b"kho=on"), v);
        assert_eq!((h.built.built, h.on), (Some(false), Some(false)));
        // Built, no kho=: off; kho=on: on; the default option: on.
        let c = config("CONFIG_KEXEC_HANDOVER=y\n");
        assert_eq!(
            Handover::gather(&host, Some(&c), Some(b"quiet"), v).on,
            Some(false)
        );
        let h = Handover::gather(&host, Some(&c), Some(b"kho=y"), v);
        assert_eq!(h.on, Some(true));
        assert_eq!(h.cmdline_word.as_deref(), Some("kho=y"));
        let c = config("CONFIG_KEXEC_HANDOVER=y\nCONFIG_KEXEC_HANDOVER_ENABLE_DEFAULT=y\n");
        assert_eq!(
            Handover::gather(&host, Some(&c), Some(b"quiet"), v).on,
            Some(true)
        );
        assert_eq!(
            Handover::gather(&host, Some(&c), Some(b"kho=off"), v).on,
            Some(false)
        );
        // No config: kho=on alone proves nothing.
        let h = Handover::gather(&host, None, Some(b"kho=on"), v);
        assert_eq!((h.built.built, h.on), (None, None));
        assert!(h.on_evidence.unwrap().contains("unknown"));
        // An old kernel has none, whatever the command line says.
        let mut h = Handover::gather(&host, None, Some(b"kho=on"), v);
        h.without_kexec_file_load("CONFIG_KEXEC_FILE is not set in /boot/config-x");
        assert_eq!((h.built.built, h.on), (Some(false), Some(false)));
        assert_eq!(h.liveupdate.built.built, Some(false));
        assert!(h
            .on_evidence
            .unwrap()
            .ends_with("lacks: CONFIG_KEXEC_FILE is not set in /boot/config-x"));
        let h = Handover::gather(&host, None, Some(b"kho=on"), Some((6, 12)));
        assert_eq!((h.built.built, h.on), (Some(false), Some(false)));
        assert_eq!(
            h.built.evidence.as_deref(),
            Some("Linux 6.12 predates kexec handover (6.16)")
        );
    }

    #[test]
    fn debugfs_and_the_device_prove_kho_on() {
        let mut host = FakeHost::typical();
        host.set(path::KHO_SCRATCH_PHYS, "0x1000000\n");
        host.set(path::KHO_SCRATCH_LEN, "0x2000000\n");
        host.set(path::KHO_FINALIZE, "0\n");
        // A stale config saying otherwise loses to what the kernel shows.
        let c = config("# CONFIG_KEXEC_HANDOVER is not set\n");
        let h = Handover::gather(&host, Some(&c), Some(b"quiet"), Some((6, 16)));
        assert_eq!(
            (h.built.built, h.on, h.finalized),
            (Some(true), Some(true), Some(false))
        );
        assert_eq!(h.scratch, Some(vec![Range::new(0x100_0000, 0x300_0000)]));

        let mut host = FakeHost::typical();
        host.set(path::LIVEUPDATE_DEV, "");
        let h = Handover::gather(&host, None, Some(b"kho=on liveupdate=on"), Some((6, 19)));
        assert_eq!(h.on, Some(true));
        assert_eq!(h.scratch, None, "debugfs unreadable: unknown, not empty");
        assert_eq!(
            (h.liveupdate.on, h.liveupdate.device),
            (Some(true), Some(true))
        );
    }

    /// Debian unstable's 7.2 config: "# CONFIG_KEXEC_HANDOVER is not set"
    /// and no CONFIG_LIVEUPDATE line at all (it depends on KHO), with /dev
    /// listed: neither is built in, and LUO says it is for want of KHO.
    #[test]
    fn a_config_without_kho_has_no_luo_either() {
        let mut host = FakeHost::typical();
        host.set("/dev/null", "");
        let c = config("CONFIG_KEXEC_FILE=y\n# CONFIG_KEXEC_HANDOVER is not set\n");
        let h = Handover::gather(&host, Some(&c), Some(b"quiet"), Some((7, 2)));
        assert_eq!(h.built.built, Some(false));
        assert_eq!(
            (h.liveupdate.built.built, h.liveupdate.on),
            (Some(false), Some(false))
        );
        let why = h.liveupdate.built.evidence.unwrap();
        assert!(
            why.starts_with("it needs kexec handover, which is not built in: CONFIG_KEXEC_HANDOVER is not set in"),
            "{why}"
        );
    }

    #[test]
    fn liveupdate_states() {
        // 6.1: not built, by version.
        let host = FakeHost::typical();
        let h = Handover::gather(&host, None, Some(b"quiet"), Some((6, 1)));
        assert_eq!(h.liveupdate.built.built, Some(false));
        assert_eq!(h.liveupdate.on, Some(false));
        assert_eq!(
            h.liveupdate.device, None,
            "/dev cannot be listed in the fake"
        );
        // Built, /dev listed without the device: off, and why.
        let mut host = FakeHost::typical();
        host.set("/dev/null", "");
        let c = config("CONFIG_KEXEC_HANDOVER=y\nCONFIG_LIVEUPDATE=y\n");
        let h = Handover::gather(&host, Some(&c), Some(b"kho=on"), Some((6, 19)));
        assert_eq!(
            (h.liveupdate.built.built, h.liveupdate.on),
            (Some(true), Some(false))
        );
        assert!(
            h.liveupdate
                .on_evidence
                .as_deref()
                .unwrap()
                .contains("no liveupdate="),
            "{:?}",
            h.liveupdate.on_evidence
        );
        // Built, KHO off, /dev not listable: off all the same.
        let h = Handover::gather(
            &FakeHost::typical(),
            Some(&c),
            Some(b"kho=off"),
            Some((6, 19)),
        );
        assert_eq!(h.liveupdate.on, Some(false));
        // Built, nothing listable: unknown.
        let host = FakeHost::typical();
        let h = Handover::gather(&host, Some(&c), Some(b"kho=on"), Some((6, 19)));
        assert_eq!(h.liveupdate.on, None);
    }
}
