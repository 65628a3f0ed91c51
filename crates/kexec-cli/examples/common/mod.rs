//! What the two differential examples (differential.rs, differential_file.rs)
//! share: the seeded generator and the in-process `kexec --json` runner
//! whose answer is parsed strictly.
// Each example uses a part of it (differential.rs picks no element).
#![allow(dead_code)]

use kexec::LinuxHost;
use serde_json::Value;
use std::ffi::OsString;

/// xorshift64*: reproducible from the seed alone.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }
}

/// One side's answer: errno (None on success), rule, source, reason.
#[derive(Debug)]
pub struct Answer {
    pub errno: Option<String>,
    pub rule: String,
    pub source: String,
    pub reason: String,
}

impl Answer {
    pub fn errno_text(&self) -> &str {
        self.errno.as_deref().unwrap_or("success")
    }
}

/// The last JSON object `kexec --json` printed; anything else is an error
/// with the raw output, so that it counts as a failure.
pub fn parse_json(out: &[u8], err: &[u8]) -> Result<Answer, String> {
    let text = String::from_utf8_lossy(out);
    let raw = || {
        format!(
            "stdout {:?}, stderr {:?}",
            text.chars().take(300).collect::<String>(),
            String::from_utf8_lossy(err)
                .chars()
                .take(300)
                .collect::<String>()
        )
    };
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("no JSON object: {}", raw()))?;
    let v: Value =
        serde_json::from_str(line).map_err(|e| format!("unparseable JSON ({e}): {}", raw()))?;
    let errno = match v.get("errno") {
        Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => return Err(format!("no \"errno\" in the JSON object: {}", raw())),
    };
    let text_of = |key: &str| v[key].as_str().unwrap_or("").to_string();
    Ok(Answer {
        errno,
        rule: text_of("rule"),
        source: text_of("source"),
        reason: text_of("reason"),
    })
}

/// Runs the kexec command in-process with `extra` (--dry-run or
/// --skip-preflight) and --json.
pub fn cli(args: &[OsString], extra: &str, host: &mut LinuxHost) -> Result<Answer, String> {
    let argv: Vec<OsString> = std::iter::once(OsString::from("kexec"))
        .chain(args.iter().cloned())
        .chain([OsString::from(extra), OsString::from("--json")])
        .collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    kexec_cli::run::run(argv, host, &mut out, &mut err);
    parse_json(&out, &err)
}
