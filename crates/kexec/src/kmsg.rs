//! The kernel's KEXEC_FILE_DEBUG lines (Linux 6.8+), picked out of the
//! /dev/kmsg records written during a kexec_file_load call.
//!
//! A record reads "prio,seq,ts,flags;text", then continuation lines that
//! start with a space. The kexec code prints its debug lines with
//! kexec_dprintk(): at first (6.8) a bare printk without any prefix, later
//! pr_info() with the printing file's prefix ("kexec_file: ",
//! "kexec-bzImage64: ", "kexec_core: ", "kexec: ", "kexec_file(Image): ").
//! Both forms are recognised; other kernel messages written meanwhile (a
//! driver's, user space's through /dev/kmsg) are left out.

/// One /dev/kmsg record, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// syslog facility: 0 is the kernel, 1 user space writing to /dev/kmsg.
    pub facility: u32,
    /// syslog level, 0 (emergency) to 7 (debug).
    pub level: u32,
    /// The message (the record's first line after ';').
    pub text: String,
}

/// Splits a raw record; None for one that is not in /dev/kmsg's format.
///
/// ```rust
/// let r = kexec::kmsg::parse("6,512,1234567,-;kexec_file: nr_segments = 4\n").unwrap();
/// assert_eq!((r.facility, r.level, r.text.as_str()), (0, 6, "kexec_file: nr_segments = 4"));
/// assert!(kexec::kmsg::parse("no header").is_none());
/// ```
pub fn parse(raw: &str) -> Option<Record> {
    let (header, rest) = raw.split_once(';')?;
    let prio: u32 = header.split(',').next()?.parse().ok()?;
    let text = rest.lines().next().unwrap_or_default().to_string();
    Some(Record {
        facility: prio >> 3,
        level: prio & 7,
        text,
    })
}

/// Message starts of the kexec code: the prefixes of the files that print
/// with kexec_dprintk()/pr_*, and the unprefixed lines of the first form.
const KEXEC_STARTS: [&str; 8] = [
    "kexec", // kexec:, kexec_file:, kexec_core:, kexec-bzImage64:, kexec_file(Image):
    "kernel: ",
    "nr_segments = ",
    "segment[",
    "Loaded ",
    "Final command line is: ",
    "E820 memmap:",
    "Crash PT_LOAD ELF header",
];

/// "0000000000001000-000000000009ffff (1)": an E820 entry of the first
/// form's memory map dump.
fn e820_line(text: &str) -> bool {
    let Some((range, kind)) = text.split_once(' ') else {
        return false;
    };
    let Some((start, end)) = range.split_once('-') else {
        return false;
    };
    let hex = |s: &str| s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit());
    hex(start)
        && hex(end)
        && kind.starts_with('(')
        && kind.ends_with(')')
        && kind[1..kind.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// Whether a record is a line of the kexec code's: from the kernel (not
/// user space) and in one of its forms.
pub fn is_kexec(record: &Record) -> bool {
    record.facility == 0
        && (KEXEC_STARTS.iter().any(|s| record.text.starts_with(s)) || e820_line(&record.text))
}

/// The kexec code's messages among raw records, in order.
pub fn kexec_lines(raw: &[String]) -> Vec<String> {
    raw.iter()
        .filter_map(|r| parse(r))
        .filter(is_kexec)
        .map(|r| r.text)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// Records as 7.x writes them (prefixed), interleaved with others.
    #[test]
    fn prefixed_lines_are_kept_and_others_dropped() {
        let raw = records(&[
            "6,900,5000,-;kexec_file: kernel: 00000000a1b2c3d4 kernel_size: 0xd7a200",
            "6,901,5001,-;e1000e 0000:00:19.0 eth0: NIC Link is Up",
            "6,902,5002,-;kexec-bzImage64: Loaded purgatory at 0x7ffff000",
            "6,903,5003,-;kexec-bzImage64: Final command line is: console=ttyS0",
            "14,904,5004,-;kexec: a user-space line written to /dev/kmsg",
            "6,905,5005,-;kexec_file: nr_segments = 4\n SUBSYSTEM=kexec",
            "3,906,5006,-;kexec-bzImage64: Not a bzImage",
            "6,907,5007,-;kexec_file(Image): Loaded kernel at 0x80000000",
            "garbage without a header",
        ]);
        assert_eq!(
            kexec_lines(&raw),
            [
                "kexec_file: kernel: 00000000a1b2c3d4 kernel_size: 0xd7a200",
                "kexec-bzImage64: Loaded purgatory at 0x7ffff000",
                "kexec-bzImage64: Final command line is: console=ttyS0",
                "kexec_file: nr_segments = 4",
                "kexec-bzImage64: Not a bzImage",
                "kexec_file(Image): Loaded kernel at 0x80000000",
            ]
        );
    }

    /// Records as 6.8's bare printk wrote them: no prefix at all.
    #[test]
    fn unprefixed_lines_of_the_first_form_are_kept() {
        let raw = records(&[
            "6,10,1,-;kernel: 000000005f3e1a2b kernel_size: 0xc3e200",
            "6,11,2,-;Loaded purgatory at 0x7fffe000",
            "6,12,3,-;E820 memmap:",
            "6,13,4,-;0000000000000000-000000000009fbff (1)",
            "6,14,5,-;nr_segments = 5",
            "6,15,6,-;segment[0]: buf=0x00000000c0ffee00 bufsz=0x70 mem=0x7fffe000 memsz=0x1000",
            "6,16,7,-;kexec_file_load: type:0, start:0x7fffe110 head:0x10a3c002 flags:0x8",
            "6,17,8,-;usb 1-1: new high-speed USB device number 2",
            "6,18,9,-;0000000000000000-zz (1)",
        ]);
        let lines = kexec_lines(&raw);
        assert_eq!(lines.len(), 7, "{lines:?}");
        assert!(lines
            .iter()
            .all(|l| !l.starts_with("usb") && !l.contains("zz")));
    }
}
