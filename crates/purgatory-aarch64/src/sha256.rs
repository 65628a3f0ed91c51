//! SHA-256 for the purgatory, read straight from physical memory with the
//! MMU off: every data access is to Device memory there, so the words are
//! read only at their natural alignment and every buffer of our own is
//! 16-byte aligned. The ARMv8 SHA-256 instructions do the rounds when the
//! CPU has them; the portable rounds below do them otherwise (and are what
//! the host's unit tests check against the sha2 crate, since this file is
//! plain Rust apart from the instruction path).

/// The round constants, 16-byte aligned for the vector loads.
#[repr(C, align(16))]
struct RoundConstants([u32; 64]);

static K: RoundConstants = RoundConstants([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const INITIAL: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// One block's message words, already in big-endian order.
#[repr(C, align(16))]
struct Words([u32; 16]);

/// The hash state, aligned for the vector loads.
#[repr(C, align(16))]
struct State([u32; 8]);

/// A block's bytes, for the padded tail.
#[repr(C, align(16))]
struct Tail([u8; 128]);

/// The SHA-256 of the `len` bytes at `start`; `hardware` picks the ARMv8
/// SHA-256 instructions (only honoured on aarch64, see [`cpu_has_sha256`]).
///
/// # Safety
/// `start..start + len` must be readable for the whole call.
pub unsafe fn digest(start: *const u8, len: usize, hardware: bool) -> [u8; 32] {
    let mut state = State(INITIAL);
    let mut block = start;
    for _ in 0..len / 64 {
        compress(&mut state, &load(block), hardware);
        block = block.add(64);
    }
    // The padding: the last partial block, 0x80, zeros, the bit length.
    let rest = len % 64;
    let mut tail = Tail([0; 128]);
    for i in 0..rest {
        tail.0[i] = core::ptr::read_volatile(block.add(i));
    }
    tail.0[rest] = 0x80;
    let blocks = if rest < 56 { 1 } else { 2 };
    let bits = (len as u64).wrapping_mul(8).to_be_bytes();
    let end = blocks * 64;
    tail.0[end - 8..end].copy_from_slice(&bits);
    for b in 0..blocks {
        compress(&mut state, &words_of(&tail.0, b * 64), hardware);
    }
    let mut out = [0u8; 32];
    for (i, word) in state.0.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// The 16 message words of the block at `block`: 32-bit reads when the
/// block is 4-byte aligned (every kexec segment is page aligned), byte reads
/// otherwise, since Device memory faults on unaligned accesses.
unsafe fn load(block: *const u8) -> Words {
    let mut words = Words([0; 16]);
    if (block as usize).is_multiple_of(4) {
        let block = block as *const u32;
        for (i, word) in words.0.iter_mut().enumerate() {
            *word = u32::from_be(core::ptr::read(block.add(i)));
        }
    } else {
        for (i, word) in words.0.iter_mut().enumerate() {
            let mut bytes = [0u8; 4];
            for (j, byte) in bytes.iter_mut().enumerate() {
                *byte = core::ptr::read_volatile(block.add(i * 4 + j));
            }
            *word = u32::from_be_bytes(bytes);
        }
    }
    words
}

fn words_of(bytes: &[u8; 128], at: usize) -> Words {
    let mut words = Words([0; 16]);
    for (i, word) in words.0.iter_mut().enumerate() {
        let b = at + i * 4;
        *word = u32::from_be_bytes([bytes[b], bytes[b + 1], bytes[b + 2], bytes[b + 3]]);
    }
    words
}

#[allow(unused_variables)]
fn compress(state: &mut State, words: &Words, hardware: bool) {
    #[cfg(target_arch = "aarch64")]
    if hardware {
        // SAFETY: the caller asked for the instructions only after
        // cpu_has_sha256() said the CPU has them.
        unsafe { compress_sha2(state, words) };
        return;
    }
    compress_portable(state, words);
}

/// Whether the CPU has the SHA-256 instructions: ID_AA64ISAR0_EL1.SHA2
/// (bits 15:12) is non-zero. Readable at EL1 and above, where the
/// purgatory runs.
#[cfg(target_arch = "aarch64")]
pub fn cpu_has_sha256() -> bool {
    let isar0: u64;
    // SAFETY: reading an ID register has no side effect.
    unsafe {
        core::arch::asm!("mrs {}, ID_AA64ISAR0_EL1", out(reg) isar0, options(nomem, nostack, preserves_flags))
    };
    (isar0 >> 12) & 0xf != 0
}

/// Four rounds at a time with SHA256H/SHA256H2 and the message schedule
/// with SHA256SU0/SHA256SU1.
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "sha2")]
unsafe fn compress_sha2(state: &mut State, words: &Words) {
    use core::arch::aarch64::*;
    let mut abcd = vld1q_u32(state.0.as_ptr());
    let mut efgh = vld1q_u32(state.0.as_ptr().add(4));
    let (abcd_in, efgh_in) = (abcd, efgh);
    let w = words.0.as_ptr();
    let mut m = [
        vld1q_u32(w),
        vld1q_u32(w.add(4)),
        vld1q_u32(w.add(8)),
        vld1q_u32(w.add(12)),
    ];
    for group in 0..16 {
        let wk = vaddq_u32(m[group % 4], vld1q_u32(K.0.as_ptr().add(group * 4)));
        let abcd_before = abcd;
        abcd = vsha256hq_u32(abcd, efgh, wk);
        efgh = vsha256h2q_u32(efgh, abcd_before, wk);
        if group < 12 {
            // The words of group + 4 from those of groups group..group + 3.
            let next = vsha256su0q_u32(m[group % 4], m[(group + 1) % 4]);
            m[group % 4] = vsha256su1q_u32(next, m[(group + 2) % 4], m[(group + 3) % 4]);
        }
    }
    vst1q_u32(state.0.as_mut_ptr(), vaddq_u32(abcd, abcd_in));
    vst1q_u32(state.0.as_mut_ptr().add(4), vaddq_u32(efgh, efgh_in));
}

/// The rounds as FIPS 180-4 writes them.
fn compress_portable(state: &mut State, words: &Words) {
    let mut w = [0u32; 64];
    w[..16].copy_from_slice(&words.0);
    for i in 16..64 {
        let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
        let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16]
            .wrapping_add(s0)
            .wrapping_add(w[i - 7])
            .wrapping_add(s1);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = state.0;
    for (k, wi) in K.0.iter().zip(w) {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = h
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(*k)
            .wrapping_add(wi);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    for (s, v) in state.0.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s = s.wrapping_add(v);
    }
}
