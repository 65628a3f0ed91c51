//! The reader against synthetic vmcores (`testing`): exact output, the
//! records skipped, and errors that name the field.

use super::testing::*;
use super::*;

/// A temporary file holding `bytes`, removed when dropped.
struct Temp(std::path::PathBuf);

impl Temp {
    fn new(name: &str, bytes: &[u8]) -> Temp {
        let p = std::env::temp_dir().join(format!("kexec-vmcore-{name}-{}", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        Temp(p)
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The log of `bytes`, or the error's message (with what was written).
fn run(name: &str, bytes: &[u8]) -> (Result<LogFormat, String>, String) {
    let f = Temp::new(name, bytes);
    let mut out = Vec::new();
    let r = Vmcore::open(&f.0).and_then(|mut v| v.dmesg(&mut out));
    (
        r.map_err(|e| e.to_string()),
        String::from_utf8(out).unwrap(),
    )
}

fn log(name: &str, bytes: &[u8]) -> String {
    let (r, out) = run(name, bytes);
    r.unwrap();
    out
}

fn error(name: &str, bytes: &[u8]) -> String {
    run(name, bytes).0.unwrap_err()
}

/// 6 records printed (one data-less, one wrapping to the ring's start) and
/// 3 skipped (reserved, reusable, an older id's descriptor).
fn lockless_sample() -> LocklessCore {
    let mut core = LocklessCore::new();
    // 824 bytes into the 1 KiB ring: the seventh block no longer fits.
    core.first_lpos = 0x4000_0000 + 824;
    core.record(0, b"Linux version 6.1.0-18-amd64")
        .record_in(1_234_567_890, b"multi\nline", State::Committed)
        .record_in(1_300_000_000, b"never shown", State::Reserved)
        .record(1_500_000_000, b"esc\x1b[1mbold\x7f\xc3\xa9\ttab")
        .record_in(1_600_000_000, b"free", State::Reusable)
        .stale(1_700_000_000, b"old")
        .record(2_000_000_000, b"")
        .record(3_000_001_000, &[b'w'; 60])
        .record(4_000_000_000, b"after wrap");
    core
}

#[test]
fn lockless_ring_buffer_prints_as_kexec_tools() {
    let mut core = lockless_sample();
    let out = log("lockless", &core.build());
    let expected = format!(
        "[    0.000000] Linux version 6.1.0-18-amd64\n\
         [    1.234567] multi\nline\n\
         [    1.500000] esc\\x1b[1mbold\\x7f\\xc3\\xa9\ttab\n\
         [    2.000000] \n\
         [    3.000001] {}\n\
         [    4.000000] after wrap\n",
        "w".repeat(60)
    );
    assert_eq!(out, expected);
}

#[test]
fn the_wrapping_block_is_read_at_the_rings_start() {
    let mut core = lockless_sample();
    let bytes = core.build();
    // The wrapped block left only its id word at its begin (976): its
    // text is at the start of the ring, after the id word there.
    let ram = &bytes[bytes.len() - RAM_SIZE as usize..];
    let data = (core.data - RAM_VADDR) as usize;
    assert_eq!(&ram[data + 8..data + 68], &[b'w'; 60]);
    assert_eq!(&ram[data + 984..data + 1024], &[0; 40]);
    assert!(log("wrap", &bytes).contains(&"w".repeat(60)));
}

#[test]
fn only_committed_and_finalized_descriptors_of_their_own_id_print() {
    for (state, shown) in [
        (State::Reserved, false),
        (State::Committed, true),
        (State::Finalized, true),
        (State::Reusable, false),
    ] {
        let mut core = LocklessCore::new();
        core.record(1_000, b"before")
            .record_in(2_000, b"this one", state)
            .record(3_000, b"after");
        let out = log("states", &core.build());
        assert_eq!(out.contains("this one"), shown, "{state:?}: {out}");
        assert_eq!(out.lines().count(), 2 + shown as usize, "{state:?}: {out}");
    }
}

#[test]
fn an_empty_ring_prints_nothing() {
    // The kernel's initial state: head = tail, a reusable descriptor.
    let mut core = LocklessCore::new();
    core.record_in(0, b"", State::Reusable);
    assert_eq!(log("empty", &core.build()), "");
}

#[test]
fn printk_log_records_wrap_at_the_zero_length_marker() {
    let mut core = RecordsCore::new();
    core.record(5_000_000, b"first line")
        .record(6_000_000, b"second\x01")
        .record(7_000_000, b"third line here")
        .record(8_000_000, b"fourth");
    let (r, out) = run("records", &core.build());
    assert_eq!(r, Ok(LogFormat::Records));
    // kexec-tools 2.0.25 prints the wrap marker as an empty record too.
    assert_eq!(
        out,
        "[    0.005000] first line\n\
         [    0.006000] second\\x01\n\
         [    0.000000] \n\
         [    0.007000] third line here\n\
         [    0.008000] fourth\n"
    );
}

#[test]
fn a_printk_log_cycle_or_a_record_leading_outside_is_an_error_after_the_log_before_it() {
    let mut core = RecordsCore::new();
    core.record(5_000_000, b"first line")
        .record(7_000_000, b"x".repeat(70).as_slice());
    let bytes = core.build();
    // next_idx (SYMBOL(log_next_idx) is the fourth u64 of the symbols)
    // pointing where no record starts: the walk runs off the buffer.
    let mut broken = bytes.clone();
    let text_at = bytes.len() - (RAM_SIZE + TEXT_SIZE) as usize;
    broken[text_at + 0x1000 + 24..text_at + 0x1000 + 28].copy_from_slice(&3u32.to_le_bytes());
    let (r, out) = run("cycle", &broken);
    let e = r.unwrap_err();
    assert!(e.contains("second wrap marker (printk_log.len 0)"), "{e}");
    assert!(out.starts_with("[    0.005000] first line\n"), "{out}");
    // A record whose len leads past the buffer's end.
    let mut broken = bytes.clone();
    let rec = bytes.len() - RAM_SIZE as usize + 0x8000 + 160;
    broken[rec + 8..rec + 10].copy_from_slice(&250u16.to_le_bytes());
    let e = error("outside", &broken);
    assert!(
        e.contains("printk_log.len 250 leads to index 0x19a, outside log_buf"),
        "{e}"
    );
}

#[test]
fn the_plain_buffer_of_old_kernels_is_printed_as_it_is() {
    let mut mem = Memory::new();
    let buf = RAM_VADDR + 0x100;
    mem.put(buf, b"EFGH\nABCD");
    let sym = |n: u64| TEXT_VADDR + 8 * n;
    mem.put_u64(sym(0), buf);
    mem.put(sym(1), &(9u32 + 2 * 9 + 4).to_le_bytes()); // log_end: wrapped twice, at 4
    mem.put(sym(2), &9u32.to_le_bytes());
    let info = vmcoreinfo(&[
        format!("SYMBOL(log_buf)={:x}", sym(0)),
        format!("SYMBOL(log_end)={:x}", sym(1)),
        format!("SYMBOL(log_buf_len)={:x}", sym(2)),
        format!("SYMBOL(logged_chars)={:x}", sym(3)),
    ]);
    let (r, out) = run("plain", &mem.core(&info));
    assert_eq!(r, Ok(LogFormat::Plain));
    assert_eq!(out, "\nABCDEFGH");
}

#[test]
fn no_vmcoreinfo_note_is_an_error_counting_the_note_segments() {
    let core = elf64(
        &[(b"CORE", 1, &[0; 336])],
        &[(RAM_VADDR, RAM_PADDR, &[0; 64])],
    );
    let e = error("nonote", &core);
    assert!(
        e.ends_with(": no VMCOREINFO note among its 1 PT_NOTE segment"),
        "{e}"
    );
    assert!(
        e.starts_with(&std::env::temp_dir().display().to_string()),
        "{e}"
    );
}

#[test]
fn missing_vmcoreinfo_entries_are_named() {
    let mut core = lockless_sample();
    core.drop_keys = vec!["SYMBOL(prb)".into()];
    let e = error("noprb", &core.build());
    assert!(
        e.ends_with("VMCOREINFO has neither SYMBOL(prb) (5.10+) nor SYMBOL(log_buf)"),
        "{e}"
    );
    core.drop_keys = vec!["OFFSET(prb_desc.state_var)".into()];
    let e = error("nostate", &core.build());
    assert!(
        e.contains(
            "VMCOREINFO lacks OFFSET(prb_desc.state_var), which the 5.10+ lockless ring buffer"
        ),
        "{e}"
    );
    core.drop_keys = vec!["SIZE(printk_info)".into()];
    assert!(error("noinfo", &core.build()).contains("lacks SIZE(printk_info)"));
}

#[test]
fn a_bad_vmcoreinfo_value_is_named() {
    let mut core = LocklessCore::new();
    core.record(1, b"x");
    let good = core.build();
    let needle = b"SIZE(prb_desc)=24";
    let at = good
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut bad = good.clone();
    bad[at + needle.len() - 2..at + needle.len()].copy_from_slice(b"2x");
    let e = error("badvalue", &bad);
    assert!(
        e.contains("VMCOREINFO's SIZE(prb_desc)=2x is not decimal"),
        "{e}"
    );
}

#[test]
fn an_address_in_no_pt_load_is_named_with_its_field() {
    let mut core = lockless_sample();
    core.descs = 0xffff_c900_0000_0000;
    let e = error("outside", &core.build());
    // The first id is 62: descriptor 14, 14 * 24 = 0x150.
    assert!(
        e.contains(
            "virtual address 0xffffc90000000150 of prb_desc_ring.descs[14].state_var (id 0x3e) \
             is in no PT_LOAD (of 2)"
        ),
        "{e}"
    );
    let mut core = lockless_sample();
    core.prb_sym = 0x1000;
    let e = error("outside-prb", &core.build());
    assert!(
        e.contains("virtual address 0x1000 of prb (SYMBOL(prb)"),
        "{e}"
    );
}

#[test]
fn a_truncated_file_is_an_error_naming_what_was_cut() {
    let mut core = lockless_sample();
    let bytes = core.build();
    // Cut inside the kernel image's PT_LOAD, before the prb pointer.
    let text_at = bytes.len() - (RAM_SIZE + TEXT_SIZE) as usize;
    let e = error("cut", &bytes[..text_at + 0x800]);
    assert!(e.contains("the file is cut short: prb (SYMBOL(prb)"), "{e}");
    // Cut inside the text ring: the records before the cut print.
    let (r, out) = run(
        "cut-ring",
        &bytes[..bytes.len() - RAM_SIZE as usize + 0x4000 + 900],
    );
    let e = r.unwrap_err();
    assert!(
        e.contains("cut short: the text of prb_desc_ring.descs[1] (id 0x41)"),
        "{e}"
    );
    assert_eq!(
        out,
        "[    0.000000] Linux version 6.1.0-18-amd64\n[    1.234567] multi\nline\n"
    );
    for (len, what) in [
        (10, "e_ident"),
        (40, "the ELF header"),
        (100, "program headers"),
        (300, "PT_NOTE segment 0"),
    ] {
        let e = error("short", &bytes[..len]);
        assert!(e.contains("cut short") && e.contains(what), "{len}: {e}");
    }
}

#[test]
fn the_descriptor_span_is_bounded_by_the_ring() {
    let mut core = LocklessCore::new();
    core.record(1, b"x");
    let mut bytes = core.build();
    // tail_id (rb + 32) far behind head_id.
    let text_at = bytes.len() - (RAM_SIZE + TEXT_SIZE) as usize;
    let tail = text_at + 0x2000 + 32;
    bytes[tail..tail + 8].copy_from_slice(&1u64.to_le_bytes());
    let e = error("span", &bytes);
    assert!(
        e.contains("prb_desc_ring.tail_id 0x1 and head_id 0x3e are 61 descriptors apart"),
        "{e}"
    );
}

#[test]
fn not_an_elf_file_and_foreign_classes_are_refused_by_name() {
    assert!(error("text", b"not a core file at all").contains("no \\x7fELF magic"));
    assert!(error("short", b"abc").ends_with(": not an ELF file: no \\x7fELF magic at offset 0"));
    assert!(error("empty", b"").ends_with(": not an ELF file: the file is empty"));
    assert!(error("magic-only", b"\x7fELF").contains("cut short: the ELF identification (e_ident)"));
    let mut core = LocklessCore::new().build();
    core[4] = 3;
    assert!(error("class", &core).contains("unknown ELF class 3 in e_ident[EI_CLASS]"));
}

/// Seeded mutations of a good vmcore: errors or a log, never a panic.
#[test]
fn no_mutation_makes_the_reader_panic() {
    let good = lockless_sample().build();
    let records = {
        let mut c = RecordsCore::new();
        c.record(1, b"a").record(2, &[b'b'; 100]).record(3, b"c");
        c.build()
    };
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let f = Temp::new("mutations", &good);
    for round in 0..400 {
        let mut bytes = if round % 2 == 0 {
            good.clone()
        } else {
            records.clone()
        };
        // Mutate the headers, the note, and the structures in both PT_LOADs.
        for _ in 0..1 + rand() % 8 {
            let region = match rand() % 4 {
                0 => 0..600,
                1 => bytes.len() - (RAM_SIZE + TEXT_SIZE) as usize..bytes.len() - RAM_SIZE as usize,
                _ => bytes.len() - RAM_SIZE as usize..bytes.len(),
            };
            let at = region.start + (rand() as usize) % region.len();
            bytes[at] = rand() as u8;
        }
        if rand() % 8 == 0 {
            let len = (rand() as usize) % bytes.len();
            bytes.truncate(len);
        }
        std::fs::write(&f.0, &bytes).unwrap();
        let mut out = Vec::new();
        if let Ok(mut v) = Vmcore::open(&f.0) {
            let _ = v.dmesg(&mut out);
        }
        assert!(
            out.len() < 1 << 20,
            "round {round}: {} bytes of log",
            out.len()
        );
    }
}

/// An ELF32 big-endian core (as a 32-bit big-endian kernel's): one PT_NOTE
/// of `notes`, one PT_LOAD per `loads` entry (vaddr, bytes).
fn elf32_be(notes: &[(&[u8], u32, &[u8])], loads: &[(u32, &[u8])]) -> Vec<u8> {
    let note = note_segment(notes, u32::to_be_bytes);
    let phnum = 1 + loads.len();
    let mut out = vec![0u8; 52 + 32 * phnum];
    out[..7].copy_from_slice(b"\x7fELF\x01\x02\x01");
    out[16..18].copy_from_slice(&4u16.to_be_bytes()); // ET_CORE
    out[18..20].copy_from_slice(&20u16.to_be_bytes()); // EM_PPC
    out[28..32].copy_from_slice(&52u32.to_be_bytes()); // e_phoff
    out[42..44].copy_from_slice(&32u16.to_be_bytes()); // e_phentsize
    out[44..46].copy_from_slice(&(phnum as u16).to_be_bytes());
    let mut offset = (52 + 32 * phnum) as u32;
    let mut headers = vec![(4u32, offset, 0u32, note.len() as u32)];
    offset += note.len() as u32;
    for (vaddr, bytes) in loads {
        headers.push((1, offset, *vaddr, bytes.len() as u32));
        offset += bytes.len() as u32;
    }
    for (i, (t, off, vaddr, size)) in headers.into_iter().enumerate() {
        let p = &mut out[52 + 32 * i..52 + 32 * (i + 1)];
        for (j, v) in [t, off, vaddr, vaddr.wrapping_sub(0xc000_0000), size, size]
            .iter()
            .enumerate()
        {
            p[4 * j..4 * j + 4].copy_from_slice(&v.to_be_bytes());
        }
    }
    out.extend_from_slice(&note);
    for (_, bytes) in loads {
        out.extend_from_slice(bytes);
    }
    out
}

#[test]
fn elf32_big_endian_cores_are_read_with_32_bit_pointers() {
    // A 2.6 kernel's plain buffer: log_buf is a 4-byte big-endian pointer.
    let base = 0xc000_0000u32;
    let mut mem = vec![0u8; 0x200];
    mem[0..4].copy_from_slice(&(base + 0x100).to_be_bytes()); // log_buf
    mem[4..8].copy_from_slice(&5u32.to_be_bytes()); // log_end
    mem[8..12].copy_from_slice(&64u32.to_be_bytes()); // log_buf_len
    mem[0x100..0x105].copy_from_slice(b"<6>hi");
    let info = vmcoreinfo(&[
        "OSRELEASE=2.6.32".to_string(),
        format!("SYMBOL(log_buf)={base:x}"),
        format!("SYMBOL(log_end)={:x}", base + 4),
        format!("SYMBOL(log_buf_len)={:x}", base + 8),
        format!("SYMBOL(logged_chars)={:x}", base + 12),
    ]);
    let core = elf32_be(
        &[(b"CORE", 1, &[0; 72]), (b"VMCOREINFO", 0, info.as_bytes())],
        &[(0xc100_0000, &[0; 16]), (base, &mem)],
    );
    let f = Temp::new("elf32", &core);
    let mut v = Vmcore::open(&f.0).unwrap();
    assert!(!v.elf().is_64 && v.elf().big_endian);
    assert_eq!(v.elf().pointer_bytes(), 4);
    assert_eq!(v.elf().loads().count(), 2);
    assert_eq!(v.vmcoreinfo().osrelease(), Some("2.6.32"));
    let mut out = Vec::new();
    assert_eq!(v.dmesg(&mut out).unwrap(), LogFormat::Plain);
    assert_eq!(out, b"<6>hi");
}

#[test]
fn i386_kernels_in_elf64_cores_have_32_bit_pointers() {
    let mut core = LocklessCore::new().build();
    core[18..20].copy_from_slice(&3u16.to_le_bytes()); // EM_386
    let f = Temp::new("i386", &core);
    assert_eq!(Vmcore::open(&f.0).unwrap().elf().pointer_bytes(), 4);
}

#[test]
fn an_i386_lockless_ring_has_4_byte_words_and_32_bit_state_vars() {
    let mut core = LocklessCore::i386();
    // The fourth block (32 bytes) starts 8 bytes before the ring's end: it wraps.
    core.first_lpos = 0x4000_0000 + 976;
    core.record(1_000_000_000, b"i386 first")
        .record_in(2_000_000_000, b"skipped", State::Reusable)
        .stale(2_500_000_000, b"stale")
        .record(3_000_000_000, b"wraps to the start: 30 bytes")
        .record(4_000_000_000, b"last");
    let bytes = core.build();
    assert!(bytes.windows(21).any(|w| w == b"SIZE(prb_desc)=12\nOFF"));
    // Its text is at the ring's start, after a 4-byte id word.
    let ring = bytes.len() - RAM_SIZE as usize + 0x4000;
    assert_eq!(&bytes[ring + 4..ring + 14], b"wraps to t");
    assert_eq!(
        log("i386", &bytes),
        "[    1.000000] i386 first\n\
         [    3.000000] wraps to the start: 30 bytes\n\
         [    4.000000] last\n"
    );
}

#[test]
fn a_5_10_ring_without_last_finalized_id_is_read_at_its_own_offsets() {
    let mut core = lockless_sample();
    core.last_finalized_id = false;
    let bytes = core.build();
    let needle = b"OFFSET(printk_ringbuffer.text_data_ring)=40\n";
    assert!(bytes.windows(needle.len()).any(|w| w == needle));
    assert_eq!(log("5.10", &bytes), log("6.1", &lockless_sample().build()));
}

#[test]
fn after_the_rings_wrapped_many_times_the_log_starts_at_the_tail() {
    // 200 records through 16 descriptors and a 1 KiB text ring: ids wrap
    // the array 12 times, blocks wrap the ring about 7 times.
    let mut core = LocklessCore::new();
    for i in 0..200u64 {
        core.record(
            i * 1_000_000_000,
            format!("record {i:03} {}", "x".repeat(i as usize % 9)).as_bytes(),
        );
    }
    let out = log("many", &core.build());
    let lines: Vec<&str> = out.lines().collect();
    // As many as both rings still hold, ending with the newest.
    assert!(lines.len() > 10 && lines.len() <= 16, "{out}");
    let first: u64 = lines[0][22..25].parse().unwrap();
    for (n, line) in lines.iter().enumerate() {
        let i = first + n as u64;
        let want = format!(
            "{} record {i:03} {}",
            timestamp_of(i),
            "x".repeat(i as usize % 9)
        );
        assert_eq!(*line, want);
    }
    assert_eq!(first + lines.len() as u64, 200);
}

fn timestamp_of(seconds: u64) -> String {
    format!("[{seconds:5}.000000]")
}
