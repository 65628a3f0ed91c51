//! arm64: the device tree handed to the next kernel on the kexec_load path,
//! with `/chosen` rewritten. The arm64 boot protocol passes no command line
//! or initrd in registers: the kernel finds them in `/chosen` of the DTB
//! whose address is in x0. [`prepare`] takes the running system's tree
//! (/sys/firmware/fdt) or `--dtb`'s, and sets what the next boot needs:
//! `bootargs`, the initrd, the seeds, and for a crash kernel where the
//! core header lies and which memory it may use. A property this load
//! manages but was not given is removed, so nothing of the previous boot
//! (its initrd, a consumed seed, a crash kernel's ranges) leaks into the
//! next; every other property stays (EFI boots keep their `linux,uefi-*`).

use crate::fdt::{Fdt, FdtError, Node};

/// The largest DTB the arm64 boot protocol allows (booting.rst: "must not
/// exceed 2 megabytes").
pub const MAX_DTB_SIZE: u64 = 2 << 20; // arm64 boot protocol

/// What the next kernel is told in `/chosen`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chosen {
    /// The command line, without a NUL (one is added).
    pub bootargs: Vec<u8>,
    /// The initrd's physical start and end (exclusive), as the kernel reads
    /// `linux,initrd-start` and `linux,initrd-end`.
    pub initrd: Option<(u64, u64)>,
    /// A fresh `kaslr-seed` for the kernel's randomized placement.
    pub kaslr_seed: Option<u64>,
    /// A fresh `rng-seed` for the kernel's entropy pool.
    pub rng_seed: Option<Vec<u8>>,
    /// A crash kernel's ELF core header: base and size.
    pub elfcorehdr: Option<(u64, u64)>,
    /// A crash kernel's usable memory: (base, size) ranges.
    pub usable_memory: Vec<(u64, u64)>,
}

/// Why a device tree cannot be prepared. Each names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtbError {
    /// The blob is not a device tree we can read (or write back).
    #[error("{file}: {source}")]
    Fdt {
        /// The DTB's name.
        file: String,
        /// What is wrong with it.
        #[source]
        source: FdtError,
    },
    /// A value the tree holds, or one we were asked to write, is unusable.
    #[error("{file}: {field} is {value:#x}: {why}")]
    Field {
        /// The DTB's name.
        file: String,
        /// The property or value ("/ #address-cells", "linux,elfcorehdr base").
        field: String,
        /// Its value.
        value: u64,
        /// What is wrong with it.
        why: String,
    },
    /// The command line holds a NUL, where the kernel would stop reading.
    #[error("{file}: the command line for bootargs holds a NUL at byte {at}: the kernel would read no further")]
    Bootargs {
        /// The DTB's name.
        file: String,
        /// The NUL's offset in the command line.
        at: usize,
    },
    /// The rewritten tree is larger than the boot protocol allows.
    #[error("{file}: with /chosen rewritten the device tree is {size} bytes, more than the {MAX_DTB_SIZE} bytes (2 MiB) the arm64 boot protocol allows")]
    TooBig {
        /// The DTB's name.
        file: String,
        /// The rewritten tree's size.
        size: u64,
    },
}

/// The tree of `dtb` with `/chosen` made to say `chosen`: created if
/// missing; `bootargs` set; `linux,initrd-start`/`-end`, `kaslr-seed`,
/// `rng-seed`, `linux,elfcorehdr` and `linux,usable-memory-range` set when
/// given and removed when not; every other property and node kept. `file`
/// names the DTB in errors.
///
/// ```
/// use kexec::arch::aarch64::dtb::{prepare, Chosen};
/// use kexec::fdt::Fdt;
///
/// let mut firmware = Fdt::new();
/// firmware.root.child_or_insert("chosen").set_property("linux,initrd-start", 0x4800_0000u64.to_be_bytes());
/// let chosen = Chosen { bootargs: b"console=ttyAMA0".to_vec(), ..Chosen::default() };
/// let out = prepare("/sys/firmware/fdt", &firmware.to_bytes().unwrap(), &chosen).unwrap();
/// let next = Fdt::parse(&out).unwrap();
/// let c = next.node("/chosen").unwrap();
/// assert_eq!(c.property("bootargs"), Some(&b"console=ttyAMA0\0"[..]));
/// // The previous boot's initrd is not handed on.
/// assert_eq!(c.property("linux,initrd-start"), None);
/// ```
pub fn prepare(file: &str, dtb: &[u8], chosen: &Chosen) -> Result<Vec<u8>, DtbError> {
    let fdt_err = |source| DtbError::Fdt {
        file: file.to_string(),
        source,
    };
    let mut fdt = Fdt::parse(dtb).map_err(fdt_err)?;
    if let Some(at) = chosen.bootargs.iter().position(|&b| b == 0) {
        return Err(DtbError::Bootargs {
            file: file.to_string(),
            at,
        });
    }
    let field_err = |field: &str, value: u64, why: String| DtbError::Field {
        file: file.to_string(),
        field: field.to_string(),
        value,
        why,
    };

    // The crash properties are (address, size) pairs in the root's cells,
    // as the kernel reads them; the cells are read only when needed, so an
    // odd tree still boots a normal kernel.
    let crash = chosen.elfcorehdr.is_some() || !chosen.usable_memory.is_empty();
    let cells = if crash {
        Some((
            root_cells(&fdt.root, "#address-cells", 2)
                .map_err(|(v, why)| field_err("/ #address-cells", v, why))?,
            root_cells(&fdt.root, "#size-cells", 1)
                .map_err(|(v, why)| field_err("/ #size-cells", v, why))?,
        ))
    } else {
        None
    };

    let node = fdt.root.child_or_insert("chosen");
    let mut bootargs = chosen.bootargs.clone();
    bootargs.push(0);
    node.set_property("bootargs", bootargs);

    // The kernel reads the initrd bounds with of_read_number over the
    // property's own length, whatever #address-cells says: one u64 cell
    // pair always holds them.
    match chosen.initrd {
        Some((start, end)) => {
            if end < start {
                return Err(field_err(
                    "linux,initrd-end",
                    end,
                    format!("below linux,initrd-start {start:#x}"),
                ));
            }
            node.set_property("linux,initrd-start", start.to_be_bytes());
            node.set_property("linux,initrd-end", end.to_be_bytes());
        }
        None => {
            node.remove_property("linux,initrd-start");
            node.remove_property("linux,initrd-end");
        }
    }

    // A seed the previous kernel consumed must not be handed on: the
    // caller gives fresh ones, or there are none.
    match chosen.kaslr_seed {
        Some(seed) => node.set_property("kaslr-seed", seed.to_be_bytes()),
        None => drop(node.remove_property("kaslr-seed")),
    }
    match &chosen.rng_seed {
        Some(seed) => node.set_property("rng-seed", seed.clone()),
        None => drop(node.remove_property("rng-seed")),
    }

    let pairs = |name: &str, ranges: &[(u64, u64)]| -> Result<Vec<u8>, DtbError> {
        let (addr_cells, size_cells) = cells.unwrap_or((2, 1));
        let mut out = Vec::new();
        for &(base, size) in ranges {
            push_cells(&mut out, base, addr_cells)
                .map_err(|why| field_err(&format!("{name} base"), base, why))?;
            push_cells(&mut out, size, size_cells)
                .map_err(|why| field_err(&format!("{name} size"), size, why))?;
        }
        Ok(out)
    };
    match chosen.elfcorehdr {
        Some(hdr) => {
            let value = pairs("linux,elfcorehdr", &[hdr])?;
            node.set_property("linux,elfcorehdr", value);
        }
        None => drop(node.remove_property("linux,elfcorehdr")),
    }
    if chosen.usable_memory.is_empty() {
        node.remove_property("linux,usable-memory-range");
    } else {
        let value = pairs("linux,usable-memory-range", &chosen.usable_memory)?;
        node.set_property("linux,usable-memory-range", value);
    }

    let out = fdt.to_bytes().map_err(fdt_err)?;
    if out.len() as u64 > MAX_DTB_SIZE {
        return Err(DtbError::TooBig {
            file: file.to_string(),
            size: out.len() as u64,
        });
    }
    Ok(out)
}

/// The root's `#address-cells` or `#size-cells` (the specification's
/// default when absent); arm64 addresses and sizes take 1 or 2 cells.
fn root_cells(root: &Node, name: &str, default: u32) -> Result<u32, (u64, String)> {
    let Some(value) = root.property(name) else {
        return Ok(default);
    };
    let Ok(cell) = <[u8; 4]>::try_from(value) else {
        return Err((
            value.len() as u64,
            "bytes long, not the one 4-byte cell it must be".to_string(),
        ));
    };
    match u32::from_be_bytes(cell) {
        n @ (1 | 2) => Ok(n),
        n => Err((n.into(), "arm64 takes 1 or 2 cells".to_string())),
    }
}

/// Appends `value` as `cells` big-endian u32 cells, if it fits.
fn push_cells(out: &mut Vec<u8>, value: u64, cells: u32) -> Result<(), String> {
    if cells == 1 {
        let v = u32::try_from(value).map_err(|_| {
            "more than the root's #address-cells/#size-cells of 1 can hold".to_string()
        })?;
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.extend_from_slice(&value.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fdt::Reservation;

    const FILE: &str = "/sys/firmware/fdt";

    /// A firmware tree as an EFI boot leaves it after a kexec'd crash
    /// kernel: uefi properties, and stale initrd, seeds and crash ranges.
    fn firmware(cells: Option<(u32, u32)>) -> Fdt {
        let mut fdt = Fdt::new();
        fdt.reservations.push(Reservation {
            address: 0x4000_0000,
            size: 0x1000,
        });
        if let Some((a, s)) = cells {
            fdt.root.set_property("#address-cells", a.to_be_bytes());
            fdt.root.set_property("#size-cells", s.to_be_bytes());
        }
        fdt.root
            .set_property("compatible", b"linux,dummy-virt\0".to_vec());
        fdt.root
            .child_or_insert("memory@40000000")
            .set_property("device_type", b"memory\0".to_vec());
        let c = fdt.root.child_or_insert("chosen");
        c.set_property("stdout-path", b"/pl011@9000000\0".to_vec());
        c.set_property("bootargs", b"old\0".to_vec());
        c.set_property("linux,uefi-system-table", 0x13f_f0000u64.to_be_bytes());
        c.set_property("linux,uefi-mmap-start", 0x13e_0000u64.to_be_bytes());
        c.set_property("linux,uefi-mmap-size", 0x6c0u32.to_be_bytes());
        c.set_property("linux,initrd-start", 0x4400_0000u64.to_be_bytes());
        c.set_property("linux,initrd-end", 0x4500_0000u64.to_be_bytes());
        c.set_property("kaslr-seed", 0u64.to_be_bytes());
        c.set_property("rng-seed", vec![0; 64]);
        c.set_property("linux,elfcorehdr", vec![0; 12]);
        c.set_property("linux,usable-memory-range", vec![0; 12]);
        fdt
    }

    fn run(fdt: &Fdt, chosen: &Chosen) -> Result<Fdt, DtbError> {
        let out = prepare(FILE, &fdt.to_bytes().unwrap(), chosen)?;
        Ok(Fdt::parse(&out).unwrap())
    }

    fn chosen_of(fdt: &Fdt) -> &Node {
        fdt.node("/chosen").unwrap()
    }

    fn be(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    const MANAGED: [&str; 7] = [
        "linux,initrd-start",
        "linux,initrd-end",
        "kaslr-seed",
        "rng-seed",
        "linux,elfcorehdr",
        "linux,usable-memory-range",
        "bootargs",
    ];

    #[test]
    fn plain_boot_sets_bootargs_removes_stale_keeps_the_rest() {
        let before = firmware(Some((2, 2)));
        let chosen = Chosen {
            bootargs: b"console=ttyAMA0 root=/dev/vda".to_vec(),
            ..Chosen::default()
        };
        let after = run(&before, &chosen).unwrap();
        let c = chosen_of(&after);
        assert_eq!(
            c.property("bootargs"),
            Some(&b"console=ttyAMA0 root=/dev/vda\0"[..])
        );
        for stale in &MANAGED[..6] {
            assert_eq!(c.property(stale), None, "{stale} kept");
        }
        // Every other property of /chosen, in order, and the rest of the
        // tree as it was.
        let others = |n: &Node| -> Vec<(String, Vec<u8>)> {
            n.properties
                .iter()
                .filter(|p| !MANAGED.contains(&p.name.as_str()))
                .map(|p| (p.name.clone(), p.value.clone()))
                .collect()
        };
        assert_eq!(others(c), others(chosen_of(&before)));
        assert_eq!(others(c).len(), 4, "stdout-path and three linux,uefi-*");
        assert_eq!(after.reservations, before.reservations);
        assert_eq!(after.root.properties, before.root.properties);
        assert_eq!(after.root.children[0], before.root.children[0]);
    }

    #[test]
    fn initrd_and_seeds_are_written() {
        let chosen = Chosen {
            bootargs: Vec::new(),
            initrd: Some((0x4800_0000, 0x4912_3456)),
            kaslr_seed: Some(0x0123_4567_89ab_cdef),
            rng_seed: Some(vec![7; 32]),
            ..Chosen::default()
        };
        // With #address-cells = 1 too: the kernel reads the property's own
        // length, so the u64 form is right whatever the root says.
        for cells in [Some((2, 2)), Some((1, 1)), None] {
            let after = run(&firmware(cells), &chosen).unwrap();
            let c = chosen_of(&after);
            assert_eq!(c.property("bootargs"), Some(&b"\0"[..]));
            assert_eq!(
                c.property("linux,initrd-start"),
                Some(&be(&[0, 0x4800_0000])[..])
            );
            assert_eq!(
                c.property("linux,initrd-end"),
                Some(&be(&[0, 0x4912_3456])[..])
            );
            assert_eq!(
                c.property("kaslr-seed"),
                Some(&be(&[0x0123_4567, 0x89ab_cdef])[..])
            );
            assert_eq!(c.property("rng-seed"), Some(&[7u8; 32][..]));
            assert_eq!(c.property("linux,elfcorehdr"), None);
        }
    }

    fn crash() -> Chosen {
        Chosen {
            bootargs: b"elfcorehdr=0x7f000000 maxcpus=1".to_vec(),
            elfcorehdr: Some((0x7f00_0000, 0x1_0000)),
            usable_memory: vec![(0x7000_0000, 0x1000_0000), (0x3000_0000, 0x100_0000)],
            ..Chosen::default()
        }
    }

    #[test]
    fn crash_ranges_follow_the_roots_cells() {
        // (root cells, elfcorehdr, usable-memory-range)
        type Case = (Option<(u32, u32)>, Vec<u8>, Vec<u8>);
        let cases: [Case; 4] = [
            (
                Some((2, 2)),
                be(&[0, 0x7f00_0000, 0, 0x1_0000]),
                be(&[
                    0,
                    0x7000_0000,
                    0,
                    0x1000_0000,
                    0,
                    0x3000_0000,
                    0,
                    0x100_0000,
                ]),
            ),
            (
                Some((1, 1)),
                be(&[0x7f00_0000, 0x1_0000]),
                be(&[0x7000_0000, 0x1000_0000, 0x3000_0000, 0x100_0000]),
            ),
            (
                Some((2, 1)),
                be(&[0, 0x7f00_0000, 0x1_0000]),
                be(&[0, 0x7000_0000, 0x1000_0000, 0, 0x3000_0000, 0x100_0000]),
            ),
            // Absent: the specification's 2 and 1.
            (
                None,
                be(&[0, 0x7f00_0000, 0x1_0000]),
                be(&[0, 0x7000_0000, 0x1000_0000, 0, 0x3000_0000, 0x100_0000]),
            ),
        ];
        for (cells, hdr, usable) in cases {
            let after = run(&firmware(cells), &crash()).unwrap();
            let c = chosen_of(&after);
            assert_eq!(c.property("linux,elfcorehdr"), Some(&hdr[..]), "{cells:?}");
            assert_eq!(
                c.property("linux,usable-memory-range"),
                Some(&usable[..]),
                "{cells:?}"
            );
            assert_eq!(c.property("linux,initrd-start"), None);
        }
    }

    #[test]
    fn crash_values_that_do_not_fit_one_cell_are_refused() {
        let mut chosen = crash();
        chosen.elfcorehdr = Some((0x1_0000_0000, 0x1000));
        let e = run(&firmware(Some((1, 1))), &chosen).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/sys/firmware/fdt: linux,elfcorehdr base is 0x100000000: more than the root's #address-cells/#size-cells of 1 can hold"
        );
        let mut chosen = crash();
        chosen.usable_memory = vec![(0, 0x2_0000_0000)];
        let e = run(&firmware(Some((1, 1))), &chosen).unwrap_err();
        assert!(
            e.to_string()
                .contains("linux,usable-memory-range size is 0x200000000"),
            "{e}"
        );
    }

    #[test]
    fn odd_root_cells_are_refused_only_for_a_crash_kernel() {
        let odd = firmware(Some((3, 1)));
        let e = run(&odd, &crash()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/sys/firmware/fdt: / #address-cells is 0x3: arm64 takes 1 or 2 cells"
        );
        assert!(run(&odd, &Chosen::default()).is_ok());
        let mut short = firmware(None);
        short.root.set_property("#size-cells", vec![0, 1]);
        let e = run(&short, &crash()).unwrap_err().to_string();
        assert!(e.contains("/ #size-cells is 0x2: bytes long"), "{e}");
    }

    #[test]
    fn chosen_is_created_when_missing() {
        let mut fdt = Fdt::new();
        fdt.root.child_or_insert("cpus");
        let after = run(
            &fdt,
            &Chosen {
                bootargs: b"quiet".to_vec(),
                initrd: Some((0x1000, 0x2000)),
                ..Chosen::default()
            },
        )
        .unwrap();
        assert_eq!(after.root.children.len(), 2);
        assert_eq!(after.root.children[0].name, "cpus");
        let c = chosen_of(&after);
        assert_eq!(c.property("bootargs"), Some(&b"quiet\0"[..]));
        assert_eq!(c.properties.len(), 3);
    }

    #[test]
    fn bad_requests_are_refused() {
        let fw = firmware(None);
        let e = run(
            &fw,
            &Chosen {
                bootargs: b"a\0b".to_vec(),
                ..Chosen::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e,
            DtbError::Bootargs {
                file: FILE.into(),
                at: 1
            }
        );
        let e = run(
            &fw,
            &Chosen {
                initrd: Some((0x2000, 0x1000)),
                ..Chosen::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/sys/firmware/fdt: linux,initrd-end is 0x1000: below linux,initrd-start 0x2000"
        );
    }

    #[test]
    fn a_result_past_2_mib_is_refused_with_its_size() {
        let mut fdt = Fdt::new();
        // Just fits as given; the command line pushes it over.
        fdt.root
            .child_or_insert("blob")
            .set_property("data", vec![0; (MAX_DTB_SIZE - 200) as usize]);
        let blob = fdt.to_bytes().unwrap();
        assert!(blob.len() as u64 <= MAX_DTB_SIZE);
        let chosen = Chosen {
            bootargs: vec![b'x'; 300],
            ..Chosen::default()
        };
        let e = prepare("board.dtb", &blob, &chosen).unwrap_err();
        let DtbError::TooBig { ref file, size } = e else {
            panic!("{e}")
        };
        assert_eq!(file, "board.dtb");
        assert!(size > MAX_DTB_SIZE && size < MAX_DTB_SIZE + 512, "{size}");
        assert!(
            e.to_string().contains(&format!(
                "the device tree is {size} bytes, more than the 2097152 bytes (2 MiB)"
            )),
            "{e}"
        );
        // A shorter command line fits.
        let small = Chosen {
            bootargs: b"x".to_vec(),
            ..Chosen::default()
        };
        assert!(prepare("board.dtb", &blob, &small).is_ok());
    }

    #[test]
    fn broken_blobs_name_the_file_and_field() {
        let good = firmware(None).to_bytes().unwrap();
        let e = prepare("my.dtb", &good[..20], &Chosen::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "my.dtb: the blob is 20 bytes, shorter than the 40-byte FDT header"
        );
        let e = prepare("my.dtb", &good[..good.len() - 8], &Chosen::default()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("my.dtb: header field totalsize is"),
            "{e}"
        );
        let e = prepare(
            "my.dtb",
            b"not a device tree, just text here....",
            &Chosen::default(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("my.dtb: "), "{e}");
        let e = prepare("my.dtb", &[0xff; 64], &Chosen::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "my.dtb: header field magic is 0xffffffff: not the FDT magic 0xd00dfeed"
        );
        let mut bad = good.clone();
        let off = u32::from_be_bytes(bad[8..12].try_into().unwrap()) as usize;
        bad[off..off + 4].copy_from_slice(&0x55u32.to_be_bytes());
        let e = prepare("my.dtb", &bad, &Chosen::default()).unwrap_err();
        assert!(e.to_string().contains("token 0x55"), "{e}");
    }

    /// dtc, when this machine has it, reads what we write and writes what
    /// we read: the check of both against the reference implementation.
    #[test]
    fn dtc_agrees_both_ways() {
        let Ok(version) = std::process::Command::new("dtc").arg("--version").output() else {
            eprintln!("skipped: dtc is not installed (apt-get install device-tree-compiler)");
            return;
        };
        assert!(version.status.success());
        let dir = std::env::temp_dir().join(format!("kexec-dtb-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dtc = |args: &[&str]| {
            let out = std::process::Command::new("dtc")
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "dtc {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };

        // Ours → dtc.
        let mut chosen = crash();
        chosen.initrd = Some((0x4800_0000, 0x4900_0000));
        chosen.kaslr_seed = Some(0x1122_3344_5566_7788);
        let out = prepare(FILE, &firmware(Some((2, 2))).to_bytes().unwrap(), &chosen).unwrap();
        let ours = dir.join("ours.dtb");
        std::fs::write(&ours, &out).unwrap();
        let dts = String::from_utf8(dtc(&[
            "-q",
            "-I",
            "dtb",
            "-O",
            "dts",
            ours.to_str().unwrap(),
        ]))
        .unwrap();
        for want in [
            "/memreserve/\t0x0000000040000000 0x0000000000001000;",
            "bootargs = \"elfcorehdr=0x7f000000 maxcpus=1\";",
            "linux,initrd-start = <0x00 0x48000000>;",
            "linux,initrd-end = <0x00 0x49000000>;",
            "kaslr-seed = <0x11223344 0x55667788>;",
            "linux,elfcorehdr = <0x00 0x7f000000 0x00 0x10000>;",
            "linux,uefi-mmap-size = <0x6c0>;",
            "memory@40000000 {",
        ] {
            assert!(dts.contains(want), "{want} not in\n{dts}");
        }
        assert!(!dts.contains("rng-seed"), "{dts}");

        // dtc → ours: a source with what dtc does that we do not
        // (suffix-merged strings, labels, phandles).
        let src = dir.join("board.dts");
        std::fs::write(
            &src,
            "/dts-v1/;\n/memreserve/ 0x48000000 0x2000;\n/ {\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\
             \tintc: intc@8000000 { phandle-user = <&intc>; interrupt-controller; reg = <0x8000000 0x10000>; };\n\
             \tchosen { bootargs = \"console=ttyAMA0\"; linux,initrd-start = <0x44000000>; linux,initrd-end = <0x45000000>; };\n};\n",
        )
        .unwrap();
        let theirs = dtc(&["-q", "-I", "dts", "-O", "dtb", src.to_str().unwrap()]);
        let fdt = Fdt::parse(&theirs).unwrap();
        assert_eq!(
            fdt.reservations,
            [Reservation {
                address: 0x4800_0000,
                size: 0x2000
            }]
        );
        let intc = fdt.node("/intc@8000000").unwrap();
        assert_eq!(intc.property("reg"), Some(&be(&[0x800_0000, 0x1_0000])[..]));
        assert_eq!(intc.property("interrupt-controller"), Some(&[][..]));
        let phandle = intc.property_u32("phandle").unwrap();
        assert_eq!(intc.property_u32("phandle-user"), Some(phandle));
        let after = Fdt::parse(
            &prepare(
                "board.dtb",
                &theirs,
                &Chosen {
                    bootargs: b"quiet".to_vec(),
                    ..Chosen::default()
                },
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(chosen_of(&after).properties.len(), 1);
        assert_eq!(after.node("/intc@8000000"), Some(intc));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
