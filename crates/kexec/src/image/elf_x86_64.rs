//! The elf-x86_64 format: an x86_64 ELF executable (a Linux vmlinux),
//! which only kexec_load takes. x86_64's loader for it is `arch::x86_64::elf64`.

use super::format::KernelFormat;
use crate::boot::elf64::{self, ELF_MAGIC};
use crate::plan::Syscall;

const ELFCLASS64: u8 = 2;
const EM_X86_64: u16 = 62;

/// The x86_64 ELF vmlinux.
pub struct ElfX86_64;

impl KernelFormat for ElfX86_64 {
    fn name(&self) -> &'static str {
        "elf-x86_64"
    }

    fn arch(&self) -> Option<&'static str> {
        Some("x86_64")
    }

    fn probe(&self, head: &[u8]) -> Result<(), String> {
        if !head.starts_with(ELF_MAGIC) {
            return Err("no ELF magic (\\x7fELF) at offset 0".into());
        }
        let class = head.get(4).copied();
        let machine = head.get(18..20).map(|m| u16::from_le_bytes([m[0], m[1]]));
        if class == Some(ELFCLASS64) && machine == Some(EM_X86_64) {
            return Ok(());
        }
        let (what, advice) =
            super::identify::identify_with_advice(head).unwrap_or(("a truncated ELF file", ""));
        Err(format!(
            "it is an ELF file, but not an x86_64 one ({what}: EI_CLASS {}, e_machine {}){advice}",
            class.map_or("missing".into(), |c| c.to_string()),
            machine.map_or("missing".into(), |m| m.to_string())
        ))
    }

    /// Any ELF file is this loader's to explain (e_machine, e_type, ...).
    fn claims(&self, head: &[u8]) -> bool {
        elf64::is_elf(head)
    }

    fn syscall(&self, call: Syscall) -> Result<(), String> {
        match call {
            Syscall::KexecLoad => Ok(()),
            Syscall::KexecFileLoad => Err(
                "the x86 kernel's kexec_file_load knows bzImage64 alone: an ELF vmlinux needs kexec_load".into(),
            ),
        }
    }

    fn size_is_load_size(&self) -> bool {
        false
    }
}
