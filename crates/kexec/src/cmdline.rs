//! The next kernel's command line: --reuse-cmdline and --append/--command-line
//! composed as kexec-tools does, passed through byte for byte otherwise.

/// Splits a command line into words, keeping double-quoted spaces inside
/// their word (`foo="a b"` is one word), as the kernel's parser does.
fn words(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        if c == '"' {
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
fn param_name(word: &str) -> &str {
    word.split_once('=').map_or(word, |(name, _)| name)
}

/// The running kernel's command line for reuse: without BOOT_IMAGE= (the
/// boot loader's note of which file it booted), and for a crash kernel
/// without crashkernel= (a capture kernel must not reserve memory itself).
pub fn reusable(proc_cmdline: &str, crash: bool) -> String {
    words(proc_cmdline.trim_end_matches('\n'))
        .into_iter()
        .filter(|w| {
            let name = param_name(w);
            name != "BOOT_IMAGE" && !(crash && name == "crashkernel")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// base + " " + append, either may be absent (kexec-tools' concat_cmdline).
pub fn compose(base: Option<&str>, append: Option<&str>) -> String {
    match (base, append) {
        (Some(b), Some(a)) => format!("{b} {a}"),
        (Some(b), None) => b.to_string(),
        (None, Some(a)) => a.to_string(),
        (None, None) => String::new(),
    }
}

/// The bytes the kernel receives: the text and its terminating NUL.
pub fn to_kernel_bytes(text: &str) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.push(0);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_drops_boot_image_and_for_crash_crashkernel() {
        let line = "BOOT_IMAGE=/vmlinuz-6.1 root=/dev/vda1 crashkernel=256M quiet\n";
        assert_eq!(
            reusable(line, false),
            "root=/dev/vda1 crashkernel=256M quiet"
        );
        assert_eq!(reusable(line, true), "root=/dev/vda1 quiet");
    }

    #[test]
    fn reuse_drops_every_crashkernel_word_but_not_lookalikes() {
        let line = "crashkernel=512M,high crashkernel=72M,low mycrashkernel=1 x";
        assert_eq!(reusable(line, true), "mycrashkernel=1 x");
    }

    #[test]
    fn quoted_spaces_stay_in_their_word() {
        assert_eq!(words(r#"a="b c" d"#), vec![r#"a="b c""#, "d"]);
        assert_eq!(
            reusable(r#"BOOT_IMAGE="/boot/my kernel" x="1 2""#, false),
            r#"x="1 2""#
        );
    }

    #[test]
    fn compose_joins_with_one_space() {
        assert_eq!(compose(Some("a b"), Some("c")), "a b c");
        assert_eq!(compose(None, Some("")), "");
        assert_eq!(compose(Some("a"), None), "a");
        assert_eq!(to_kernel_bytes("ab"), b"ab\0");
    }
}
