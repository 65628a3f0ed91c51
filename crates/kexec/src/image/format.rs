//! Kernel formats as plug-ins: each format (one file in `image/`) probes a
//! file's head, says which system call can take it and why not, and
//! unwraps its inner parts when it is a container; [`FORMATS`] lists them
//! in probe order, as the kernel's `kexec_file_loaders[]` and kexec-tools'
//! `file_type[]` do. Making a bootable kexec_load image of a format is the
//! architecture's part (`arch::x86_64`'s loaders), as each architecture of
//! the kernel has its own loaders.

use crate::plan::Syscall;

/// The parts inside a container format (a UKI's .linux, .initrd, .cmdline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InnerParts<'a> {
    /// The kernel inside.
    pub kernel: &'a [u8],
    /// The initrd inside, if the container has one.
    pub initrd: Option<&'a [u8]>,
    /// The command line inside, if the container has one.
    pub cmdline: Option<&'a [u8]>,
}

/// One kernel image format.
pub trait KernelFormat: Sync {
    /// The name `--type` selects it by, as kexec-tools spells it.
    fn name(&self) -> &'static str;

    /// Whether the file's first bytes (up to `image::PROBE_BYTES`) are this
    /// format; when not, why, naming the field and its value.
    fn probe(&self, head: &[u8]) -> Result<(), String>;

    /// Whether the file carries this format's mark even when `probe`
    /// refuses it: its own `describe` then says what is wrong (an ELF file
    /// for another machine is still the ELF loader's to explain).
    fn claims(&self, head: &[u8]) -> bool {
        self.probe(head).is_ok()
    }

    /// Whether `call` can load this format; when not, why.
    fn syscall(&self, call: Syscall) -> Result<(), String>;

    /// Whether the file's size is what the load places in memory (false
    /// for ELF, whose debug sections are never loaded).
    fn size_is_load_size(&self) -> bool {
        true
    }

    /// The architecture whose kernels this format holds (as `uname -m`
    /// names it), when it is one architecture's: a machine of another
    /// refuses it by name instead of trying to boot it.
    fn arch(&self) -> Option<&'static str> {
        None
    }

    /// The parts inside when this format is a container; `Ok(None)` when
    /// it is not one (no format is, yet).
    fn inner_parts<'a>(&self, _file: &'a [u8]) -> Result<Option<InnerParts<'a>>, String> {
        Ok(None)
    }
}

/// Every format we load, in probe order (the first that accepts a file
/// wins). A new format is one new file in `image/` and one line here:
///
/// ```text
/// // image/uki.rs: pub struct Uki; impl KernelFormat for Uki { ... }
/// pub static FORMATS: &[&dyn KernelFormat] = &[
///     &super::elf_x86_64::ElfX86_64,
///     &super::bzimage64::BzImage64,
///     &super::uki::Uki,
/// ];
/// ```
///
/// ELF comes first as in kexec-tools: an ELF header over a valid setup
/// header is loaded as the ELF file it says it is.
pub static FORMATS: &[&dyn KernelFormat] = &[
    &super::elf_x86_64::ElfX86_64,
    &super::bzimage64::BzImage64,
    &super::arm64_image::Arm64Image,
];

/// The format `--type` names, if we have a loader for it.
pub fn by_name(name: &str) -> Option<&'static dyn KernelFormat> {
    FORMATS.iter().copied().find(|f| f.name() == name)
}

/// The first format in probe order that accepts the file.
///
/// ```rust
/// use kexec::image::format;
/// let mut gzip = vec![0u8; 4096];
/// gzip[..4].copy_from_slice(b"\x1f\x8b\x08\x00");
/// assert!(format::probe(&gzip).is_none());
/// // No format takes it, and the reason says what the file is.
/// assert!(format::not_a_kernel(&gzip).contains("gzip-compressed data"));
/// assert_eq!(format::by_name("bzImage64").map(|f| f.name()), Some("bzImage64"));
/// ```
pub fn probe(head: &[u8]) -> Option<&'static dyn KernelFormat> {
    FORMATS.iter().copied().find(|f| f.probe(head).is_ok())
}

/// The format whose loader handles the file on the kexec_load path: the
/// first that accepts it, else the first that claims it (and will say
/// what is wrong); else why no format takes it.
pub fn for_kexec_load(head: &[u8]) -> Result<&'static dyn KernelFormat, String> {
    probe(head)
        .or_else(|| FORMATS.iter().copied().find(|f| f.claims(head)))
        .ok_or_else(|| not_a_kernel(head))
}

/// Why no format accepts the file: the refusal of the format that claims
/// it, else the bzImage's (the usual kernel, whose refusal names what the
/// file is instead when it can tell).
pub fn not_a_kernel(head: &[u8]) -> String {
    match FORMATS.iter().find(|f| f.claims(head)) {
        Some(f) => f.probe(head).err().unwrap_or_default(),
        None => super::bzimage64::refusal(head).unwrap_or_default(),
    }
}

/// Whether a kernel of this format can boot on the architecture named
/// `arch` (formats of no one architecture can).
pub fn boots_on(format: &dyn KernelFormat, arch: &str) -> bool {
    format.arch().is_none_or(|a| a == arch)
}

/// The names of every format this machine's architecture loads, for
/// messages: "bzImage64 and elf-x86_64" on x86_64.
pub fn names() -> String {
    let mut names: Vec<&str> = FORMATS
        .iter()
        .filter(|f| boots_on(**f, std::env::consts::ARCH))
        .map(|f| f.name())
        .collect();
    names.sort_unstable();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{bzimage64_sample, elf_vmlinux};

    fn vmlinux() -> Vec<u8> {
        elf_vmlinux(&[(0x100_0000, 0x100, 0x20_0000)], 0x100_0000)
    }

    #[test]
    fn registry_order_and_names() {
        let order: Vec<&str> = FORMATS.iter().map(|f| f.name()).collect();
        assert_eq!(order, ["elf-x86_64", "bzImage64", "Image"]);
        assert_eq!(by_name("bzImage64").map(|f| f.name()), Some("bzImage64"));
        assert_eq!(by_name("elf-x86_64").map(|f| f.name()), Some("elf-x86_64"));
        assert!(by_name("bzImage").is_none() && by_name("uki").is_none());
        #[cfg(target_arch = "x86_64")]
        assert_eq!(names(), "bzImage64 and elf-x86_64");
    }

    #[test]
    fn each_format_accepts_its_sample_and_refuses_the_others() {
        let (bz, elf) = (bzimage64_sample(), vmlinux());
        let bz_fmt = by_name("bzImage64").unwrap();
        let elf_fmt = by_name("elf-x86_64").unwrap();
        assert_eq!(bz_fmt.probe(&bz), Ok(()));
        assert_eq!(elf_fmt.probe(&elf), Ok(()));
        let e = bz_fmt.probe(&elf).unwrap_err();
        assert!(e.contains("ELF file for x86_64"), "{e}");
        let e = elf_fmt.probe(&bz).unwrap_err();
        assert!(e.contains("ELF magic"), "{e}");
        assert_eq!(probe(&bz).map(|f| f.name()), Some("bzImage64"));
        assert_eq!(probe(&elf).map(|f| f.name()), Some("elf-x86_64"));
        assert!(bz_fmt.inner_parts(&bz).unwrap().is_none());
    }

    #[test]
    fn an_elf_header_over_a_setup_header_probes_as_elf_first() {
        let mut both = bzimage64_sample();
        let elf = vmlinux();
        both[..64].copy_from_slice(&elf[..64]);
        assert_eq!(probe(&both).map(|f| f.name()), Some("elf-x86_64"));
    }

    #[test]
    fn which_syscall_takes_each_format() {
        let bz = by_name("bzImage64").unwrap();
        let elf = by_name("elf-x86_64").unwrap();
        assert_eq!(bz.syscall(Syscall::KexecFileLoad), Ok(()));
        assert_eq!(bz.syscall(Syscall::KexecLoad), Ok(()));
        assert_eq!(elf.syscall(Syscall::KexecLoad), Ok(()));
        let e = elf.syscall(Syscall::KexecFileLoad).unwrap_err();
        assert!(e.contains("bzImage64 alone"), "{e}");
    }

    #[test]
    fn kexec_load_dispatch() {
        assert_eq!(
            for_kexec_load(&bzimage64_sample()).map(|f| f.name()),
            Ok("bzImage64")
        );
        // An ELF for another machine stays the ELF loader's to explain.
        let mut arm = vmlinux();
        arm[18..20].copy_from_slice(&183u16.to_le_bytes());
        assert_eq!(for_kexec_load(&arm).map(|f| f.name()), Ok("elf-x86_64"));
        let mut gz = crate::testing::gzip("x");
        gz.resize(4096, 0);
        let e = for_kexec_load(&gz).err().unwrap();
        assert!(
            e.contains("HdrS") && e.contains("gzip-compressed data"),
            "{e}"
        );
    }
}
