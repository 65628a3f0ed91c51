//! arm64 (aarch64): the Linux arm64 boot protocol on the kexec_load path —
//! the device tree with its `/chosen` rewritten (`dtb`), our own purgatory
//! (`purgatory`), kdump's elfcorehdr (`crash`) and the segments' placement.

pub mod crash;
pub mod dtb;
pub mod purgatory;
