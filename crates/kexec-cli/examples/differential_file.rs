//! Differential test of the kexec_file_load half of the rules model against
//! the running kernel (run it in a disposable guest, as root: it makes real
//! kexec_file_load calls and unloads whatever loaded).
//!
//! For each case a seeded generator mutates a real bzImage (the "HdrS"
//! magic, boot_flag, protocol version, loadflags, xloadflags bits,
//! kernel_alignment, relocatable_kernel, init_size, cmdline_size,
//! pref_address, setup_sects, truncation), picks a command line (none,
//! short, or a length around the kernel's limit, with and without room for
//! the NUL), an initrd (none, regular, empty, a directory, missing, large
//! sparse files relative to the crash region, /dev/null, /proc/version, a
//! pipe) and the flags (normal or crash load, unload, -d, unknown bits and
//! KEXEC_FILE_DEBUG through the library). It then asks the model
//! (`kexec --dry-run --json`, or `rules::check` for library cases) and the
//! kernel (`kexec --skip-preflight --json`, or the system call) and
//! compares their errno. A model verdict it cannot parse, on either side,
//! is a failure, never an agreement.
//!
//! Usage: differential_file SEED COUNT KERNEL [DATA_DIR] [--no-pipes] [--generate-only]
//! (--generate-only builds the cases without files or system calls: safe
//! anywhere, it checks the generator.)
//! Case N of seed S is regenerated from (S, N) alone; a failing case prints
//! everything needed to replay it.

mod common;

use common::{cli, Answer, Rng};
use kexec::image::bzimage::offset;
use kexec::sys::abi::FileFlags;
use kexec::{rules, Facts, FileLoad, LinuxHost, Plan, Target};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

const MIB: u64 = 1 << 20;

/// Where the initrd comes from.
#[derive(Clone, Copy, Debug)]
enum Initrd {
    None,
    /// A data file made at start-up (name).
    File(&'static str),
    Directory,
    Missing,
    DevNull,
    ProcFile,
    /// A fresh pipe holding this many bytes, as /proc/self/fd/N.
    Pipe(usize),
}

/// The initrd data files: name and size (large ones are sparse).
const INITRD_FILES: [(&str, u64); 6] = [
    ("initrd-64k", 64 << 10),
    ("initrd-empty", 0),
    ("initrd-100m", 100 * MIB),
    ("initrd-150m", 150 * MIB),
    ("initrd-250m", 250 * MIB),
    ("initrd-300m", 300 * MIB),
];

struct Case {
    crash: bool,
    unload: bool,
    /// What was changed in the kernel file ("" for the real kernel).
    mutation: Vec<String>,
    /// The mutated kernel's bytes, None for the real kernel file.
    kernel: Option<Vec<u8>>,
    initrd: Initrd,
    cmdline: Option<String>,
    debug: bool,
    /// Library cases: extra kexec_file_load flag bits.
    lib_flags: Option<u64>,
}

fn put_u16(k: &mut [u8], at: usize, v: u16) {
    if k.len() >= at + 2 {
        k[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
}
fn put_u32(k: &mut [u8], at: usize, v: u32) {
    if k.len() >= at + 4 {
        k[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
}
fn put_u64(k: &mut [u8], at: usize, v: u64) {
    if k.len() >= at + 8 {
        k[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
}
fn get_u32(k: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(k.get(at..at + 4)?.try_into().ok()?))
}

/// Applies one random header mutation; returns its description.
fn mutate(rng: &mut Rng, k: &mut Vec<u8>, base_len: usize) -> String {
    use offset::*;
    // After a cut below the setup header only another cut applies.
    let choice = if k.len() < kexec::image::bzimage::HEADER_END {
        11
    } else {
        rng.below(13)
    };
    match choice {
        0 => {
            let at = HEADER + rng.below(4) as usize;
            k[at] ^= 1 << rng.below(8);
            format!("magic byte {at:#x} flipped")
        }
        1 => {
            let v = rng.pick(&[0u16, 0x55aa, 0xaa54, 0xffff]);
            put_u16(k, BOOT_FLAG, v);
            format!("boot_flag={v:#06x}")
        }
        2 => {
            let v = rng.pick(&[
                0x0200u16, 0x0206, 0x020a, 0x020b, 0x020c, 0x020d, 0x020f, 0x0300, 0xffff,
            ]);
            put_u16(k, VERSION, v);
            format!("version={v:#06x}")
        }
        3 => {
            let v = rng.pick(&[0u8, 0x80, 0x81, 0xfe, 0xff, 0x01]);
            k[LOADFLAGS] = v;
            format!("loadflags={v:#04x}")
        }
        4 => {
            let old = u16::from_le_bytes([k[XLOADFLAGS], k[XLOADFLAGS + 1]]);
            let v = if rng.chance(50) {
                old & !(1 << rng.below(7))
            } else {
                rng.below(0x80) as u16
            };
            put_u16(k, XLOADFLAGS, v);
            format!("xloadflags={v:#06x}")
        }
        5 => {
            let v = rng.pick(&[
                0u32, 1, 0x1000, 0x1800, 0x10000, 0x200000, 0x1000000, 0x8000000, 0x40000000,
                0x80000000, 0xffffffff,
            ]);
            put_u32(k, KERNEL_ALIGNMENT, v);
            format!("kernel_alignment={v:#x}")
        }
        6 => {
            let v = rng.pick(&[0u8, 2, 0xff]);
            k[RELOCATABLE_KERNEL] = v;
            format!("relocatable_kernel={v}")
        }
        7 => {
            let payload = (base_len as u64).saturating_sub(40 * 512);
            let v = rng.pick(&[
                0u64,
                0x1000,
                payload / 2,
                payload.next_multiple_of(4096) - 4096,
                payload.next_multiple_of(4096),
                64 * MIB,
                200 * MIB,
                300 * MIB,
                800 * MIB,
                2048 * MIB,
                0xffff_f000,
            ]) as u32;
            put_u32(k, INIT_SIZE, v);
            format!("init_size={v:#x}")
        }
        8 => {
            let v = rng.pick(&[0u32, 1, 29, 30, 31, 100, 255, 256, 2047, 4096, 0xffffffff]);
            put_u32(k, CMDLINE_SIZE, v);
            format!("cmdline_size={v}")
        }
        9 => {
            let v = rng.pick(&[
                0u64,
                0x100000,
                0x1000000,
                0x40000000,
                1 << 32,
                1 << 45,
                u64::MAX,
            ]);
            put_u64(k, PREF_ADDRESS, v);
            format!("pref_address={v:#x}")
        }
        10 => {
            let v = rng.pick(&[0u8, 1, 4, 16, 38, 40, 64, 255]);
            k[SETUP_SECTS] = v;
            format!("setup_sects={v}")
        }
        11 => {
            let sects = k.get(SETUP_SECTS).copied().unwrap_or(0);
            let real_mode = (u64::from(if sects == 0 { 4 } else { sects }) + 1) * 512;
            let len = rng.pick(&[
                0u64,
                100,
                1023,
                1024,
                0x26f,
                0x270,
                4000,
                real_mode - 1,
                real_mode,
                real_mode + 4096,
                base_len as u64 / 2,
                base_len as u64 - 1,
            ]) as usize;
            k.truncate(len.min(k.len()));
            format!("truncated to {len} bytes")
        }
        _ => {
            let what = rng.below(3);
            let head: &[u8] = match what {
                0 => b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0",
                1 => b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\xb7\0",
                _ => b"This is a plain text file, not a kernel image.\n",
            };
            k.truncate(8192.min(k.len()));
            k[..head.len()].copy_from_slice(head);
            ["x86_64 ELF header", "AArch64 ELF header", "text"][what as usize].to_string()
        }
    }
}

/// The real kernel's setup code plus 64 KiB of its payload, with
/// payload_length and init_size (1 MiB) to match: a bzImage the kernel
/// loads (it never runs) and hashes quickly, so most cases stay cheap.
fn small_kernel(real: &[u8]) -> Vec<u8> {
    let real_mode = (u64::from(real[offset::SETUP_SECTS].max(1)) + 1) as usize * 512;
    let mut k = real[..(real_mode + (64 << 10)).min(real.len())].to_vec();
    let payload_offset = get_u32(&k, offset::PAYLOAD_OFFSET).unwrap_or(0) as usize;
    let room = k.len().saturating_sub(real_mode + payload_offset) as u32;
    put_u32(&mut k, offset::PAYLOAD_LENGTH, room);
    put_u32(&mut k, offset::INIT_SIZE, 1 << 20);
    k
}

fn generate(rng: &mut Rng, real: &[u8], small: &[u8], pipes: bool) -> Case {
    let mut crash = rng.chance(35);
    let unload = rng.chance(4);
    let mut mutation = Vec::new();
    // The real kernel for a realistic share (its loads hash 64 MiB), a
    // small one otherwise; each mutated or not.
    let (base, base_name) = if rng.chance(12) {
        (real, "real kernel")
    } else {
        (small, "small kernel")
    };
    let kernel = if base_name == "real kernel" && rng.chance(40) {
        None
    } else {
        let mut k = base.to_vec();
        mutation.push(base_name.to_string());
        let n = match rng.below(10) {
            0..=2 => 0,
            3..=8 => 1,
            _ => 2,
        };
        for _ in 0..n {
            mutation.push(mutate(rng, &mut k, base.len()));
        }
        Some(k)
    };
    let initrd = match rng.below(100) {
        0..=34 => Initrd::None,
        35..=67 => Initrd::File("initrd-64k"),
        68..=72 => Initrd::File("initrd-empty"),
        73..=76 => Initrd::Directory,
        77..=80 => Initrd::Missing,
        81..=84 => Initrd::DevNull,
        85..=87 => Initrd::ProcFile,
        88..=93 if pipes => Initrd::Pipe(rng.pick(&[0usize, 4096, 60000])),
        96..=99 => {
            // Large initrds, mostly against the crash region (they are
            // read and, when they load, hashed: slow under emulation).
            crash = rng.chance(75);
            Initrd::File(rng.pick(&["initrd-100m", "initrd-150m", "initrd-250m", "initrd-300m"]))
        }
        _ => Initrd::File("initrd-64k"),
    };
    // The limit the (possibly mutated) header sets: cmdline_size - 30
    // bytes including the NUL, so at most limit - 1 characters.
    let head = kernel.as_deref().unwrap_or(real);
    let cmdline_size = get_u32(head, offset::CMDLINE_SIZE).unwrap_or(2047) as u64;
    let limit = cmdline_size.saturating_sub(30);
    let cmdline = match rng.below(10) {
        0 | 1 => None,
        2..=5 => Some("console=ttyS0 panic=-1".to_string()),
        _ => {
            let len = rng.pick(&[
                limit.saturating_sub(2),
                limit.saturating_sub(1),
                limit,
                limit + 1,
                cmdline_size.saturating_sub(1),
                cmdline_size,
                cmdline_size + 1,
            ]);
            Some("k".repeat(len.min(6000) as usize))
        }
    };
    // Library cases need files that open (the command reports the others).
    let lib_flags = if rng.chance(10) && !matches!(initrd, Initrd::Missing) {
        Some(rng.pick(&[0x4u64, 0x8, 0x10, 0x20, 0x40, 0x80, 0x8000, 1 << 32]))
    } else {
        None
    };
    Case {
        crash,
        unload,
        mutation,
        kernel,
        initrd,
        cmdline,
        debug: rng.chance(5),
        lib_flags,
    }
}

/// A fresh pipe holding `bytes` bytes, its write end closed: reading it
/// gives the bytes, then end of file.
fn pipe_with(bytes: usize) -> std::io::PipeReader {
    let (reader, mut writer) = std::io::pipe().expect("pipe");
    writer.write_all(&vec![0x5a; bytes]).expect("pipe write");
    reader
}

struct Paths {
    data: PathBuf,
    real_kernel: PathBuf,
}

/// The initrd path for one invocation (pipes are fresh each time).
fn initrd_path(
    kind: Initrd,
    paths: &Paths,
    keep: &mut Option<std::io::PipeReader>,
) -> Option<PathBuf> {
    match kind {
        Initrd::None => None,
        Initrd::File(name) => Some(paths.data.join(name)),
        Initrd::Directory => Some(paths.data.clone()),
        Initrd::Missing => Some(paths.data.join("no-such-initrd")),
        Initrd::DevNull => Some(PathBuf::from("/dev/null")),
        Initrd::ProcFile => Some(PathBuf::from("/proc/version")),
        Initrd::Pipe(n) => {
            let r = pipe_with(n);
            let p = PathBuf::from(format!("/proc/self/fd/{}", r.as_raw_fd()));
            *keep = Some(r);
            Some(p)
        }
    }
}

fn cli_args(case: &Case, kernel: &Path, initrd: Option<&Path>) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec!["-s".into(), if case.crash { "-p" } else { "-l" }.into()];
    if case.unload {
        a.push("-u".into());
        return a;
    }
    a.push(kernel.into());
    if let Some(i) = initrd {
        let mut w = OsString::from("--initrd=");
        w.push(i);
        a.push(w);
    }
    if let Some(c) = &case.cmdline {
        a.push(format!("--append={c}").into());
    }
    if case.debug {
        a.push("-d".into());
    }
    a
}

fn rejection_answer(r: &kexec::Rejection) -> Answer {
    let v = serde_json::to_value(r).unwrap_or(Value::Null);
    Answer {
        errno: Some(r.errno.name().to_string()),
        rule: v["rule"].as_str().unwrap_or("").to_string(),
        source: v["source"].as_str().unwrap_or("").to_string(),
        reason: r.reason.clone(),
    }
}

fn success() -> Answer {
    Answer {
        errno: None,
        rule: String::new(),
        source: "kernel".into(),
        reason: String::new(),
    }
}

/// A library case: the model's check and the system call itself, with flag
/// bits the command never sends.
fn library(
    case: &Case,
    kernel: &Path,
    paths: &Paths,
    flags: u64,
    host: &mut LinuxHost,
    facts: &Facts,
) -> Result<(Answer, Answer), String> {
    let target = if case.crash {
        Target::Crash
    } else {
        Target::Normal
    };
    let mut keep = None;
    let initrd = initrd_path(case.initrd, paths, &mut keep);
    let open = |initrd: Option<&Path>| {
        FileLoad::open(
            target,
            kernel,
            initrd,
            case.cmdline.clone().unwrap_or_default().into_bytes(),
            FileFlags(flags),
        )
        .map(Plan::FileLoad)
    };
    let plan = match open(initrd.as_deref()) {
        Ok(p) => p,
        // Nothing to send: the file does not open (the CLI reports these).
        Err(e) => return Err(format!("library case could not open its files: {e}")),
    };
    let model = match rules::check(&plan, facts) {
        Ok(()) => success(),
        Err(r) => rejection_answer(&r),
    };
    // A pipe is read to its end by the first look: a fresh one for the call.
    let mut keep = None;
    let initrd = initrd_path(case.initrd, paths, &mut keep);
    let plan = open(initrd.as_deref()).map_err(|e| format!("reopen: {e}"))?;
    let kernel_answer = match kexec::load::load(host, &plan, facts, true) {
        Ok(()) => success(),
        Err(r) => rejection_answer(&r),
    };
    Ok((model, kernel_answer))
}

fn unload(crash: bool, host: &mut LinuxHost) {
    let args: Vec<OsString> = vec![
        "-s".into(),
        if crash { "-p" } else { "-l" }.into(),
        "-u".into(),
    ];
    let _ = cli(&args, "--skip-preflight", host);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage =
        "usage: differential_file SEED COUNT KERNEL [DATA_DIR] [--no-pipes] [--generate-only]";
    let pipes = !args.iter().any(|a| a == "--no-pipes");
    let generate_only = args.iter().any(|a| a == "--generate-only");
    let args: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let (Some(seed), Some(count), Some(real_kernel)) = (
        args.get(1).and_then(|s| s.parse::<u64>().ok()),
        args.get(2).and_then(|s| s.parse::<u64>().ok()),
        args.get(3).map(PathBuf::from),
    ) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let data = PathBuf::from(args.get(4).map_or("/tmp/differential-file", |s| s.as_str()));
    let real = match std::fs::read(&real_kernel) {
        Ok(k) => k,
        Err(e) => {
            eprintln!(
                "differential_file: cannot read {}: {e}",
                real_kernel.display()
            );
            std::process::exit(2);
        }
    };
    if real.len() < kexec::image::bzimage::HEADER_END {
        eprintln!(
            "differential_file: {} is too short to be a bzImage",
            real_kernel.display()
        );
        std::process::exit(2);
    }
    let small = small_kernel(&real);
    if generate_only {
        // Checks the generator alone (no files, no system calls).
        let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
        for index in 0..count {
            let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(index));
            let case = generate(&mut rng, &real, &small, pipes);
            let what = case
                .mutation
                .get(1)
                .map_or("none", |m| m.split(['=', ' ']).next().unwrap_or(""));
            *kinds.entry(what.to_string()).or_default() += 1;
        }
        println!("differential_file: seed {seed}: {count} cases generated: {kinds:?}");
        return;
    }
    std::fs::create_dir_all(&data).expect("data dir");
    for (name, size) in INITRD_FILES {
        let f = std::fs::File::create(data.join(name)).expect("initrd file");
        if size <= 1 << 20 {
            (&f).write_all(&vec![0xa5; size as usize])
                .expect("initrd data");
        } else {
            // Sparse but not empty: a few real bytes at the start.
            (&f).write_all(&[0xa5; 4096]).expect("initrd data");
            f.set_len(size).expect("sparse initrd");
        }
    }
    let paths = Paths {
        data: data.clone(),
        real_kernel,
    };
    let mutated = data.join("kernel");
    let mut host = LinuxHost;
    let facts = Facts::gather(&host);
    println!(
        "differential_file: seed {seed}, {count} cases, kernel {} ({} bytes), crash region {}, pipes {}",
        paths.real_kernel.display(),
        real.len(),
        facts
            .main_crash_region()
            .map_or("none".to_string(), |r| format!("[{r}]")),
        if pipes { "on" } else { "off" }
    );
    let started = std::time::Instant::now();
    let (mut agreed, mut failed, mut not_sent, mut stricter) = (0u64, 0u64, 0u64, 0u64);
    let mut by_errno: BTreeMap<String, u64> = BTreeMap::new();
    let mut success_time = std::time::Duration::ZERO;
    for index in 0..count {
        let case_started = std::time::Instant::now();
        let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(index));
        let case = generate(&mut rng, &real, &small, pipes);
        let kernel_path = match &case.kernel {
            None => paths.real_kernel.clone(),
            Some(bytes) => {
                std::fs::write(&mutated, bytes).expect("write the mutated kernel");
                mutated.clone()
            }
        };
        let described;
        let result: Result<(Answer, Answer), String> = match case.lib_flags {
            Some(flags) if !case.unload => {
                described = format!(
                    "library kexec_file_load {} flags {flags:#x} (plus the call's own), initrd {:?}, cmdline {} bytes",
                    kernel_path.display(),
                    case.initrd,
                    case.cmdline.as_deref().map_or(0, str::len)
                );
                library(&case, &kernel_path, &paths, flags, &mut host, &facts)
            }
            _ => {
                let mut keep = None;
                let initrd = initrd_path(case.initrd, &paths, &mut keep);
                let args = cli_args(&case, &kernel_path, initrd.as_deref());
                let shown: Vec<String> = args
                    .iter()
                    .map(|a| {
                        let a = a.to_string_lossy();
                        if a.len() > 80 {
                            format!("{}...({} bytes)", &a[..40], a.len())
                        } else {
                            a.into_owned()
                        }
                    })
                    .collect();
                described = format!("kexec {} (initrd {:?})", shown.join(" "), case.initrd);
                let model = cli(&args, "--dry-run", &mut host);
                // A pipe was read to its end: a fresh one for the real call.
                let mut keep = None;
                let initrd = initrd_path(case.initrd, &paths, &mut keep);
                let args = cli_args(&case, &kernel_path, initrd.as_deref());
                let kernel = cli(&args, "--skip-preflight", &mut host);
                match (model, kernel) {
                    (Ok(m), Ok(k)) => Ok((m, k)),
                    (m, k) => Err(format!(
                        "model: {}; kernel: {}",
                        m.map_or_else(|e| e, |a| a.errno_text().to_string()),
                        k.map_or_else(|e| e, |a| a.errno_text().to_string())
                    )),
                }
            }
        };
        let mutation = if case.mutation.is_empty() {
            "none".to_string()
        } else {
            case.mutation.join(", ")
        };
        let (model, kernel) = match result {
            Ok(pair) => pair,
            Err(why) => {
                failed += 1;
                println!(
                    "FAIL seed={seed} case={index}: unusable answer ({why}); mutation: {mutation}; {described}"
                );
                // The call may have loaded something: unload before going on.
                unload(case.crash, &mut host);
                continue;
            }
        };
        if kernel.errno.is_none() && !case.unload {
            unload(case.crash, &mut host);
            success_time += case_started.elapsed();
        }
        if kernel.source == "model" {
            not_sent += 1;
        }
        *by_errno.entry(kernel.errno_text().to_string()).or_default() += 1;
        // Our own rule, stricter than the kernel's: it predicts that the
        // kernel would load the file (which could not boot).
        let expected_kernel: Option<&str> = if model.rule == "payload-truncated" {
            stricter += 1;
            None
        } else {
            model.errno.as_deref()
        };
        if expected_kernel == kernel.errno.as_deref() {
            agreed += 1;
        } else {
            failed += 1;
            println!(
                "MISMATCH seed={seed} case={index}: model {} [{}] ({}), kernel {} [{} {}] ({}); mutation: {mutation}; {described}",
                model.errno_text(),
                model.rule,
                model.reason.chars().take(200).collect::<String>(),
                kernel.errno_text(),
                kernel.source,
                kernel.rule,
                kernel.reason.chars().take(160).collect::<String>(),
            );
        }
        if (index + 1) % 250 == 0 {
            println!(
                "progress: {} cases in {} s, {failed} failed so far",
                index + 1,
                started.elapsed().as_secs()
            );
        }
        let _ = std::io::stdout().flush();
    }
    let spread: Vec<String> = by_errno.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "differential_file: seed {seed}: {count} cases ({}), {agreed} agreed, {failed} failed; {not_sent} refused before the syscall, {stricter} refused by our stricter payload rule; {} s ({} s in loads that succeeded)",
        spread.join(", "),
        started.elapsed().as_secs(),
        success_time.as_secs()
    );
    std::process::exit(if failed == 0 && agreed == count { 0 } else { 1 });
}
