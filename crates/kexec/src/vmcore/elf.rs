//! A small reader of ELF core headers (ELF32 and ELF64, either byte order):
//! the file header, the program headers, and the notes of the PT_NOTE
//! segments. Nothing else of the file is read here.

use super::{Error, Source};

/// PT_LOAD: a range of the crashed machine's memory.
pub const PT_LOAD: u32 = 1;
/// PT_NOTE: CPU registers, VMCOREINFO.
pub const PT_NOTE: u32 = 4;
/// e_phnum's escape: the real count is in section header 0's sh_info.
const PN_XNUM: u16 = 0xffff;
/// EM_386: its kernels are 32-bit even in an ELF64 core (kexec-tools'
/// `--elf64-core-headers` on i386).
const EM_386: u16 = 3;

/// The most program headers read (a vmcore has one per RAM range).
pub const MAX_PHDRS: u64 = 1 << 20;
/// The largest PT_NOTE segment read (per-CPU notes take ~400 bytes a CPU).
pub const MAX_NOTE_SEGMENT: u64 = 64 << 20;

/// One program header, widened to 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phdr {
    /// PT_LOAD, PT_NOTE, ...
    pub p_type: u32,
    /// Where its bytes start in the file.
    pub offset: u64,
    /// The kernel virtual address of its first byte.
    pub vaddr: u64,
    /// The physical address of its first byte.
    pub paddr: u64,
    /// How many of its bytes are in the file.
    pub filesz: u64,
    /// How many bytes of memory it describes (the rest reads as zeros).
    pub memsz: u64,
}

/// What the file header and program headers say.
#[derive(Clone, Debug)]
pub struct ElfCore {
    /// ELFCLASS64 (true) or ELFCLASS32.
    pub is_64: bool,
    /// ELFDATA2MSB.
    pub big_endian: bool,
    /// e_machine.
    pub machine: u16,
    /// All program headers, in file order.
    pub phdrs: Vec<Phdr>,
}

/// Reads integers of the file's byte order out of byte slices.
#[derive(Clone, Copy, Debug)]
pub struct Endian {
    /// ELFDATA2MSB.
    pub big: bool,
}

impl Endian {
    /// The unsigned integer of `width` (1, 2, 4 or 8) bytes at the start of `b`.
    pub fn uint(self, b: &[u8], width: usize) -> u64 {
        let b = &b[..width];
        let mut v = 0u64;
        if self.big {
            for &x in b {
                v = (v << 8) | u64::from(x);
            }
        } else {
            for &x in b.iter().rev() {
                v = (v << 8) | u64::from(x);
            }
        }
        v
    }
    fn u16(self, b: &[u8], at: usize) -> u16 {
        self.uint(&b[at..], 2) as u16
    }
    fn u32(self, b: &[u8], at: usize) -> u32 {
        self.uint(&b[at..], 4) as u32
    }
    fn u64(self, b: &[u8], at: usize) -> u64 {
        self.uint(&b[at..], 8)
    }
}

impl ElfCore {
    /// Reads the file header and the program headers.
    pub(crate) fn read(src: &mut Source) -> Result<ElfCore, Error> {
        let head = src.read_upto(0, 16, "the ELF identification (e_ident)")?;
        if !head.starts_with(b"\x7fELF") {
            return Err(src.format(if head.is_empty() {
                "not an ELF file: the file is empty".to_string()
            } else {
                "not an ELF file: no \\x7fELF magic at offset 0".to_string()
            }));
        }
        let ident = src.read(0, 16, "the ELF identification (e_ident)")?;
        let is_64 = match ident[4] {
            1 => false,
            2 => true,
            c => {
                return Err(src.format(format!(
                    "unknown ELF class {c} in e_ident[EI_CLASS] (1 is ELF32, 2 ELF64)"
                )))
            }
        };
        let big = match ident[5] {
            1 => false,
            2 => true,
            d => {
                return Err(src.format(format!(
                    "unknown ELF byte order {d} in e_ident[EI_DATA] (1 is little, 2 big endian)"
                )))
            }
        };
        if ident[6] != 1 {
            return Err(src.format(format!(
                "ELF version {} in e_ident[EI_VERSION], not EV_CURRENT (1)",
                ident[6]
            )));
        }
        let e = Endian { big };
        let ehsize = if is_64 { 64 } else { 52 };
        let h = src.read(0, ehsize, "the ELF header")?;
        let machine = e.u16(&h, 18);
        let (phoff, shoff, phentsize, phnum) = if is_64 {
            (e.u64(&h, 32), e.u64(&h, 40), e.u16(&h, 54), e.u16(&h, 56))
        } else {
            (
                u64::from(e.u32(&h, 28)),
                u64::from(e.u32(&h, 32)),
                e.u16(&h, 42),
                e.u16(&h, 44),
            )
        };
        let want = if is_64 { 56 } else { 32 };
        if phentsize != want {
            return Err(src.format(format!(
                "e_phentsize is {phentsize}, not the {want} bytes of an ELF{} program header",
                if is_64 { 64 } else { 32 }
            )));
        }
        let count = if phnum == PN_XNUM {
            // Extended numbering: section header 0's sh_info holds the count.
            let (at, what) = if is_64 { (44, 48) } else { (28, 32) };
            let sh = src.read(shoff, what, "section header 0 (e_phnum is PN_XNUM)")?;
            u64::from(e.u32(&sh, at))
        } else {
            u64::from(phnum)
        };
        if count > MAX_PHDRS {
            return Err(src.format(format!(
                "{count} program headers, more than the {MAX_PHDRS} this reader takes"
            )));
        }
        let table = src.read(
            phoff,
            (count * u64::from(want)) as usize,
            "the program headers (e_phoff, e_phnum)",
        )?;
        let phdrs = table
            .chunks_exact(usize::from(want))
            .map(|p| {
                if is_64 {
                    Phdr {
                        p_type: e.u32(p, 0),
                        offset: e.u64(p, 8),
                        vaddr: e.u64(p, 16),
                        paddr: e.u64(p, 24),
                        filesz: e.u64(p, 32),
                        memsz: e.u64(p, 40),
                    }
                } else {
                    Phdr {
                        p_type: e.u32(p, 0),
                        offset: u64::from(e.u32(p, 4)),
                        vaddr: u64::from(e.u32(p, 8)),
                        paddr: u64::from(e.u32(p, 12)),
                        filesz: u64::from(e.u32(p, 16)),
                        memsz: u64::from(e.u32(p, 20)),
                    }
                }
            })
            .collect();
        Ok(ElfCore {
            is_64,
            big_endian: big,
            machine,
            phdrs,
        })
    }

    /// The crashed kernel's pointer (and `unsigned long`) width in bytes:
    /// the ELF class's, except i386 kernels, which are 32-bit in any class.
    pub fn pointer_bytes(&self) -> usize {
        if !self.is_64 || self.machine == EM_386 {
            4
        } else {
            8
        }
    }

    /// The byte order of the file and of the crashed kernel's memory.
    pub fn endian(&self) -> Endian {
        Endian {
            big: self.big_endian,
        }
    }

    /// The PT_NOTE program headers, in file order.
    pub fn notes(&self) -> impl Iterator<Item = &Phdr> {
        self.phdrs.iter().filter(|p| p.p_type == PT_NOTE)
    }

    /// The PT_LOAD program headers, in file order.
    pub fn loads(&self) -> impl Iterator<Item = &Phdr> {
        self.phdrs.iter().filter(|p| p.p_type == PT_LOAD)
    }
}

/// One note of a PT_NOTE segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note<'a> {
    /// The name without its terminating NUL ("CORE", "VMCOREINFO").
    pub name: &'a [u8],
    /// n_type.
    pub n_type: u32,
    /// The descriptor bytes.
    pub desc: &'a [u8],
}

/// The notes of one PT_NOTE segment's bytes (4-byte aligned names and
/// descriptors, as Linux writes them). A note that would run past the
/// segment ends the list, as in kexec-tools.
pub fn notes(bytes: &[u8], e: Endian) -> Vec<Note<'_>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while bytes.len().saturating_sub(at) >= 12 {
        let namesz = e.u32(bytes, at) as usize;
        let descsz = e.u32(bytes, at + 4) as usize;
        let n_type = e.u32(bytes, at + 8);
        let name_at = at + 12;
        let padded = |n: usize| n.checked_next_multiple_of(4);
        let Some(desc_at) = padded(namesz).and_then(|n| name_at.checked_add(n)) else {
            break;
        };
        let Some(next) = padded(descsz).and_then(|n| desc_at.checked_add(n)) else {
            break;
        };
        if next > bytes.len() {
            break;
        }
        let mut name = &bytes[name_at..name_at + namesz];
        if let [rest @ .., 0] = name {
            name = rest;
        }
        out.push(Note {
            name,
            n_type,
            desc: &bytes[desc_at..desc_at + descsz],
        });
        at = next;
    }
    out
}
