//! The VMCOREINFO note: the crashed kernel's `KEY=VALUE` lines naming the
//! addresses, sizes and offsets a reader of its memory needs
//! (kernel/vmcore_info.c, and printk.c's log_buf_vmcoreinfo_setup()).

use std::collections::BTreeMap;

/// The parsed lines of a VMCOREINFO note.
///
/// The kernel writes `SYMBOL(name)=hex`, `OFFSET(struct.field)=decimal`,
/// `SIZE(type)=decimal`, `LENGTH(name)=decimal`, `NUMBER(name)=decimal`
/// (signed), `OSRELEASE=…`, `PAGESIZE=…`, one a line; the last line may
/// lack its newline (CRASH_TIME). When a key repeats, the last value counts,
/// as in kexec-tools.
///
/// ```
/// use kexec::vmcore::VmcoreInfo;
/// let info = VmcoreInfo::parse(b"OSRELEASE=6.1.0-18-amd64\nPAGESIZE=4096\n\
///     SYMBOL(prb)=ffffffff82a5f4d8\nOFFSET(prb_desc.state_var)=0\nSIZE(prb_desc)=24\n\
///     NUMBER(phys_base)=-2147483648\nCRASH_TIME=1700000000");
/// assert_eq!(info.osrelease(), Some("6.1.0-18-amd64"));
/// assert_eq!(info.pagesize(), Some(4096));
/// assert_eq!(info.symbol("prb"), Some(Ok(0xffff_ffff_82a5_f4d8)));
/// assert_eq!(info.offset("prb_desc.state_var"), Some(Ok(0)));
/// assert_eq!(info.size("prb_desc"), Some(Ok(24)));
/// assert_eq!(info.number("phys_base"), Some(Ok(-2147483648)));
/// assert_eq!(info.get("CRASH_TIME"), Some("1700000000"));
/// assert_eq!(info.symbol("log_buf"), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmcoreInfo {
    lines: BTreeMap<String, String>,
}

/// A value that is not in the form its key calls for: the key and the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadValue {
    /// The whole key, as `SYMBOL(prb)`.
    pub key: String,
    /// The value as written.
    pub value: String,
    /// What it should be: "hexadecimal", "decimal".
    pub expected: &'static str,
}

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VMCOREINFO's {}={} is not {}",
            self.key, self.value, self.expected
        )
    }
}

impl VmcoreInfo {
    /// Splits the note's text into its lines. Bytes that are not UTF-8 are
    /// replaced; lines without `=` and NUL padding are left out.
    pub fn parse(text: &[u8]) -> VmcoreInfo {
        let text = String::from_utf8_lossy(text);
        let mut lines = BTreeMap::new();
        for line in text.split('\n') {
            let line = line.trim_end_matches(['\0', '\r']);
            if let Some((key, value)) = line.split_once('=') {
                lines.insert(key.to_string(), value.to_string());
            }
        }
        VmcoreInfo { lines }
    }

    /// The value of `key` as written (`"OSRELEASE"`, `"SYMBOL(prb)"`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines.get(key).map(String::as_str)
    }

    /// Every line, by key.
    pub fn lines(&self) -> impl Iterator<Item = (&str, &str)> {
        self.lines.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn parsed<T>(
        &self,
        key: String,
        expected: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<Result<T, BadValue>> {
        let value = self.lines.get(&key)?;
        Some(parse(value.trim()).ok_or_else(|| BadValue {
            key,
            value: value.clone(),
            expected,
        }))
    }

    /// `SYMBOL(name)`: a kernel virtual address, in hex without `0x`.
    pub fn symbol(&self, name: &str) -> Option<Result<u64, BadValue>> {
        self.parsed(format!("SYMBOL({name})"), "hexadecimal", hex)
    }

    /// `OFFSET(struct.field)`: a field's byte offset in its struct.
    pub fn offset(&self, field: &str) -> Option<Result<u64, BadValue>> {
        self.parsed(format!("OFFSET({field})"), "decimal", dec)
    }

    /// `SIZE(type)`: sizeof a struct or type.
    pub fn size(&self, name: &str) -> Option<Result<u64, BadValue>> {
        self.parsed(format!("SIZE({name})"), "decimal", dec)
    }

    /// `LENGTH(name)`: the element count of an array.
    pub fn length(&self, name: &str) -> Option<Result<u64, BadValue>> {
        self.parsed(format!("LENGTH({name})"), "decimal", dec)
    }

    /// `NUMBER(name)`: a signed number (decimal, or hex with `0x`).
    pub fn number(&self, name: &str) -> Option<Result<i64, BadValue>> {
        self.parsed(format!("NUMBER({name})"), "a number", |v| {
            match v.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok().map(|n| n as i64),
                None => v.parse().ok(),
            }
        })
    }

    /// `OSRELEASE`: the crashed kernel's release (uname -r).
    pub fn osrelease(&self) -> Option<&str> {
        self.get("OSRELEASE")
    }

    /// `PAGESIZE`: the crashed kernel's page size.
    pub fn pagesize(&self) -> Option<u64> {
        self.get("PAGESIZE").and_then(|v| dec(v.trim()))
    }
}

fn hex(v: &str) -> Option<u64> {
    let v = v.strip_prefix("0x").unwrap_or(v);
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(v, 16).ok()
}

fn dec(v: &str) -> Option<u64> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}
