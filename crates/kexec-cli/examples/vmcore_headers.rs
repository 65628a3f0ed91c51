//! Prints what a kdump capture kernel's /proc/vmcore (or any ELF64 core
//! file) says about the crashed machine: how many CPUs left an NT_PRSTATUS
//! note and which physical ranges the PT_LOAD headers cover.
//!
//! Usage: vmcore_headers [--headers-only] [FILE] [--covers START-END ...]
//! (FILE defaults to /proc/vmcore)
//!
//! --headers-only reads a raw elfcorehdr as the kexec loader or the kernel
//! wrote it (e.g. copied from /dev/mem at the capture kernel's elfcorehdr=
//! address): there a PT_NOTE's p_offset is a physical address, not a file
//! offset, so only the program headers are counted (one PT_NOTE per CPU
//! described, plus one for VMCOREINFO).
//!
//! Output, one fact a line:
//!   phnum=N pt_note=N notes=N prstatus=N vmcoreinfo=yes|no   (notes, prstatus
//!                                   and vmcoreinfo only without --headers-only)
//!   load 0xSTART-0xEND            (physical, END exclusive, one per PT_LOAD)
//!   loads=N bytes=N
//!   covers 0xSTART-0xEND yes|no   (for each --covers: all of it inside PT_LOADs)
//!
//! Only the headers and notes are read, so it is quick on a large vmcore.
//! It reads the bytes itself (little-endian ELF64 only, what x86_64 and
//! arm64 kernels write): the `object` crate is not a kexec-cli dependency.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::process::ExitCode;

const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const NT_PRSTATUS: u32 = 1;

/// The headers and note counts of one core file.
#[derive(Debug, Default, PartialEq)]
struct Core {
    phnum: u16,
    /// PT_NOTE program headers.
    pt_note: usize,
    notes: usize,
    prstatus: usize,
    vmcoreinfo: bool,
    /// Physical [start, end) of each PT_LOAD, in file order.
    loads: Vec<(u64, u64)>,
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

/// Reads `len` bytes at `off` of `file`, naming `what` on failure.
fn read_at<R: Read + Seek>(
    f: &mut R,
    name: &str,
    what: &str,
    off: u64,
    len: usize,
) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; len];
    f.seek(SeekFrom::Start(off))
        .and_then(|_| f.read_exact(&mut buf))
        .map_err(|e| format!("{name}: {what} ({len} bytes at offset {off:#x}): {e}"))?;
    Ok(buf)
}

/// Counts the notes of one PT_NOTE body; a zero namesz ends it early (an
/// unused per-CPU note buffer is zero filled).
fn count_notes(name: &str, body: &[u8], core: &mut Core) -> Result<(), String> {
    let mut off = 0usize;
    while off + 12 <= body.len() {
        let namesz = u32_at(body, off) as usize;
        let descsz = u32_at(body, off + 4) as usize;
        let ntype = u32_at(body, off + 8);
        if namesz == 0 {
            break;
        }
        let name_end = off + 12 + namesz;
        let next = off + 12 + namesz.div_ceil(4) * 4 + descsz.div_ceil(4) * 4;
        if name_end > body.len() || next > body.len() {
            return Err(format!(
                "{name}: note at offset {off:#x} of a PT_NOTE: namesz {namesz} + descsz {descsz} run past its size {:#x}",
                body.len()
            ));
        }
        let owner = &body[off + 12..name_end];
        let owner = owner.strip_suffix(&[0]).unwrap_or(owner);
        core.notes += 1;
        if owner == b"CORE" && ntype == NT_PRSTATUS {
            core.prstatus += 1;
        }
        if owner == b"VMCOREINFO" {
            core.vmcoreinfo = true;
        }
        off = next;
    }
    Ok(())
}

/// Parses the ELF header, program headers and notes of `name`.
fn parse<R: Read + Seek>(f: &mut R, name: &str, headers_only: bool) -> Result<Core, String> {
    let eh = read_at(f, name, "ELF header", 0, 64)?;
    if &eh[..4] != b"\x7fELF" {
        return Err(format!(
            "{name}: e_ident magic is {:02x?}, not 7f 45 4c 46",
            &eh[..4]
        ));
    }
    if eh[4] != 2 || eh[5] != 1 {
        return Err(format!(
            "{name}: e_ident class {} / data {}: only ELF64 little-endian (2/1) is read",
            eh[4], eh[5]
        ));
    }
    let phoff = u64_at(&eh, 32);
    let phentsize = u16_at(&eh, 54);
    let phnum = u16_at(&eh, 56);
    if phentsize != 56 {
        return Err(format!("{name}: e_phentsize is {phentsize}, not 56"));
    }
    let ph = read_at(f, name, "program headers", phoff, phnum as usize * 56)?;
    let mut core = Core {
        phnum,
        ..Core::default()
    };
    for i in 0..phnum as usize {
        let p = &ph[i * 56..(i + 1) * 56];
        let p_type = u32_at(p, 0);
        let p_offset = u64_at(p, 8);
        let p_paddr = u64_at(p, 24);
        let p_filesz = u64_at(p, 32);
        let p_memsz = u64_at(p, 40);
        match p_type {
            PT_NOTE if headers_only => core.pt_note += 1,
            PT_NOTE => {
                core.pt_note += 1;
                let len = usize::try_from(p_filesz)
                    .ok()
                    .filter(|&l| l <= 64 << 20)
                    .ok_or_else(|| format!("{name}: program header {i}: PT_NOTE p_filesz {p_filesz:#x} is over 64 MiB"))?;
                let body = read_at(
                    f,
                    name,
                    &format!("PT_NOTE of program header {i}"),
                    p_offset,
                    len,
                )?;
                count_notes(name, &body, &mut core)?;
            }
            PT_LOAD => {
                let end = p_paddr.checked_add(p_memsz).ok_or_else(|| {
                    format!("{name}: program header {i}: PT_LOAD p_paddr {p_paddr:#x} + p_memsz {p_memsz:#x} overflows")
                })?;
                core.loads.push((p_paddr, end));
            }
            _ => {}
        }
    }
    Ok(core)
}

/// Whether all of [start, end) lies inside the union of `loads`.
fn covered(loads: &[(u64, u64)], start: u64, end: u64) -> bool {
    let mut sorted = loads.to_vec();
    sorted.sort();
    let mut at = start;
    for (s, e) in sorted {
        if s <= at && e > at {
            at = e;
        }
        if at >= end {
            return true;
        }
    }
    at >= end
}

fn parse_range(text: &str) -> Result<(u64, u64), String> {
    let num = |s: &str| {
        u64::from_str_radix(s.trim_start_matches("0x"), 16)
            .map_err(|e| format!("--covers {text}: {s:?} is not a hex address: {e}"))
    };
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| format!("--covers {text}: expected START-END (hex, END exclusive)"))?;
    Ok((num(a)?, num(b)?))
}

fn run() -> Result<(), String> {
    let mut file = "/proc/vmcore".to_string();
    let mut checks = Vec::new();
    let mut headers_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--covers" {
            let r = args.next().ok_or("--covers needs START-END")?;
            checks.push(parse_range(&r)?);
        } else if a == "--headers-only" {
            headers_only = true;
        } else {
            file = a;
        }
    }
    let mut f = File::open(&file).map_err(|e| format!("{file}: open: {e}"))?;
    let core = parse(&mut f, &file, headers_only)?;
    if headers_only {
        println!("phnum={} pt_note={}", core.phnum, core.pt_note);
    } else {
        println!(
            "phnum={} pt_note={} notes={} prstatus={} vmcoreinfo={}",
            core.phnum,
            core.pt_note,
            core.notes,
            core.prstatus,
            if core.vmcoreinfo { "yes" } else { "no" }
        );
    }
    for (s, e) in &core.loads {
        println!("load {s:#x}-{e:#x}");
    }
    let bytes: u64 = core.loads.iter().map(|(s, e)| e - s).sum();
    println!("loads={} bytes={bytes}", core.loads.len());
    for (s, e) in checks {
        println!(
            "covers {s:#x}-{e:#x} {}",
            if covered(&core.loads, s, e) {
                "yes"
            } else {
                "no"
            }
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vmcore_headers: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn note(owner: &[u8], ntype: u32, desc: usize) -> Vec<u8> {
        let mut n = Vec::new();
        n.extend((owner.len() as u32 + 1).to_le_bytes());
        n.extend((desc as u32).to_le_bytes());
        n.extend(ntype.to_le_bytes());
        n.extend(owner);
        n.push(0);
        while n.len() % 4 != 0 {
            n.push(0);
        }
        n.extend(vec![0u8; desc.div_ceil(4) * 4]);
        n
    }

    /// An ELF64 core: one PT_NOTE with `notes`, then one PT_LOAD per range.
    fn core_file(notes: &[u8], loads: &[(u64, u64)]) -> Vec<u8> {
        let phnum = 1 + loads.len();
        let note_off = 64 + 56 * phnum as u64;
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&(phnum as u16).to_le_bytes());
        let ph = |t: u32, off: u64, paddr: u64, sz: u64| {
            let mut p = vec![0u8; 56];
            p[..4].copy_from_slice(&t.to_le_bytes());
            p[8..16].copy_from_slice(&off.to_le_bytes());
            p[24..32].copy_from_slice(&paddr.to_le_bytes());
            p[32..40].copy_from_slice(&sz.to_le_bytes());
            p[40..48].copy_from_slice(&sz.to_le_bytes());
            p
        };
        b.extend(ph(PT_NOTE, note_off, 0, notes.len() as u64));
        for (s, e) in loads {
            b.extend(ph(PT_LOAD, 0, *s, e - s));
        }
        b.extend(notes);
        b
    }

    #[test]
    fn counts_prstatus_notes_and_lists_loads() {
        let mut notes = note(b"CORE", NT_PRSTATUS, 336);
        notes.extend(note(b"CORE", NT_PRSTATUS, 336));
        notes.extend(note(b"VMCOREINFO", 0, 100));
        notes.extend(vec![0u8; 24]); // zero-filled tail ends the walk
        let loads = [(0x1000, 0x9f000), (0x1_0000_0000, 0x1_0800_0000)];
        let file = core_file(&notes, &loads);
        let core = parse(&mut Cursor::new(&file), "t", false).unwrap();
        assert_eq!(core.prstatus, 2);
        assert_eq!(core.pt_note, 1);
        assert_eq!(core.notes, 3);
        assert!(core.vmcoreinfo);
        assert_eq!(core.loads, loads);
        // A raw elfcorehdr: the PT_NOTE's offset is a physical address
        // past the end of the file; only the headers are read.
        let mut raw = file.clone();
        raw[64 + 8..64 + 16].copy_from_slice(&0x7fff_0000u64.to_le_bytes());
        assert!(parse(&mut Cursor::new(&raw), "raw", false).is_err());
        let headers = parse(&mut Cursor::new(&raw), "raw", true).unwrap();
        assert_eq!((headers.pt_note, headers.prstatus), (1, 0));
        assert_eq!(headers.loads, loads);
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let mut bad = core_file(&[], &[]);
        bad[0] = 0;
        let e = parse(&mut Cursor::new(bad), "/proc/vmcore", false).unwrap_err();
        assert!(
            e.contains("/proc/vmcore") && e.contains("e_ident magic"),
            "{e}"
        );
        let mut notes = note(b"CORE", NT_PRSTATUS, 336);
        notes[4..8].copy_from_slice(&4096u32.to_le_bytes()); // descsz past the end
        let e = parse(&mut Cursor::new(core_file(&notes, &[])), "v", false).unwrap_err();
        assert!(e.contains("descsz 4096"), "{e}");
    }

    #[test]
    fn coverage_needs_every_byte() {
        let loads = [(0x100, 0x200), (0x200, 0x300)];
        assert!(covered(&loads, 0x100, 0x300));
        assert!(!covered(&loads, 0x100, 0x301));
        assert!(!covered(&[(0x100, 0x1ff), (0x200, 0x300)], 0x100, 0x300));
        assert_eq!(parse_range("0x100-0x200").unwrap(), (0x100, 0x200));
        assert!(parse_range("zz").is_err());
    }
}
