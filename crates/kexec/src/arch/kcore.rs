//! The program headers of /proc/kcore, the running kernel's own core file:
//! where its image (KCORE_TEXT: `_text` to `_end`) and its RAM
//! (KCORE_RAM, the direct or linear map) are mapped. Both architectures'
//! crash loads read them; only the headers are read, since a read past them
//! would copy kernel memory.

use crate::sys::Host;

/// The running kernel's own core file.
pub const KCORE: &str = "/proc/kcore";

const PT_LOAD: u32 = 1;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;

/// One PT_LOAD of /proc/kcore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KcoreLoad {
    /// p_vaddr: where the kernel maps it.
    pub vaddr: u64,
    /// p_paddr: its physical address (−1 for vmalloc and modules).
    pub paddr: u64,
    /// p_memsz.
    pub size: u64,
}

/// The PT_LOADs of /proc/kcore's header (`head`: at least the ELF header
/// and the program headers), every read bounds-checked: the header is data.
/// `machine` is the running architecture's e_machine and name.
///
/// ```
/// let mut head = vec![0u8; 64 + 56];
/// head[..6].copy_from_slice(b"\x7fELF\x02\x01");
/// head[18] = 62; // EM_X86_64
/// head[32] = 64; // e_phoff
/// head[54] = 56; // e_phentsize
/// head[56] = 1; // e_phnum
/// head[64] = 1; // PT_LOAD
/// head[64 + 16..64 + 24].copy_from_slice(&0xffff_ffff_8100_0000u64.to_le_bytes());
/// let loads = kexec::arch::kcore::loads(&head, (62, "EM_X86_64")).unwrap();
/// assert_eq!(loads[0].vaddr, 0xffff_ffff_8100_0000);
/// ```
pub fn loads(head: &[u8], machine: (u16, &str)) -> Result<Vec<KcoreLoad>, String> {
    let u16_at = |at: usize| {
        head.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        head.get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    };
    let u64_at = |at: usize| {
        head.get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    };
    if head.len() < EHDR_SIZE || &head[..4] != b"\x7fELF" {
        return Err(format!("{KCORE}: no ELF header in its first bytes"));
    }
    if head[4] != 2 || head[5] != 1 {
        return Err(format!(
            "{KCORE}: EI_CLASS {} EI_DATA {}: not a little-endian ELF64 file",
            head[4], head[5]
        ));
    }
    let found = u16_at(18).unwrap_or(0);
    if found != machine.0 {
        return Err(format!(
            "{KCORE}: e_machine is {found}, not {} ({}): not this architecture's kernel",
            machine.1, machine.0
        ));
    }
    let phoff = u64_at(32).unwrap_or(0);
    let phentsize = usize::from(u16_at(54).unwrap_or(0));
    let phnum = usize::from(u16_at(56).unwrap_or(0));
    if phentsize != PHDR_SIZE {
        return Err(format!(
            "{KCORE}: e_phentsize is {phentsize}, not {PHDR_SIZE}"
        ));
    }
    let table = usize::try_from(phoff)
        .ok()
        .and_then(|off| Some((off, off.checked_add(phnum.checked_mul(PHDR_SIZE)?)?)))
        .filter(|&(_, end)| end <= head.len())
        .ok_or(format!(
            "{KCORE}: e_phoff {phoff:#x} with {phnum} program headers lies past the {} bytes read",
            head.len()
        ))?;
    let mut loads = Vec::new();
    for ph in (table.0..table.1).step_by(PHDR_SIZE) {
        if u32_at(ph) != Some(PT_LOAD) {
            continue;
        }
        // In bounds: the table was checked above.
        let (vaddr, paddr, size) = (
            u64_at(ph + 16).unwrap_or(0),
            u64_at(ph + 24).unwrap_or(0),
            u64_at(ph + 40).unwrap_or(0),
        );
        loads.push(KcoreLoad { vaddr, paddr, size });
    }
    Ok(loads)
}

/// Reads /proc/kcore's ELF header, then exactly its program headers. The
/// error names the file and why (a permission error says crash loads need
/// root).
pub fn read_head(host: &dyn Host) -> Result<Vec<u8>, String> {
    let ehdr = host
        .read_head(KCORE, EHDR_SIZE)
        .map_err(|e| unreadable(KCORE, e))?;
    let field = |at: usize, len: usize| -> u64 {
        ehdr.get(at..at + len)
            .map(|b| b.iter().rev().fold(0u64, |n, &x| (n << 8) | u64::from(x)))
            .unwrap_or(0)
    };
    let (phoff, phnum) = (field(32, 8), field(56, 2));
    // The kernel puts its program headers right after the ELF header.
    if phoff > 4096 {
        return Err(format!(
            "{KCORE}: e_phoff is {phoff:#x}, not right after the ELF header"
        ));
    }
    let len = phoff as usize + phnum as usize * PHDR_SIZE;
    host.read_head(KCORE, len.max(EHDR_SIZE))
        .map_err(|e| unreadable(KCORE, e))
}

/// "cannot read PATH: why", with the hint crash loads need root when the
/// kernel said permission denied.
pub fn unreadable(path: &str, e: std::io::Error) -> String {
    let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
        " (crash loads need root)"
    } else {
        ""
    };
    format!("cannot read {path}: {}{hint}", crate::plan::describe_io(&e))
}
