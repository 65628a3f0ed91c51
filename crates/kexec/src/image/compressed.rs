//! Compressed kernels and EFI zboot images, unpacked in user space (to come).
