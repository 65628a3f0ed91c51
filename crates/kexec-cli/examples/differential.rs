//! Differential test of the rules model against the running kernel (run it
//! in a disposable guest, as root: it makes real kexec_load calls).
//!
//! For each case a seeded generator builds raw-segment arguments — valid
//! and invalid: unaligned mem/memsz, overlaps, bufsz > memsz, 0..18
//! segments, sizes around half of RAM, addresses near the destination
//! limit, crash loads in and out of the Crash kernel region, unknown flag
//! bits, foreign KEXEC_ARCH values — and runs the `kexec` command twice,
//! in-process: `--dry-run --json` (the model's prediction) and
//! `--skip-preflight --json` (the kernel's answer). Their errno must agree.
//! Whatever loaded is unloaded again.
//!
//! Usage: differential SEED COUNT [DATA_DIR]
//! A failing case prints its seed and index; `differential SEED 1 --case N`
//! would not be needed: case N of seed S is regenerated from (S, N) alone.

mod common;

use common::{cli, Rng};
use kexec::{Facts, LinuxHost};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

const PAGE: u64 = 4096;
/// Data files of these sizes back the segments (bufsz = file size).
const SIZES: [u64; 6] = [1, 100, 4096, 5000, 8192, 65536];

struct Machine {
    ram_half: u64,
    crash: Option<(u64, u64)>,
    limit: u64,
}

/// One case: the kexec arguments (without --dry-run/--skip-preflight).
fn generate(rng: &mut Rng, m: &Machine, data: &Path) -> (Vec<String>, bool) {
    let crash = m.crash.is_some() && rng.chance(30);
    let (lo, hi) = match (crash, m.crash) {
        (true, Some((start, end))) => (start, end),
        _ => (16 << 20, 512 << 20),
    };
    let count = match rng.below(10) {
        0 => rng.below(19), // 0..18, past the limit of 16 too
        1 => 0,             // an unload
        _ => 1 + rng.below(4),
    };
    let mut args = vec![
        "-c".to_string(),
        if crash { "-p" } else { "-l" }.to_string(),
    ];
    let mut placed: Vec<(u64, u64)> = Vec::new();
    // Valid loads stay small: a normal load allocates every destination page.
    let mut next = lo + rng.below(16) * PAGE;
    for _ in 0..count {
        let size = SIZES[rng.below(SIZES.len() as u64) as usize];
        let mut mem = next;
        let mut memsz = size.div_ceil(PAGE).max(1) * PAGE + rng.below(4) * PAGE;
        match rng.below(20) {
            0 => mem += 1 + rng.below(PAGE - 1),   // unaligned start
            1 => memsz += 1 + rng.below(PAGE - 1), // unaligned end
            2 if !placed.is_empty() => mem = placed[rng.below(placed.len() as u64) as usize].0, // overlap
            3 => memsz = size.saturating_sub(1 + rng.below(64)) / PAGE * PAGE, // bufsz > memsz
            4 => memsz = m.ram_half + PAGE * (1 + rng.below(8)), // more than half of RAM
            5 => mem = (m.limit + 1).saturating_sub(memsz + PAGE * rng.below(3)) / PAGE * PAGE, // near the limit
            6 => mem = u64::MAX / PAGE * PAGE, // wraps
            7 => mem = if crash { 16 << 20 } else { hi + (1 << 30) }, // outside the crash region
            8 => memsz = 0,
            _ => {}
        }
        placed.push((mem, memsz));
        next = mem
            .saturating_add(memsz)
            .saturating_add(PAGE * rng.below(4))
            / PAGE
            * PAGE;
        if next >= hi.saturating_sub(4 << 20) {
            next = lo;
        }
        args.push(format!(
            "--segment={}@{mem:#x}:{memsz:#x}",
            data.join(format!("d{size}")).display()
        ));
    }
    let entry = match rng.below(10) {
        0 => 0x1000,
        1 => hi,
        _ => placed.first().map_or(lo, |p| p.0),
    };
    args.push(format!("--entry={entry:#x}"));
    match rng.below(12) {
        0 => args.push(format!(
            "--load-flags={:#x}",
            [0x2u64, 0x4, 0x8, 0x10, 0x8000, 1 << 40][rng.below(6) as usize]
        )),
        1 => args.push(format!(
            "--arch={}",
            ["AARCH64", "386", "PPC64", "DEFAULT", "RISCV", "0x1234"][rng.below(6) as usize]
        )),
        _ => {}
    }
    (args, crash)
}

/// The errno (None on success) and reason of the JSON object `kexec --json`
/// printed last. No such object, or one without an "errno" that is null or
/// a name, is an Err with the raw output: never counted as agreement.
fn errno_of(
    args: &[String],
    extra: &str,
    host: &mut LinuxHost,
) -> Result<(Option<String>, String), String> {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    cli(&args, extra, host).map(|answer| (answer.errno, answer.reason))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seed: u64 = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .expect("usage: differential SEED COUNT [DATA_DIR]");
    let count: u64 = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .expect("usage: differential SEED COUNT [DATA_DIR]");
    let data = PathBuf::from(args.get(3).map_or("/tmp/differential", String::as_str));
    std::fs::create_dir_all(&data).expect("data dir");
    for size in SIZES {
        std::fs::write(data.join(format!("d{size}")), vec![0xa5u8; size as usize])
            .expect("data file");
    }
    let mut host = LinuxHost;
    let facts = Facts::gather(&host);
    let machine = Machine {
        ram_half: facts.mem_total.unwrap_or(1 << 30) / PAGE / 2 * PAGE,
        crash: facts
            .main_crash_region()
            .filter(|r| r.start != 0)
            .map(|r| (r.start, r.end)),
        limit: kexec::rules::destination_limit(&facts),
    };
    let (mut agreed, mut mismatched) = (0u64, 0u64);
    let mut by_errno: std::collections::BTreeMap<String, u64> = Default::default();
    for index in 0..count {
        let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(index));
        let (case, crash) = generate(&mut rng, &machine, &data);
        let answers = (
            errno_of(&case, "--dry-run", &mut host),
            errno_of(&case, "--skip-preflight", &mut host),
        );
        let ((model, why), (kernel, kernel_why)) = match answers {
            (Ok(m), Ok(k)) => (m, k),
            (m, k) => {
                mismatched += 1;
                println!(
                    "UNUSABLE seed={seed} case={index}: model {}, kernel {}: kexec {}",
                    m.map_or_else(|e| e, |(e, _)| e.unwrap_or_else(|| "success".into())),
                    k.map_or_else(|e| e, |(e, _)| e.unwrap_or_else(|| "success".into())),
                    case.join(" ")
                );
                // The call may have loaded something: unload before going on.
                let unload = vec![
                    "-c".to_string(),
                    if crash { "-p" } else { "-l" }.to_string(),
                    "-u".to_string(),
                ];
                let _ = errno_of(&unload, "--skip-preflight", &mut host);
                continue;
            }
        };
        if kernel.is_none() {
            let unload = vec![
                "-c".to_string(),
                if crash { "-p" } else { "-l" }.to_string(),
                "-u".to_string(),
            ];
            let _ = errno_of(&unload, "--skip-preflight", &mut host);
        }
        *by_errno
            .entry(kernel.clone().unwrap_or_else(|| "success".into()))
            .or_default() += 1;
        if model == kernel {
            agreed += 1;
        } else {
            mismatched += 1;
            println!(
                "MISMATCH seed={seed} case={index}: model {} ({why}), kernel {} ({kernel_why}): kexec {}",
                model.as_deref().unwrap_or("success"),
                kernel.as_deref().unwrap_or("success"),
                case.join(" ")
            );
        }
    }
    let spread: Vec<String> = by_errno.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "differential: seed {seed}: {count} cases ({}), {agreed} agreed, {mismatched} mismatched or unusable",
        spread.join(", ")
    );
    std::process::exit(if mismatched == 0 && agreed == count {
        0
    } else {
        1
    });
}
