//! Lower-case hex for bytes that are not text: digests, and command lines
//! and paths that need not be UTF-8 (in `--json` and the crash-load record).

/// The bytes as lower-case hex, two digits a byte.
///
/// ```
/// assert_eq!(kexec::hex::encode(b"\x00\xff"), "00ff");
/// ```
pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes `encode` made, or None when `text` is not an even number of
/// hex digits.
///
/// ```
/// assert_eq!(kexec::hex::decode("00ff"), Some(vec![0, 0xff]));
/// assert_eq!(kexec::hex::decode("0"), None);
/// ```
pub fn decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
