//! Flattened device trees (DTB, Devicetree Specification chapter 5): read a
//! blob into an editable tree ([`Fdt`]: nodes with their properties and
//! children in order, the memory reservation block, boot_cpuid_phys) and
//! write it back (version 17, strings deduplicated, every block 8-byte
//! aligned, totalsize exact). Every header field and offset is checked
//! against the blob before it is used: a bad blob is an [`FdtError`]
//! naming the field and its value, never a panic.
//!
//! Our own reader and writer rather than a crate: arm64's kexec_load path
//! needs read-modify-write of `/chosen` in a firmware-given blob.
//! - `fdt` (0.1.5, and its fork `flat_device_tree`) only reads, borrowing
//!   the blob; the fork's errors are bare variants (`BadMagic`,
//!   `BufferTooSmall`) naming no field or value; and it is MPL-2.0 where
//!   this project is MIT OR Apache-2.0.
//! - `vm-fdt` (rust-vmm) only writes, by a begin/end-node builder: using
//!   it needs a reader too, plus glue that walks every node of one into
//!   the other — about as much code as the writer it would replace.
//! - `fdt-edit` does read-modify-write, but is young (its 0.1.0 yanked, the
//!   API reworked from 0.1 to 0.2 within months, on `fdt-raw`) and brings
//!   an arena and typed clock/PCI/interrupt nodes we have no use for.
//!
//! The format is small (five tokens, three blocks); owning its reader and
//! writer keeps the checks and messages ours and adds no dependency.
//!
//! ```
//! use kexec::fdt::Fdt;
//!
//! let mut fdt = Fdt::new();
//! fdt.root.set_property("#address-cells", 2u32.to_be_bytes());
//! fdt.root.child_or_insert("chosen").set_property("bootargs", b"console=ttyAMA0\0".to_vec());
//! let blob = fdt.to_bytes().unwrap();
//!
//! let back = Fdt::parse(&blob).unwrap();
//! assert_eq!(back, fdt);
//! assert_eq!(back.node("/chosen").and_then(|c| c.property("bootargs")), Some(&b"console=ttyAMA0\0"[..]));
//! assert_eq!(back.root.property_u32("#address-cells"), Some(2));
//! // A damaged blob is an error naming the field and its value.
//! let mut bad = blob.clone();
//! bad[0] = 0;
//! assert_eq!(Fdt::parse(&bad).unwrap_err().to_string(),
//!            "header field magic is 0xdfeed: not the FDT magic 0xd00dfeed");
//! ```

use std::collections::HashMap;

/// The magic number every blob starts with.
pub const FDT_MAGIC: u32 = 0xd00d_feed;
/// The version we write (and the newest we read).
pub const VERSION: u32 = 17;
/// The oldest version a reader of ours must understand: 16 (v17 only adds
/// size_dt_struct), written as last_comp_version.
pub const LAST_COMP_VERSION: u32 = 16;
/// The v17 header's size in bytes.
pub const HEADER_SIZE: usize = 40;
/// The deepest nesting we read; the kernel's own unflattening stops at 64.
pub const MAX_DEPTH: usize = 64;

const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;

/// Why a blob cannot be read, or a tree written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FdtError {
    /// The blob is shorter than the header.
    #[error("the blob is {len} bytes, shorter than the {HEADER_SIZE}-byte FDT header")]
    ShortHeader {
        /// The blob's length.
        len: usize,
    },
    /// A header field is wrong, or points outside the blob.
    #[error("header field {field} is {value:#x}: {why}")]
    Header {
        /// The field's name as the specification spells it (totalsize, off_dt_struct...).
        field: &'static str,
        /// Its value.
        value: u64,
        /// What is wrong with it.
        why: String,
    },
    /// The memory reservation block is malformed.
    #[error("memory reservation entry {index} at offset {offset:#x}: {why}")]
    Reservation {
        /// The entry's index.
        index: usize,
        /// Its offset in the blob.
        offset: usize,
        /// What is wrong.
        why: String,
    },
    /// The structure block is malformed.
    #[error("structure block: {field} {value:#x} at offset {offset:#x}: {why}")]
    Structure {
        /// What was read there (token, property len, nameoff...).
        field: &'static str,
        /// Its value.
        value: u64,
        /// Its offset in the blob.
        offset: usize,
        /// What is wrong with it.
        why: String,
    },
    /// A name cannot be written (a NUL in it, or a '/' in a node name).
    #[error("{what} name {name:?} cannot be written: {why}")]
    Name {
        /// "node" or "property".
        what: &'static str,
        /// The name.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The tree written would not fit the format's 32-bit fields.
    #[error(
        "the {field} of the written blob would be {value} bytes, past the format's 32-bit limit"
    )]
    TooLarge {
        /// The field that would overflow.
        field: &'static str,
        /// The size it would need.
        value: u64,
    },
}

/// One property: a name and its raw value (big-endian cells, strings with
/// their NUL, or anything else; the tree does not interpret it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    /// The property's name.
    pub name: String,
    /// Its value, as stored.
    pub value: Vec<u8>,
}

/// One node: its name (with any unit address, "memory@40000000"; the root's
/// is empty), its properties and its children, both in blob order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    /// The node's name.
    pub name: String,
    /// Its properties, in order.
    pub properties: Vec<Property>,
    /// Its child nodes, in order.
    pub children: Vec<Node>,
}

/// One entry of the memory reservation block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// The reserved range's physical address.
    pub address: u64,
    /// Its size in bytes.
    pub size: u64,
}

/// A whole device tree, editable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fdt {
    /// The root node (named "").
    pub root: Node,
    /// The memory reservation block, without its terminating entry.
    pub reservations: Vec<Reservation>,
    /// The header's boot_cpuid_phys.
    pub boot_cpuid_phys: u32,
}

impl Node {
    /// A node with no properties and no children.
    pub fn new(name: &str) -> Node {
        Node {
            name: name.to_string(),
            ..Node::default()
        }
    }

    /// The value of the first property named `name`.
    pub fn property(&self, name: &str) -> Option<&[u8]> {
        self.properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_slice())
    }

    /// The property as one big-endian u32 cell, if it is exactly 4 bytes.
    pub fn property_u32(&self, name: &str) -> Option<u32> {
        let v: [u8; 4] = self.property(name)?.try_into().ok()?;
        Some(u32::from_be_bytes(v))
    }

    /// Sets a property: replaces the value in place when it exists (its
    /// position kept), else appends it.
    pub fn set_property(&mut self, name: &str, value: impl Into<Vec<u8>>) {
        let value = value.into();
        match self.properties.iter_mut().find(|p| p.name == name) {
            Some(p) => p.value = value,
            None => self.properties.push(Property {
                name: name.to_string(),
                value,
            }),
        }
    }

    /// Removes every property named `name`; returns the first one's value.
    pub fn remove_property(&mut self, name: &str) -> Option<Vec<u8>> {
        let at = self.properties.iter().position(|p| p.name == name)?;
        let first = self.properties.remove(at).value;
        self.properties.retain(|p| p.name != name);
        Some(first)
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The first child named `name`, mutable.
    pub fn child_mut(&mut self, name: &str) -> Option<&mut Node> {
        self.children.iter_mut().find(|c| c.name == name)
    }

    /// The first child named `name`, appended empty when missing.
    pub fn child_or_insert(&mut self, name: &str) -> &mut Node {
        let at = match self.children.iter().position(|c| c.name == name) {
            Some(at) => at,
            None => {
                self.children.push(Node::new(name));
                self.children.len() - 1
            }
        };
        &mut self.children[at]
    }
}

/// Reads a big-endian u32 at `at`, if the slice holds it.
fn be32(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// Reads a big-endian u64 at `at`, if the slice holds it.
fn be64(b: &[u8], at: usize) -> Option<u64> {
    let bytes = b.get(at..at.checked_add(8)?)?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

fn header_err(field: &'static str, value: impl Into<u64>, why: impl Into<String>) -> FdtError {
    FdtError::Header {
        field,
        value: value.into(),
        why: why.into(),
    }
}

fn struct_err(
    field: &'static str,
    value: impl Into<u64>,
    offset: usize,
    why: impl Into<String>,
) -> FdtError {
    FdtError::Structure {
        field,
        value: value.into(),
        offset,
        why: why.into(),
    }
}

/// The header fields the reader uses.
struct Header {
    totalsize: usize,
    off_dt_struct: usize,
    off_dt_strings: usize,
    off_mem_rsvmap: usize,
    boot_cpuid_phys: u32,
    size_dt_strings: usize,
    /// The structure block's end: off_dt_struct + size_dt_struct (v17), or
    /// totalsize for v16, which has no size_dt_struct.
    struct_end: usize,
}

impl Header {
    fn read(blob: &[u8]) -> Result<Header, FdtError> {
        if blob.len() < HEADER_SIZE {
            return Err(FdtError::ShortHeader { len: blob.len() });
        }
        // The header's length was checked: these reads cannot fail.
        let field = |at: usize| be32(blob, at).unwrap_or(0);
        let magic = field(0);
        if magic != FDT_MAGIC {
            return Err(header_err(
                "magic",
                magic,
                format!("not the FDT magic {FDT_MAGIC:#x}"),
            ));
        }
        let totalsize = field(4);
        if (totalsize as usize) < HEADER_SIZE || totalsize as usize > blob.len() {
            return Err(header_err(
                "totalsize",
                totalsize,
                format!(
                    "outside {HEADER_SIZE}..={} (the header's size up to the blob's {} bytes)",
                    blob.len(),
                    blob.len()
                ),
            ));
        }
        let total = totalsize as usize;
        let version = field(20);
        if version < LAST_COMP_VERSION {
            return Err(header_err(
                "version",
                version,
                format!("older than {LAST_COMP_VERSION}, the oldest we read"),
            ));
        }
        let last_comp = field(24);
        if last_comp > VERSION {
            return Err(header_err(
                "last_comp_version",
                last_comp,
                format!("newer than {VERSION}: this blob needs a reader we are not"),
            ));
        }
        let within = |name: &'static str, off: u32, align: usize| -> Result<usize, FdtError> {
            let off = off as usize;
            if off < HEADER_SIZE || off > total {
                return Err(header_err(
                    name,
                    off as u64,
                    format!("outside the blob ({HEADER_SIZE}..={total}, after the header, up to totalsize)"),
                ));
            }
            if !off.is_multiple_of(align) {
                return Err(header_err(
                    name,
                    off as u64,
                    format!("not {align}-byte aligned"),
                ));
            }
            Ok(off)
        };
        let off_dt_struct = within("off_dt_struct", field(8), 4)?;
        let off_dt_strings = within("off_dt_strings", field(12), 1)?;
        let off_mem_rsvmap = within("off_mem_rsvmap", field(16), 8)?;
        let size_dt_strings = field(32) as usize;
        if size_dt_strings > total - off_dt_strings {
            return Err(header_err(
                "size_dt_strings",
                size_dt_strings as u64,
                format!(
                    "the strings block at off_dt_strings {off_dt_strings:#x} would end past totalsize {total:#x}"
                ),
            ));
        }
        let struct_end = if version >= 17 {
            let size = field(36) as usize;
            if size > total - off_dt_struct {
                return Err(header_err(
                    "size_dt_struct",
                    size as u64,
                    format!(
                        "the structure block at off_dt_struct {off_dt_struct:#x} would end past totalsize {total:#x}"
                    ),
                ));
            }
            off_dt_struct + size
        } else {
            total
        };
        Ok(Header {
            totalsize: total,
            off_dt_struct,
            off_dt_strings,
            off_mem_rsvmap,
            boot_cpuid_phys: field(28),
            size_dt_strings,
            struct_end,
        })
    }
}

impl Fdt {
    /// An empty tree: a root node and nothing else.
    pub fn new() -> Fdt {
        Fdt::default()
    }

    /// Reads a blob (version 16 or later whose last_comp_version is at most
    /// 17). Bytes past the header's totalsize are ignored.
    pub fn parse(blob: &[u8]) -> Result<Fdt, FdtError> {
        let h = Header::read(blob)?;
        let blob = &blob[..h.totalsize];
        let reservations = read_reservations(blob, h.off_mem_rsvmap)?;
        let strings = &blob[h.off_dt_strings..h.off_dt_strings + h.size_dt_strings];
        let root = read_structure(&blob[..h.struct_end], h.off_dt_struct, strings)?;
        Ok(Fdt {
            root,
            reservations,
            boot_cpuid_phys: h.boot_cpuid_phys,
        })
    }

    /// The node at an absolute path ("/", "/chosen", "/soc/serial@9000000").
    pub fn node(&self, path: &str) -> Option<&Node> {
        let mut node = &self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            node = node.child(part)?;
        }
        Some(node)
    }

    /// The node at an absolute path, mutable.
    pub fn node_mut(&mut self, path: &str) -> Option<&mut Node> {
        let mut node = &mut self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            node = node.child_mut(part)?;
        }
        Some(node)
    }

    /// Writes the tree as a version 17 blob: header, memory reservation
    /// block, structure block, strings block, each at an 8-byte aligned
    /// offset; property names stored once each in the strings block.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FdtError> {
        let mut strings = Strings::default();
        let mut structure = Vec::new();
        write_node(&self.root, &mut structure, &mut strings)?;
        structure.extend_from_slice(&FDT_END.to_be_bytes());

        let off_mem_rsvmap = HEADER_SIZE; // 40: already 8-byte aligned
        let off_dt_struct = off_mem_rsvmap + 16 * (self.reservations.len() + 1);
        let off_dt_strings = align8(off_dt_struct + structure.len());
        let totalsize = align8(off_dt_strings + strings.bytes.len());
        let fit = |field: &'static str, value: usize| {
            u32::try_from(value).map_err(|_| FdtError::TooLarge {
                field,
                value: value as u64,
            })
        };
        let header = [
            FDT_MAGIC,
            fit("totalsize", totalsize)?,
            fit("off_dt_struct", off_dt_struct)?,
            fit("off_dt_strings", off_dt_strings)?,
            off_mem_rsvmap as u32,
            VERSION,
            LAST_COMP_VERSION,
            self.boot_cpuid_phys,
            fit("size_dt_strings", strings.bytes.len())?,
            fit("size_dt_struct", structure.len())?,
        ];
        let mut out = Vec::with_capacity(totalsize);
        for field in header {
            out.extend_from_slice(&field.to_be_bytes());
        }
        for r in &self.reservations {
            out.extend_from_slice(&r.address.to_be_bytes());
            out.extend_from_slice(&r.size.to_be_bytes());
        }
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&structure);
        out.resize(off_dt_strings, 0);
        out.extend_from_slice(&strings.bytes);
        out.resize(totalsize, 0);
        Ok(out)
    }
}

fn align8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

fn align4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// The memory reservation block: (address, size) pairs up to one of (0, 0).
fn read_reservations(blob: &[u8], start: usize) -> Result<Vec<Reservation>, FdtError> {
    let mut out = Vec::new();
    let mut at = start;
    loop {
        let (Some(address), Some(size)) = (be64(blob, at), be64(blob, at + 8)) else {
            return Err(FdtError::Reservation {
                index: out.len(),
                offset: at,
                why: format!(
                    "runs past totalsize {:#x} before the (0, 0) entry that ends the block (off_mem_rsvmap {start:#x})",
                    blob.len()
                ),
            });
        };
        if address == 0 && size == 0 {
            return Ok(out);
        }
        out.push(Reservation { address, size });
        at += 16;
    }
}

/// A NUL-terminated name at `at` in `bytes`, as UTF-8.
fn c_name<'a>(
    bytes: &'a [u8],
    at: usize,
    field: &'static str,
    value: u64,
    offset: usize,
) -> Result<&'a str, FdtError> {
    let rest = bytes.get(at..).unwrap_or_default();
    let Some(len) = rest.iter().position(|&b| b == 0) else {
        return Err(struct_err(
            field,
            value,
            offset,
            "the name has no terminating NUL before its block ends",
        ));
    };
    std::str::from_utf8(&rest[..len])
        .map_err(|_| struct_err(field, value, offset, "the name is not UTF-8"))
}

/// The structure block, starting at `at` in `blob` (cut at the block's
/// end), into the root node.
fn read_structure(blob: &[u8], mut at: usize, strings: &[u8]) -> Result<Node, FdtError> {
    // Iterative, with an explicit stack: a hostile blob's nesting cannot
    // overflow ours (and is capped at MAX_DEPTH besides).
    let mut open: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let token_at = at;
        let Some(token) = be32(blob, at) else {
            return Err(struct_err(
                "end of block",
                blob.len() as u64,
                at,
                "the structure block ends before its FDT_END token",
            ));
        };
        at += 4;
        match token {
            FDT_BEGIN_NODE => {
                if root.is_some() {
                    return Err(struct_err(
                        "token",
                        token,
                        token_at,
                        "FDT_BEGIN_NODE after the root node has ended",
                    ));
                }
                if open.len() == MAX_DEPTH {
                    return Err(struct_err(
                        "depth",
                        open.len() as u64 + 1,
                        token_at,
                        format!("nodes nested deeper than {MAX_DEPTH}"),
                    ));
                }
                let name = c_name(blob, at, "token", token.into(), token_at)?;
                at = align4(at + name.len() + 1);
                open.push(Node::new(name));
            }
            FDT_END_NODE => {
                let Some(done) = open.pop() else {
                    return Err(struct_err(
                        "token",
                        token,
                        token_at,
                        "FDT_END_NODE with no node open",
                    ));
                };
                match open.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            FDT_PROP => {
                let Some(node) = open.last_mut() else {
                    return Err(struct_err(
                        "token",
                        token,
                        token_at,
                        "FDT_PROP outside any node",
                    ));
                };
                let (Some(len), Some(nameoff)) = (be32(blob, at), be32(blob, at + 4)) else {
                    return Err(struct_err(
                        "token",
                        token,
                        token_at,
                        "the property's len and nameoff run past the block's end",
                    ));
                };
                let value_at = at + 8;
                let Some(value) = value_at
                    .checked_add(len as usize)
                    .and_then(|end| blob.get(value_at..end))
                else {
                    return Err(struct_err(
                        "len",
                        len,
                        at,
                        format!(
                            "the property's value would run past the block's end at {:#x}",
                            blob.len()
                        ),
                    ));
                };
                if nameoff as usize >= strings.len() {
                    return Err(struct_err(
                        "nameoff",
                        nameoff,
                        at + 4,
                        format!(
                            "past the strings block's {} bytes (size_dt_strings)",
                            strings.len()
                        ),
                    ));
                }
                let name = c_name(strings, nameoff as usize, "nameoff", nameoff.into(), at + 4)?;
                node.properties.push(Property {
                    name: name.to_string(),
                    value: value.to_vec(),
                });
                at = align4(value_at + len as usize);
            }
            FDT_NOP => {}
            FDT_END => {
                if !open.is_empty() {
                    return Err(struct_err(
                        "token",
                        token,
                        token_at,
                        format!("FDT_END with {} node(s) still open", open.len()),
                    ));
                }
                return root.ok_or_else(|| {
                    struct_err("token", token, token_at, "FDT_END before any node")
                });
            }
            other => {
                return Err(struct_err(
                    "token",
                    other,
                    token_at,
                    "not a structure token (1, 2, 3, 4 or 9)",
                ))
            }
        }
    }
}

/// The strings block being written: each name once.
#[derive(Default)]
struct Strings {
    bytes: Vec<u8>,
    offsets: HashMap<String, u32>,
}

impl Strings {
    fn offset(&mut self, name: &str) -> Result<u32, FdtError> {
        if let Some(&off) = self.offsets.get(name) {
            return Ok(off);
        }
        let off = u32::try_from(self.bytes.len()).map_err(|_| FdtError::TooLarge {
            field: "size_dt_strings",
            value: self.bytes.len() as u64,
        })?;
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.offsets.insert(name.to_string(), off);
        Ok(off)
    }
}

fn write_node(node: &Node, out: &mut Vec<u8>, strings: &mut Strings) -> Result<(), FdtError> {
    let bad = |what, why| FdtError::Name {
        what,
        name: node.name.clone(),
        why,
    };
    if node.name.contains('\0') {
        return Err(bad("node", "it holds a NUL"));
    }
    if node.name.contains('/') {
        return Err(bad("node", "it holds a '/', the path separator"));
    }
    out.extend_from_slice(&FDT_BEGIN_NODE.to_be_bytes());
    out.extend_from_slice(node.name.as_bytes());
    out.push(0);
    out.resize(align4(out.len()), 0);
    for p in &node.properties {
        if p.name.is_empty() || p.name.contains('\0') {
            return Err(FdtError::Name {
                what: "property",
                name: p.name.clone(),
                why: "it is empty or holds a NUL",
            });
        }
        let len = u32::try_from(p.value.len()).map_err(|_| FdtError::TooLarge {
            field: "property len",
            value: p.value.len() as u64,
        })?;
        out.extend_from_slice(&FDT_PROP.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&strings.offset(&p.name)?.to_be_bytes());
        out.extend_from_slice(&p.value);
        out.resize(align4(out.len()), 0);
    }
    for child in &node.children {
        write_node(child, out, strings)?;
    }
    out.extend_from_slice(&FDT_END_NODE.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Fdt {
        let mut fdt = Fdt::new();
        fdt.boot_cpuid_phys = 3;
        fdt.reservations = vec![Reservation {
            address: 0x4800_0000,
            size: 0x1_0000,
        }];
        fdt.root.set_property("#address-cells", 2u32.to_be_bytes());
        fdt.root.set_property("#size-cells", 2u32.to_be_bytes());
        fdt.root
            .set_property("compatible", b"linux,dummy-virt\0".to_vec());
        let mem = fdt.root.child_or_insert("memory@40000000");
        mem.set_property("device_type", b"memory\0".to_vec());
        let mut reg = Vec::new();
        reg.extend_from_slice(&0x4000_0000u64.to_be_bytes());
        reg.extend_from_slice(&0x8000_0000u64.to_be_bytes());
        mem.set_property("reg", reg);
        let chosen = fdt.root.child_or_insert("chosen");
        chosen.set_property("bootargs", b"console=ttyAMA0\0".to_vec());
        chosen.set_property("linux,pci-probe-only", Vec::new());
        let soc = fdt.root.child_or_insert("soc");
        soc.set_property("compatible", b"simple-bus\0".to_vec());
        soc.child_or_insert("serial@9000000")
            .set_property("compatible", b"arm,pl011\0arm,primecell\0".to_vec());
        fdt
    }

    fn field(blob: &[u8], at: usize) -> u32 {
        be32(blob, at).unwrap()
    }

    fn set_field(blob: &mut [u8], at: usize, value: u32) {
        blob[at..at + 4].copy_from_slice(&value.to_be_bytes());
    }

    #[test]
    fn round_trip_keeps_everything() {
        let fdt = sample();
        let blob = fdt.to_bytes().unwrap();
        assert_eq!(Fdt::parse(&blob).unwrap(), fdt);
        // Written again, the same bytes.
        assert_eq!(Fdt::parse(&blob).unwrap().to_bytes().unwrap(), blob);
    }

    #[test]
    fn header_and_layout() {
        let blob = sample().to_bytes().unwrap();
        assert_eq!(field(&blob, 0), FDT_MAGIC);
        assert_eq!(field(&blob, 4) as usize, blob.len());
        assert_eq!(blob.len() % 8, 0);
        let (s, st, rsv) = (field(&blob, 8), field(&blob, 12), field(&blob, 16));
        assert_eq!((s % 8, st % 8, rsv % 8), (0, 0, 0));
        assert_eq!(rsv, 40);
        assert_eq!(s, 40 + 32, "one reservation and the terminator");
        assert_eq!((field(&blob, 20), field(&blob, 24)), (17, 16));
        assert_eq!(field(&blob, 28), 3);
        assert!(st >= s + field(&blob, 36));
        assert!(st + field(&blob, 32) <= blob.len() as u32);
    }

    #[test]
    fn strings_are_deduplicated() {
        let blob = sample().to_bytes().unwrap();
        let (st, size) = (field(&blob, 12) as usize, field(&blob, 32) as usize);
        let strings = &blob[st..st + size];
        let count = |name: &[u8]| strings.split(|&b| b == 0).filter(|s| *s == name).count();
        // "compatible" is on three nodes, stored once.
        assert_eq!(count(b"compatible"), 1);
        assert_eq!(count(b"reg"), 1);
    }

    #[test]
    fn nodes_and_properties_by_path() {
        let mut fdt = sample();
        let serial = fdt.node("/soc/serial@9000000").unwrap();
        assert_eq!(
            serial.property("compatible"),
            Some(&b"arm,pl011\0arm,primecell\0"[..])
        );
        assert!(fdt.node("/").is_some_and(|r| r.name.is_empty()));
        assert!(fdt.node("/nope").is_none());
        assert_eq!(fdt.root.property_u32("#size-cells"), Some(2));
        assert_eq!(fdt.root.property_u32("compatible"), None);
        let chosen = fdt.node_mut("/chosen").unwrap();
        chosen.set_property("bootargs", b"quiet\0".to_vec());
        // Replaced in place: still first.
        assert_eq!(chosen.properties[0].name, "bootargs");
        assert_eq!(chosen.properties[0].value, b"quiet\0");
        assert_eq!(
            chosen.remove_property("bootargs"),
            Some(b"quiet\0".to_vec())
        );
        assert_eq!(chosen.remove_property("bootargs"), None);
        assert_eq!(chosen.properties.len(), 1);
    }

    #[test]
    fn nops_and_v16_and_trailing_bytes_are_read() {
        let fdt = sample();
        let mut blob = fdt.to_bytes().unwrap();
        // A v16 header: no size_dt_struct, the block runs to totalsize.
        set_field(&mut blob, 20, 16);
        set_field(&mut blob, 36, 0);
        // Bytes past totalsize (a padded --dtb file) are not read.
        blob.extend_from_slice(&[0xaa; 24]);
        assert_eq!(Fdt::parse(&blob).unwrap(), fdt);

        // Root { a = <1>; } with NOPs around, written by hand.
        let mut s = Vec::new();
        for w in [FDT_NOP, FDT_BEGIN_NODE, 0, FDT_NOP, FDT_PROP, 4, 0, 1] {
            s.extend_from_slice(&w.to_be_bytes());
        }
        for w in [FDT_END_NODE, FDT_NOP, FDT_END] {
            s.extend_from_slice(&w.to_be_bytes());
        }
        let blob = hand_blob(&s, b"a\0");
        let got = Fdt::parse(&blob).unwrap();
        assert_eq!(got.root.property_u32("a"), Some(1));
        assert!(got.reservations.is_empty());
    }

    /// A v17 blob around a hand-made structure and strings block.
    fn hand_blob(structure: &[u8], strings: &[u8]) -> Vec<u8> {
        let off_struct = 40 + 16;
        let off_strings = off_struct + structure.len();
        let total = off_strings + strings.len();
        let mut b = Vec::new();
        for w in [
            FDT_MAGIC,
            total as u32,
            off_struct as u32,
            off_strings as u32,
            40,
            17,
            16,
            0,
            strings.len() as u32,
            structure.len() as u32,
        ] {
            b.extend_from_slice(&w.to_be_bytes());
        }
        b.extend_from_slice(&[0; 16]);
        b.extend_from_slice(structure);
        b.extend_from_slice(strings);
        b
    }

    fn words(ws: &[u32]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    fn err(blob: &[u8]) -> String {
        Fdt::parse(blob).unwrap_err().to_string()
    }

    #[test]
    fn bad_headers_name_the_field_and_value() {
        let good = sample().to_bytes().unwrap();
        assert_eq!(
            err(&good[..39]),
            "the blob is 39 bytes, shorter than the 40-byte FDT header"
        );
        assert!(err(&[]).contains("the blob is 0 bytes"));
        let cases: &[(usize, u32, &str)] = &[
            (0, 0xedfe_0dd0, "header field magic is 0xedfe0dd0"),
            (4, good.len() as u32 + 1, "header field totalsize is"),
            (4, 8, "header field totalsize is 0x8"),
            (8, 0xffff_fff0, "header field off_dt_struct is 0xfffffff0"),
            (
                8,
                42,
                "header field off_dt_struct is 0x2a: not 4-byte aligned",
            ),
            (12, 4, "header field off_dt_strings is 0x4"),
            (
                16,
                44,
                "header field off_mem_rsvmap is 0x2c: not 8-byte aligned",
            ),
            (20, 15, "header field version is 0xf: older than 16"),
            (24, 18, "header field last_comp_version is 0x12"),
            (32, 0x10_0000, "header field size_dt_strings is 0x100000"),
            (36, 0x10_0000, "header field size_dt_struct is 0x100000"),
        ];
        for &(at, value, want) in cases {
            let mut bad = good.clone();
            set_field(&mut bad, at, value);
            let e = err(&bad);
            assert!(e.starts_with(want), "field at {at}: {e}");
        }
    }

    #[test]
    fn truncated_blobs_are_errors_never_panics() {
        let good = sample().to_bytes().unwrap();
        for len in 0..good.len() {
            let cut = &good[..len];
            assert!(Fdt::parse(cut).is_err(), "cut at {len}");
            // Also with totalsize made to agree with the cut.
            if len >= 40 {
                let mut fixed = cut.to_vec();
                set_field(&mut fixed, 4, len as u32);
                let _ = Fdt::parse(&fixed);
            }
        }
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        // Every single-byte change of a good blob, at every offset, with
        // a few values: parse returns, whatever it says.
        let good = sample().to_bytes().unwrap();
        for at in 0..good.len() {
            for v in [0x00, 0x01, 0x03, 0x7f, 0xff] {
                let mut bad = good.clone();
                bad[at] = v;
                let _ = Fdt::parse(&bad);
            }
        }
        // A pseudo-random blob behind a valid magic and sizes.
        let mut x = 0x1234_5678u32;
        let mut noise = Vec::new();
        for _ in 0..4096 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            noise.push(x as u8);
        }
        noise[..4].copy_from_slice(&FDT_MAGIC.to_be_bytes());
        assert!(Fdt::parse(&noise).is_err());
    }

    #[test]
    fn bad_structures_name_the_field_and_value() {
        let s = words(&[FDT_BEGIN_NODE, 0, 7, FDT_END_NODE, FDT_END]);
        let e = err(&hand_blob(&s, b""));
        assert!(
            e.contains("token 0x7 at offset 0x40: not a structure token"),
            "{e}"
        );
        let s = words(&[FDT_BEGIN_NODE, 0, FDT_PROP, 4, 9, 1, FDT_END_NODE, FDT_END]);
        let e = err(&hand_blob(&s, b"a\0"));
        assert!(e.contains("nameoff 0x9"), "{e}");
        let s = words(&[
            FDT_BEGIN_NODE,
            0,
            FDT_PROP,
            0x1000,
            0,
            1,
            FDT_END_NODE,
            FDT_END,
        ]);
        let e = err(&hand_blob(&s, b"a\0"));
        assert!(e.contains("len 0x1000"), "{e}");
        let s = words(&[FDT_BEGIN_NODE, 0, FDT_END_NODE]);
        let e = err(&hand_blob(&s, b""));
        assert!(e.contains("before its FDT_END token"), "{e}");
        let s = words(&[FDT_BEGIN_NODE, 0, FDT_END]);
        let e = err(&hand_blob(&s, b""));
        assert!(e.contains("1 node(s) still open"), "{e}");
        let s = words(&[FDT_END_NODE, FDT_END]);
        assert!(err(&hand_blob(&s, b"")).contains("no node open"));
        let s = words(&[FDT_PROP, 0, 0, FDT_END]);
        assert!(err(&hand_blob(&s, b"a\0")).contains("outside any node"));
        let s = words(&[FDT_END]);
        assert!(err(&hand_blob(&s, b"")).contains("before any node"));
        let s = words(&[FDT_BEGIN_NODE, 0, FDT_END_NODE, FDT_BEGIN_NODE, 0]);
        assert!(err(&hand_blob(&s, b"")).contains("after the root node"));
        // A name without its NUL before the block's end.
        let mut s = words(&[FDT_BEGIN_NODE]);
        s.extend_from_slice(b"abcd");
        assert!(err(&hand_blob(&s, b"")).contains("no terminating NUL"));
        // Strings without a NUL.
        let s = words(&[FDT_BEGIN_NODE, 0, FDT_PROP, 0, 0, FDT_END_NODE, FDT_END]);
        assert!(err(&hand_blob(&s, b"ab")).contains("nameoff 0x0"));
        // The reservation block with no terminator.
        let mut blob = hand_blob(&words(&[FDT_BEGIN_NODE, 0, FDT_END_NODE, FDT_END]), b"");
        let end = blob.len() as u32;
        set_field(&mut blob, 16, end - 8);
        let e = err(&blob);
        assert!(e.starts_with("memory reservation entry 0 at offset"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut s = Vec::new();
        for _ in 0..=MAX_DEPTH {
            s.extend_from_slice(&words(&[FDT_BEGIN_NODE, 0x6100_0000]));
        }
        let e = err(&hand_blob(&s, b""));
        assert!(e.contains("depth 0x41"), "{e}");
        // MAX_DEPTH itself is read.
        let mut s = words(&[FDT_BEGIN_NODE, 0]);
        for _ in 1..MAX_DEPTH {
            s.extend_from_slice(&words(&[FDT_BEGIN_NODE, 0x6100_0000]));
        }
        for _ in 0..MAX_DEPTH {
            s.extend_from_slice(&words(&[FDT_END_NODE]));
        }
        s.extend_from_slice(&words(&[FDT_END]));
        assert!(Fdt::parse(&hand_blob(&s, b"")).is_ok());
    }

    #[test]
    fn unwritable_names_are_errors() {
        let mut fdt = Fdt::new();
        fdt.root.child_or_insert("a/b");
        let e = fdt.to_bytes().unwrap_err().to_string();
        assert_eq!(
            e,
            "node name \"a/b\" cannot be written: it holds a '/', the path separator"
        );
        let mut fdt = Fdt::new();
        fdt.root.set_property("x\0y", Vec::new());
        assert!(fdt
            .to_bytes()
            .unwrap_err()
            .to_string()
            .contains("property name"));
    }
}
