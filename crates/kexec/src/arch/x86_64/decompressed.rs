//! A bzImage's kernel decompressed at load time (the default for a
//! kexec_load of a bzImage; `--decompress-at-load` insists on it):
//! we do what the kernel's own decompressor (arch/x86/boot/compressed)
//! would do after `kexec -e` — unpack the payload, lay the vmlinux's
//! PT_LOADs out by p_paddr, pick a random virtual offset and apply the
//! relocations appended to the payload — so the reboot enters vmlinux's
//! startup_64 directly. The physical KASLR slot is picked by the placer
//! (x86_linux.rs); startup_64 relocates itself to wherever it runs.

use super::x86_linux::BuildError;
use crate::facts::Facts;
use crate::image::bzimage::{offset, SetupHeader};
use crate::image::compressed::{self, Compression, Packed};
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::Endianness;

/// __START_KERNEL_map: where x86_64 maps the kernel image virtually.
pub const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;
/// KERNEL_IMAGE_SIZE with KASLR: the kernel image lies in the first GiB
/// above __START_KERNEL_map, whatever its virtual offset.
pub const KERNEL_IMAGE_SIZE: u64 = 1 << 30;
/// boot_params.hdr.loadflags KASLR_FLAG: the decompressor randomized the
/// kernel's base (the kernel then also randomizes its memory regions).
pub const KASLR_FLAG: u8 = 1 << 1;
/// No kernel unpacks to more than this.
const UNPACK_LIMIT: u64 = 1 << 30;

/// The relocation lists the kernel's build appends to vmlinux.bin
/// (arch/x86/tools/relocs): kernel virtual addresses, sign-extended from
/// 32 bits, of the places that hold the kernel's own virtual addresses.
/// Kernels up to 6.x append three lists (32-bit, inverse 32-bit, 64-bit);
/// newer ones dropped the inverse list and append two.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Relocs {
    /// 32-bit fields that get the offset added.
    pub add32: Vec<u32>,
    /// 32-bit fields that get the offset subtracted (inverse relocations).
    pub sub32: Vec<u32>,
    /// 64-bit fields that get the offset added.
    pub add64: Vec<u32>,
    /// Where the lists start in the decompressed output (the ELF ends there).
    pub start: usize,
}

impl Relocs {
    /// Reads the lists that fill the decompressed output from `elf_end`
    /// (where vmlinux.bin ends) to its end: three lists (32-bit, inverse
    /// 32-bit, 64-bit) or two (no inverse), each read backwards from the
    /// end and ended by a zero word. The count is the one whose lists end
    /// exactly where the ELF does; None when neither does (no relocations
    /// were appended).
    pub fn read(output: &[u8], elf_end: u64) -> Option<Relocs> {
        [3, 2]
            .into_iter()
            .filter_map(|lists| Self::read_lists(output, lists))
            .find(|r| r.start as u64 == elf_end)
    }

    /// The `lists` lists read backwards from the end of `output`.
    fn read_lists(output: &[u8], lists: usize) -> Option<Relocs> {
        let mut at = output.len();
        let mut next = || -> Option<u32> {
            at = at.checked_sub(4)?;
            Some(u32::from_le_bytes(output[at..at + 4].try_into().ok()?))
        };
        let mut list = || -> Option<Vec<u32>> {
            let mut v = Vec::new();
            loop {
                match next()? {
                    0 => return Some(v),
                    r => v.push(r),
                }
            }
        };
        let add32 = list()?;
        let sub32 = if lists == 3 { list()? } else { Vec::new() };
        let add64 = list()?;
        let start = output.len() - 4 * (lists + add32.len() + sub32.len() + add64.len());
        Some(Relocs {
            add32,
            sub32,
            add64,
            start,
        })
    }

    /// The end of the last field they write, as an offset in an image
    /// whose first byte is at virtual `base`; fields outside it are left
    /// to [`relocate`] to refuse.
    pub fn fields_end(&self, base: u64) -> usize {
        let end = |r: &u32, width: u64| {
            (i64::from(*r as i32) as u64)
                .checked_sub(base)
                .and_then(|off| off.checked_add(width))
                .filter(|e| *e <= KERNEL_IMAGE_SIZE)
                .unwrap_or(0) as usize
        };
        let narrow = self.add32.iter().chain(&self.sub32).map(|r| end(r, 4));
        let wide = self.add64.iter().map(|r| end(r, 8));
        narrow.chain(wide).max().unwrap_or(0)
    }

    /// How many relocations there are.
    pub fn len(&self) -> usize {
        self.add32.len() + self.sub32.len() + self.add64.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A vmlinux laid out as it runs, from LOAD_PHYSICAL_ADDR up.
#[derive(Debug)]
pub struct Laid {
    /// The PT_LOADs' file bytes at p_paddr - LOAD_PHYSICAL_ADDR (gaps zero).
    pub image: Vec<u8>,
    /// _end - _text: memory the kernel takes, bss and brk included.
    pub span: u64,
    /// Bytes below this offset may be relocated (the file-backed part).
    pub relocatable_end: u64,
    /// startup_64's offset from the load address (e_entry - LOAD_PHYSICAL_ADDR).
    pub entry_offset: u64,
}

/// One PT_LOAD: its file bytes at `offset` go to `at` in the image.
#[derive(Clone, Copy, Debug)]
struct Piece {
    at: usize,
    offset: usize,
    len: usize,
}

/// Where the ELF vmlinux at the start of `output` puts its PT_LOADs (in
/// the file's order), and the [`Laid`] fields but the image.
fn pieces(file: &str, output: &[u8], load_physical: u64) -> Result<(Vec<Piece>, Laid), BuildError> {
    let err = |why: String| BuildError::Format {
        file: file.into(),
        why: format!("its decompressed payload: {why}"),
    };
    let parsed = ElfFile64::<Endianness>::parse(output)
        .map_err(|e| err(format!("not an ELF64 vmlinux: {e}")))?;
    let endian = parsed.endian();
    let header = parsed.elf_header();
    if header.e_machine(endian) != elf::EM_X86_64 {
        return Err(err(format!(
            "e_machine is {}, not EM_X86_64 (62)",
            header.e_machine(endian)
        )));
    }
    let phdrs = header
        .program_headers(endian, output)
        .map_err(|e| err(format!("bad program headers: {e}")))?;
    let mut pieces = Vec::new();
    let mut span = None;
    for (i, ph) in phdrs.iter().enumerate() {
        if ph.p_type(endian) != elf::PT_LOAD || ph.p_memsz(endian) == 0 {
            continue;
        }
        let data = ph
            .data(endian, output)
            .map_err(|_| err(format!("PT_LOAD {i}: p_offset/p_filesz lie outside it")))?;
        let (paddr, memsz) = (ph.p_paddr(endian), ph.p_memsz(endian));
        let at = paddr.checked_sub(load_physical).ok_or_else(|| {
            err(format!(
                "PT_LOAD {i}: p_paddr {paddr:#x} lies below the setup header's pref_address {load_physical:#x} (LOAD_PHYSICAL_ADDR)"
            ))
        })?;
        if at
            .checked_add(memsz)
            .is_none_or(|end| end > KERNEL_IMAGE_SIZE)
            || data.len() as u64 > memsz
        {
            return Err(err(format!(
                "PT_LOAD {i}: p_paddr {paddr:#x} p_filesz {:#x} p_memsz {memsz:#x} do not fit a kernel image of at most {KERNEL_IMAGE_SIZE:#x} bytes",
                data.len()
            )));
        }
        span = span.max(Some(at + memsz));
        pieces.push(Piece {
            at: at as usize,
            offset: ph.p_offset(endian) as usize,
            len: data.len(),
        });
    }
    let span = span.ok_or_else(|| err("it has no PT_LOAD segment".into()))?;
    let filled = pieces.iter().map(|p| p.at + p.len).max().unwrap_or(0);
    let entry = header.e_entry(endian);
    let entry_offset = entry
        .checked_sub(load_physical)
        .filter(|off| *off < span)
        .ok_or_else(|| {
            err(format!(
                "e_entry {entry:#x} is not inside the kernel image [{load_physical:#x}, {:#x}) (a virtual entry point?)",
                load_physical + span
            ))
        })?;
    let laid = Laid {
        image: Vec::new(),
        span,
        relocatable_end: filled as u64,
        entry_offset,
    };
    Ok((pieces, laid))
}

/// Lays the ELF vmlinux at the start of `output` out by p_paddr, as the
/// decompressor's parse_elf does, in `output`'s own memory: the kernel is
/// held once, not twice. `load_physical` is LOAD_PHYSICAL_ADDR (the setup
/// header's pref_address). Every x86_64 vmlinux lists its PT_LOADs in
/// address order, each at or past its place in memory (p_offset >=
/// p_paddr - LOAD_PHYSICAL_ADDR): one that is not is refused by name.
pub fn lay_out(file: &str, mut output: Vec<u8>, load_physical: u64) -> Result<Laid, BuildError> {
    let (pieces, mut laid) = pieces(file, &output, load_physical)?;
    let misplaced = pieces
        .iter()
        .enumerate()
        .find(|(i, p)| p.at > p.offset || (*i > 0 && pieces[i - 1].at + pieces[i - 1].len > p.at));
    if let Some((i, p)) = misplaced {
        return Err(BuildError::Format {
            file: file.into(),
            why: format!(
                "its decompressed payload: PT_LOAD {i} goes to offset {:#x} of the image from p_offset {:#x}: after the one before it and at or before its p_offset, as in every x86_64 vmlinux, it is not",
                p.at, p.offset
            ),
        });
    }
    // In address order and each moving down, a piece never lands on the
    // bytes of one still to move (they lie at or after its own `at`).
    let mut done = 0;
    for p in &pieces {
        output[done..p.at].fill(0);
        output.copy_within(p.offset..p.offset + p.len, p.at);
        done = p.at + p.len;
    }
    output.truncate(done);
    laid.image = output;
    Ok(laid)
}

/// Where the ELF file ends: past its program data, section headers and
/// section data. The relocation lists must start at or after it.
pub fn elf_end(output: &[u8]) -> u64 {
    // The raw ELF64 header fields: a file the ELF parser finds fault with
    // has been refused by lay_out already.
    let u16_at = |at: usize| {
        output
            .get(at..at + 2)
            .map_or(0, |b| u64::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let u64_at = |at: usize| {
        output
            .get(at..at + 8)
            .map_or(0, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    };
    let (phoff, shoff) = (u64_at(0x20), u64_at(0x28));
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    let (shentsize, shnum) = (u16_at(0x3a), u16_at(0x3c));
    let mut end = shoff.saturating_add(shnum * shentsize);
    for i in 0..phnum {
        let ph = phoff.saturating_add(i * phentsize) as usize;
        end = end.max(u64_at(ph + 8).saturating_add(u64_at(ph + 32)));
    }
    end
}

/// Adds `virt_offset` to the kernel's own virtual addresses in `image`
/// (laid out from LOAD_PHYSICAL_ADDR, relocatable below `relocatable_end`),
/// as the decompressor's handle_relocations does. Each relocation must
/// name a whole field inside the relocatable part.
pub fn relocate(
    file: &str,
    image: &mut [u8],
    relocatable_end: u64,
    relocs: &Relocs,
    load_physical: u64,
    virt_offset: u64,
) -> Result<(), BuildError> {
    if virt_offset == 0 {
        return Ok(());
    }
    let base = START_KERNEL_MAP.wrapping_add(load_physical);
    let end = relocatable_end.min(image.len() as u64);
    let place = |kind: &str, r: u32, width: u64| -> Result<usize, BuildError> {
        let virt = i64::from(r as i32) as u64;
        virt.checked_sub(base)
            .filter(|off| off.checked_add(width).is_some_and(|e| e <= end))
            .map(|off| off as usize)
            .ok_or_else(|| BuildError::Format {
                file: file.into(),
                why: format!(
                    "its {kind} relocation {r:#010x} (virtual {virt:#x}) lies outside the kernel image [{base:#x}, {:#x})",
                    base.wrapping_add(end)
                ),
            })
    };
    let delta = virt_offset as u32;
    for &r in &relocs.add32 {
        let at = place("32-bit", r, 4)?;
        let v = u32::from_le_bytes(image[at..at + 4].try_into().expect("4 bytes"));
        image[at..at + 4].copy_from_slice(&v.wrapping_add(delta).to_le_bytes());
    }
    for &r in &relocs.sub32 {
        let at = place("inverse 32-bit", r, 4)?;
        let v = u32::from_le_bytes(image[at..at + 4].try_into().expect("4 bytes"));
        image[at..at + 4].copy_from_slice(&v.wrapping_sub(delta).to_le_bytes());
    }
    for &r in &relocs.add64 {
        let at = place("64-bit", r, 8)?;
        let v = u64::from_le_bytes(image[at..at + 8].try_into().expect("8 bytes"));
        image[at..at + 8].copy_from_slice(&v.wrapping_add(virt_offset).to_le_bytes());
    }
    Ok(())
}

/// The virtual offset of KASLR slot `random` (mod the slot count), as the
/// decompressor's find_random_virt_addr picks it: `align`-aligned, the
/// image (`size` bytes from LOAD_PHYSICAL_ADDR) inside KERNEL_IMAGE_SIZE.
pub fn virt_offset(load_physical: u64, size: u64, align: u64, random: u64) -> u64 {
    let room = KERNEL_IMAGE_SIZE.saturating_sub(load_physical.saturating_add(size));
    let slots = 1 + room / align.max(1);
    (random % slots) * align.max(1)
}

/// Whether the command line holds the word `nokaslr` (the kernel's
/// cmdline_find_option_bool looks at every word).
pub fn nokaslr(cmdline: &[u8]) -> bool {
    cmdline
        .split(|b| b.is_ascii_whitespace())
        .any(|w| w == b"nokaslr")
}

/// Why a normal load's bzImage keeps its decompressor by default even
/// though it could be decompressed at load, or None: what the kernel's
/// decompressor would do differently that ours does not do.
///
/// ```
/// use kexec::arch::x86_64::decompressed::why_not_by_default;
/// let facts = kexec::facts::Facts::default();
/// assert_eq!(why_not_by_default(&facts, b"console=ttyS0 quiet"), None);
/// assert!(why_not_by_default(&facts, b"quiet mem=4G").unwrap().contains("mem=4G"));
/// ```
pub fn why_not_by_default(facts: &Facts, cmdline: &[u8]) -> Option<String> {
    if let Some(flag) = &facts.memory_encryption {
        return Some(format!(
            "the CPU shows {flag}: an encrypted guest's kernel needs its decompressor's setup"
        ));
    }
    // arch/x86/boot/compressed/kaslr.c keeps the kernel inside these; ours
    // picks its slot from the running kernel's memory map.
    let limit = cmdline.split(|b| b.is_ascii_whitespace()).find(|w| {
        [&b"mem="[..], b"memmap=", b"efi_fake_mem="]
            .iter()
            .any(|p| w.starts_with(p))
    })?;
    Some(format!(
        "the command line holds {}, a memory limit the decompressor's KASLR honours",
        String::from_utf8_lossy(limit)
    ))
}

/// A bzImage's kernel, decompressed and relocated, ready to be entered at
/// startup_64.
#[derive(Debug)]
pub struct Decompressed {
    /// The image from LOAD_PHYSICAL_ADDR up, relocated by `virt_offset`.
    pub image: Vec<u8>,
    /// Memory it takes (_end - _text).
    pub span: u64,
    /// startup_64's offset from the load address.
    pub entry_offset: u64,
    /// LOAD_PHYSICAL_ADDR (pref_address): the lowest load address.
    pub load_physical: u64,
    /// The physical alignment (kernel_alignment, CONFIG_PHYSICAL_ALIGN).
    pub align: u64,
    /// The virtual offset applied (0 with nokaslr).
    pub virt_offset: u64,
    /// Whether the base is randomized (no `nokaslr`): KASLR_FLAG is set.
    pub kaslr: bool,
    /// The setup header bytes for the zero page (loadflags with KASLR_FLAG).
    pub head: Vec<u8>,
    /// For people: the payload's compression and the relocation count.
    pub what: String,
}

/// A bzImage's vmlinux unpacked and laid out, not yet relocated: what no
/// load's random numbers change, and what the cache keeps
/// ([`super::unpacked_cache`]).
#[derive(Debug, PartialEq, Eq)]
pub struct Unrelocated {
    /// The PT_LOADs' file bytes from LOAD_PHYSICAL_ADDR up, to the last
    /// byte that is nonzero or relocated (the rest is the kernel's zero fill).
    pub image: Vec<u8>,
    /// Memory it takes (_end - _text).
    pub span: u64,
    /// Bytes below this offset may be relocated (the file-backed part).
    pub relocatable_end: u64,
    /// startup_64's offset from the load address.
    pub entry_offset: u64,
    /// The decompressor's needed_size: the unpacked output or the image,
    /// the larger (the virtual slot must hold it).
    pub needed_size: u64,
    /// The relocation lists appended to the payload; None without any.
    pub relocs: Option<Relocs>,
    /// The payload's compression ("xz").
    pub compression: String,
}

/// Decompresses `kernel`'s payload and lays its vmlinux out, holding it
/// once: decompressed into a buffer of the size the build appended to the
/// payload, laid out in place, cut after its last nonzero byte.
pub fn unpack(file: &str, kernel: &[u8], header: &SetupHeader) -> Result<Unrelocated, BuildError> {
    let err = |why: String| BuildError::Format {
        file: file.into(),
        why,
    };
    let start = header.real_mode_size() as usize + header.payload_offset as usize;
    let end = start + header.payload_length as usize;
    let payload = kernel.get(start..end).ok_or_else(|| {
        err(format!(
            "payload_offset {:#x} + payload_length {:#x} lie past its {} bytes",
            header.payload_offset,
            header.payload_length,
            kernel.len()
        ))
    })?;
    let compression = Compression::of(payload).ok_or_else(|| {
        err(format!(
            "the payload at payload_offset {:#x} starts with {:02x?}: no compression --decompress-at-load knows (gzip, xz, zstd, lz4, bzip2, lzma)",
            header.payload_offset,
            &payload[..payload.len().min(6)]
        ))
    })?;
    let packed = Packed {
        what: compression.data(),
        compression,
        payload: start..end,
    };
    // The build appends the unpacked size (32 bits) to every payload; a
    // wrong one only costs a reallocation.
    let appended = payload.len().checked_sub(4).map_or(0, |at| {
        u32::from_le_bytes(payload[at..].try_into().expect("4 bytes")) as u64
    });
    let capacity = appended.min(UNPACK_LIMIT).min(payload.len() as u64 * 64);
    let mut output = Vec::with_capacity(capacity as usize);
    compressed::unpack_unhashed(file, &packed, kernel, &mut output, UNPACK_LIMIT)
        .map_err(|why| err(format!("--decompress-at-load: {why}")))?;
    let output_len = output.len() as u64;
    let relocs = Relocs::read(&output, elf_end(&output)).filter(|r| !r.is_empty());
    let laid = lay_out(file, output, header.pref_address)?;
    let mut image = laid.image;
    // The image ends in zeros the kernel's zero fill gives anyway: x86_64's
    // last PT_LOAD carries .bss, .brk and .init.scratch as file bytes (23 of
    // Debian 6.1's 58 MiB). Loading them as fill keeps them out of the
    // purgatory's digest, which is paid again at every kexec -e. A field a
    // relocation writes stays in.
    let base = START_KERNEL_MAP.wrapping_add(header.pref_address);
    let relocated_end = relocs.as_ref().map_or(0, |r| r.fields_end(base));
    let keep = image
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1)
        .max(relocated_end.min(image.len()));
    image.truncate(keep);
    image.shrink_to_fit();
    Ok(Unrelocated {
        image,
        span: laid.span,
        relocatable_end: laid.relocatable_end,
        entry_offset: laid.entry_offset,
        needed_size: laid.span.max(output_len),
        relocs,
        compression: compression.name().to_string(),
    })
}

/// Makes an unpacked kernel ready for one load: with KASLR (no `nokaslr`
/// in `cmdline`) relocated to the virtual slot `random` picks. `kernel` is
/// the bzImage (its setup header goes to the zero page).
pub fn relocate_for_load(
    file: &str,
    unpacked: Unrelocated,
    kernel: &[u8],
    header: &SetupHeader,
    cmdline: &[u8],
    random: u64,
) -> Result<Decompressed, BuildError> {
    let load_physical = header.pref_address;
    let align = u64::from(header.kernel_alignment).max(crate::layout::PAGE_SIZE);
    let kaslr = !nokaslr(cmdline);
    let Unrelocated {
        mut image,
        span,
        relocatable_end,
        entry_offset,
        needed_size,
        relocs,
        compression,
    } = unpacked;
    let (virt, relocs_what) = if kaslr {
        let relocs = relocs.ok_or_else(|| BuildError::Format {
            file: file.into(),
            why: "its decompressed payload ends without the relocation lists (vmlinux.relocs) a virtual KASLR offset needs: add nokaslr to the command line to enter it unrelocated".into(),
        })?;
        let virt = virt_offset(load_physical, needed_size, align, random);
        relocate(
            file,
            &mut image,
            relocatable_end,
            &relocs,
            load_physical,
            virt,
        )?;
        (virt, format!("{} relocations", relocs.len()))
    } else {
        (0, "nokaslr: not relocated".to_string())
    };
    // Relocation may have left a zero at the end (a field that became 0).
    let loaded = image
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    image.truncate(loaded);
    // The setup header ends by 0x202 + byte 0x201 <= 0x301: the first KiB holds it.
    let mut head = kernel[..kernel.len().min(0x400)].to_vec();
    if kaslr {
        head[offset::LOADFLAGS] |= KASLR_FLAG;
    }
    Ok(Decompressed {
        image,
        span,
        entry_offset,
        load_physical,
        align,
        virt_offset: virt,
        kaslr,
        head,
        what: format!("{compression} payload, {relocs_what}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOAD: u64 = 0x100_0000;

    fn synthetic(lists: usize) -> Vec<u8> {
        crate::testing::vmlinux_with_relocs(lists)
    }

    fn u64_at(i: &[u8], a: usize) -> u64 {
        u64::from_le_bytes(i[a..a + 8].try_into().unwrap())
    }

    fn u32_at(i: &[u8], a: usize) -> u32 {
        u32::from_le_bytes(i[a..a + 4].try_into().unwrap())
    }

    #[test]
    fn laying_out_moves_the_pt_load_down_in_place() {
        let out = synthetic(3);
        let laid = lay_out("vmlinuz", out.clone(), LOAD).unwrap();
        assert_eq!(laid.image, out[0x1000..0x1100]);
        assert_eq!(
            (laid.span, laid.relocatable_end, laid.entry_offset),
            (0x3000, 0x100, 0x40)
        );
        // A PT_LOAD that would move up (p_paddr - LOAD past its p_offset)
        // is no vmlinux's: refused by name.
        let mut up = out.clone();
        up[64 + 24..64 + 32].copy_from_slice(&(LOAD + 0x2000).to_le_bytes());
        up[64 + 40..64 + 48].copy_from_slice(&0x3000u64.to_le_bytes());
        let err = lay_out("vmlinuz", up, LOAD).unwrap_err().to_string();
        assert!(
            err.contains("vmlinuz") && err.contains("PT_LOAD 0 goes to offset 0x2000"),
            "{err}"
        );
    }

    #[test]
    fn the_end_of_the_relocated_fields_keeps_them_in_the_image() {
        let base = START_KERNEL_MAP + LOAD;
        let relocs = Relocs {
            add32: vec![(base + 0x20) as u32],
            sub32: vec![],
            add64: vec![(base + 0x200) as u32, 0x1234],
            start: 0,
        };
        // 0x200 + 8; the field below the image's base counts for nothing.
        assert_eq!(relocs.fields_end(base), 0x208);
        assert_eq!(Relocs::default().fields_end(base), 0);
    }

    #[test]
    fn relocations_are_read_backwards_and_applied_by_kind() {
        let out = synthetic(3);
        assert_eq!(elf_end(&out), 0x1100);
        let relocs = Relocs::read(&out, 0x1100).unwrap();
        let text = (START_KERNEL_MAP + LOAD) as u32;
        assert_eq!(relocs.add32, [text + 0x20]);
        assert_eq!(relocs.sub32, [text + 0x30]);
        assert_eq!(relocs.add64, [text + 0x10]);
        assert_eq!(relocs.start, 0x1100);
        let mut laid = lay_out("vmlinuz", out.clone(), LOAD).unwrap();
        assert_eq!(
            (laid.span, laid.entry_offset, laid.image.len()),
            (0x3000, 0x40, 0x100)
        );
        let off = 0x20_0000 * 7;
        relocate(
            "vmlinuz",
            &mut laid.image,
            laid.relocatable_end,
            &relocs,
            LOAD,
            off,
        )
        .unwrap();
        let i = &laid.image;
        assert_eq!(u64_at(i, 0x10), START_KERNEL_MAP + LOAD + 0x40 + off);
        assert_eq!(u32_at(i, 0x20), text + 0x80 + off as u32);
        assert_eq!(u32_at(i, 0x30), 0x5000u32.wrapping_sub(off as u32));
        // Offset 0: nothing changes.
        let mut same = lay_out("vmlinuz", out.clone(), LOAD).unwrap();
        let before = same.image.clone();
        relocate(
            "vmlinuz",
            &mut same.image,
            same.relocatable_end,
            &relocs,
            LOAD,
            0,
        )
        .unwrap();
        assert_eq!(same.image, before);
    }

    #[test]
    fn two_lists_are_told_from_three_by_where_the_elf_ends() {
        let text = (START_KERNEL_MAP + LOAD) as u32;
        let out = synthetic(2);
        let two = Relocs::read(&out, elf_end(&out)).unwrap();
        assert_eq!(
            (two.add32, two.sub32, two.add64),
            (vec![text + 0x20], vec![], vec![text + 0x10])
        );
        let three = Relocs::read(&synthetic(3), 0x1100).unwrap();
        assert_eq!(three.sub32, [text + 0x30]);
        // The 64-bit field is relocated as 64 bits in the newer format too.
        let mut laid = lay_out("vmlinuz", out.clone(), LOAD).unwrap();
        let mut two = Relocs::read(&out, 0x1100).unwrap();
        relocate(
            "vmlinuz",
            &mut laid.image,
            laid.relocatable_end,
            &two,
            LOAD,
            0x40_0000,
        )
        .unwrap();
        assert_eq!(
            u64_at(&laid.image, 0x10),
            START_KERNEL_MAP + LOAD + 0x40 + 0x40_0000
        );
        assert_eq!(
            u32_at(&laid.image, 0x30),
            0x5000,
            "no inverse list: untouched"
        );
        two.start = 0;
        assert!(!two.is_empty());
    }

    #[test]
    fn a_relocation_outside_the_image_is_refused_by_name() {
        let mut out = synthetic(3);
        let n = out.len();
        // The last word is the 32-bit relocation: point it past the file bytes.
        out[n - 4..].copy_from_slice(&((START_KERNEL_MAP + LOAD + 0x200) as u32).to_le_bytes());
        let relocs = Relocs::read(&out, elf_end(&out)).unwrap();
        let mut laid = lay_out("vmlinuz", out.clone(), LOAD).unwrap();
        let e = relocate(
            "vmlinuz",
            &mut laid.image,
            laid.relocatable_end,
            &relocs,
            LOAD,
            0x20_0000,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("vmlinuz") && e.contains("32-bit relocation 0x81000200"),
            "{e}"
        );
    }

    #[test]
    fn a_payload_without_relocations_is_found_out() {
        // The ELF alone: reading backwards runs into the ELF's own bytes.
        let out = synthetic(0);
        assert_eq!(Relocs::read(&out, elf_end(&out)), None);
    }

    #[test]
    fn virtual_slots_stay_in_the_kernel_image_area_and_are_aligned() {
        let align = 0x20_0000;
        let size = 0x300_0000;
        // (1 GiB - 16 MiB - 48 MiB) / 2 MiB + 1 slots.
        let slots = (KERNEL_IMAGE_SIZE - LOAD - size) / align + 1;
        assert_eq!(virt_offset(LOAD, size, align, 0), 0);
        assert_eq!(
            virt_offset(LOAD, size, align, slots - 1),
            (slots - 1) * align
        );
        assert_eq!(virt_offset(LOAD, size, align, slots), 0);
        for r in [1u64, 12345, u64::MAX, 0xdead_beef_cafe] {
            let v = virt_offset(LOAD, size, align, r);
            assert_eq!(v % align, 0);
            assert!(LOAD + v + size <= KERNEL_IMAGE_SIZE, "{v:#x}");
        }
    }

    #[test]
    fn nokaslr_is_a_whole_word() {
        assert!(nokaslr(b"console=ttyS0 nokaslr quiet"));
        assert!(nokaslr(b"nokaslr"));
        assert!(!nokaslr(b"console=ttyS0 nokaslrx kaslr"));
        assert!(!nokaslr(b""));
    }
}
