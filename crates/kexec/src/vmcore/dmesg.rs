//! The crashed kernel's log, in the three forms the kernel has kept it in,
//! printed as kexec-tools 2.0.25's vmcore-dmesg prints it
//! (util_lib/elf_info.c there; the layouts from the kernel's
//! kernel/printk/printk_ringbuffer.h and printk.c, read, not copied).
//!
//! Each record is one line: `[%5llu.%06llu] ` (seconds and microseconds of
//! its `ts_nsec`), then its text with every byte that is neither printable
//! ASCII nor white space written as `\xNN` ([`escape`]; a newline inside a
//! record's text stays a newline), then `\n`. The plain buffer of kernels
//! before 3.5 is written as it is.
//!
//! Which records are printed, as kexec-tools decides:
//! - lockless ring buffer (5.10+): the descriptors from `tail_id` to
//!   `head_id`, each only when its `state_var` holds its own id and the
//!   state committed or finalized (a reserved or reusable one is skipped
//!   without a line). A data-less record (`begin == next`) prints its
//!   timestamp alone. A data block whose `begin` lies after its `next`
//!   wrapped: its text is at the ring's start. The text starts after the
//!   block's id word and is cut at the block's end.
//! - `printk_log` records (3.5–5.9): from `log_first_idx` to `log_next_idx`;
//!   a record with `len` 0 marks the wrap to the buffer's start. kexec-tools
//!   prints that marker too, as an empty record (`[    0.000000] `), and so
//!   do we, so the outputs compare equal. A second marker (a cycle) or a
//!   record leading outside `log_buf` is an error after what came before it.

use super::{BadValue, Error, Vmcore};
use std::io::Write;

/// Which of the kernel's log formats the vmcore held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// The lockless `printk_ringbuffer` (Linux 5.10 and later).
    Lockless,
    /// Variable-length `printk_log` records in `log_buf` (3.5 to 5.9).
    Records,
    /// A plain character buffer (before 3.5).
    Plain,
}

/// The most bits of a ring's size or count taken: the kernel's log buffer
/// is at most 2 GiB (LOG_BUF_LEN_MAX).
const MAX_BITS: u32 = 31;
/// The largest `struct printk_log`, `struct prb_desc` or `struct
/// printk_info` taken (each is tens of bytes).
const MAX_STRUCT: u64 = 4096;

/// The record's timestamp as kexec-tools prints it: `[%5llu.%06llu] `.
///
/// ```
/// use kexec::vmcore::dmesg::timestamp;
/// assert_eq!(timestamp(0), "[    0.000000] ");
/// assert_eq!(timestamp(12_345_678_999), "[   12.345678] ");
/// assert_eq!(timestamp(123_456_000_000_000), "[123456.000000] ");
/// ```
pub fn timestamp(ts_nsec: u64) -> String {
    format!(
        "[{:5}.{:06}] ",
        ts_nsec / 1_000_000_000,
        ts_nsec % 1_000_000_000 / 1000
    )
}

/// Appends `text` to `out` with every byte that is neither printable ASCII
/// (0x20–0x7e) nor white space (`\t \n \v \f \r`) as `\xNN`: C's isprint()
/// and isspace() in the C locale, as kexec-tools tests them.
///
/// ```
/// let mut out = Vec::new();
/// kexec::vmcore::dmesg::escape(b"a\tb\nc\x1b[0m\xff", &mut out);
/// assert_eq!(out, b"a\tb\nc\\x1b[0m\\xff");
/// ```
pub fn escape(text: &[u8], out: &mut Vec<u8>) {
    for &c in text {
        if (0x20..=0x7e).contains(&c) || (0x09..=0x0d).contains(&c) {
            out.push(c);
        } else {
            out.extend_from_slice(format!("\\x{c:02x}").as_bytes());
        }
    }
}

fn write(out: &mut dyn Write, bytes: &[u8]) -> Result<(), Error> {
    out.write_all(bytes).map_err(Error::Output)
}

/// Why a VMCOREINFO entry is needed, for the error when it is not there.
const LOCKLESS: &str = "the 5.10+ lockless ring buffer (SYMBOL(prb))";
const RECORDS: &str = "the 3.5-5.9 printk_log records (SYMBOL(log_first_idx))";
const PLAIN: &str = "the pre-3.5 plain log buffer";

impl Vmcore {
    fn bad(&self, b: BadValue) -> Error {
        self.error(b.to_string())
    }

    fn need(&self, key: &str, v: Option<Result<u64, BadValue>>, why: &str) -> Result<u64, Error> {
        match v {
            Some(Ok(n)) => Ok(n),
            Some(Err(b)) => Err(self.bad(b)),
            None => Err(self.error(format!("VMCOREINFO lacks {key}, which {why} needs"))),
        }
    }
    fn symbol(&self, name: &str, why: &str) -> Result<u64, Error> {
        self.need(&format!("SYMBOL({name})"), self.info.symbol(name), why)
    }
    fn offset(&self, field: &str, why: &str) -> Result<u64, Error> {
        let v = self.need(&format!("OFFSET({field})"), self.info.offset(field), why)?;
        self.small(&format!("OFFSET({field})"), v)
    }
    fn size(&self, name: &str, why: &str) -> Result<u64, Error> {
        let v = self.need(&format!("SIZE({name})"), self.info.size(name), why)?;
        self.small(&format!("SIZE({name})"), v)
    }
    /// Sizes and offsets of the log's structures are small.
    fn small(&self, key: &str, v: u64) -> Result<u64, Error> {
        if v > MAX_STRUCT {
            return Err(self.error(format!(
                "VMCOREINFO's {key}={v} is over {MAX_STRUCT}: no log structure is that large"
            )));
        }
        Ok(v)
    }

    /// A `width`-byte unsigned integer of the crashed kernel at `vaddr`.
    fn uint(&mut self, vaddr: u64, width: usize, what: &str) -> Result<u64, Error> {
        let b = self.read_virt(vaddr, width, what)?;
        Ok(self.elf.endian().uint(&b, width))
    }
    /// A pointer or `unsigned long` of the crashed kernel at `vaddr`.
    fn ulong(&mut self, vaddr: u64, what: &str) -> Result<u64, Error> {
        let w = self.elf.pointer_bytes();
        self.uint(vaddr, w, what)
    }
}

/// `base + off` for a kernel address; wrapping, as the kernel's own
/// arithmetic (an address that wraps is then in no PT_LOAD).
fn at(base: u64, off: u64) -> u64 {
    base.wrapping_add(off)
}

pub(super) fn dump(v: &mut Vmcore, out: &mut dyn Write) -> Result<LogFormat, Error> {
    if v.info.symbol("prb").is_some() {
        lockless(v, out)?;
        Ok(LogFormat::Lockless)
    } else if v.info.symbol("log_first_idx").is_some() {
        records(v, out)?;
        Ok(LogFormat::Records)
    } else if v.info.symbol("log_buf").is_some() {
        plain(v, out)?;
        Ok(LogFormat::Plain)
    } else {
        Err(v.error("VMCOREINFO has neither SYMBOL(prb) (5.10+) nor SYMBOL(log_buf)"))
    }
}

/// The layout of the lockless ring buffer, from VMCOREINFO.
struct Prb {
    desc_size: u64,
    info_size: u64,
    state_var: u64,
    text_blk_lpos: u64,
    lpos_begin: u64,
    lpos_next: u64,
    ts_nsec: u64,
    text_len: u64,
}

fn lockless(v: &mut Vmcore, out: &mut dyn Write) -> Result<(), Error> {
    let w = LOCKLESS;
    let prb_sym = v.symbol("prb", w)?;
    let rb_desc_ring = v.offset("printk_ringbuffer.desc_ring", w)?;
    let rb_text_ring = v.offset("printk_ringbuffer.text_data_ring", w)?;
    let count_bits_off = v.offset("prb_desc_ring.count_bits", w)?;
    let descs_off = v.offset("prb_desc_ring.descs", w)?;
    let infos_off = v.offset("prb_desc_ring.infos", w)?;
    let head_id_off = v.offset("prb_desc_ring.head_id", w)?;
    let tail_id_off = v.offset("prb_desc_ring.tail_id", w)?;
    let size_bits_off = v.offset("prb_data_ring.size_bits", w)?;
    let data_off = v.offset("prb_data_ring.data", w)?;
    let counter = v.offset("atomic_long_t.counter", w)?;
    let p = Prb {
        desc_size: v.size("prb_desc", w)?,
        info_size: v.size("printk_info", w)?,
        state_var: v.offset("prb_desc.state_var", w)? + counter,
        text_blk_lpos: v.offset("prb_desc.text_blk_lpos", w)?,
        lpos_begin: v.offset("prb_data_blk_lpos.begin", w)?,
        lpos_next: v.offset("prb_data_blk_lpos.next", w)?,
        ts_nsec: v.offset("printk_info.ts_nsec", w)?,
        text_len: v.offset("printk_info.text_len", w)?,
    };

    // `prb` is a pointer to the ring buffer in use (printk_rb_static, or
    // printk_rb_dynamic once log_buf_len= set a larger one).
    let prb = v.ulong(prb_sym, "prb (SYMBOL(prb), the pointer to the ring buffer)")?;
    let desc_ring = at(prb, rb_desc_ring);
    let text_ring = at(prb, rb_text_ring);
    let count_bits = v.uint(at(desc_ring, count_bits_off), 4, "prb_desc_ring.count_bits")? as u32;
    let size_bits = v.uint(at(text_ring, size_bits_off), 4, "prb_data_ring.size_bits")? as u32;
    for (field, bits) in [
        ("prb_desc_ring.count_bits", count_bits),
        ("prb_data_ring.size_bits", size_bits),
    ] {
        if bits > MAX_BITS {
            return Err(v.error(format!(
                "{field} is {bits}: over {MAX_BITS} (the kernel's log is at most 2 GiB)"
            )));
        }
    }
    let count = 1u64 << count_bits;
    let size = 1u64 << size_bits;
    let descs = v.ulong(at(desc_ring, descs_off), "prb_desc_ring.descs")?;
    let infos = v.ulong(at(desc_ring, infos_off), "prb_desc_ring.infos")?;
    let data = v.ulong(at(text_ring, data_off), "prb_data_ring.data")?;
    let tail = v.ulong(
        at(desc_ring, tail_id_off + counter),
        "prb_desc_ring.tail_id",
    )?;
    let head = v.ulong(
        at(desc_ring, head_id_off + counter),
        "prb_desc_ring.head_id",
    )?;

    // state_var: the descriptor's id, its state in the top 2 bits.
    let bits = 8 * v.elf.pointer_bytes() as u32;
    let id_mask = (u64::MAX >> (64 - bits)) >> 2;
    let span = head.wrapping_sub(tail) & id_mask;
    if span >= count {
        return Err(v.error(format!(
            "prb_desc_ring.tail_id {tail:#x} and head_id {head:#x} are {span} descriptors apart, \
             more than the ring's {count} (count_bits {count_bits})"
        )));
    }
    let ring = Ring {
        descs,
        infos,
        data,
        count,
        size,
        id_mask,
        bits,
    };
    let mut line = Vec::new();
    for i in 0..=span {
        let id = tail.wrapping_add(i) & id_mask;
        line.clear();
        if record(v, &p, &ring, id, &mut line)? {
            write(out, &line)?;
        }
    }
    Ok(())
}

/// Where the rings are, and their sizes.
struct Ring {
    descs: u64,
    infos: u64,
    data: u64,
    count: u64,
    size: u64,
    id_mask: u64,
    bits: u32,
}

/// The line of descriptor `id` into `line`; false when it is skipped.
fn record(v: &mut Vmcore, p: &Prb, r: &Ring, id: u64, line: &mut Vec<u8>) -> Result<bool, Error> {
    let index = id % r.count;
    let desc = at(r.descs, index * p.desc_size);
    let info = at(r.infos, index * p.info_size);
    // "prb_desc_ring.descs[14].state_var (id 0x3e)"
    let what =
        |array: &str, field: &str| format!("prb_desc_ring.{array}[{index}]{field} (id {id:#x})");
    let sv = v.ulong(at(desc, p.state_var), &what("descs", ".state_var"))?;
    let state = sv >> (r.bits - 2) & 3;
    // Committed (1) or finalized (2), and still this id's.
    if sv & r.id_mask != id || !(state == 1 || state == 2) {
        return Ok(false);
    }
    let lpos = at(desc, p.text_blk_lpos);
    let mut begin = v.ulong(
        at(lpos, p.lpos_begin),
        &what("descs", ".text_blk_lpos.begin"),
    )? % r.size;
    let next = v.ulong(at(lpos, p.lpos_next), &what("descs", ".text_blk_lpos.next"))? % r.size;
    let ts = v.uint(at(info, p.ts_nsec), 8, &what("infos", ".ts_nsec"))?;
    line.extend_from_slice(timestamp(ts).as_bytes());
    if begin != next {
        let mut len = v.uint(at(info, p.text_len), 2, &what("infos", ".text_len"))?;
        if begin > next {
            begin = 0; // the block wrapped: its data is at the ring's start
        }
        // Past the block's leading id word; the text is cut at the block's
        // end (kexec-tools' unsigned arithmetic: a block shorter than its
        // id word cuts nothing) and at the ring's end.
        begin += u64::from(r.bits / 8);
        len = len
            .min(next.wrapping_sub(begin))
            .min(r.size.saturating_sub(begin));
        let text = v.read_virt(
            at(r.data, begin),
            len as usize,
            &format!("the text of {} in prb_data_ring.data", what("descs", "")),
        )?;
        escape(&text, line);
    }
    line.push(b'\n');
    Ok(true)
}

fn records(v: &mut Vmcore, out: &mut dyn Write) -> Result<(), Error> {
    let w = RECORDS;
    // 3.5 to 3.10 called the struct `log`, later kernels `printk_log`.
    let name = if v.info.size("printk_log").is_some() {
        "printk_log"
    } else {
        "log"
    };
    let log_sz = v.size(name, w)?;
    let ts_off = v.offset(&format!("{name}.ts_nsec"), w)?;
    let len_off = v.offset(&format!("{name}.len"), w)?;
    let text_len_off = v.offset(&format!("{name}.text_len"), w)?;
    for (field, off, width) in [
        ("ts_nsec", ts_off, 8),
        ("len", len_off, 2),
        ("text_len", text_len_off, 2),
    ] {
        if off + width > log_sz {
            return Err(v.error(format!(
                "VMCOREINFO's OFFSET({name}.{field})={off} puts the field past SIZE({name})={log_sz}"
            )));
        }
    }
    let log_buf_sym = v.symbol("log_buf", w)?;
    let len_sym = v.symbol("log_buf_len", w)?;
    let first_sym = v.symbol("log_first_idx", w)?;
    let next_sym = v.symbol("log_next_idx", w)?;
    let log_buf = v.ulong(log_buf_sym, "log_buf")?;
    let buf_len = v.uint(len_sym, 4, "log_buf_len")?;
    let first = v.uint(first_sym, 4, "log_first_idx")?;
    let next = v.uint(next_sym, 4, "log_next_idx")?;
    if buf_len < log_sz || buf_len > 1 << MAX_BITS {
        return Err(v.error(format!(
            "log_buf_len is {buf_len}: not between SIZE({name})={log_sz} and 2 GiB"
        )));
    }
    let last = buf_len - log_sz; // the last index a record header fits at
    if first > last {
        return Err(v.error(format!(
            "log_first_idx {first:#x} is outside log_buf (log_buf_len {buf_len:#x})"
        )));
    }
    let mut idx = first;
    let mut wrapped = false;
    let mut line = Vec::new();
    while idx != next {
        let hdr = v.read_virt(
            at(log_buf, idx),
            log_sz as usize,
            &format!("the {name} record at log_buf index {idx:#x}"),
        )?;
        let e = v.elf.endian();
        let ts = e.uint(&hdr[ts_off as usize..], 8);
        let loglen = e.uint(&hdr[len_off as usize..], 2);
        let text_len = e
            .uint(&hdr[text_len_off as usize..], 2)
            .min(buf_len - idx - log_sz);
        line.clear();
        line.extend_from_slice(timestamp(ts).as_bytes());
        let text = v.read_virt(
            at(log_buf, idx + log_sz),
            text_len as usize,
            &format!("the text of the record at log_buf index {idx:#x}"),
        )?;
        escape(&text, &mut line);
        line.push(b'\n');
        write(out, &line)?;
        if loglen == 0 {
            // The end-of-buffer marker: the next record is at the start.
            if wrapped {
                return Err(v.error(format!(
                    "a second wrap marker ({name}.len 0) at log_buf index {idx:#x} before \
                     log_next_idx {next:#x}: the log buffer is corrupt (a cycle)"
                )));
            }
            idx = 0;
            wrapped = true;
        } else {
            idx += loglen;
            if idx > last {
                return Err(v.error(format!(
                    "a record's {name}.len {loglen} leads to index {idx:#x}, outside log_buf \
                     (log_buf_len {buf_len:#x}): the log buffer is corrupt"
                )));
            }
        }
    }
    Ok(())
}

fn plain(v: &mut Vmcore, out: &mut dyn Write) -> Result<(), Error> {
    let w = PLAIN;
    let log_buf_sym = v.symbol("log_buf", w)?;
    let end_sym = v.symbol("log_end", w)?;
    let len_sym = v.symbol("log_buf_len", w)?;
    v.symbol("logged_chars", w)?; // kexec-tools insists on it, then reckons it itself
    let log_buf = v.ulong(log_buf_sym, "log_buf")?;
    let end = v.uint(end_sym, 4, "log_end")?;
    let len = v.uint(len_sym, 4, "log_buf_len")?;
    if len == 0 || len > 1 << MAX_BITS {
        return Err(v.error(format!("log_buf_len is {len}: not between 1 and 2 GiB")));
    }
    // log_end counts every character ever logged; the last log_buf_len of
    // them are in the buffer, the oldest at log_end % log_buf_len.
    let pieces = if end < len {
        vec![(0, end)]
    } else {
        let w = end % len;
        vec![(w, len - w), (0, w)]
    };
    const STEP: u64 = 1 << 20;
    for (start, n) in pieces {
        let mut done = 0;
        while done < n {
            let take = STEP.min(n - done);
            let bytes = v.read_virt(
                at(log_buf, start + done),
                take as usize,
                "the log buffer (log_buf)",
            )?;
            write(out, &bytes)?;
            done += take;
        }
    }
    Ok(())
}
