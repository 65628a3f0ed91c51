//! The x86_64 physical-memory layout the loaders work with, in one place
//! and in address order (as cloud-hypervisor's arch/src/x86_64/layout.rs),
//! then the sizes and alignments that are not addresses.

// Addresses, low to high.

/// Lowest address our kexec_load path puts the purgatory and zero page at:
/// they go below 1 MiB, which the next kernel reserves anyway, so the
/// setup_data it keeps reserved costs no RAM (its MemTotal matches this
/// kernel's), as the kernel's own loader does.
pub const LOW_MIN: u64 = 0x3000;

/// 1 MiB: the end of the low area placed top-down.
pub const ONE_MIB: u64 = 0x10_0000;

/// Our kexec_load path never puts the kernel below 1 MiB.
pub const KERNEL_MIN: u64 = ONE_MIB;

/// Lowest address the kernel's x86 file loader gives the kernel
/// (MIN_KERNEL_LOAD_ADDR).
pub const MIN_KERNEL_LOAD_ADDR: u64 = ONE_MIB;

/// The kernel keeps the first 1 MiB reserved; a crash dump leaves it out
/// (as the kernel's own elfcorehdr does).
pub const LOW_RESERVED: u64 = ONE_MIB;

/// Where the kernel's own file loader starts looking for initrd room (16 MiB).
pub const INITRD_MIN: u64 = 0x100_0000;

/// 4 GiB: the limit for pieces a 32-bit field points at, and for kernels
/// without XLF_CAN_BE_LOADED_ABOVE_4G.
pub const FOUR_GIB: u64 = 1 << 32;

// Sizes and alignments.

/// The page the kernel counts segments in.
pub const PAGE_SIZE: u64 = 4096;

/// Rounds a size up to whole pages, as the kernel counts them.
pub fn page_align(n: u64) -> u64 {
    n.div_ceil(PAGE_SIZE) * PAGE_SIZE
}

/// Crash loads on our kexec_load path leave this much (2 MiB) at the start
/// of the crash region free for the kernel's own control pages,
/// identity-map page tables and vmcoreinfo copy.
pub const CRASH_CONTROL_RESERVE: u64 = 0x20_0000;

/// What a crash load through kexec_file_load needs in the crash region
/// besides kernel and initrd (purgatory, boot parameters, elfcorehdr,
/// control pages), rounded up to 2 MiB.
pub const CRASH_OVERHEAD: u64 = 2 << 20;

/// setup_data nodes follow the command line at this alignment.
pub const SETUP_DATA_ALIGN: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_in_order() {
        let order = [LOW_MIN, ONE_MIB, INITRD_MIN, FOUR_GIB];
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:#x?}");
    }

    /// Gathering the constants here changed none of them.
    #[test]
    fn values_are_the_ones_the_loaders_used() {
        assert_eq!(
            (LOW_MIN, ONE_MIB, INITRD_MIN, FOUR_GIB),
            (0x3000, 0x10_0000, 0x100_0000, 0x1_0000_0000)
        );
        assert_eq!(
            (KERNEL_MIN, MIN_KERNEL_LOAD_ADDR, LOW_RESERVED),
            (0x10_0000, 0x10_0000, 0x10_0000)
        );
        assert_eq!(
            (CRASH_CONTROL_RESERVE, CRASH_OVERHEAD),
            (0x20_0000, 0x20_0000)
        );
        assert_eq!((PAGE_SIZE, SETUP_DATA_ALIGN), (4096, 16));
    }

    #[test]
    fn page_align_rounds_up_to_whole_pages() {
        for (n, aligned) in [(0, 0), (1, 4096), (4096, 4096), (4097, 8192)] {
            assert_eq!(page_align(n), aligned, "{n}");
        }
    }
}
