//! Load a new Linux kernel for later execution: the user-space half of
//! kexec_load(2) and kexec_file_load(2).
//!
//! The modules follow the data: `image` (kernel formats) → `plan` (what to
//! load, with which call and flags) → `rules` (the kernel's checks, predicted
//! from `facts`) → `sys` (the system calls) → `exec` (the jump). `load` carries a plan
//! out and `status` reports what is loaded. `boot` plans a kexec_load image;
//! `arch` builds it for the target architecture (`arch::x86_64` today).

pub mod arch;
pub mod boot;
pub mod cmdline;
pub mod crash_journal;
pub mod exec;
pub mod facts;
pub mod hex;
pub mod image;
/// The x86_64 physical layout, under its old path.
pub use arch::x86_64::layout;
pub mod load;
pub mod memory;
pub mod plan;
pub mod rules;
pub mod status;
pub mod sys;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;

pub use facts::Facts;
pub use plan::{FileLoad, Plan, Segment, Syscall, Target};
pub use rules::{Rejection, Rule, Source};
pub use sys::errno::Errno;
#[cfg(any(test, feature = "testing"))]
pub use sys::FakeHost;
pub use sys::{Host, LinuxHost};
