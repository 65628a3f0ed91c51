//! Issue #13 part 3: a bzImage's payload unpacked at load time (the
//! default for -l through kexec_load; --decompress-at-load insists,
//! --no-decompress-at-load declines): its vmlinux relocated by a random
//! virtual offset and entered at startup_64 by the purgatory, at a random
//! physical slot.

mod common;

use common::{kexec, Dir};
use kexec::arch::x86_64::decompressed::{
    virt_offset, KASLR_FLAG, KERNEL_IMAGE_SIZE, START_KERNEL_MAP,
};
use kexec::image::bzimage::offset;
use kexec::testing::{bzimage64_with_payload, gzip_bytes, vmlinux_with_relocs};
use kexec::FakeHost;

const LOAD: u64 = 0x100_0000;

/// The zero page of the last kexec_load: the segment with "HdrS" at 0x202.
fn zero_page(host: &FakeHost) -> Vec<u8> {
    host.last_load_data
        .iter()
        .map(|(_, d)| d.clone())
        .find(|d| d.len() > 4096 && &d[0x202..0x206] == b"HdrS")
        .expect("a zero page segment")
}

/// The kernel segment: the synthetic vmlinux's 0x100 file bytes, loaded up
/// to their last nonzero byte (the rest is the kernel's zero fill), padded
/// back here so offsets read as in the image.
fn kernel_segment(host: &FakeHost) -> (u64, Vec<u8>) {
    let (at, mut data) = host
        .last_load_data
        .iter()
        .find(|(_, d)| !d.is_empty() && d.len() <= 0x100)
        .cloned()
        .expect("a kernel segment of at most the PT_LOAD's 0x100 file bytes");
    assert_ne!(
        data.last(),
        Some(&0),
        "trailing zeros are left to the zero fill"
    );
    data.resize(0x100, 0);
    (at, data)
}

/// A bzImage in `d` whose gzip payload is the synthetic vmlinux with
/// `lists` relocation lists.
fn gzip_bzimage(d: &Dir, name: &str, lists: usize) -> String {
    d.put(
        name,
        &bzimage64_with_payload(&gzip_bytes(&vmlinux_with_relocs(lists))),
    )
}

fn u64_at(d: &[u8], a: usize) -> u64 {
    u64::from_le_bytes(d[a..a + 8].try_into().unwrap())
}

fn u32_at(d: &[u8], a: usize) -> u32 {
    u32::from_le_bytes(d[a..a + 4].try_into().unwrap())
}

#[test]
fn the_kernel_is_relocated_placed_at_random_and_flagged_kaslr() {
    let d = Dir::new("dal-kaslr");
    let bz = gzip_bzimage(&d, "bzImage", 3);
    let mut host = FakeHost::typical();
    let dry = kexec(
        &mut host,
        &[
            "--dry-run",
            "-c",
            "-l",
            &bz,
            "--decompress-at-load",
            "--append=x",
        ],
    );
    assert_eq!(dry.code, 0, "{}", dry.err);
    assert!(
        dry.out
            .contains("decompressed at load: vmlinux entered at startup_64"),
        "{}",
        dry.out
    );
    assert!(dry.out.contains("(random slot)"), "{}", dry.out);
    assert!(
        dry.out.contains("gzip payload, 3 relocations"),
        "{}",
        dry.out
    );

    let r = kexec(
        &mut host,
        &[
            "-c",
            "-l",
            &bz,
            "--decompress-at-load",
            "--append=console=ttyS0",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    let zp = zero_page(&host);
    assert_ne!(
        zp[offset::LOADFLAGS] & KASLR_FLAG,
        0,
        "KASLR_FLAG in loadflags"
    );
    let (at, k) = kernel_segment(&host);
    assert_eq!(at % 0x20_0000, 0, "kernel_alignment: {at:#x}");
    assert!(at >= LOAD, "{at:#x}");
    // FakeHost's random bytes are i ^ 0x5a: the first 8 pick the virtual
    // slot. The decompressor's needed size: the unpacked output, 0x1118
    // bytes, or the image's 0x3000, the larger.
    let random = u64::from_le_bytes(std::array::from_fn(|i| i as u8 ^ 0x5a));
    let off = virt_offset(LOAD, 0x3000, 0x20_0000, random);
    assert_ne!(off, 0, "the test wants a nonzero offset");
    assert!(LOAD + off + 0x3000 <= KERNEL_IMAGE_SIZE);
    let text = START_KERNEL_MAP + LOAD;
    assert_eq!(u64_at(&k, 0x10), text + 0x40 + off, "64-bit relocation");
    assert_eq!(
        u32_at(&k, 0x20),
        (text + 0x80 + off) as u32,
        "32-bit relocation"
    );
    assert_eq!(
        u32_at(&k, 0x30),
        0x5000u32.wrapping_sub(off as u32),
        "inverse 32-bit relocation"
    );
}

#[test]
fn nokaslr_loads_at_the_default_address_unrelocated_and_unflagged() {
    let d = Dir::new("dal-nokaslr");
    // Without relocation lists too: nokaslr needs none.
    for lists in [3, 0] {
        let bz = gzip_bzimage(&d, "bzImage", lists);
        let mut host = FakeHost::typical();
        let r = kexec(
            &mut host,
            &[
                "-c",
                "-l",
                &bz,
                "--decompress-at-load",
                "--append=quiet nokaslr",
            ],
        );
        assert_eq!(r.code, 0, "{}", r.err);
        assert_eq!(zero_page(&host)[offset::LOADFLAGS] & KASLR_FLAG, 0);
        let (at, k) = kernel_segment(&host);
        assert_eq!(at, LOAD);
        assert_eq!(u64_at(&k, 0x10), START_KERNEL_MAP + LOAD + 0x40);
        assert_eq!(u32_at(&k, 0x30), 0x5000);
    }
}

#[test]
fn refusals_name_the_file_the_field_and_the_way_out() {
    let d = Dir::new("dal-refused");
    let bare = gzip_bzimage(&d, "bare", 0);
    let mut host = FakeHost::typical();
    let r = kexec(
        &mut host,
        &["-c", "-l", &bare, "--decompress-at-load", "--append=x"],
    );
    assert_eq!(r.code, 255, "{}", r.err);
    assert!(
        r.err.contains(&bare) && r.err.contains("relocation lists") && r.err.contains("nokaslr"),
        "{}",
        r.err
    );
    let odd = d.put("odd", &bzimage64_with_payload(b"not compressed at all"));
    let r = kexec(
        &mut host,
        &["-c", "-l", &odd, "--decompress-at-load", "--append=x"],
    );
    assert_eq!(r.code, 255, "{}", r.err);
    assert!(r.err.contains("payload_offset 0x200"), "{}", r.err);
    let k = d.path("vmlinux");
    let r = kexec(
        &mut host,
        &["-c", "-l", &k, "--decompress-at-load", "--append=x"],
    );
    assert_eq!(r.code, 255, "{}", r.err);
    assert!(r.err.contains("unpacks a bzImage's payload"), "{}", r.err);
    for (args, why) in [
        (
            vec!["-c", "-p", &bare, "--decompress-at-load"],
            "crash kernel (-p)",
        ),
        (
            vec!["-s", "-l", &bare, "--decompress-at-load"],
            "kexec_load",
        ),
        (vec!["-e", "--decompress-at-load"], "--decompress-at-load"),
    ] {
        let r = kexec(&mut FakeHost::typical(), &args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.err);
        assert!(r.err.contains(why), "{args:?}: {}", r.err);
    }
    let help = kexec(&mut FakeHost::typical(), &["--help"]).out;
    assert!(help.contains("--decompress-at-load"), "{help}");
}

/// The dry-run's kernel segment line.
fn kernel_line(out: &str) -> &str {
    out.lines()
        .find(|l| l.contains("segment") && l.contains(" kernel "))
        .unwrap_or_else(|| panic!("no kernel segment in {out}"))
}

#[test]
fn by_default_a_bzimage_is_decompressed_at_load_unless_something_speaks_against_it() {
    let d = Dir::new("dal-default");
    let bz = gzip_bzimage(&d, "bzImage", 3);
    let bare = gzip_bzimage(&d, "bare", 0);
    let odd = d.put("odd", &bzimage64_with_payload(b"not compressed at all"));
    let dry = |host: &mut FakeHost, args: &[&str]| {
        let mut all = vec!["--dry-run", "-c"];
        all.extend_from_slice(args);
        let r = kexec(host, &all);
        assert_eq!(r.code, 0, "{args:?}: {}", r.err);
        kernel_line(&r.out).to_string()
    };
    let typical = &mut FakeHost::typical();

    // No option: decompressed at load, and a real load is flagged KASLR.
    let line = dry(typical, &["-l", &bz, "--append=x"]);
    assert!(
        line.contains("decompressed at load: vmlinux entered at startup_64"),
        "{line}"
    );
    let r = kexec(typical, &["-c", "-l", &bz, "--append=console=ttyS0"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_ne!(zero_page(typical)[offset::LOADFLAGS] & KASLR_FLAG, 0);

    // --no-decompress-at-load: kexec-tools' way, nothing to explain.
    let line = dry(
        typical,
        &["-l", &bz, "--no-decompress-at-load", "--append=x"],
    );
    assert!(
        line.ends_with("entered through its decompressor)"),
        "{line}"
    );

    // Crash kernels keep their decompressor without a word.
    let mut crash_host = FakeHost::typical();
    kexec::testing::add_crash_files(&mut crash_host);
    let line = dry(&mut crash_host, &["-p", &bz, "--append=x"]);
    assert!(line.contains("entered through its decompressor)"), "{line}");
    assert!(!line.contains("not decompressed at load"), "{line}");

    // What speaks against it falls back to the decompressor, saying why,
    // where --decompress-at-load would fail.
    let fallbacks: [(&str, &str, &str); 3] = [
        (&bare, "x", "relocation lists"),
        (&odd, "x", "payload_offset 0x200"),
        (&bz, "quiet mem=2G", "holds mem=2G, a memory limit"),
    ];
    for (file, append, why) in fallbacks {
        let append = format!("--append={append}");
        let line = dry(typical, &["-l", file, &append]);
        assert!(
            line.contains("entered through its decompressor); not decompressed at load: ")
                && line.contains(why),
            "{file} {append}: {line}"
        );
    }
    for (flag, why) in [
        ("sev_snp", "the CPU shows sev_snp"),
        ("tdx_guest", "the CPU shows tdx_guest"),
    ] {
        let mut host = FakeHost::typical();
        host.set(
            "/proc/cpuinfo",
            &format!("processor\t: 0\nflags\t\t: fpu pae lm {flag}\n"),
        );
        let line = dry(&mut host, &["-l", &bz, "--append=x"]);
        assert!(line.contains(why), "{flag}: {line}");
    }

    // 5-level paging does not stop it: the CPU reaches the purgatory, and
    // so vmlinux's startup_64, with LA57 still on, and vmlinux keeps it.
    let mut la57 = FakeHost::typical();
    la57.set(
        "/proc/cpuinfo",
        "processor\t: 0\nflags\t\t: fpu pae lm la57\n",
    );
    let line = dry(&mut la57, &["-l", &bz, "--append=x"]);
    assert!(
        line.contains("decompressed at load: vmlinux entered"),
        "{line}"
    );

    // Both options contradict; the new one is a load option too.
    for (args, why) in [
        (
            vec![
                "-c",
                "-l",
                &bz,
                "--decompress-at-load",
                "--no-decompress-at-load",
            ],
            "contradict",
        ),
        (
            vec!["-e", "--no-decompress-at-load"],
            "--no-decompress-at-load",
        ),
    ] {
        let r = kexec(&mut FakeHost::typical(), &args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.err);
        assert!(r.err.contains(why), "{args:?}: {}", r.err);
    }
}

#[test]
fn a_second_load_of_the_same_file_takes_the_unpacked_kernel_from_the_cache() {
    let d = Dir::new("dal-cache");
    let bz = gzip_bzimage(&d, "bzImage", 3);
    let mut host = FakeHost::typical();
    let load = |host: &mut FakeHost| {
        let r = kexec(host, &["-c", "-l", &bz, "-d", "--append=console=ttyS0"]);
        assert_eq!(r.code, 0, "{}", r.err);
        let said = format!("{}{}", r.out, r.err);
        (kernel_line(&said).to_string(), kernel_segment(host))
    };
    let (first, first_segment) = load(&mut host);
    assert!(first.contains("unpacked now, kept as "), "{first}");
    let (second, second_segment) = load(&mut host);
    assert!(second.contains("unpacked earlier (cache "), "{second}");
    // FakeHost's random bytes are the same every load: so is the slot,
    // and the cached kernel relocates to the same bytes.
    assert_eq!(first_segment, second_segment);

    // A damaged cache file is refused by what failed and made again.
    let cache = host.cache.as_ref().unwrap();
    for kept in cache.borrow_mut().values_mut() {
        kept[0x20] ^= 0xff;
    }
    let (third, third_segment) = load(&mut host);
    assert!(
        third.contains("unpacked now (the cached ") && third.contains("damaged"),
        "{third}"
    );
    assert_eq!(third_segment, first_segment);
    let (fourth, _) = load(&mut host);
    assert!(fourth.contains("unpacked earlier"), "{fourth}");

    // No cache: unpacked every time, nothing said of keeping it.
    let mut uncached = FakeHost::typical();
    uncached.cache = None;
    let (line, segment) = load(&mut uncached);
    assert!(
        line.contains("unpacked now") && !line.contains("kept"),
        "{line}"
    );
    assert_eq!(segment, first_segment);
}
