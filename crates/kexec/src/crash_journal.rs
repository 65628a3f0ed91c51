//! Crash loads made transactional. Both system calls free the loaded crash
//! kernel before they check a new one (kexec_load in do_kexec_load,
//! kexec_file_load for KEXEC_FILE_ON_CRASH), so a reload the kernel refuses
//! for any reason — a signature, IMA, lockdown, ENOMEM, a placement the model
//! got wrong, `--skip-preflight` — leaves the machine without kdump.
//!
//! After every successful crash load we record what was loaded (system call,
//! flags, each file's path, size and SHA-256, the command line and the
//! builder's options) in `/run/kexec/crash.json`. After a failed crash load
//! we read `/sys/kernel/kexec_crash_loaded`: when the crash kernel loaded
//! before is gone, the recorded one is loaded again, once every file still
//! matches its record. What we say about the crash kernel afterwards comes
//! from that sysfs file, never from which code path ran.

use crate::arch::digests::Algorithm;
use crate::arch::{digests, BootArgs, LoadOptions};
use crate::boot;
use crate::facts::{path::KEXEC_CRASH_LOADED, Facts};
use crate::hex::{decode as unhex, encode as hex};
use crate::image::Input;
use crate::load;
use crate::plan::{describe_io, FileLoad, Plan, SegmentData, Target};
use crate::rules::Rejection;
use crate::sys::abi::{FileFlags, KexecFlags};
use crate::sys::Host;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// Where the record lives: tmpfs, so it never outlives the boot it describes.
pub const RECORD_PATH: &str = "/run/kexec/crash.json";
const RECORD_VERSION: u32 = 1;

/// One input file as it was when the crash kernel was loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedFile {
    /// The path for people; `path_hex` holds its exact bytes.
    pub path: String,
    /// The path's exact bytes, hex (a path need not be UTF-8).
    pub path_hex: String,
    /// Its size in bytes when it was loaded.
    pub size: u64,
    /// Its digest in hex ([`RecordedFile::algorithm`]); None: not a regular
    /// file (a pipe, `<(...)`, a device) — what it gave cannot be read
    /// again. (Records before XXH3 named it `sha256`.)
    #[serde(alias = "sha256")]
    pub digest: Option<String>,
    /// The hash of `digest` ([`Algorithm::name`]); records without one are
    /// SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// When set, the file was hashed in pieces of this many bytes on every
    /// CPU, and `digest` is the digest of their digests in order (of the
    /// file itself when it is one piece). Records written before pieces
    /// have none: `digest` is the file's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub piece_len: Option<u64>,
}

/// One raw segment of a kexec_load: the file that gave its bytes and where they went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedSegment {
    /// The file the bytes came from.
    pub file: RecordedFile,
    /// The segment's physical address.
    pub mem: u64,
    /// Memory it takes, at least its data's length.
    pub memsz: u64,
}

/// What it takes to make the same crash load again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recipe {
    /// kexec_file_load of a kernel (and maybe an initrd).
    FileLoad {
        /// The kernel file.
        kernel: RecordedFile,
        /// The initrd file, if any.
        initrd: Option<RecordedFile>,
        /// The command line's bytes (without the NUL), hex: it need not be UTF-8.
        cmdline_hex: String,
        /// The kexec_file_load flags.
        flags: u64,
        /// The profile of a multi-profile UKI that was loaded (0 also for
        /// any other kernel, and in records written before profiles).
        #[serde(default, skip_serializing_if = "is_zero")]
        uki_profile: u32,
    },
    /// kexec_load of a kernel through our boot image builder.
    KernelLoad {
        /// The kernel file.
        kernel: RecordedFile,
        /// The initrd file, if any.
        initrd: Option<RecordedFile>,
        /// The command line's bytes (without the NUL), hex.
        cmdline_hex: String,
        /// The boot image builder's options.
        options: LoadOptions,
        /// What the kernel received in rsi.
        boot_args: BootArgs,
        /// --entry, when it overrode the purgatory's entry.
        entry: Option<u64>,
        /// The kexec_load flags.
        flags: u64,
        /// As for a file load.
        #[serde(default, skip_serializing_if = "is_zero")]
        uki_profile: u32,
    },
    /// kexec_load of raw segments (`--segment=FILE@MEM[:MEMSZ]`).
    Segments {
        /// The segments, in order.
        segments: Vec<RecordedSegment>,
        /// The entry point.
        entry: u64,
        /// The kexec_load flags.
        flags: u64,
    },
}

/// The file /run/kexec/crash.json holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The record's layout version; a record of another version is not used.
    pub version: u32,
    /// For people reading the file; the recipe's kind decides.
    pub syscall: String,
    /// Seconds since the epoch.
    pub recorded_at: u64,
    /// How to make the load again.
    #[serde(flatten)]
    pub recipe: Recipe,
}

/// The hash the record takes of the files it hashes itself (digests the
/// plan took keep theirs): the fast one (see [`crate::arch::digests`]).
const RECORD_ALGORITHM: Algorithm = Algorithm::Xxh3_128;

/// The length and `algorithm` digest of a file, read through its open
/// descriptor a megabyte at a time (initrds can be large): with
/// `piece_len`, the combined digest of its pieces, hashed on every CPU (see
/// [`RecordedFile::piece_len`]); without, the file's (one piece).
fn digest_input(
    input: &Input,
    piece_len: Option<u64>,
    algorithm: Algorithm,
) -> io::Result<(u64, String)> {
    let piece_len = piece_len.unwrap_or(u64::MAX);
    let size = input.file.metadata()?.len();
    let ranges: Vec<(u64, u64)> = digests::pieces(size, piece_len).collect();
    let hashed = digests::in_parallel(ranges.len(), |i| {
        let (offset, len) = ranges[i];
        digests::file_range(&input.file, offset, len, algorithm).map(|digest| digests::Piece {
            offset,
            len,
            algorithm,
            digest,
        })
    });
    let pieces = hashed.into_iter().collect::<io::Result<Vec<_>>>()?;
    Ok((size, algorithm.hex(&digests::combined(&pieces))))
}

/// The digest of `input` when the plan already took it: the segment named
/// `purpose` that loads the whole file (an initrd) carries the purgatory's
/// digests of exactly those bytes, so the file is not read a second time.
/// (piece length, combined digest, its hash) as [`RecordedFile::piece_len`]
/// says.
fn digest_taken(plan: &Plan, purpose: &str, input: &Input) -> Option<(u64, String, Algorithm)> {
    let Plan::Load { segments, .. } = plan else {
        return None;
    };
    segments
        .iter()
        .find_map(|s| match (&s.data, s.digest.as_deref()) {
            (
                SegmentData::Mapped {
                    map,
                    offset: 0,
                    len,
                },
                Some(pieces @ [first, ..]),
            ) if s.purpose == purpose && *len == map.len() && *len as u64 == input.size => Some((
                first.len.max(1),
                first.algorithm.hex(&digests::combined(pieces)),
                first.algorithm,
            )),
            _ => None,
        })
}

fn recorded_input(
    input: &Input,
    taken: Option<(u64, String, Algorithm)>,
) -> io::Result<RecordedFile> {
    // A pipe or FIFO gave its bytes once (into a memfd): its path cannot give them again.
    let (size, digest, algorithm, piece_len) = if input.is_regular && input.streamed_from.is_none()
    {
        let (piece_len, (size, digest), algorithm) = match taken {
            Some((piece_len, digest, algorithm)) => (piece_len, (input.size, digest), algorithm),
            None => (
                digests::PIECE_MIN,
                digest_input(input, Some(digests::PIECE_MIN), RECORD_ALGORITHM)?,
                RECORD_ALGORITHM,
            ),
        };
        (
            size,
            Some(digest),
            Some(algorithm.name().to_string()),
            Some(piece_len),
        )
    } else {
        (input.size, None, None, None)
    };
    Ok(RecordedFile {
        path: input.display(),
        path_hex: hex(input.path.as_os_str().as_bytes()),
        size,
        digest,
        algorithm,
        piece_len,
    })
}

/// Profile 0 is not written: records stay as they were for every other load.
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The UKI profile a FileLoad read (0 for any other kernel).
fn uki_profile_of(file: &FileLoad) -> u32 {
    file.uki.as_ref().map_or(0, |u| u.profile)
}

/// The command line a FileLoad carries, as bytes.
fn cmdline_of(file: &FileLoad) -> Vec<u8> {
    file.cmdline.clone()
}

impl Recipe {
    /// A kexec_file_load that succeeded; the files are hashed through the
    /// descriptors the kernel read.
    pub fn file_load(file: &FileLoad) -> io::Result<Recipe> {
        Ok(Recipe::FileLoad {
            kernel: recorded_input(&file.kernel, None)?,
            initrd: file
                .given_initrd()
                .map(|i| recorded_input(i, None))
                .transpose()?,
            cmdline_hex: hex(&cmdline_of(file)),
            flags: file.flags.0,
            uki_profile: uki_profile_of(file),
        })
    }

    /// A kexec_load built from `file` by the boot image builder (`plan`).
    pub fn kernel_load(
        file: &FileLoad,
        plan: &Plan,
        options: &LoadOptions,
        boot_args: BootArgs,
        entry: Option<u64>,
    ) -> io::Result<Recipe> {
        let flags = match plan {
            Plan::Load { flags, .. } => flags.0,
            _ => 0,
        };
        Ok(Recipe::KernelLoad {
            kernel: recorded_input(&file.kernel, None)?,
            initrd: file
                .given_initrd()
                .map(|i| recorded_input(i, digest_taken(plan, "initrd", i)))
                .transpose()?,
            cmdline_hex: hex(&cmdline_of(file)),
            options: options.clone(),
            boot_args,
            entry,
            flags,
            uki_profile: uki_profile_of(file),
        })
    }

    /// Raw segments: `paths[i]` gave the bytes of the plan's segment i.
    pub fn segments(paths: &[&Path], plan: &Plan) -> Recipe {
        let (segments, entry, flags) = match plan {
            Plan::Load {
                segments,
                entry,
                flags,
                ..
            } => (segments.as_slice(), *entry, flags.0),
            _ => (&[][..], 0, 0),
        };
        let segments = paths
            .iter()
            .zip(segments)
            .map(|(path, s)| {
                // A pipe gave these bytes once; a regular file can give them again.
                let regular = std::fs::metadata(path).is_ok_and(|m| m.is_file());
                RecordedSegment {
                    file: RecordedFile {
                        path: path.display().to_string(),
                        path_hex: hex(path.as_os_str().as_bytes()),
                        size: s.data.len() as u64,
                        digest: regular.then(|| {
                            RECORD_ALGORITHM.hex(&digests::segment_digest(s, RECORD_ALGORITHM))
                        }),
                        algorithm: regular.then(|| RECORD_ALGORITHM.name().to_string()),
                        piece_len: None,
                    },
                    mem: s.mem,
                    memsz: s.memsz,
                }
            })
            .collect();
        Recipe::Segments {
            segments,
            entry,
            flags,
        }
    }

    /// The system call the recipe makes: "kexec_file_load" or "kexec_load".
    pub fn syscall(&self) -> &'static str {
        match self {
            Recipe::FileLoad { .. } => "kexec_file_load",
            Recipe::KernelLoad { .. } | Recipe::Segments { .. } => "kexec_load",
        }
    }

    /// Every file with its role ("kernel", "initrd", "segment 0"...).
    fn files(&self) -> Vec<(String, &RecordedFile)> {
        match self {
            Recipe::FileLoad { kernel, initrd, .. } | Recipe::KernelLoad { kernel, initrd, .. } => {
                let mut v = vec![("kernel".to_string(), kernel)];
                if let Some(i) = initrd {
                    v.push(("initrd".to_string(), i));
                }
                v
            }
            Recipe::Segments { segments, .. } => segments
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("segment {i}"), &s.file))
                .collect(),
        }
    }

    /// Why this load could not be made again, known already when it is recorded.
    pub fn unrestorable(&self) -> Option<NotRestored> {
        self.files()
            .into_iter()
            .find(|(_, f)| f.digest.is_none())
            .map(|(role, f)| NotRestored::NotRegular {
                role,
                path: f.path.clone(),
            })
    }

    /// "kexec_file_load of /boot/vmlinuz with the initrd /boot/initrd.img".
    pub fn describe(&self) -> String {
        let files = self.files();
        let what = match self {
            Recipe::Segments { .. } => files
                .iter()
                .map(|(_, f)| f.path.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            _ => {
                let mut s = files[0].1.path.clone();
                if let Some((_, i)) = files.get(1) {
                    s.push_str(&format!(" with the initrd {}", i.path));
                }
                s
            }
        };
        let kind = match self {
            Recipe::Segments { .. } => "raw segments ",
            _ => "",
        };
        format!("{} of {kind}{what}", self.syscall())
    }
}

/// Why a crash kernel freed by a failed reload was not loaded again.
#[derive(Debug, thiserror::Error)]
pub enum NotRestored {
    /// No record exists.
    #[error("no crash kernel was recorded in {RECORD_PATH} (it records the crash loads this kexec made since boot)")]
    NoRecord,
    /// The record cannot be read or parsed; the text says why.
    #[error("the record {RECORD_PATH} cannot be used: {0}")]
    BadRecord(String),
    /// An input was a pipe, FIFO or device: its bytes cannot be read again.
    #[error("the {role} {path} was not a regular file (a pipe, `<(...)` or a device) when the crash kernel was loaded, so what it gave cannot be read again")]
    NotRegular {
        /// "kernel", "initrd" or "segment N".
        role: String,
        /// The recorded path.
        path: String,
    },
    /// An input cannot be opened now.
    #[error("the {role} {path} cannot be opened: {reason}")]
    Missing {
        /// "kernel", "initrd" or "segment N".
        role: String,
        /// The recorded path.
        path: String,
        /// Why it cannot be opened.
        reason: String,
    },
    /// An input no longer matches its recorded size or SHA-256.
    #[error("the {role} {path} changed since the crash kernel was loaded: {what}")]
    Changed {
        /// "kernel", "initrd" or "segment N".
        role: String,
        /// The recorded path.
        path: String,
        /// What differs.
        what: String,
    },
    /// The recorded load could not be planned again.
    #[error("the recorded load cannot be rebuilt: {0}")]
    Rebuild(String),
    /// The kernel refused the reload.
    #[error("the reload through {syscall} failed: {rejection}")]
    Refused {
        /// The system call that was made.
        syscall: &'static str,
        /// The kernel's refusal.
        rejection: Rejection,
    },
    /// kexec_load_limit_panic is 0: the kernel takes no more crash loads.
    #[error("{} is 0: the kernel allows no more crash kernel loads until reboot (the failed reload used the last one)", crate::facts::path::KEXEC_LOAD_LIMIT_PANIC)]
    LoadLimit,
    /// The reload's system call succeeded, yet kexec_crash_loaded is not 1.
    #[error("the reload through {0} returned success, yet /sys/kernel/kexec_crash_loaded does not say 1")]
    NotLoaded(&'static str),
}

/// The crash-load record could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot record the crash kernel in {RECORD_PATH}: {}", describe_io(.0))]
pub struct RecordError(pub io::Error);

/// Records a crash load that succeeded, replacing any earlier record.
pub fn record(host: &mut dyn Host, recipe: Recipe) -> Result<Record, RecordError> {
    let record = Record {
        version: RECORD_VERSION,
        syscall: recipe.syscall().to_string(),
        recorded_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        recipe,
    };
    let mut bytes =
        serde_json::to_vec_pretty(&record).map_err(|e| RecordError(io::Error::other(e)))?;
    bytes.push(b'\n');
    if let Err(e) = host.write_state_file(RECORD_PATH, &bytes) {
        // An older record no longer describes what is loaded.
        let _ = host.remove_state_file(RECORD_PATH);
        return Err(RecordError(e));
    }
    Ok(record)
}

/// A crash unload succeeded: nothing is left to restore.
pub fn forget(host: &mut dyn Host) -> Result<(), RecordError> {
    host.remove_state_file(RECORD_PATH).map_err(RecordError)
}

/// The record, if there is one.
pub fn read_record(host: &dyn Host) -> Result<Record, NotRestored> {
    let bytes = match host.read_state_file(RECORD_PATH) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(NotRestored::NoRecord),
        Err(e) => return Err(NotRestored::BadRecord(describe_io(&e))),
    };
    let record: Record =
        serde_json::from_slice(&bytes).map_err(|e| NotRestored::BadRecord(e.to_string()))?;
    if record.version != RECORD_VERSION {
        return Err(NotRestored::BadRecord(format!(
            "version {}, this kexec writes {RECORD_VERSION}",
            record.version
        )));
    }
    Ok(record)
}

/// kexec_crash_loaded now: Ok(true/false), or why it cannot be read.
pub fn crash_loaded(host: &dyn Host) -> Result<bool, String> {
    match host.read_text(KEXEC_CRASH_LOADED) {
        Ok(t) => match t.trim() {
            "1" => Ok(true),
            "0" => Ok(false),
            other => Err(format!("{KEXEC_CRASH_LOADED} holds {other:?}")),
        },
        Err(e) => Err(format!(
            "cannot read {KEXEC_CRASH_LOADED}: {}",
            describe_io(&e)
        )),
    }
}

fn recorded_path(role: &str, file: &RecordedFile) -> Result<PathBuf, NotRestored> {
    unhex(&file.path_hex)
        .map(|b| PathBuf::from(OsString::from_vec(b)))
        .ok_or_else(|| NotRestored::BadRecord(format!("the {role}'s path_hex is not hex")))
}

/// Checks a recorded file before it is opened: it must still be a regular
/// file (opening a FIFO would block).
fn check_kind(role: &str, file: &RecordedFile) -> Result<PathBuf, NotRestored> {
    if file.digest.is_none() {
        return Err(NotRestored::NotRegular {
            role: role.to_string(),
            path: file.path.clone(),
        });
    }
    let path = recorded_path(role, file)?;
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(path),
        Ok(_) => Err(NotRestored::Changed {
            role: role.to_string(),
            path: file.path.clone(),
            what: "it is no longer a regular file".into(),
        }),
        Err(e) => Err(NotRestored::Missing {
            role: role.to_string(),
            path: file.path.clone(),
            reason: describe_io(&e),
        }),
    }
}

/// The open file holds exactly the recorded bytes (read through the same
/// descriptor that is then loaded).
fn verify(role: &str, file: &RecordedFile, input: &Input) -> Result<(), NotRestored> {
    let changed = |what: String| NotRestored::Changed {
        role: role.to_string(),
        path: file.path.clone(),
        what,
    };
    let algorithm = match file.algorithm.as_deref() {
        None => Algorithm::Sha256,
        Some(name) => Algorithm::from_name(name).ok_or_else(|| {
            NotRestored::BadRecord(format!("the {role}'s digest algorithm '{name}' is unknown"))
        })?,
    };
    let (size, digest) =
        digest_input(input, file.piece_len, algorithm).map_err(|e| NotRestored::Missing {
            role: role.to_string(),
            path: file.path.clone(),
            reason: describe_io(&e),
        })?;
    if size != file.size {
        return Err(changed(format!(
            "it has {size} bytes, {} when recorded",
            file.size
        )));
    }
    let want = file.digest.as_deref().unwrap_or("");
    if digest != want {
        return Err(changed(format!(
            "its {} is {}…, {}… when recorded",
            algorithm.name(),
            &digest[..16],
            want.get(..16).unwrap_or(want)
        )));
    }
    Ok(())
}

/// The recorded kernel and initrd, opened once and checked against the record.
fn reopen_kernel(
    kernel: &RecordedFile,
    initrd: Option<&RecordedFile>,
    cmdline_hex: &str,
    flags: FileFlags,
    uki_profile: u32,
) -> Result<FileLoad, NotRestored> {
    let kernel_path = check_kind("kernel", kernel)?;
    let initrd_path = initrd.map(|i| check_kind("initrd", i)).transpose()?;
    let cmdline = unhex(cmdline_hex)
        .ok_or_else(|| NotRestored::BadRecord("cmdline_hex is not hex".into()))?;
    let how = crate::plan::OpenOptions {
        uki_profile,
        ..Default::default()
    };
    let file = FileLoad::open_with(
        Target::Crash,
        &kernel_path,
        initrd_path.as_deref(),
        cmdline,
        flags,
        how,
    )
    .map_err(|e| NotRestored::Missing {
        role: e.role.to_string(),
        path: e.path.display().to_string(),
        reason: describe_io(&e.source),
    })?;
    verify("kernel", kernel, &file.kernel)?;
    if let (Some(rec), Some(input)) = (initrd, &file.initrd) {
        verify("initrd", rec, input)?;
    }
    Ok(file)
}

/// Builds the recorded load again from files that still match the record.
fn rebuild(host: &dyn Host, facts: &Facts, recipe: &Recipe) -> Result<Plan, NotRestored> {
    match recipe {
        Recipe::FileLoad {
            kernel,
            initrd,
            cmdline_hex,
            flags,
            uki_profile,
        } => {
            let file = reopen_kernel(
                kernel,
                initrd.as_ref(),
                cmdline_hex,
                FileFlags(*flags),
                *uki_profile,
            )?;
            Ok(Plan::FileLoad(file))
        }
        Recipe::KernelLoad {
            kernel,
            initrd,
            cmdline_hex,
            options,
            boot_args,
            entry,
            uki_profile,
            ..
        } => {
            let file = reopen_kernel(
                kernel,
                initrd.as_ref(),
                cmdline_hex,
                FileFlags(0),
                *uki_profile,
            )?;
            let mut plan = boot::plan_kexec_load(host, facts, &file, *boot_args, options)
                .map_err(|e| NotRestored::Rebuild(e.to_string()))?;
            if let (Plan::Load { entry: e, .. }, Some(addr)) = (&mut plan, entry) {
                *e = *addr;
            }
            Ok(plan)
        }
        Recipe::Segments {
            segments,
            entry,
            flags,
        } => {
            let mut built = Vec::new();
            for (i, s) in segments.iter().enumerate() {
                let role = format!("segment {i}");
                let path = check_kind(&role, &s.file)?;
                let input = Input::open(&path).map_err(|e| NotRestored::Missing {
                    role: role.clone(),
                    path: s.file.path.clone(),
                    reason: describe_io(&e),
                })?;
                verify(&role, &s.file, &input)?;
                // Mapped, not copied: the same pages go to the kernel.
                let map = input.map().map_err(|e| NotRestored::Missing {
                    role: role.clone(),
                    path: s.file.path.clone(),
                    reason: describe_io(&e),
                })?;
                built.push(crate::Segment {
                    purpose: format!("raw segment {}", s.file.path),
                    data: crate::plan::SegmentData::share(map.bytes(), &[&map]),
                    mem: s.mem,
                    memsz: s.memsz,
                    digest: None,
                });
            }
            Ok(Plan::Load {
                target: Target::Crash,
                segments: built,
                entry: *entry,
                flags: KexecFlags(*flags),
            })
        }
    }
}

/// Loads the recorded crash kernel again. The kernel accepted exactly this
/// load before, so the model is not asked: the kernel decides.
pub fn restore(host: &mut dyn Host) -> Result<Record, NotRestored> {
    let record = read_record(host)?;
    if let Some(why) = record.recipe.unrestorable() {
        return Err(why);
    }
    let facts = Facts::gather(host);
    // The kernel would refuse it with EPERM before anything else.
    if facts.load_limit_panic == Some(0) {
        return Err(NotRestored::LoadLimit);
    }
    let plan = rebuild(host, &facts, &record.recipe)?;
    let syscall = record.recipe.syscall();
    load::load(host, &plan, &facts, true)
        .map_err(|rejection| NotRestored::Refused { syscall, rejection })?;
    match crash_loaded(host) {
        Ok(true) => Ok(record),
        _ => Err(NotRestored::NotLoaded(syscall)),
    }
}

/// What became of the crash kernel after a crash load failed.
#[derive(Debug)]
pub struct Aftermath {
    /// A crash kernel was loaded before the attempt.
    pub loaded_before: bool,
    /// kexec_crash_loaded right after the attempt, or why it is unknown.
    pub after_attempt: Result<bool, String>,
    /// Whether the recorded crash kernel had to be, and was, loaded again.
    pub restore: Restore,
}

/// What became of the crash kernel: left alone, restored, or not restored and why.
#[derive(Debug)]
pub enum Restore {
    /// Nothing was lost (or nothing was there to lose), or the state is unknown.
    NotNeeded,
    /// The recorded crash kernel was loaded again.
    Restored(Box<Record>),
    /// It was not restored; the reason says why.
    Failed(NotRestored),
}

/// After a crash load failed: reads kexec_crash_loaded and, when the crash
/// kernel loaded before is gone, restores the recorded one.
pub fn after_failed_load(host: &mut dyn Host, loaded_before: bool) -> Aftermath {
    let after_attempt = crash_loaded(host);
    let restore = match after_attempt {
        Ok(false) if loaded_before => match restore(host) {
            Ok(record) => Restore::Restored(Box::new(record)),
            Err(why) => Restore::Failed(why),
        },
        _ => Restore::NotNeeded,
    };
    Aftermath {
        loaded_before,
        after_attempt,
        restore,
    }
}

impl Aftermath {
    /// kexec_crash_loaded now, as far as it is known.
    pub fn loaded_now(&self) -> Option<bool> {
        match &self.restore {
            Restore::Restored(_) => Some(true),
            _ => self.after_attempt.as_ref().ok().copied(),
        }
    }

    /// The sentence that follows the failure ("— ..."), or "" when no crash
    /// kernel was loaded before and none is now.
    pub fn describe(&self, region: &str) -> String {
        const FREED: &str =
            "the kernel had unloaded the crash kernel loaded before (it frees it before it checks a new one)";
        match (&self.restore, &self.after_attempt) {
            (Restore::Restored(r), _) => format!(
                " — {FREED}; it was restored from {RECORD_PATH}: {} (kexec_crash_loaded is 1 again)",
                r.recipe.describe()
            ),
            (Restore::Failed(why), _) => format!(
                " — {FREED} and it was NOT restored: {why}. No crash kernel is loaded now (kexec_crash_loaded is 0): load a working one"
            ),
            (Restore::NotNeeded, Ok(true)) if self.loaded_before => format!(
                " — the crash kernel loaded before stays loaded (kexec_crash_loaded is 1) in the Crash kernel region {region}"
            ),
            (Restore::NotNeeded, Ok(true)) => {
                " — a crash kernel is loaded (kexec_crash_loaded is 1)".into()
            }
            // Only when none was loaded before: a lost one is always restored or explained.
            (Restore::NotNeeded, Ok(false)) => String::new(),
            (Restore::NotNeeded, Err(why)) => format!(
                " — whether a crash kernel is still loaded is unknown: {why}; check with `kexec -S`"
            ),
        }
    }

    /// The `crash_kernel` field of `--json`.
    pub fn to_json(&self) -> Value {
        let (restored, why) = match &self.restore {
            Restore::Restored(_) => (json!(true), Value::Null),
            Restore::Failed(why) => (json!(false), json!(why.to_string())),
            Restore::NotNeeded => (Value::Null, Value::Null),
        };
        json!({
            "loaded_before": self.loaded_before,
            "loaded_after_attempt": self.after_attempt.as_ref().ok(),
            "loaded": self.loaded_now(),
            "restored": restored,
            "not_restored_because": why,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fake::CRASH_LOADED;
    use crate::sys::FakeHost;

    fn file(path: &[u8], sha256: Option<&str>) -> RecordedFile {
        RecordedFile {
            path: String::from_utf8_lossy(path).into_owned(),
            path_hex: hex(path),
            size: 4,
            digest: sha256.map(str::to_string),
            algorithm: None,
            piece_len: None,
        }
    }

    fn file_recipe(initrd: RecordedFile) -> Recipe {
        Recipe::FileLoad {
            kernel: file(b"/boot/vmlinuz", Some("00")),
            initrd: Some(initrd),
            cmdline_hex: hex(b"irqpoll \xff"),
            flags: 2,
            uki_profile: 0,
        }
    }

    #[test]
    fn a_record_without_a_uki_profile_reads_as_profile_0() {
        let old = r#"{"kind":"file_load","kernel":{"path":"/k","path_hex":"2f6b","size":1,"sha256":null},"initrd":null,"cmdline_hex":"","flags":2}"#;
        let recipe: Recipe = serde_json::from_str(old).unwrap();
        assert!(
            matches!(recipe, Recipe::FileLoad { uki_profile: 0, .. }),
            "{recipe:?}"
        );
    }

    #[test]
    fn the_record_round_trips_paths_and_command_lines_as_bytes() {
        let mut host = FakeHost::typical();
        let recipe = file_recipe(file(b"/boot/initrd-\xe9.img", Some("00")));
        record(&mut host, recipe.clone()).unwrap();
        let text = String::from_utf8(host.state_files[RECORD_PATH].clone()).unwrap();
        assert!(text.contains("\"syscall\": \"kexec_file_load\""), "{text}");
        assert!(text.contains("\"kind\": \"file_load\""), "{text}");
        let back = read_record(&host).unwrap();
        assert_eq!(back.recipe, recipe);
        let Recipe::FileLoad {
            initrd,
            cmdline_hex,
            ..
        } = back.recipe
        else {
            unreachable!()
        };
        assert_eq!(
            recorded_path("initrd", &initrd.unwrap()).unwrap(),
            PathBuf::from(OsString::from_vec(b"/boot/initrd-\xe9.img".to_vec()))
        );
        assert_eq!(unhex(&cmdline_hex).unwrap(), b"irqpoll \xff");
        forget(&mut host).unwrap();
        assert!(matches!(read_record(&host), Err(NotRestored::NoRecord)));
    }

    #[test]
    fn an_initrd_from_a_pipe_cannot_be_restored_and_is_named() {
        let mut host = FakeHost::typical();
        let recipe = file_recipe(file(b"/dev/fd/63", None));
        assert!(recipe.unrestorable().is_some());
        record(&mut host, recipe).unwrap();
        host.set(CRASH_LOADED, "0\n");
        let after = after_failed_load(&mut host, true);
        assert!(matches!(
            after.restore,
            Restore::Failed(NotRestored::NotRegular { .. })
        ));
        let text = after.describe("[r]");
        assert!(
            text.contains("NOT restored: the initrd /dev/fd/63 was not a regular file"),
            "{text}"
        );
        assert!(host.calls.is_empty());
        assert_eq!(after.to_json()["loaded"], false);
    }

    #[test]
    fn the_state_comes_from_sysfs_not_from_the_path_taken() {
        let mut host = FakeHost::typical();
        record(&mut host, file_recipe(file(b"/i", Some("00")))).unwrap();
        // Still loaded (the kernel refused before freeing it): nothing to do.
        host.set(CRASH_LOADED, "1\n");
        let after = after_failed_load(&mut host, true);
        assert!(matches!(after.restore, Restore::NotNeeded));
        assert!(after
            .describe("[r]")
            .contains("stays loaded (kexec_crash_loaded is 1) in the Crash kernel region [r]"));
        // Unknown: say so, and do not load over what may still be there.
        host.unset(CRASH_LOADED);
        let after = after_failed_load(&mut host, true);
        assert!(matches!(after.restore, Restore::NotNeeded));
        assert!(
            after.describe("[r]").contains("unknown"),
            "{}",
            after.describe("[r]")
        );
        assert_eq!(after.to_json()["loaded"], Value::Null);
        assert!(host.calls.is_empty());
        // None loaded before: nothing restored, nothing claimed.
        host.set(CRASH_LOADED, "0\n");
        let after = after_failed_load(&mut host, false);
        assert_eq!(after.describe("[r]"), "");
        assert!(host.calls.is_empty());
    }

    #[test]
    fn a_bad_record_is_reported_not_trusted() {
        let mut host = FakeHost::typical();
        host.state_files
            .insert(RECORD_PATH.into(), b"{ not json".to_vec());
        host.set(CRASH_LOADED, "0\n");
        let after = after_failed_load(&mut host, true);
        assert!(
            after
                .describe("")
                .contains("the record /run/kexec/crash.json cannot be used"),
            "{}",
            after.describe("")
        );
        assert!(host.calls.is_empty());
    }

    /// A kexec_load record as /run/kexec/crash.json holds it today (written
    /// before the options were split per architecture) still reads, and is
    /// written back byte for byte the same.
    #[test]
    fn a_kernel_load_record_in_the_current_format_reads_and_writes_the_same() {
        let text = r#"{
  "version": 1,
  "syscall": "kexec_load",
  "recorded_at": 1796000000,
  "kind": "kernel_load",
  "kernel": {
    "path": "/boot/vmlinuz",
    "path_hex": "2f626f6f742f766d6c696e757a",
    "size": 4,
    "digest": "00",
    "algorithm": "xxh3-128"
  },
  "initrd": null,
  "cmdline_hex": "697271706f6c6c",
  "options": {
    "mem_min": 4096,
    "mem_max": 18446744073709551615,
    "skip_checks": true,
    "console": {
      "port": 760,
      "baud": 9600
    },
    "no_efi": true,
    "reset_vga": false,
    "console_vga": true,
    "reuse_video_type": false,
    "pass_memmap_cmdline": true
  },
  "boot_args": "None",
  "entry": null,
  "flags": 3014657
}"#;
        let record: Record = serde_json::from_str(text).unwrap();
        let Recipe::KernelLoad {
            options, boot_args, ..
        } = &record.recipe
        else {
            panic!("not a kernel load: {record:?}")
        };
        assert_eq!(*boot_args, BootArgs::None);
        assert_eq!(
            (options.mem_min, options.mem_max, options.skip_checks),
            (4096, u64::MAX, true)
        );
        let x86 = &options.x86_64;
        assert_eq!(
            x86.console,
            Some(crate::arch::x86_64::purgatory::SerialConsole {
                port: 0x2f8,
                baud: 9600
            })
        );
        assert_eq!(
            (x86.no_efi, x86.reset_vga, x86.console_vga),
            (true, false, true)
        );
        assert_eq!(
            (x86.reuse_video_type, x86.pass_memmap_cmdline),
            (false, true)
        );
        assert_eq!(serde_json::to_string_pretty(&record).unwrap(), text);
    }
}
