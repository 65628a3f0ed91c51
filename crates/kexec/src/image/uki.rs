//! Unified kernel images (UKI): a PE (systemd-stub, as `ukify` builds it)
//! whose sections carry a kernel (`.linux`), an initramfs (`.initrd`),
//! early microcode (`.ucode`) and a command line (`.cmdline`). Neither
//! system call takes one, so it is unwrapped in user space, as the stub
//! would: `.linux` (unpacked when it is gzip data or an EFI zboot image)
//! becomes the kernel file, `.ucode` then `.initrd` then the user's
//! `--initrd` become one initramfs (cpio archives concatenate; each part is
//! padded with zeros to 4 bytes, which the kernel's unpacker skips), and
//! `.cmdline` is the command line when the user gives none. A crash kernel's
//! `--initrd` is its initramfs alone, as in kexec-tools: kdump's tools build
//! the capture kernel's initramfs apart from the UKI's (kdumpctl passes
//! `--initrd=…kdump.img` with the UKI), and the UKI's own, made to boot the
//! machine, would add its size and its boot steps to the crash region. Each part goes
//! to the kernel as a sealed memfd. A multi-profile UKI (systemd 257+: each
//! `.profile` section starts a profile whose sections override the shared
//! ones before the first `.profile`) is read as its profile 0 unless another
//! is asked for (`--uki-profile=N`); `.dtb` and the others are ignored.
//! The UKI's own signature is not what kexec_file_load checks: where the
//! kernel requires signed kernels, it checks the `.linux` kernel's.
//!
//! ```rust
//! use kexec::image::uki;
//! let file = uki::build(&[(".linux", b"not a kernel"), (".cmdline", b"quiet\n\0")]);
//! assert!(uki::is_uki(&file));
//! assert_eq!(uki::cmdline("uki.efi", &file).unwrap(), Some(b"quiet".to_vec()));
//! assert!(!uki::is_uki(b"MZ"));
//! ```

use super::{compressed, format, pe::PeImage, Input, PROBE_BYTES};
use crate::plan::InputError;
use crate::sys::mapping::Mapping;
use std::io::{self, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// The section holding the kernel.
pub const LINUX: &str = ".linux";
/// The section holding the initramfs.
pub const INITRD: &str = ".initrd";
/// The section holding early microcode (a cpio archive), put before `.initrd`.
pub const UCODE: &str = ".ucode";
/// The section holding the command line.
pub const CMDLINE: &str = ".cmdline";
/// The section that starts a profile of a multi-profile UKI.
pub const PROFILE: &str = ".profile";

/// The sections profile `profile` sees, its own first (they override),
/// then the shared ones before the first `.profile`; with the profile's
/// `.profile` text ("ID=rescue\nTITLE=...") when the UKI has profiles. A
/// UKI without `.profile` sections has profile 0 alone: all its sections.
pub fn profile(
    file: &str,
    pe: &PeImage,
    bytes: &[u8],
    profile: u32,
) -> Result<(PeImage, Option<String>), String> {
    let marks: Vec<usize> = pe
        .sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.name == PROFILE)
        .map(|(i, _)| i)
        .collect();
    let Some(&first) = marks.first() else {
        return match profile {
            0 => Ok((pe.clone(), None)),
            n => Err(format!(
                "{file}: --uki-profile={n}, but this unified kernel image has no {PROFILE} sections: its only profile is 0"
            )),
        };
    };
    let Some(&at) = marks.get(profile as usize) else {
        return Err(format!(
            "{file}: --uki-profile={profile}, but this unified kernel image has {} profiles (0 to {})",
            marks.len(),
            marks.len() - 1
        ));
    };
    let end = marks
        .get(profile as usize + 1)
        .copied()
        .unwrap_or(pe.sections.len());
    let mut seen = pe.clone();
    seen.sections = pe.sections[at + 1..end]
        .iter()
        .chain(&pe.sections[..first])
        .cloned()
        .collect();
    let text = pe
        .sections
        .get(at)
        .and_then(|s| {
            bytes.get(
                s.raw_offset as usize
                    ..(s.raw_offset as usize).saturating_add(s.virtual_size as usize),
            )
        })
        .map(|raw| {
            let line = raw.split(|&b| b == 0).next().unwrap_or_default();
            String::from_utf8_lossy(line).trim().replace('\n', " ")
        })
        .unwrap_or_default();
    Ok((seen, Some(text)))
}

/// Whether the bytes (a file's first bytes suffice) are a UKI: a PE whose
/// section table has a `.linux` section.
pub fn is_uki(head: &[u8]) -> bool {
    PeImage::is_pe(head) && PeImage::parse(head).is_ok_and(|pe| pe.section(LINUX).is_some())
}

/// One section's payload; Err names the file, the section and the fields.
fn section<'a>(
    file: &str,
    pe: &PeImage,
    bytes: &'a [u8],
    name: &str,
) -> Result<Option<&'a [u8]>, String> {
    if pe.section(name).is_none() {
        return Ok(None);
    }
    pe.section_data(bytes, name)
        .map(Some)
        .map_err(|e| format!("{file}: a unified kernel image whose {}", e.0))
}

fn parse(file: &str, bytes: &[u8]) -> Result<PeImage, String> {
    PeImage::parse(bytes).map_err(|e| format!("{file}: a unified kernel image, but {e}"))
}

/// The UKI's `.cmdline`, up to its first NUL, trailing whitespace and
/// newlines trimmed; None when it has no such section.
pub fn cmdline(file: &str, bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let pe = parse(file, bytes)?;
    cmdline_of(file, &profile(file, &pe, bytes, 0)?.0, bytes)
}

/// The `.cmdline` among `pe`'s sections, trimmed as [`cmdline`] says.
fn cmdline_of(file: &str, pe: &PeImage, bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    Ok(section(file, pe, bytes, CMDLINE)?.map(|raw| {
        let line = raw.split(|&b| b == 0).next().unwrap_or_default();
        let end = line
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        line[..end].to_vec()
    }))
}

/// Which part of a UKI an input's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UkiPart {
    /// Its `.linux` section (unpacked when it was packed).
    Linux,
    /// Its `.ucode` and `.initrd` sections (those it has), then, when
    /// `then_file`, the user's `--initrd` file.
    Initrd {
        /// It has a `.ucode` section.
        ucode: bool,
        /// It has an `.initrd` section.
        initrd: bool,
        /// The user's initrd file follows them.
        then_file: bool,
    },
}

impl UkiPart {
    /// The part for people: "the .linux section of a unified kernel image".
    pub fn describe(self) -> &'static str {
        match self {
            UkiPart::Linux => "the .linux section of a unified kernel image",
            UkiPart::Initrd {
                ucode,
                initrd,
                then_file: false,
            } => match (ucode, initrd) {
                (true, false) => "the .ucode section of a unified kernel image",
                (false, _) => "the .initrd section of a unified kernel image",
                (true, true) => "the .ucode and .initrd sections of a unified kernel image",
            },
            UkiPart::Initrd {
                ucode,
                initrd,
                then_file: true,
            } => match (ucode, initrd) {
                (true, false) => "the .ucode section of the unified kernel image given as the kernel, then this file",
                (false, _) => "the .initrd section of the unified kernel image given as the kernel, then this file",
                (true, true) => "the .ucode and .initrd sections of the unified kernel image given as the kernel, then this file",
            },
        }
    }
}

/// What a load took from a UKI, for the command line's choice and messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FromUki {
    /// The UKI's `.cmdline`, trimmed, when it has one.
    pub cmdline: Option<Vec<u8>>,
    /// Whether the load's command line is that `.cmdline` (the user gave none).
    pub cmdline_used: bool,
    /// Whether the initrd is the UKI's `.ucode`/`.initrd` alone, with no
    /// `--initrd` file after them: reloading the UKI makes it again.
    pub initrd_is_uki_only: bool,
    /// The UKI's sections a crash kernel's `--initrd` stands in for
    /// (".ucode and .initrd sections"), None when no section was left out.
    pub initrd_set_aside: Option<&'static str>,
    /// The profile read (0 unless asked), and its `.profile` text when the
    /// UKI has profiles.
    pub profile: u32,
    /// The `.profile` section's text ("ID=rescue TITLE=..."), for people.
    pub profile_text: Option<String>,
}

/// A UKI whose `.linux` holds a kernel for this machine, unwrapped.
pub struct Unwrapped {
    /// `.linux` in a sealed memfd (unpacked when it was packed); its path is the UKI's.
    pub kernel: Input,
    /// The UKI's `.cmdline`, trimmed.
    pub cmdline: Option<Vec<u8>>,
    /// The profile's `.profile` text, when the UKI has profiles.
    pub profile_text: Option<String>,
    map: Arc<Mapping>,
    /// Where `.ucode` and `.initrd` lie in the UKI, in that order, the empty ones left out.
    early: Vec<(&'static str, Range<usize>)>,
}

/// The first bytes of the kernel in `linux`: unpacked when it is packed.
fn kernel_head(file: &str, linux: &[u8]) -> Result<Vec<u8>, String> {
    Ok(match compressed::detect(file, linux, linux.len() as u64)? {
        Some(packed) => compressed::peek(&packed, linux, PROBE_BYTES),
        None => linux[..linux.len().min(PROBE_BYTES)].to_vec(),
    })
}

/// When `uki` (whose first bytes are `head`) is a UKI whose `.linux` holds a
/// kernel for this machine, that kernel in a sealed memfd and what else the
/// UKI carries; None for anything else (the formats' refusals say what it
/// is). Err names the file, the section and the field at fault.
pub fn unwrap(
    uki: &Input,
    head: &[u8],
    limit: u64,
    profile_wanted: u32,
) -> Result<Option<Unwrapped>, String> {
    if !is_uki(head) || !uki.is_regular {
        return Ok(None);
    }
    let name = uki.display();
    let fail = |e: io::Error| format!("{name}: unwrapping its {LINUX} section into a memfd: {e}");
    let map = uki.map().map_err(fail)?;
    let bytes = map.bytes();
    let (pe, profile_text) = profile(&name, &parse(&name, bytes)?, bytes, profile_wanted)?;
    let linux = section(&name, &pe, bytes, LINUX)?.unwrap_or_default();
    if linux.is_empty() {
        return Err(format!(
            "{name}: a unified kernel image whose {LINUX} section is empty (VirtualSize 0): no kernel in it"
        ));
    }
    let inner_name = format!("{name} (its {LINUX} section)");
    let packed = compressed::detect(&inner_name, linux, linux.len() as u64)?;
    let inner = kernel_head(&inner_name, linux)?;
    if !format::probe(&inner).is_some_and(|f| format::boots_on(f, std::env::consts::ARCH)) {
        return Ok(None);
    }
    let mut memfd = crate::sys::mapping::memfd("kexec-uki-linux").map_err(fail)?;
    let (size, unpacked) = match &packed {
        Some(p) => {
            let u = compressed::unpack(
                &inner_name,
                p,
                linux,
                &mut memfd,
                limit.min(compressed::MAX_UNPACKED),
            )?;
            (u.size, Some(Box::new(u)))
        }
        None => {
            memfd.write_all(linux).map_err(fail)?;
            (linux.len() as u64, None)
        }
    };
    crate::sys::mapping::seal(&memfd).map_err(fail)?;
    let cmdline = cmdline_of(&name, &pe, bytes)?;
    let mut early = Vec::new();
    for part in [UCODE, INITRD] {
        if let Some(data) = section(&name, &pe, bytes, part)?.filter(|d| !d.is_empty()) {
            let at = data.as_ptr() as usize - bytes.as_ptr() as usize;
            early.push((part, at..at + data.len()));
        }
    }
    Ok(Some(Unwrapped {
        kernel: Input {
            path: uki.path.clone(),
            file: memfd,
            size,
            is_regular: true,
            streamed_from: uki.streamed_from,
            unpacked_from: unpacked,
            extracted_from: Some(UkiPart::Linux),
        },
        cmdline,
        profile_text,
        map,
        early,
    }))
}

/// Zeros that bring `len` to a multiple of 4: a cpio header must start
/// 4-aligned, and the kernel's initramfs unpacker skips zeros between archives.
fn pad4(len: u64) -> &'static [u8] {
    static ZEROS: [u8; 3] = [0; 3];
    &ZEROS[..((4 - len % 4) % 4) as usize]
}

impl Unwrapped {
    /// The sections that make the UKI's own initramfs, for people
    /// (".ucode and .initrd sections"); None when it has neither.
    pub fn early_sections(&self) -> Option<&'static str> {
        let has = |part| self.early.iter().any(|(name, _)| *name == part);
        match (has(UCODE), has(INITRD)) {
            (false, false) => None,
            (true, false) => Some(".ucode section"),
            (false, true) => Some(".initrd section"),
            (true, true) => Some(".ucode and .initrd sections"),
        }
    }

    /// The initrd the kernel receives: `.ucode`, `.initrd`, then the user's
    /// file, in one sealed memfd. The user's initrd as it is when the UKI
    /// has neither section (or when it is no regular file, for the rules
    /// to refuse by its type).
    pub fn initrd(&self, user: Option<Input>) -> Result<Option<Input>, InputError> {
        let has = |part| self.early.iter().any(|(name, _)| *name == part);
        if self.early.is_empty() {
            return Ok(user);
        }
        let origin = UkiPart::Initrd {
            ucode: has(UCODE),
            initrd: has(INITRD),
            then_file: user.is_some(),
        };
        if user.as_ref().is_some_and(|u| !u.is_regular) {
            return Ok(user);
        }
        let kernel = &self.kernel;
        let fail = |path: &std::path::Path, source: io::Error| InputError {
            role: "initrd",
            path: path.to_path_buf(),
            source,
        };
        let mut memfd =
            crate::sys::mapping::memfd("kexec-uki-initrd").map_err(|e| fail(&kernel.path, e))?;
        let mut size = 0u64;
        for (_, range) in &self.early {
            let part = &self.map.bytes()[range.clone()];
            memfd
                .write_all(part)
                .and_then(|()| memfd.write_all(pad4(part.len() as u64)))
                .map_err(|e| fail(&kernel.path, e))?;
            size += part.len() as u64 + pad4(part.len() as u64).len() as u64;
        }
        if let Some(u) = &user {
            // pread from 0: a streamed input's memfd has its offset at its end.
            let mut buf = vec![0u8; 1 << 20];
            let mut at = 0u64;
            while at < u.size {
                let n = u.file.read_at(&mut buf, at).map_err(|e| fail(&u.path, e))?;
                if n == 0 {
                    break;
                }
                memfd.write_all(&buf[..n]).map_err(|e| fail(&u.path, e))?;
                at += n as u64;
            }
            size += at;
        }
        crate::sys::mapping::seal(&memfd).map_err(|e| fail(&kernel.path, e))?;
        // The user's path when there is one: a reload opens it again.
        let path = user.as_ref().map_or(&kernel.path, |u| &u.path).clone();
        Ok(Some(Input {
            path,
            file: memfd,
            size,
            is_regular: true,
            // A piped --initrd cannot be read again: a crash reload must know.
            streamed_from: user.as_ref().and_then(|u| u.streamed_from),
            unpacked_from: None,
            extracted_from: Some(origin),
        }))
    }
}

/// A minimal UKI (a PE32+ for x86_64) holding these sections in this order,
/// each at a 512-byte aligned offset: for tests and examples, not for firmware.
pub fn build(sections: &[(&str, &[u8])]) -> Vec<u8> {
    use super::pe::{E_LFANEW, MZ, PE32_PLUS_MAGIC, PE_SIGNATURE};
    const PE: usize = 0x80;
    const OPTIONAL_SIZE: usize = 0xf0;
    let table = PE + 4 + 20 + OPTIONAL_SIZE;
    let align = |n: usize| n.div_ceil(0x200) * 0x200;
    let mut b = vec![0u8; align(table + 40 * sections.len())];
    b[..2].copy_from_slice(MZ);
    b[E_LFANEW..E_LFANEW + 4].copy_from_slice(&(PE as u32).to_le_bytes());
    b[PE..PE + 4].copy_from_slice(PE_SIGNATURE);
    b[PE + 4..PE + 6].copy_from_slice(&0x8664u16.to_le_bytes());
    b[PE + 6..PE + 8].copy_from_slice(&(sections.len() as u16).to_le_bytes());
    b[PE + 20..PE + 22].copy_from_slice(&(OPTIONAL_SIZE as u16).to_le_bytes());
    b[PE + 24..PE + 26].copy_from_slice(&PE32_PLUS_MAGIC.to_le_bytes());
    for (i, (name, data)) in sections.iter().enumerate() {
        let at = table + i * 40;
        let offset = b.len();
        let name = &name.as_bytes()[..name.len().min(8)];
        b[at..at + name.len()].copy_from_slice(name);
        b[at + 8..at + 12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        b[at + 12..at + 16].copy_from_slice(&(offset as u32).to_le_bytes());
        b[at + 16..at + 20].copy_from_slice(&(align(data.len()) as u32).to_le_bytes());
        b[at + 20..at + 24].copy_from_slice(&(offset as u32).to_le_bytes());
        b.extend_from_slice(data);
        b.resize(align(b.len()), 0);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{FileLoad, Target};
    use crate::sys::abi::{FileFlags, KEXEC_FILE_NO_INITRAMFS};
    use std::path::PathBuf;

    /// A kernel head this machine boots, and one it does not.
    fn native() -> Vec<u8> {
        #[cfg(target_arch = "aarch64")]
        return crate::image::arm64_image::sample_image(0, 0x100_0000);
        #[cfg(not(target_arch = "aarch64"))]
        return crate::testing::bzimage64_sample();
    }

    fn foreign() -> Vec<u8> {
        #[cfg(target_arch = "aarch64")]
        return crate::testing::bzimage64_sample();
        #[cfg(not(target_arch = "aarch64"))]
        return crate::image::arm64_image::sample_image(0, 0x100_0000);
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    /// Files in a directory of this test's own, removed when dropped.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let d = std::env::temp_dir().join(format!("kexec-uki-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&d).unwrap();
            Dir(d)
        }

        fn put(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let p = self.0.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn read(input: &Input) -> Vec<u8> {
        let mut b = vec![0u8; input.size as usize];
        input.file.read_exact_at(&mut b, 0).unwrap();
        b
    }

    fn unwrapped(d: &Dir, name: &str, file: &[u8]) -> Result<Option<Unwrapped>, String> {
        let input = Input::open(&d.put(name, file)).unwrap();
        unwrap(&input, &input.head(PROBE_BYTES).unwrap(), u64::MAX, 0)
    }

    #[test]
    fn a_uki_is_a_pe_with_a_linux_section() {
        assert!(is_uki(&build(&[(LINUX, b"k")])));
        assert!(is_uki(&crate::image::pe::tests::tiny_uki()));
        assert!(!is_uki(&build(&[(".text", b"k")])));
        assert!(!is_uki(&crate::testing::bzimage64_sample()));
        assert!(!is_uki(&gzip(b"x")));
    }

    #[test]
    fn the_cmdline_ends_at_its_nul_without_trailing_newlines() {
        let line = |raw: &[u8]| cmdline("u.efi", &build(&[(LINUX, b"k"), (CMDLINE, raw)]));
        assert_eq!(
            line(b"root=/dev/vda quiet\n\0\0").unwrap(),
            Some(b"root=/dev/vda quiet".to_vec())
        );
        assert_eq!(line(b"a b\0junk").unwrap(), Some(b"a b".to_vec()));
        assert_eq!(line(b"\n").unwrap(), Some(Vec::new()));
        assert_eq!(cmdline("u.efi", &build(&[(LINUX, b"k")])).unwrap(), None);
    }

    #[test]
    fn linux_becomes_the_kernel_and_ucode_initrd_then_the_users_the_initrd() {
        let d = Dir::new("parts");
        let kernel = native();
        let uki = build(&[
            (".osrel", b"ID=test\n"),
            (CMDLINE, b"console=ttyS0\n\0"),
            (INITRD, b"070701 the initrd"),
            (LINUX, &kernel),
            (UCODE, b"070701 ucode"),
        ]);
        let u = unwrapped(&d, "uki.efi", &uki).unwrap().expect("unwrapped");
        assert_eq!(read(&u.kernel), kernel);
        assert_eq!(u.kernel.unpacked_from, None);
        assert!(u.kernel.path.ends_with("uki.efi"));
        let said = u.kernel.describe();
        assert!(
            said.contains(
                "uki.efi (the .linux section of a unified kernel image, in a sealed memfd"
            ),
            "{said}"
        );
        assert_eq!(u.cmdline, Some(b"console=ttyS0".to_vec()));
        // .ucode first, each part padded to 4 bytes.
        let alone = u.initrd(None).unwrap().expect("an initrd");
        // 12 bytes of .ucode need no padding; 17 of .initrd take 3 zeros.
        assert_eq!(read(&alone), b"070701 ucode070701 the initrd\0\0\0");
        assert_eq!(
            alone.extracted_from,
            Some(UkiPart::Initrd {
                ucode: true,
                initrd: true,
                then_file: false
            })
        );
        let user = Input::open(&d.put("initrd.img", b"070701 mine")).unwrap();
        let both = u.initrd(Some(user)).unwrap().expect("an initrd");
        assert_eq!(
            read(&both),
            b"070701 ucode070701 the initrd\0\0\x00070701 mine"
        );
        assert!(both.path.ends_with("initrd.img"));
        let said = both.describe();
        assert!(said.contains("initrd.img (the .ucode and .initrd sections of the unified kernel image given as the kernel, then this file"), "{said}");
        assert!(
            crate::sys::mapping::seals(&both.file).unwrap() != 0,
            "sealed"
        );
    }

    #[test]
    fn a_gzipped_linux_is_unpacked_and_a_foreign_one_left_alone() {
        let d = Dir::new("packed");
        let kernel = native();
        let u = unwrapped(&d, "gz.efi", &build(&[(LINUX, &gzip(&kernel))]))
            .unwrap()
            .expect("unwrapped");
        assert_eq!(read(&u.kernel), kernel);
        assert_eq!(
            u.kernel.unpacked_from.as_ref().map(|u| u.what),
            Some("gzip-compressed data")
        );
        let shown = u.kernel.describe();
        assert!(
            shown.contains("gzip-compressed data, ") && shown.contains("→ unpacked"),
            "{shown}"
        );
        // Neither .ucode nor .initrd: the user's initrd is passed as it is.
        let user = Input::open(&d.put("initrd.img", b"070701")).unwrap();
        let kept = u.initrd(Some(user)).unwrap().expect("the user's initrd");
        assert_eq!(kept.extracted_from, None);
        assert!(u.initrd(None).unwrap().is_none());
        // A kernel this machine does not boot: not unwrapped (the formats
        // then name the UKI), packed or not.
        for linux in [foreign(), gzip(&foreign()), b"not a kernel".to_vec()] {
            assert!(unwrapped(&d, "other.efi", &build(&[(LINUX, &linux)]))
                .unwrap()
                .is_none());
        }
    }

    #[test]
    fn errors_name_the_file_the_section_and_the_field() {
        let d = Dir::new("errors");
        let e = unwrapped(&d, "empty.efi", &build(&[(LINUX, b"")]))
            .err()
            .unwrap();
        assert!(
            e.contains("empty.efi") && e.contains(".linux section is empty (VirtualSize 0)"),
            "{e}"
        );
        // .cmdline's VirtualSize reaches past the end of the file.
        let mut uki = build(&[(LINUX, &native()), (CMDLINE, b"quiet")]);
        let table = 0x80 + 4 + 20 + 0xf0;
        uki[table + 40 + 8..table + 40 + 12].copy_from_slice(&0x10_0000u32.to_le_bytes());
        let e = unwrapped(&d, "cut.efi", &uki).err().unwrap();
        assert!(
            e.contains("cut.efi")
                && e.contains("section .cmdline")
                && e.contains("VirtualSize 0x100000"),
            "{e}"
        );
        // A gzip'd kernel whose end is broken: its head probes, unpacking fails.
        let mut gz = gzip(&native());
        let n = gz.len();
        gz.truncate(n - 8);
        let tail = vec![0x55u8; 64];
        gz.extend_from_slice(&tail);
        let e = unwrapped(&d, "broken.efi", &build(&[(LINUX, &gz)]))
            .err()
            .unwrap();
        assert!(
            e.contains("broken.efi (its .linux section): cannot unpack it"),
            "{e}"
        );
    }

    #[test]
    fn a_file_load_takes_the_parts_and_the_cmdline_only_when_asked() {
        let d = Dir::new("fileload");
        let uki = d.put(
            "uki.efi",
            &build(&[(LINUX, &native()), (INITRD, b"0707"), (CMDLINE, b"quiet\n")]),
        );
        let open = |initrd: Option<&std::path::Path>, cmdline: &[u8]| {
            FileLoad::open(Target::Normal, &uki, initrd, cmdline.to_vec(), FileFlags(0)).unwrap()
        };
        let mut f = open(None, b"");
        assert_eq!(f.kernel_head[..64], native()[..64]);
        assert!(!f.flags.contains(KEXEC_FILE_NO_INITRAMFS));
        assert_eq!(read(f.initrd.as_ref().unwrap()), b"0707");
        assert!(f.given_initrd().is_none(), "a reload makes it again");
        assert!(f.use_uki_cmdline());
        assert_eq!(f.cmdline, b"quiet");
        let plan = crate::plan::Plan::FileLoad(f);
        let text = plan.describe();
        assert!(text.contains("the UKI's .cmdline section"), "{text}");
        assert!(
            text.contains("the .linux section of a unified kernel image"),
            "{text}"
        );
        assert_eq!(plan.to_json()["cmdline_from"], "uki");
        // The user's initrd follows the UKI's; the user's command line is kept.
        let user = d.put("initrd.img", b"mine");
        let f = open(Some(&user), b"root=/dev/vda");
        assert_eq!(read(f.initrd.as_ref().unwrap()), b"0707mine");
        assert!(f.given_initrd().is_some());
        assert_eq!(f.cmdline, b"root=/dev/vda");
        let text = crate::plan::Plan::FileLoad(f).describe();
        assert!(text.contains("given, so the UKI's .cmdline"), "{text}");
        // A missing --initrd is named as before.
        let err = FileLoad::open(
            Target::Normal,
            &uki,
            Some(&d.0.join("nope")),
            Vec::new(),
            FileFlags(0),
        )
        .unwrap_err();
        assert_eq!(err.role, "initrd");
    }

    /// kdumpctl passes the kdump initramfs with the UKI: for a crash kernel
    /// it replaces the UKI's .ucode and .initrd (as kexec-tools does); with
    /// no --initrd the UKI's own are the crash kernel's.
    #[test]
    fn a_crash_kernels_initrd_replaces_the_ukis() {
        let d = Dir::new("crashinitrd");
        let uki = d.put(
            "uki.efi",
            &build(&[(LINUX, &native()), (UCODE, b"uc"), (INITRD, b"0707")]),
        );
        let kdump = d.put("kdump.img", b"kdump");
        let open = |target, initrd: Option<&std::path::Path>| {
            FileLoad::open(target, &uki, initrd, b"irqpoll".to_vec(), FileFlags(0)).unwrap()
        };
        let f = open(Target::Crash, Some(&kdump));
        let initrd = f.initrd.as_ref().unwrap();
        assert_eq!(read(initrd), b"kdump");
        assert_eq!(initrd.extracted_from, None, "the file itself");
        assert_eq!(
            f.given_initrd().map(|i| i.path.clone()),
            Some(kdump.clone())
        );
        let plan = crate::plan::Plan::FileLoad(f);
        let text = plan.describe();
        assert!(
            text.contains("(5 bytes; given for a crash kernel, so the UKI's .ucode and .initrd sections are not used)"),
            "{text}"
        );
        assert_eq!(
            plan.to_json()["initrd"]["uki_sections_not_used"],
            ".ucode and .initrd sections"
        );
        // A normal load stacks them, as systemd-stub does.
        let f = open(Target::Normal, Some(&kdump));
        assert_eq!(read(f.initrd.as_ref().unwrap()), b"uc\0\x000707kdump");
        assert!(!crate::plan::Plan::FileLoad(f)
            .describe()
            .contains("not used)"));
        // No --initrd: the UKI's own, for a crash kernel too.
        let f = open(Target::Crash, None);
        assert_eq!(read(f.initrd.as_ref().unwrap()), b"uc\0\x000707");
        assert!(f.given_initrd().is_none());
    }
}
