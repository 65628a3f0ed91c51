//! PE/COFF images (UEFI executables): the section table, read so that later
//! work can unwrap unified kernel images (.linux, .initrd, .cmdline). Each
//! error names the field and its value. A section's payload is
//! PointerToRawData with VirtualSize bytes (SizeOfRawData is padded to the
//! file alignment, which breaks signed-kernel checks when used).

use serde::Serialize;

/// The DOS signature every PE image starts with.
pub const MZ: &[u8; 2] = b"MZ";
/// The signature at e_lfanew.
pub const PE_SIGNATURE: &[u8; 4] = b"PE\0\0";
/// Offset of e_lfanew (the PE header's offset) in the DOS header.
pub const E_LFANEW: usize = 0x3c;
const COFF_HEADER_SIZE: usize = 20;
const SECTION_HEADER_SIZE: usize = 40;
/// PE32 and PE32+ optional header magics.
pub const PE32_MAGIC: u16 = 0x10b;
/// The PE32+ one.
pub const PE32_PLUS_MAGIC: u16 = 0x20b;

/// One entry of the section table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Section {
    /// The section's name, NULs trimmed (".linux", ".initrd", ...).
    pub name: String,
    /// VirtualSize: the payload's true length.
    pub virtual_size: u32,
    /// VirtualAddress: where it lies once loaded.
    pub virtual_address: u32,
    /// SizeOfRawData: its length in the file, padded to the file alignment.
    pub raw_size: u32,
    /// PointerToRawData: its offset in the file.
    pub raw_offset: u32,
}

/// A PE image's headers as far as kexec reads them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeImage {
    /// The COFF header's Machine (0x8664 for x86_64).
    pub machine: u16,
    /// The optional header's magic: [`PE32_MAGIC`] or [`PE32_PLUS_MAGIC`].
    pub optional_magic: u16,
    /// The section table, in file order.
    pub sections: Vec<Section>,
}

/// Why bytes are not a usable PE image: the field at fault and its value.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a usable PE image: {0}")]
pub struct PeError(pub String);

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

impl PeImage {
    /// Whether the bytes carry both signatures: "MZ" and `PE\0\0` at e_lfanew.
    pub fn is_pe(bytes: &[u8]) -> bool {
        bytes.starts_with(MZ)
            && u32_at(bytes, E_LFANEW)
                .and_then(|at| bytes.get(at as usize..(at as usize).checked_add(4)?))
                .is_some_and(|sig| sig == PE_SIGNATURE)
    }

    /// Reads the section table; nothing beyond the headers is checked.
    pub fn parse(bytes: &[u8]) -> Result<PeImage, PeError> {
        let err = |why: String| Err(PeError(why));
        if !bytes.starts_with(MZ) {
            return err("no \"MZ\" DOS signature at offset 0".into());
        }
        let pe = match u32_at(bytes, E_LFANEW) {
            Some(at) => at as usize,
            None => {
                return err(format!(
                    "the file ({} bytes) ends before e_lfanew at {E_LFANEW:#x}",
                    bytes.len()
                ))
            }
        };
        if bytes.get(pe..pe.saturating_add(4)) != Some(PE_SIGNATURE.as_slice()) {
            return err(format!("no \"PE\\0\\0\" signature at e_lfanew {pe:#x}"));
        }
        let coff = pe + 4;
        let (Some(machine), Some(count), Some(optional_size)) = (
            u16_at(bytes, coff),
            u16_at(bytes, coff + 2),
            u16_at(bytes, coff + 16),
        ) else {
            return err(format!("the COFF header at {coff:#x} is cut off"));
        };
        let optional = coff + COFF_HEADER_SIZE;
        let optional_magic = match u16_at(bytes, optional) {
            Some(m @ (PE32_MAGIC | PE32_PLUS_MAGIC)) => m,
            Some(m) => {
                return err(format!(
                    "optional header magic {m:#06x} at {optional:#x} is neither PE32 nor PE32+"
                ))
            }
            None => return err(format!("the optional header at {optional:#x} is cut off")),
        };
        let table = optional + usize::from(optional_size);
        let mut sections = Vec::with_capacity(usize::from(count));
        for i in 0..usize::from(count) {
            let at = table + i * SECTION_HEADER_SIZE;
            let Some(raw) = bytes.get(at..at + SECTION_HEADER_SIZE) else {
                return err(format!(
                    "section header {i} at {at:#x} lies past the end of the file ({} bytes)",
                    bytes.len()
                ));
            };
            let name_bytes = &raw[..8];
            let name_len = name_bytes.iter().position(|&b| b == 0).unwrap_or(8);
            let section = Section {
                name: String::from_utf8_lossy(&name_bytes[..name_len]).into_owned(),
                virtual_size: u32_at(raw, 8).unwrap_or(0),
                virtual_address: u32_at(raw, 12).unwrap_or(0),
                raw_size: u32_at(raw, 16).unwrap_or(0),
                raw_offset: u32_at(raw, 20).unwrap_or(0),
            };
            sections.push(section);
        }
        Ok(PeImage {
            machine,
            optional_magic,
            sections,
        })
    }

    /// The first section with this name.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// A section's payload: VirtualSize bytes at PointerToRawData (at most
    /// what the file holds there).
    pub fn section_data<'a>(&self, bytes: &'a [u8], name: &str) -> Result<&'a [u8], PeError> {
        let s = self
            .section(name)
            .ok_or_else(|| PeError(format!("no {name} section")))?;
        let start = s.raw_offset as usize;
        let len = s.virtual_size as usize;
        bytes.get(start..start.saturating_add(len)).ok_or_else(|| {
            PeError(format!(
                "section {name}: PointerToRawData {start:#x} + VirtualSize {len:#x} lies past the end of the file ({} bytes)",
                bytes.len()
            ))
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PE32+ image with a .linux and a .cmdline section.
    pub fn tiny_uki() -> Vec<u8> {
        let mut b = vec![0u8; 0x400];
        b[..2].copy_from_slice(MZ);
        b[E_LFANEW..E_LFANEW + 4].copy_from_slice(&0x80u32.to_le_bytes());
        b[0x80..0x84].copy_from_slice(PE_SIGNATURE);
        b[0x84..0x86].copy_from_slice(&0x8664u16.to_le_bytes());
        b[0x86..0x88].copy_from_slice(&2u16.to_le_bytes());
        b[0x94..0x96].copy_from_slice(&0xf0u16.to_le_bytes());
        b[0x98..0x9a].copy_from_slice(&PE32_PLUS_MAGIC.to_le_bytes());
        let table = 0x98 + 0xf0;
        for (i, (name, off, size)) in [(".linux", 0x300u32, 0x10u32), (".cmdline", 0x380, 0x8)]
            .iter()
            .enumerate()
        {
            let at = table + i * 40;
            b[at..at + name.len()].copy_from_slice(name.as_bytes());
            b[at + 8..at + 12].copy_from_slice(&size.to_le_bytes());
            b[at + 16..at + 20].copy_from_slice(&0x80u32.to_le_bytes());
            b[at + 20..at + 24].copy_from_slice(&off.to_le_bytes());
        }
        b[0x380..0x388].copy_from_slice(b"quiet\0\0\0");
        b
    }

    #[test]
    fn reads_sections_by_virtual_size() {
        let b = tiny_uki();
        assert!(PeImage::is_pe(&b));
        let pe = PeImage::parse(&b).unwrap();
        assert_eq!(pe.machine, 0x8664);
        assert_eq!(pe.sections.len(), 2);
        assert_eq!(pe.section_data(&b, ".cmdline").unwrap(), b"quiet\0\0\0");
        assert_eq!(
            pe.section_data(&b, ".linux").unwrap().len(),
            0x10,
            "VirtualSize, not the padded SizeOfRawData"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let mut b = tiny_uki();
        b[0x98] = 0x42;
        assert!(PeImage::parse(&b)
            .unwrap_err()
            .to_string()
            .contains("optional header magic"));
        let b = tiny_uki();
        assert!(PeImage::parse(&b[..0x100])
            .unwrap_err()
            .to_string()
            .contains("section header 0"));
        assert!(PeImage::parse(b"MZ")
            .unwrap_err()
            .to_string()
            .contains("e_lfanew"));
        assert!(!PeImage::is_pe(b"MZ"));
    }
}
