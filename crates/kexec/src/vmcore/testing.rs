//! Synthetic vmcores for the tests, here and in the `vmcore-dmesg`
//! command's: an ELF64 little-endian core with one PT_NOTE (a CORE note,
//! then VMCOREINFO) and two PT_LOADs, the kernel image's mapping and a
//! piece of the direct map, with the log's structures laid out at the
//! offsets and sizes x86_64 kernels declare (6.1 for the lockless ring
//! buffer, 5.4 for `printk_log`, from the structs in the kernel's
//! kernel/printk/printk_ringbuffer.h and printk.c).

/// The kernel image's PT_LOAD: virtual base (`__START_KERNEL_map` + 16 MiB).
pub const TEXT_VADDR: u64 = 0xffff_ffff_8100_0000;
/// Its physical base.
pub const TEXT_PADDR: u64 = 0x100_0000;
/// Its size.
pub const TEXT_SIZE: u64 = 0x1_0000;
/// The direct map's base (x86_64 PAGE_OFFSET without KASLR).
pub const PAGE_OFFSET: u64 = 0xffff_8880_0000_0000;
/// The RAM PT_LOAD's physical base.
pub const RAM_PADDR: u64 = 0x1000_0000;
/// Its virtual base: PAGE_OFFSET + RAM_PADDR.
pub const RAM_VADDR: u64 = PAGE_OFFSET + RAM_PADDR;
/// Its size.
pub const RAM_SIZE: u64 = 0x1_0000;

/// The bytes of a PT_NOTE segment holding `notes` (name, type,
/// descriptor), each word written by `word` (the core's byte order).
pub fn note_segment(notes: &[(&[u8], u32, &[u8])], word: fn(u32) -> [u8; 4]) -> Vec<u8> {
    let mut note = Vec::new();
    for (name, n_type, desc) in notes {
        note.extend_from_slice(&word(name.len() as u32 + 1));
        note.extend_from_slice(&word(desc.len() as u32));
        note.extend_from_slice(&word(*n_type));
        note.extend_from_slice(name);
        note.push(0);
        note.resize(note.len().next_multiple_of(4), 0);
        note.extend_from_slice(desc);
        note.resize(note.len().next_multiple_of(4), 0);
    }
    note
}

/// An ELF64 little-endian x86_64 core: one PT_NOTE holding `notes`
/// (name, type, descriptor), then one PT_LOAD per `loads` entry
/// (vaddr, paddr, bytes), in that order.
pub fn elf64(notes: &[(&[u8], u32, &[u8])], loads: &[(u64, u64, &[u8])]) -> Vec<u8> {
    let note = note_segment(notes, u32::to_le_bytes);
    let phnum = 1 + loads.len();
    let mut out = vec![0u8; 64 + 56 * phnum];
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = 2; // ELFCLASS64
    out[5] = 1; // little endian
    out[6] = 1; // EV_CURRENT
    out[16..18].copy_from_slice(&4u16.to_le_bytes()); // ET_CORE
    out[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    out[20..24].copy_from_slice(&1u32.to_le_bytes());
    out[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    out[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    out[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    out[56..58].copy_from_slice(&(phnum as u16).to_le_bytes());
    let mut phdr = |i: usize, p_type: u32, offset: u64, vaddr: u64, paddr: u64, size: u64| {
        let p = &mut out[64 + 56 * i..64 + 56 * (i + 1)];
        p[0..4].copy_from_slice(&p_type.to_le_bytes());
        p[4..8].copy_from_slice(&7u32.to_le_bytes()); // RWX
        p[8..16].copy_from_slice(&offset.to_le_bytes());
        p[16..24].copy_from_slice(&vaddr.to_le_bytes());
        p[24..32].copy_from_slice(&paddr.to_le_bytes());
        p[32..40].copy_from_slice(&size.to_le_bytes());
        p[40..48].copy_from_slice(&size.to_le_bytes());
    };
    let mut offset = (64 + 56 * phnum) as u64;
    phdr(0, 4, offset, 0, 0, note.len() as u64);
    offset += note.len() as u64;
    for (i, (vaddr, paddr, bytes)) in loads.iter().enumerate() {
        phdr(1 + i, 1, offset, *vaddr, *paddr, bytes.len() as u64);
        offset += bytes.len() as u64;
    }
    out.extend_from_slice(&note);
    for (_, _, bytes) in loads {
        out.extend_from_slice(bytes);
    }
    out
}

/// The memory of a synthetic crashed kernel: the two PT_LOADs' bytes.
#[derive(Clone)]
pub struct Memory {
    /// The kernel image's bytes (`text_vaddr` on).
    pub text: Vec<u8>,
    /// The direct map's bytes (`ram_vaddr` on).
    pub ram: Vec<u8>,
    /// The kernel image's virtual base (TEXT_VADDR).
    pub text_vaddr: u64,
    /// The direct map piece's virtual base (RAM_VADDR).
    pub ram_vaddr: u64,
    /// e_machine: EM_X86_64 (62), or EM_386 (3) for a 32-bit kernel in an
    /// ELF64 core (kexec-tools' `--elf64-core-headers` on i386).
    pub machine: u16,
}

impl Memory {
    /// Both segments zeroed.
    pub fn new() -> Memory {
        Memory {
            text: vec![0; TEXT_SIZE as usize],
            ram: vec![0; RAM_SIZE as usize],
            text_vaddr: TEXT_VADDR,
            ram_vaddr: RAM_VADDR,
            machine: 62,
        }
    }

    /// Writes `bytes` at kernel virtual address `vaddr`; bytes outside
    /// both segments are dropped (a test's way to point outside them).
    pub fn put(&mut self, vaddr: u64, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            let a = vaddr.wrapping_add(i as u64);
            if let Some(d) = a.checked_sub(self.text_vaddr).filter(|&d| d < TEXT_SIZE) {
                self.text[d as usize] = b;
            } else if let Some(d) = a.checked_sub(self.ram_vaddr).filter(|&d| d < RAM_SIZE) {
                self.ram[d as usize] = b;
            }
        }
    }

    /// Writes a little-endian u64 at `vaddr`.
    pub fn put_u64(&mut self, vaddr: u64, v: u64) {
        self.put(vaddr, &v.to_le_bytes());
    }

    /// Writes a little-endian `unsigned long` (`width` 4 or 8) at `vaddr`.
    pub fn put_ulong(&mut self, vaddr: u64, v: u64, width: u64) {
        self.put(vaddr, &v.to_le_bytes()[..width as usize]);
    }

    /// The vmcore: a CORE note and a VMCOREINFO note with `vmcoreinfo`,
    /// then the two PT_LOADs, the kernel image first (as kexec-tools'
    /// elfcorehdr has it).
    pub fn core(&self, vmcoreinfo: &str) -> Vec<u8> {
        let prstatus = [0u8; 336];
        let mut core = elf64(
            &[
                (b"CORE", 1, &prstatus),
                (b"VMCOREINFO", 0, vmcoreinfo.as_bytes()),
            ],
            &[
                (self.text_vaddr, TEXT_PADDR, &self.text),
                (self.ram_vaddr, RAM_PADDR, &self.ram),
            ],
        );
        core[18..20].copy_from_slice(&self.machine.to_le_bytes());
        core
    }
}

impl Default for Memory {
    fn default() -> Self {
        Memory::new()
    }
}

/// VMCOREINFO text: `lines` joined by newlines, the last (CRASH_TIME)
/// without one, as some kernels end it.
pub fn vmcoreinfo(lines: &[String]) -> String {
    let mut s = lines.join("\n");
    s.push_str("\nCRASH_TIME=1733472000");
    s
}

/// A descriptor's state (the top 2 bits of its state_var).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// 0: being written; skipped.
    Reserved,
    /// 1: committed; printed.
    Committed,
    /// 2: finalized; printed.
    Finalized,
    /// 3: free; skipped.
    Reusable,
}

/// A lockless `printk_ringbuffer` (Linux 5.10+) with x86_64 6.1's layout
/// (the same SIZE/OFFSET values a Fedora 6.2.15 kernel's VMCOREINFO shows;
/// 5.10 to 5.18 lack `last_finalized_id`: `printk_ringbuffer` 80 bytes,
/// text_data_ring at 40, which the reader takes from VMCOREINFO alike):
/// `printk_ringbuffer` 88 bytes (desc_ring at 0, text_data_ring at 48),
/// `prb_desc_ring` 48 (count_bits 0, descs 8, infos 16, head_id 24,
/// tail_id 32, last_finalized_id 40), `prb_data_ring` 32 (size_bits 0,
/// data 8, head_lpos 16, tail_lpos 24), `prb_desc` 24 (state_var 0,
/// text_blk_lpos 8: begin 0, next 8), `printk_info` 88 (seq 0, ts_nsec 8,
/// text_len 16, caller_id 20, dev_info 24).
pub struct LocklessCore {
    /// The memory; tests may change it.
    pub mem: Memory,
    /// log2 of the descriptor count.
    pub count_bits: u32,
    /// log2 of the text ring's size.
    pub size_bits: u32,
    /// Where the `prb` pointer variable is (SYMBOL(prb)).
    pub prb_sym: u64,
    /// The ring buffer struct `prb` points to.
    pub rb: u64,
    /// The descriptor array (prb_desc_ring.descs).
    pub descs: u64,
    /// The printk_info array (prb_desc_ring.infos).
    pub infos: u64,
    /// The text ring (prb_data_ring.data).
    pub data: u64,
    /// The id of the first record (the tail).
    pub first_id: u64,
    /// The text ring's logical position of the first record.
    pub first_lpos: u64,
    /// VMCOREINFO keys to leave out.
    pub drop_keys: Vec<String>,
    /// `prb_desc_ring.last_finalized_id` (5.19+); without it (5.10 to
    /// 5.18) every later field of `printk_ringbuffer` is a word earlier.
    pub last_finalized_id: bool,
    records: Vec<(u64, Vec<u8>, State, bool)>,
}

impl LocklessCore {
    /// An empty ring: 16 descriptors, a 1 KiB text ring in the direct map,
    /// the first record at descriptor 14 (so ids wrap the array too).
    pub fn new() -> LocklessCore {
        LocklessCore {
            mem: Memory::new(),
            count_bits: 4,
            size_bits: 10,
            prb_sym: TEXT_VADDR + 0x1000,
            rb: TEXT_VADDR + 0x2000,
            descs: RAM_VADDR + 0x1000,
            infos: RAM_VADDR + 0x2000,
            data: RAM_VADDR + 0x4000,
            first_id: 3 * 16 + 14,
            first_lpos: 0x4000_0000,
            drop_keys: Vec::new(),
            last_finalized_id: true,
            records: Vec::new(),
        }
    }

    /// Adds a finalized record.
    pub fn record(&mut self, ts_nsec: u64, text: &[u8]) -> &mut Self {
        self.record_in(ts_nsec, text, State::Finalized)
    }

    /// Adds a record in `state`.
    pub fn record_in(&mut self, ts_nsec: u64, text: &[u8], state: State) -> &mut Self {
        self.records.push((ts_nsec, text.to_vec(), state, false));
        self
    }

    /// Adds a finalized record whose descriptor still holds an older id
    /// (the reader's "desc_miss"): skipped.
    pub fn stale(&mut self, ts_nsec: u64, text: &[u8]) -> &mut Self {
        self.records
            .push((ts_nsec, text.to_vec(), State::Finalized, true));
        self
    }

    /// The VMCOREINFO lines an x86_64 6.1 kernel writes for its log.
    pub fn vmcoreinfo_lines(&self) -> Vec<String> {
        let mut l: Vec<String> = [
            "OSRELEASE=6.1.0-18-amd64",
            "BUILD-ID=0123456789abcdef0123456789abcdef01234567",
            "PAGESIZE=4096",
            "SYMBOL(init_uts_ns)=ffffffff82613f80",
            "OFFSET(uts_namespace.name)=0",
            "SIZE(page)=64",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        l.push(format!("SYMBOL(prb)={:x}", self.prb_sym));
        l.push(format!("SYMBOL(printk_rb_static)={:x}", self.rb));
        l.push(format!(
            "SYMBOL(clear_seq)={:x}",
            self.mem.text_vaddr + 0x3000
        ));
        let w = self.width();
        let d = self.desc_ring_words() * w;
        for (key, v) in [
            ("SIZE(printk_ringbuffer)", d + 5 * w),
            ("OFFSET(printk_ringbuffer.desc_ring)", 0),
            ("OFFSET(printk_ringbuffer.text_data_ring)", d),
            ("OFFSET(printk_ringbuffer.fail)", d + 4 * w),
            ("SIZE(prb_desc_ring)", d),
            ("OFFSET(prb_desc_ring.count_bits)", 0),
            ("OFFSET(prb_desc_ring.descs)", w),
            ("OFFSET(prb_desc_ring.infos)", 2 * w),
            ("OFFSET(prb_desc_ring.head_id)", 3 * w),
            ("OFFSET(prb_desc_ring.tail_id)", 4 * w),
            ("SIZE(prb_desc)", 3 * w),
            ("OFFSET(prb_desc.state_var)", 0),
            ("OFFSET(prb_desc.text_blk_lpos)", w),
            ("SIZE(prb_data_blk_lpos)", 2 * w),
            ("OFFSET(prb_data_blk_lpos.begin)", 0),
            ("OFFSET(prb_data_blk_lpos.next)", w),
            ("SIZE(printk_info)", 88),
            ("OFFSET(printk_info.seq)", 0),
            ("OFFSET(printk_info.ts_nsec)", 8),
            ("OFFSET(printk_info.text_len)", 16),
            ("OFFSET(printk_info.caller_id)", 20),
            ("OFFSET(printk_info.dev_info)", 24),
            ("SIZE(dev_printk_info)", 64),
            ("OFFSET(dev_printk_info.subsystem)", 0),
            ("LENGTH(printk_info_subsystem)", 16),
            ("OFFSET(dev_printk_info.device)", 16),
            ("LENGTH(printk_info_device)", 48),
            ("SIZE(prb_data_ring)", 4 * w),
            ("OFFSET(prb_data_ring.size_bits)", 0),
            ("OFFSET(prb_data_ring.data)", w),
            ("OFFSET(prb_data_ring.head_lpos)", 2 * w),
            ("OFFSET(prb_data_ring.tail_lpos)", 3 * w),
            ("SIZE(atomic_long_t)", w),
            ("OFFSET(atomic_long_t.counter)", 0),
            ("SIZE(latched_seq)", 24),
            ("OFFSET(latched_seq.val)", 8),
            ("LENGTH(latched_seq.val)", 2),
        ] {
            l.push(format!("{key}={v}"));
        }
        for s in [
            "NUMBER(phys_base)=-16777216",
            "NUMBER(pgtable_l5_enabled)=0",
            "KERNELOFFSET=0",
        ] {
            l.push(s.to_string());
        }
        l.retain(|line| {
            !self
                .drop_keys
                .iter()
                .any(|k| line.split('=').next() == Some(k.as_str()))
        });
        l
    }

    /// `struct prb_desc_ring`'s size in words.
    fn desc_ring_words(&self) -> u64 {
        if self.last_finalized_id {
            6
        } else {
            5
        }
    }

    /// The `unsigned long` width: 4 when `mem.machine` is EM_386.
    fn width(&self) -> u64 {
        if self.mem.machine == 3 {
            4
        } else {
            8
        }
    }

    /// Lays the records out as the kernel does and returns the vmcore.
    pub fn build(&mut self) -> Vec<u8> {
        let w = self.width();
        let desc_size = 3 * w;
        const INFO: u64 = 88;
        let id_mask = (u64::MAX >> (64 - 8 * w)) >> 2;
        let count = 1u64 << self.count_bits;
        let size = 1u64 << self.size_bits;
        let mut mem = self.mem.clone();
        mem.put_ulong(self.prb_sym, self.rb, w);
        let desc_ring = self.rb;
        let text_ring = self.rb + self.desc_ring_words() * w;
        mem.put(desc_ring, &self.count_bits.to_le_bytes());
        mem.put_ulong(desc_ring + w, self.descs, w);
        mem.put_ulong(desc_ring + 2 * w, self.infos, w);
        mem.put(text_ring, &self.size_bits.to_le_bytes());
        mem.put_ulong(text_ring + w, self.data, w);
        let mut lpos = self.first_lpos;
        let mut id = self.first_id & id_mask;
        // Each record's id and where its data block begins (None: data-less).
        let mut placed: Vec<(u64, Option<u64>)> = Vec::new();
        for (seq, (ts, text, state, stale)) in self.records.iter().enumerate() {
            let index = id % count;
            let desc = self.descs + index * desc_size;
            let info = self.infos + index * INFO;
            let (begin, next) = if text.is_empty() {
                (1, 1) // FAILED_LPOS: a data-less record
            } else {
                // The block: the id word, then the text, aligned to the word.
                let blk = (w + text.len() as u64).next_multiple_of(w);
                let begin = lpos;
                let mut next = begin + blk;
                mem.put_ulong(self.data + begin % size, id, w);
                if begin / size != next / size {
                    // It would wrap: its data goes to the ring's start.
                    next = (next / size) * size + blk;
                    mem.put_ulong(self.data, id, w);
                }
                mem.put(self.data + (next - blk) % size + w, text);
                lpos = next;
                (begin, next)
            };
            placed.push((id, (!text.is_empty()).then_some(begin)));
            let state_bits: u64 = match state {
                State::Reserved => 0,
                State::Committed => 1,
                State::Finalized => 2,
                State::Reusable => 3,
            };
            let held = if *stale {
                id.wrapping_sub(count) & id_mask
            } else {
                id
            };
            mem.put_ulong(desc, state_bits << (8 * w - 2) | held, w);
            mem.put_ulong(desc + w, begin, w);
            mem.put_ulong(desc + 2 * w, next, w);
            mem.put_u64(info, seq as u64);
            mem.put_u64(info + 8, *ts);
            mem.put(info + 16, &(text.len() as u16).to_le_bytes());
            mem.put(info + 18, &[0, 6 << 5]); // facility 0, level 6
            id = (id + 1) & id_mask;
        }
        let head = id.wrapping_sub(1) & id_mask;
        // The tail: the oldest record whose descriptor and data block were
        // not reused since, as the kernel pushes it when the rings wrap.
        let tail = placed
            .iter()
            .find(|(i, begin)| {
                head.wrapping_sub(*i) & id_mask < count && begin.is_none_or(|b| lpos - b <= size)
            })
            .map_or(self.first_id & id_mask, |(i, _)| *i);
        mem.put_ulong(desc_ring + 3 * w, head, w);
        mem.put_ulong(desc_ring + 4 * w, tail, w);
        if self.last_finalized_id {
            mem.put_ulong(desc_ring + 5 * w, head, w);
        }
        mem.put_ulong(text_ring + 2 * w, lpos, w);
        let tail_lpos = placed
            .iter()
            .find(|(i, _)| *i == tail)
            .and_then(|(_, b)| *b)
            .unwrap_or(self.first_lpos);
        mem.put_ulong(text_ring + 3 * w, tail_lpos, w);
        mem.core(&vmcoreinfo(&self.vmcoreinfo_lines()))
    }

    /// The same ring for a 32-bit i386 kernel (ELF64 core, EM_386): 4-byte
    /// `unsigned long`s, so `printk_ringbuffer` 44 bytes, `prb_desc` 12,
    /// the state in state_var's top 2 of 32 bits; PAGE_OFFSET 0xc0000000.
    pub fn i386() -> LocklessCore {
        let mut core = LocklessCore::new();
        core.mem.machine = 3;
        core.mem.text_vaddr = 0xc100_0000;
        core.mem.ram_vaddr = 0xc000_0000 + RAM_PADDR;
        let (text, ram) = (core.mem.text_vaddr, core.mem.ram_vaddr);
        core.prb_sym = text + 0x1000;
        core.rb = text + 0x2000;
        core.descs = ram + 0x1000;
        core.infos = ram + 0x2000;
        core.data = ram + 0x4000;
        core.first_lpos = 0x4000_0000;
        core
    }
}

impl Default for LocklessCore {
    fn default() -> Self {
        LocklessCore::new()
    }
}

/// `printk_log` records (Linux 3.5–5.9) with x86_64 5.4's layout:
/// `SIZE(printk_log)=16`, ts_nsec at 0, len at 8, text_len at 10,
/// dict_len at 12; records 4-byte aligned; a zeroed header where the next
/// record no longer fits marks the wrap to the buffer's start.
pub struct RecordsCore {
    /// The memory; tests may change it.
    pub mem: Memory,
    /// The buffer's size (log_buf_len).
    pub log_buf_len: u32,
    /// Where the first (oldest) record starts (log_first_idx).
    pub first_idx: u32,
    /// The buffer (the value of the `log_buf` pointer).
    pub log_buf: u64,
    records: Vec<(u64, Vec<u8>)>,
}

impl RecordsCore {
    /// A 256-byte buffer in the direct map, the first record at 160.
    pub fn new() -> RecordsCore {
        RecordsCore {
            mem: Memory::new(),
            log_buf_len: 256,
            first_idx: 160,
            log_buf: RAM_VADDR + 0x8000,
            records: Vec::new(),
        }
    }

    /// Adds a record.
    pub fn record(&mut self, ts_nsec: u64, text: &[u8]) -> &mut Self {
        self.records.push((ts_nsec, text.to_vec()));
        self
    }

    /// Lays the records out as log_store() does and returns the vmcore.
    pub fn build(&mut self) -> Vec<u8> {
        let mut mem = self.mem.clone();
        let sym = |n: u64| TEXT_VADDR + 0x1000 + 8 * n;
        let mut idx = self.first_idx;
        for (ts, text) in &self.records {
            let size = (16 + text.len() as u32).next_multiple_of(4);
            if idx + size + 16 > self.log_buf_len {
                mem.put(self.log_buf + u64::from(idx), &[0; 16]);
                idx = 0;
            }
            let at = self.log_buf + u64::from(idx);
            mem.put_u64(at, *ts);
            mem.put(at + 8, &(size as u16).to_le_bytes());
            mem.put(at + 10, &(text.len() as u16).to_le_bytes());
            mem.put(at + 16, text);
            idx += size;
        }
        mem.put_u64(sym(0), self.log_buf);
        mem.put(sym(1), &self.log_buf_len.to_le_bytes());
        mem.put(sym(2), &self.first_idx.to_le_bytes());
        mem.put(sym(3), &idx.to_le_bytes());
        let lines: Vec<String> = vec![
            "OSRELEASE=5.4.0-150-generic".into(),
            "PAGESIZE=4096".into(),
            format!("SYMBOL(log_buf)={:x}", sym(0)),
            format!("SYMBOL(log_buf_len)={:x}", sym(1)),
            format!("SYMBOL(log_first_idx)={:x}", sym(2)),
            format!("SYMBOL(clear_idx)={:x}", sym(4)),
            format!("SYMBOL(log_next_idx)={:x}", sym(3)),
            "SIZE(printk_log)=16".into(),
            "OFFSET(printk_log.ts_nsec)=0".into(),
            "OFFSET(printk_log.len)=8".into(),
            "OFFSET(printk_log.text_len)=10".into(),
            "OFFSET(printk_log.dict_len)=12".into(),
        ];
        mem.core(&vmcoreinfo(&lines))
    }
}

impl Default for RecordsCore {
    fn default() -> Self {
        RecordsCore::new()
    }
}
