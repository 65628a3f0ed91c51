//! The kernel's kexec ABI as typed values: kexec_load(2) and kexec_file_load(2)
//! flags, the KEXEC_ARCH_* field, the segment limit and the reboot(2) command.
//! Values come from include/uapi/linux/kexec.h and include/linux/kexec.h.

use serde::Serialize;
use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// Most segments one kexec_load (or one kexec_file_load image) may have.
pub const KEXEC_SEGMENT_MAX: usize = 16;

/// `reboot(2)` command that jumps into the loaded kernel.
pub const LINUX_REBOOT_CMD_KEXEC: i32 = 0x4558_4543;

/// The system call numbers of the target being built, as libc defines them
/// per architecture (x86_64: 246 and 320, arch/x86/entry/syscalls/syscall_64.tbl;
/// aarch64: 104 and 294, include/uapi/asm-generic/unistd.h).
pub const SYS_KEXEC_LOAD: libc::c_long = libc::SYS_kexec_load;
/// See [`SYS_KEXEC_LOAD`].
pub const SYS_KEXEC_FILE_LOAD: libc::c_long = libc::SYS_kexec_file_load;

/// Flags of kexec_load(2): the low 16 bits are flags, the high 16 bits the architecture.
///
/// ```rust
/// use kexec::sys::abi::{KexecArch, KEXEC_ON_CRASH};
/// let flags = KEXEC_ON_CRASH.with_arch(KexecArch::X86_64);
/// assert_eq!(flags.0, 0x3e_0001);
/// assert_eq!(flags.to_string(), "0x3e0001 (KEXEC_ON_CRASH|KEXEC_ARCH_X86_64)");
/// assert_eq!(KexecArch::from_value(flags.arch_bits()), Some(KexecArch::X86_64));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct KexecFlags(pub u64);

/// Load the crash kernel, which runs when the running kernel panics.
pub const KEXEC_ON_CRASH: KexecFlags = KexecFlags(0x1);
/// Preserve the machine's state so the loaded kernel can return (CONFIG_KEXEC_JUMP).
pub const KEXEC_PRESERVE_CONTEXT: KexecFlags = KexecFlags(0x2);
/// Post-6.1: user space allows the kernel to rewrite the elfcorehdr on CPU/memory hotplug.
pub const KEXEC_UPDATE_ELFCOREHDR: KexecFlags = KexecFlags(0x4);
/// Post-6.1: the image supports crash hotplug.
pub const KEXEC_CRASH_HOTPLUG_SUPPORT: KexecFlags = KexecFlags(0x8);
/// The architecture field of [`KexecFlags`] (bits 16..32).
pub const KEXEC_ARCH_MASK: u64 = 0xffff_0000;

impl KexecFlags {
    /// Whether every bit of `other` is set.
    pub fn contains(self, other: KexecFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// The flag bits without the architecture field.
    pub fn flag_bits(self) -> u64 {
        self.0 & !KEXEC_ARCH_MASK
    }
    /// The raw architecture field (bits 16..32).
    pub fn arch_bits(self) -> u64 {
        self.0 & KEXEC_ARCH_MASK
    }
    /// These flags with the architecture field set to `arch`.
    pub fn with_arch(self, arch: KexecArch) -> KexecFlags {
        KexecFlags(self.flag_bits() | arch.value())
    }
}

impl BitOr for KexecFlags {
    type Output = KexecFlags;
    fn bitor(self, rhs: KexecFlags) -> KexecFlags {
        KexecFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for KexecFlags {
    fn bitor_assign(&mut self, rhs: KexecFlags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for KexecFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl fmt::Display for KexecFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (KEXEC_ON_CRASH, "KEXEC_ON_CRASH"),
            (KEXEC_PRESERVE_CONTEXT, "KEXEC_PRESERVE_CONTEXT"),
            (KEXEC_UPDATE_ELFCOREHDR, "KEXEC_UPDATE_ELFCOREHDR"),
            (KEXEC_CRASH_HOTPLUG_SUPPORT, "KEXEC_CRASH_HOTPLUG_SUPPORT"),
        ];
        let mut parts: Vec<String> = names
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, name)| name.to_string())
            .collect();
        let unknown = self.flag_bits() & !0xf;
        if unknown != 0 {
            parts.push(format!("{unknown:#x}"));
        }
        match KexecArch::from_value(self.arch_bits()) {
            Some(arch) => parts.push(format!("KEXEC_ARCH_{}", arch.name())),
            None => parts.push(format!("arch {:#x}", self.arch_bits())),
        }
        write!(f, "{:#x} ({})", self.0, parts.join("|"))
    }
}

/// Flags of kexec_file_load(2).
#[derive(Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct FileFlags(pub u64);

/// Unload the image instead of loading one.
pub const KEXEC_FILE_UNLOAD: FileFlags = FileFlags(0x1);
/// Act on the crash kernel.
pub const KEXEC_FILE_ON_CRASH: FileFlags = FileFlags(0x2);
/// There is no initrd (the initrd descriptor is ignored).
pub const KEXEC_FILE_NO_INITRAMFS: FileFlags = FileFlags(0x4);
/// Post-6.1 (6.8): the kernel prints what it loads where.
pub const KEXEC_FILE_DEBUG: FileFlags = FileFlags(0x8);
/// Post-6.1: do not place segments in CMA.
pub const KEXEC_FILE_NO_CMA: FileFlags = FileFlags(0x10);
/// Post-6.1: carry the boot DTB over (x86).
pub const KEXEC_FILE_FORCE_DTB: FileFlags = FileFlags(0x20);

impl FileFlags {
    /// Whether every bit of `other` is set.
    pub fn contains(self, other: FileFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for FileFlags {
    type Output = FileFlags;
    fn bitor(self, rhs: FileFlags) -> FileFlags {
        FileFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for FileFlags {
    fn bitor_assign(&mut self, rhs: FileFlags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for FileFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl fmt::Display for FileFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (KEXEC_FILE_UNLOAD, "KEXEC_FILE_UNLOAD"),
            (KEXEC_FILE_ON_CRASH, "KEXEC_FILE_ON_CRASH"),
            (KEXEC_FILE_NO_INITRAMFS, "KEXEC_FILE_NO_INITRAMFS"),
            (KEXEC_FILE_DEBUG, "KEXEC_FILE_DEBUG"),
            (KEXEC_FILE_NO_CMA, "KEXEC_FILE_NO_CMA"),
            (KEXEC_FILE_FORCE_DTB, "KEXEC_FILE_FORCE_DTB"),
        ];
        let mut parts: Vec<String> = names
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, name)| name.to_string())
            .collect();
        let unknown = self.0 & !0x3f;
        if unknown != 0 {
            parts.push(format!("{unknown:#x}"));
        }
        if parts.is_empty() {
            parts.push("none".into());
        }
        write!(f, "{:#x} ({})", self.0, parts.join("|"))
    }
}

/// The KEXEC_ARCH_* values of the kexec_load flags' high half (ELF e_machine << 16).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub enum KexecArch {
    /// KEXEC_ARCH_DEFAULT (0): every kernel takes it as its own architecture.
    Default,
    /// KEXEC_ARCH_386.
    I386,
    /// KEXEC_ARCH_68K.
    M68k,
    /// KEXEC_ARCH_MIPS (big-endian).
    Mips,
    /// KEXEC_ARCH_MIPS_LE.
    MipsLe,
    /// KEXEC_ARCH_PARISC.
    Parisc,
    /// KEXEC_ARCH_PPC.
    Ppc,
    /// KEXEC_ARCH_PPC64.
    Ppc64,
    /// KEXEC_ARCH_S390.
    S390,
    /// KEXEC_ARCH_ARM.
    Arm,
    /// KEXEC_ARCH_SH.
    Sh,
    /// KEXEC_ARCH_IA_64.
    Ia64,
    /// KEXEC_ARCH_X86_64.
    X86_64,
    /// KEXEC_ARCH_AARCH64.
    Aarch64,
    /// KEXEC_ARCH_RISCV.
    Riscv,
    /// KEXEC_ARCH_LOONGARCH.
    Loongarch,
}

impl KexecArch {
    /// Every value, in KEXEC_ARCH_* order.
    pub const ALL: [KexecArch; 16] = [
        KexecArch::Default,
        KexecArch::I386,
        KexecArch::M68k,
        KexecArch::Mips,
        KexecArch::MipsLe,
        KexecArch::Parisc,
        KexecArch::Ppc,
        KexecArch::Ppc64,
        KexecArch::S390,
        KexecArch::Arm,
        KexecArch::Sh,
        KexecArch::Ia64,
        KexecArch::X86_64,
        KexecArch::Aarch64,
        KexecArch::Riscv,
        KexecArch::Loongarch,
    ];

    /// The value in the kexec_load flags: the ELF machine number, shifted left by 16.
    pub fn value(self) -> u64 {
        let machine: u64 = match self {
            KexecArch::Default => 0,
            KexecArch::I386 => 3,
            KexecArch::M68k => 4,
            KexecArch::Mips => 8,
            KexecArch::MipsLe => 10,
            KexecArch::Parisc => 15,
            KexecArch::Ppc => 20,
            KexecArch::Ppc64 => 21,
            KexecArch::S390 => 22,
            KexecArch::Arm => 40,
            KexecArch::Sh => 42,
            KexecArch::Ia64 => 50,
            KexecArch::X86_64 => 62,
            KexecArch::Aarch64 => 183,
            KexecArch::Riscv => 243,
            KexecArch::Loongarch => 258,
        };
        machine << 16
    }

    /// The name as in the constant `KEXEC_ARCH_<NAME>`.
    pub fn name(self) -> &'static str {
        match self {
            KexecArch::Default => "DEFAULT",
            KexecArch::I386 => "386",
            KexecArch::M68k => "68K",
            KexecArch::Mips => "MIPS",
            KexecArch::MipsLe => "MIPS_LE",
            KexecArch::Parisc => "PARISC",
            KexecArch::Ppc => "PPC",
            KexecArch::Ppc64 => "PPC64",
            KexecArch::S390 => "S390",
            KexecArch::Arm => "ARM",
            KexecArch::Sh => "SH",
            KexecArch::Ia64 => "IA_64",
            KexecArch::X86_64 => "X86_64",
            KexecArch::Aarch64 => "AARCH64",
            KexecArch::Riscv => "RISCV",
            KexecArch::Loongarch => "LOONGARCH",
        }
    }

    /// The architecture whose [`value`](KexecArch::value) this is.
    pub fn from_value(value: u64) -> Option<KexecArch> {
        KexecArch::ALL.into_iter().find(|a| a.value() == value)
    }

    /// Accepts "x86_64", "X86_64", "KEXEC_ARCH_X86_64" (any case).
    pub fn from_name(name: &str) -> Option<KexecArch> {
        let upper = name.to_ascii_uppercase();
        let bare = upper.strip_prefix("KEXEC_ARCH_").unwrap_or(&upper);
        KexecArch::ALL.into_iter().find(|a| a.name() == bare)
    }

    /// The architecture this build runs on.
    pub fn native() -> KexecArch {
        if cfg!(target_arch = "x86_64") {
            KexecArch::X86_64
        } else if cfg!(target_arch = "aarch64") {
            KexecArch::Aarch64
        } else if cfg!(target_arch = "riscv64") {
            KexecArch::Riscv
        } else if cfg!(target_arch = "loongarch64") {
            KexecArch::Loongarch
        } else {
            KexecArch::Default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers of each architecture's system call table, so a libc that
    /// got them wrong (or a missing cfg) fails here, not in a real call.
    #[test]
    fn syscall_numbers_match_the_target_table() {
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            (SYS_KEXEC_LOAD, SYS_KEXEC_FILE_LOAD, libc::SYS_reboot),
            (246, 320, 169)
        );
        #[cfg(target_arch = "aarch64")]
        assert_eq!(
            (SYS_KEXEC_LOAD, SYS_KEXEC_FILE_LOAD, libc::SYS_reboot),
            (104, 294, 142)
        );
    }

    #[test]
    fn arch_values_match_the_uapi_header() {
        assert_eq!(KexecArch::X86_64.value(), 0x3E0000);
        assert_eq!(KexecArch::I386.value(), 0x30000);
        assert_eq!(KexecArch::MipsLe.value(), 0xA0000);
        assert_eq!(KexecArch::Aarch64.value(), 0xB70000);
        assert_eq!(KexecArch::Loongarch.value(), 0x1020000);
        assert_eq!(KexecArch::Riscv.value(), 0xF30000);
        for arch in KexecArch::ALL {
            assert_eq!(KexecArch::from_value(arch.value()), Some(arch));
            assert_eq!(KexecArch::from_name(arch.name()), Some(arch));
            assert_eq!(arch.value() & !KEXEC_ARCH_MASK, 0);
        }
        assert_eq!(
            KexecArch::from_name("kexec_arch_x86_64"),
            Some(KexecArch::X86_64)
        );
    }

    #[test]
    fn flags_print_their_names() {
        let f = KEXEC_ON_CRASH.with_arch(KexecArch::X86_64);
        assert_eq!(f.0, 0x3E0001);
        assert_eq!(f.to_string(), "0x3e0001 (KEXEC_ON_CRASH|KEXEC_ARCH_X86_64)");
        let ff = KEXEC_FILE_ON_CRASH | KEXEC_FILE_NO_INITRAMFS;
        assert_eq!(
            ff.to_string(),
            "0x6 (KEXEC_FILE_ON_CRASH|KEXEC_FILE_NO_INITRAMFS)"
        );
    }
}
