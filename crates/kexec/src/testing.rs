//! Inputs for tests, here and in the `kexec` command's tests.

use crate::image::bzimage::*;

/// The first 16 KiB of a bzImage64 with the setup header fields Debian's 6.1
/// kernel has (protocol 2.15, xloadflags 0x7f, cmdline_size 2047).
pub fn bzimage64_sample() -> Vec<u8> {
    let mut b = vec![0u8; 0x4000];
    b[offset::SETUP_SECTS] = 0x1b;
    b[offset::BOOT_FLAG..offset::BOOT_FLAG + 2].copy_from_slice(&BOOT_FLAG.to_le_bytes());
    b[offset::JUMP] = 0xeb;
    b[offset::JUMP + 1] = 0x6a;
    b[offset::HEADER..offset::HEADER + 4].copy_from_slice(&HEADER_MAGIC.to_le_bytes());
    b[offset::VERSION..offset::VERSION + 2].copy_from_slice(&0x020fu16.to_le_bytes());
    b[offset::LOADFLAGS] = LOADED_HIGH;
    b[offset::INITRD_ADDR_MAX..offset::INITRD_ADDR_MAX + 4]
        .copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    b[offset::KERNEL_ALIGNMENT..offset::KERNEL_ALIGNMENT + 4]
        .copy_from_slice(&0x20_0000u32.to_le_bytes());
    b[offset::RELOCATABLE_KERNEL] = 1;
    b[offset::XLOADFLAGS..offset::XLOADFLAGS + 2].copy_from_slice(&0x7fu16.to_le_bytes());
    b[offset::CMDLINE_SIZE..offset::CMDLINE_SIZE + 4].copy_from_slice(&2047u32.to_le_bytes());
    b[offset::PREF_ADDRESS..offset::PREF_ADDRESS + 8].copy_from_slice(&0x100_0000u64.to_le_bytes());
    b[offset::INIT_SIZE..offset::INIT_SIZE + 4].copy_from_slice(&0x2a0_0000u32.to_le_bytes());
    b
}

/// Gives a `FakeHost` the procfs/sysfs files a crash load reads: two CPUs'
/// crash_notes (a third possible CPU without), vmcoreinfo, kernel symbols.
pub fn add_crash_files(host: &mut crate::sys::FakeHost) {
    host.set("/sys/devices/system/cpu/possible", "0-2\n");
    host.set("/sys/devices/system/cpu/cpu0/crash_notes", "3fc1a000\n");
    host.set("/sys/devices/system/cpu/cpu0/crash_notes_size", "416\n");
    host.set("/sys/devices/system/cpu/cpu1/crash_notes", "3fc3a000\n");
    host.set("/sys/devices/system/cpu/cpu1/crash_notes_size", "416\n");
    host.set("/sys/kernel/vmcoreinfo", "0x000000003f12a000 1024\n");
    host.set(
        "/proc/kallsyms",
        "ffffffff9a000000 T _text\nffffffff9a000000 T _stext\nffffffff9c800000 B _end\n",
    );
}

/// Makes a `FakeHost` a kernel built without kexec (CONFIG_KEXEC_CORE off):
/// sysfs is mounted, but /sys/kernel has no kexec files.
pub fn remove_kexec(host: &mut crate::sys::FakeHost) {
    for file in [
        "/sys/kernel/kexec_loaded",
        "/sys/kernel/kexec_crash_loaded",
        "/sys/kernel/kexec_crash_size",
        "/proc/sys/kernel/kexec_load_disabled",
    ] {
        host.unset(file);
    }
    host.set("/sys/kernel/uevent_seqnum", "2345\n");
}

/// `text` gzip-compressed, as /proc/config.gz holds the kernel's config.
pub fn gzip(text: &str) -> Vec<u8> {
    gzip_bytes(text.as_bytes())
}

/// `data` gzip-compressed.
pub fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).expect("writes to memory");
    gz.finish().expect("writes to memory")
}

/// An x86_64 ELF executable (a vmlinux) with one PT_LOAD per
/// (p_paddr, p_filesz, p_memsz), its bytes (0x90) after the headers, page by
/// page in that order, entered at `entry`.
pub fn elf_vmlinux(loads: &[(u64, u64, u64)], entry: u64) -> Vec<u8> {
    const EHDR: usize = 64;
    const PHDR: usize = 56;
    let mut offset = (EHDR + PHDR * loads.len()).next_multiple_of(4096);
    let mut f = vec![0u8; offset];
    f[0..4].copy_from_slice(b"\x7fELF");
    f[4] = 2; // ELFCLASS64
    f[5] = 1; // little endian
    f[6] = 1; // EV_CURRENT
    f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    f[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[24..32].copy_from_slice(&entry.to_le_bytes());
    f[32..40].copy_from_slice(&(EHDR as u64).to_le_bytes()); // e_phoff
    f[52..54].copy_from_slice(&(EHDR as u16).to_le_bytes());
    f[54..56].copy_from_slice(&(PHDR as u16).to_le_bytes());
    f[56..58].copy_from_slice(&(loads.len() as u16).to_le_bytes());
    for (i, &(paddr, filesz, memsz)) in loads.iter().enumerate() {
        let ph = EHDR + i * PHDR;
        f[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        f[ph + 4..ph + 8].copy_from_slice(&7u32.to_le_bytes()); // RWX
        f[ph + 8..ph + 16].copy_from_slice(&(offset as u64).to_le_bytes());
        let vaddr = 0xffff_ffff_8000_0000u64.wrapping_add(paddr);
        f[ph + 16..ph + 24].copy_from_slice(&vaddr.to_le_bytes());
        f[ph + 24..ph + 32].copy_from_slice(&paddr.to_le_bytes());
        f[ph + 32..ph + 40].copy_from_slice(&filesz.to_le_bytes());
        f[ph + 40..ph + 48].copy_from_slice(&memsz.to_le_bytes());
        offset += (filesz as usize).next_multiple_of(4096);
        f.resize(offset, 0x90);
    }
    f
}

/// `data` compressed with `c`, as the tools (and the kernel's build) write
/// it: the fixtures of the tests of packed kernels.
pub fn compress(c: crate::image::compressed::Compression, data: &[u8]) -> Vec<u8> {
    use crate::image::compressed::Compression;
    use std::io::Write;
    match c {
        Compression::Gzip => gzip_bytes(data),
        Compression::Zstd => {
            ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
        }
        Compression::Xz => {
            // As the kernel's xz_wrap.sh: the x86 BCJ filter, LZMA2, CRC32.
            let mut options = lzma_rust2::XzOptions::with_preset(1);
            options.prepend_pre_filter(lzma_rust2::FilterType::BcjX86, 0);
            options.set_check_sum_type(lzma_rust2::CheckType::Crc32);
            let mut w =
                lzma_rust2::XzWriter::new(Vec::new(), options).expect("compresses in memory");
            w.write_all(data).expect("compresses in memory");
            w.finish().expect("compresses in memory")
        }
        Compression::Lzma => {
            // As `lzma -9` in a pipe: size unknown, an end marker.
            let options = lzma_rust2::LzmaOptions::with_preset(1);
            let mut w = lzma_rust2::LzmaWriter::new_use_header(Vec::new(), &options, None)
                .expect("compresses in memory");
            w.write_all(data).expect("compresses in memory");
            w.finish().expect("compresses in memory")
        }
        Compression::Lz4Legacy => {
            let mut out = b"\x02\x21\x4c\x18".to_vec();
            for block in data.chunks(8 << 20) {
                let c = lz4_flex::block::compress(block);
                out.extend_from_slice(&(c.len() as u32).to_le_bytes());
                out.extend_from_slice(&c);
            }
            out
        }
        Compression::Lz4 => {
            let mut w = lz4_flex::frame::FrameEncoder::new(Vec::new());
            w.write_all(data).expect("compresses in memory");
            w.finish().expect("compresses in memory")
        }
        Compression::Bzip2 => {
            let mut w = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            w.write_all(data).expect("compresses in memory");
            w.finish().expect("compresses in memory")
        }
    }
}

/// A decompressed bzImage payload (vmlinux.bin + vmlinux.relocs) in
/// little: one PT_LOAD at 16 MiB (LOAD_PHYSICAL_ADDR) of 0x100 file bytes (memsz 0x3000)
/// whose bytes hold, at 0x10 a 64-bit pointer to _text + 0x40, at
/// 0x20 a 32-bit (sign-extended) pointer to _text + 0x80, at 0x30 an
/// inverse 32-bit field; its section headers (null, a string table) end it at 0x1100;
/// then `lists` relocation lists (3, 2 or none).
pub fn vmlinux_with_relocs(lists: usize) -> Vec<u8> {
    use crate::arch::x86_64::decompressed::START_KERNEL_MAP;
    const LOAD: u64 = 0x100_0000;
    let mut f = vec![0u8; 0x1100];
    f[0..4].copy_from_slice(b"\x7fELF");
    f[4] = 2;
    f[5] = 1;
    f[6] = 1;
    f[16..18].copy_from_slice(&2u16.to_le_bytes());
    f[18..20].copy_from_slice(&62u16.to_le_bytes());
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[24..32].copy_from_slice(&(LOAD + 0x40).to_le_bytes()); // e_entry
    f[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    f[40..48].copy_from_slice(&0x1080u64.to_le_bytes()); // e_shoff
    f[52..54].copy_from_slice(&64u16.to_le_bytes());
    f[54..56].copy_from_slice(&56u16.to_le_bytes());
    f[56..58].copy_from_slice(&1u16.to_le_bytes());
    f[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    f[60..62].copy_from_slice(&2u16.to_le_bytes()); // e_shnum
    f[62..64].copy_from_slice(&1u16.to_le_bytes()); // e_shstrndx
                                                    // Section 1: a one-byte string table (at 0x10f0, a zero byte).
    let sh = 0x1080 + 64;
    f[sh + 4..sh + 8].copy_from_slice(&3u32.to_le_bytes()); // SHT_STRTAB
    f[sh + 24..sh + 32].copy_from_slice(&0x10f0u64.to_le_bytes());
    f[sh + 32..sh + 40].copy_from_slice(&1u64.to_le_bytes());
    let ph = 64;
    f[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes());
    f[ph + 8..ph + 16].copy_from_slice(&0x1000u64.to_le_bytes());
    f[ph + 16..ph + 24].copy_from_slice(&(START_KERNEL_MAP + LOAD).to_le_bytes());
    f[ph + 24..ph + 32].copy_from_slice(&LOAD.to_le_bytes());
    f[ph + 32..ph + 40].copy_from_slice(&0x100u64.to_le_bytes());
    f[ph + 40..ph + 48].copy_from_slice(&0x3000u64.to_le_bytes());
    let text = START_KERNEL_MAP + LOAD;
    f[0x1010..0x1018].copy_from_slice(&(text + 0x40).to_le_bytes());
    f[0x1020..0x1024].copy_from_slice(&((text + 0x80) as u32).to_le_bytes());
    f[0x1030..0x1034].copy_from_slice(&0x5000u32.to_le_bytes());
    let words: &[u64] = match lists {
        // 0, 64-bit list, 0, inverse list, 0, 32-bit list (read backwards).
        3 => &[0, text + 0x10, 0, text + 0x30, 0, text + 0x20],
        // Newer kernels: no inverse list.
        2 => &[0, text + 0x10, 0, text + 0x20],
        _ => &[],
    };
    for v in words {
        f.extend_from_slice(&(*v as u32).to_le_bytes());
    }
    f
}

/// A bzImage64 (the sample's setup header, real-mode part and
/// header fields) whose protected-mode part is `payload` after 0x200 bytes,
/// payload_offset and payload_length pointing at it.
pub fn bzimage64_with_payload(payload: &[u8]) -> Vec<u8> {
    let mut b = bzimage64_sample();
    let h = SetupHeader::read(&b).expect("the sample's header");
    b.truncate(h.real_mode_size() as usize);
    b.extend_from_slice(&[0u8; 0x200]);
    b.extend_from_slice(payload);
    b[offset::PAYLOAD_OFFSET..offset::PAYLOAD_OFFSET + 4].copy_from_slice(&0x200u32.to_le_bytes());
    b[offset::PAYLOAD_LENGTH..offset::PAYLOAD_LENGTH + 4]
        .copy_from_slice(&(payload.len() as u32).to_le_bytes());
    b
}
