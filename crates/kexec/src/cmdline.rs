//! The next kernel's command line: --reuse-cmdline and --append/--command-line
//! composed as kexec-tools does, passed through byte for byte otherwise. A
//! command line is bytes, not text: the kernel does not require UTF-8.

/// Splits a command line into words, keeping double-quoted spaces inside
/// their word (`foo="a b"` is one word), as the kernel's parser does.
fn words(line: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quoted = false;
    for (i, &c) in line.iter().enumerate() {
        if c == b'"' {
            quoted = !quoted;
        }
        if c.is_ascii_whitespace() && !quoted {
            if let Some(s) = start.take() {
                out.push(&line[s..i]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(&line[s..]);
    }
    out
}

/// The parameter name of a word: "crashkernel" for "crashkernel=256M".
fn param_name(word: &[u8]) -> &[u8] {
    match word.iter().position(|&c| c == b'=') {
        Some(at) => &word[..at],
        None => word,
    }
}

/// The running kernel's command line for reuse: without BOOT_IMAGE= (the
/// boot loader's note of which file it booted), and for a crash kernel
/// without crashkernel= (a capture kernel must not reserve memory itself).
///
/// ```rust
/// use kexec::cmdline::reusable;
/// let proc_cmdline = b"BOOT_IMAGE=/vmlinuz-6.1 root=/dev/vda1 crashkernel=256M quiet\n";
/// assert_eq!(reusable(proc_cmdline, false), b"root=/dev/vda1 crashkernel=256M quiet");
/// assert_eq!(reusable(proc_cmdline, true), b"root=/dev/vda1 quiet");
/// ```
pub fn reusable(proc_cmdline: &[u8], crash: bool) -> Vec<u8> {
    let line = proc_cmdline.strip_suffix(b"\n").unwrap_or(proc_cmdline);
    let joined = words(line)
        .into_iter()
        .filter(|w| {
            let name = param_name(w);
            name != b"BOOT_IMAGE" && !(crash && name == b"crashkernel")
        })
        .collect::<Vec<_>>()
        .join(&b' ');
    // An unterminated quote keeps the whitespace after it in its word; at
    // the end of the line that is only the newline(s) procfs shows.
    let end = joined
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    joined[..end].to_vec()
}

/// base + " " + append, either may be absent (kexec-tools' concat_cmdline).
///
/// ```rust
/// use kexec::cmdline::compose;
/// let base: &[u8] = b"root=/dev/vda1";
/// assert_eq!(compose(Some(base), Some(b"console=ttyS0")), b"root=/dev/vda1 console=ttyS0");
/// assert_eq!(compose(None, Some(b"console=ttyS0")), b"console=ttyS0");
/// assert!(compose(None, None).is_empty());
/// ```
pub fn compose(base: Option<&[u8]>, append: Option<&[u8]>) -> Vec<u8> {
    match (base, append) {
        (Some(b), Some(a)) => [b, a].join(&b' '),
        (Some(b), None) => b.to_vec(),
        (None, Some(a)) => a.to_vec(),
        (None, None) => Vec::new(),
    }
}

/// The bytes the kernel receives: the text and its terminating NUL.
pub fn to_kernel_bytes(line: &[u8]) -> Vec<u8> {
    let mut bytes = line.to_vec();
    bytes.push(0);
    bytes
}

/// Where a NUL byte sits inside a command line: the kernel would end the
/// line there and silently drop the rest.
pub fn nul_position(line: &[u8]) -> Option<usize> {
    line.iter().position(|&c| c == 0)
}

/// A command line for people, quoted and lossless: UTF-8 as Rust's `{:?}`
/// shows it, every other byte as \xNN.
pub fn escaped(line: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in line.utf8_chunks() {
        for c in chunk.valid().chars() {
            // Control bytes as \xNN too: "\u{c}" says less and is longer.
            if c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r' | '\0') {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.extend(c.escape_debug());
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_is_the_same_after_a_second_pass_with_an_open_quote() {
        // Found by the cmdline fuzz target: the newlines after an open quote
        // stayed in the last word, and a second pass took one more away.
        let once = reusable(b"\n\"f\n\n\n", false);
        assert_eq!(once, b"\"f");
        assert_eq!(reusable(&once, false), once);
    }

    #[test]
    fn control_bytes_are_shown_as_hex_escapes() {
        // Found by the cmdline fuzz target: "\u{c}" made the text longer
        // than four characters a byte.
        assert_eq!(escaped(b"a\x0c\x1b\tb\xff"), r#""a\x0c\x1b\tb\xff""#);
    }

    #[test]
    fn reuse_drops_boot_image_and_for_crash_crashkernel() {
        let line = b"BOOT_IMAGE=/vmlinuz-6.1 root=/dev/vda1 crashkernel=256M quiet\n";
        assert_eq!(
            reusable(line, false),
            b"root=/dev/vda1 crashkernel=256M quiet"
        );
        assert_eq!(reusable(line, true), b"root=/dev/vda1 quiet");
    }

    #[test]
    fn reuse_drops_every_crashkernel_word_but_not_lookalikes() {
        let line = b"crashkernel=512M,high crashkernel=72M,low mycrashkernel=1 x";
        assert_eq!(reusable(line, true), b"mycrashkernel=1 x");
    }

    #[test]
    fn quoted_spaces_stay_in_their_word() {
        assert_eq!(words(br#"a="b c" d"#), vec![&br#"a="b c""#[..], b"d"]);
        assert_eq!(
            reusable(br#"BOOT_IMAGE="/boot/my kernel" x="1 2""#, false),
            br#"x="1 2""#
        );
    }

    #[test]
    fn compose_joins_with_one_space() {
        assert_eq!(compose(Some(b"a b"), Some(b"c")), b"a b c");
        assert_eq!(compose(None, Some(b"")), b"");
        assert_eq!(compose(Some(b"a"), None), b"a");
        assert_eq!(to_kernel_bytes(b"ab"), b"ab\0");
    }

    #[test]
    fn bytes_that_are_not_utf8_pass_through_and_print_escaped() {
        let line = b"root=/dev/vda1 label=\xff\xfe BOOT_IMAGE=/\xe9";
        assert_eq!(reusable(line, false), b"root=/dev/vda1 label=\xff\xfe");
        assert_eq!(
            compose(Some(b"a\xff"), Some(b"\x80")),
            b"a\xff \x80".to_vec()
        );
        assert_eq!(escaped(b"a=\"\xff\" \xc3\xa9\n"), r#""a=\"\xff\" é\n""#);
        assert_eq!(crate::hex::encode(b"a\xff"), "61ff");
        assert_eq!(nul_position(b"ab\0c"), Some(2));
        assert_eq!(nul_position(b"abc"), None);
    }
}
