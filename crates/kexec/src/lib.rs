//! Load a new Linux kernel for later execution: the user-space half of
//! kexec_load(2) and kexec_file_load(2).
//!
//! The entry point is [`request`]: a [`Request`] (which image slot, which
//! files or raw segments, which system call, options, dry run) carried out
//! by a [`Kexec`] session becomes an [`Outcome`] (the plan, the system call
//! chosen and why, and a typed result). The `kexec` command is a thin front
//! end over it; an init system, a boot menu or a provisioning agent gets the
//! same strategy, crash-kernel safety and explanations.
//!
//! Below it the modules follow the data: `image` (kernel formats, one
//! [`image::KernelFormat`] each in a registry) → `plan` (what to load, with
//! which call and flags) → `rules` (the kernel's checks, predicted from
//! `facts`) → `sys` (the system calls behind the [`Host`] seam) → `exec`
//! (the jump). `load` carries a plan out and `status` reports what is
//! loaded. `boot` plans a kexec_load image; `arch` builds it for the target
//! architecture (one module behind [`arch::Arch`] each: `arch::x86_64` today).
//!
//! The examples run against `FakeHost`, a kernel simulated in memory
//! (the `testing` feature); a real program passes [`LinuxHost`].
//!
//! # Load with the `-a` strategy and print why
//!
//! The file call first; when the kernel refuses the image that way with an
//! errno kexec-tools falls back on, our own kexec_load boot image:
//!
//! ```
//! use kexec::{Errno, FakeHost, Kexec, Request, Target};
//!
//! let kernel = std::env::temp_dir().join(format!("kexec-doc-auto-{}", std::process::id()));
//! std::fs::write(&kernel, kexec::testing::bzimage64_sample()).unwrap();
//! let mut host = FakeHost::typical();
//! // This kernel refuses the file call (as one without a bzImage loader would).
//! host.load_results.push_back(Err(Errno::ENOEXEC));
//! let outcome = Kexec::new(&mut host).perform(&Request::load(Target::Normal, &kernel).append("quiet"));
//! assert!(outcome.result.is_ok());
//! let why = outcome.syscall_choice.unwrap();
//! println!("{why}");
//! assert!(why.starts_with("kexec_load (auto): kexec_file_load would be refused with ENOEXEC"));
//! # std::fs::remove_file(&kernel).unwrap();
//! ```
//!
//! # A crash load that keeps the old crash kernel when it fails
//!
//! The kernel frees the loaded crash kernel before it checks a new one; when
//! it then refuses the new one, the library loads the old one again from its
//! record and says so:
//!
//! ```
//! use kexec::crash_journal::Restore;
//! use kexec::{Errno, FakeHost, Kexec, Request, Target};
//!
//! let kernel = std::env::temp_dir().join(format!("kexec-doc-crash-{}", std::process::id()));
//! std::fs::write(&kernel, kexec::testing::bzimage64_sample()).unwrap();
//! let mut host = FakeHost::typical();
//! let load = Request::load(Target::Crash, &kernel);
//! assert!(Kexec::new(&mut host).perform(&load).result.is_ok()); // loaded and recorded
//!
//! // The next crash load is refused by the kernel (after it freed the old one).
//! host.load_results.push_back(Err(Errno::ENOMEM));
//! let outcome = Kexec::new(&mut host).perform(&load.clone().append("crashkernel.test"));
//! let failure = outcome.result.unwrap_err();
//! assert_eq!(failure.rejection.errno, Errno::ENOMEM);
//! let aftermath = outcome.crash_kernel.unwrap();
//! assert!(matches!(aftermath.restore, Restore::Restored(_)));
//! assert_eq!(aftermath.loaded_now(), Some(true));
//! println!("{}", failure.message);
//! # std::fs::remove_file(&kernel).unwrap();
//! ```
//!
//! # A dry run, as JSON
//!
//! Nothing is called; the plan is judged by the rules model:
//!
//! ```
//! use kexec::{FakeHost, Kexec, Request, SyscallChoice, Target};
//!
//! let kernel = std::env::temp_dir().join(format!("kexec-doc-dry-{}", std::process::id()));
//! std::fs::write(&kernel, kexec::testing::bzimage64_sample()).unwrap();
//! let mut host = FakeHost::typical();
//! let mut request = Request::load(Target::Normal, &kernel);
//! request.syscall = SyscallChoice::File;
//! request.dry_run = true;
//! let json = Kexec::new(&mut host).perform(&request).to_json();
//! println!("{json}");
//! assert_eq!(json["dry_run"], true);
//! assert!(json["errno"].is_null()); // the rules predict success
//! assert_eq!(json["plan"]["syscall"], "kexec_file_load");
//! assert!(host.calls.is_empty());
//! # std::fs::remove_file(&kernel).unwrap();
//! ```

#![deny(missing_docs)]

pub mod arch;
pub mod boot;
pub mod cmdline;
pub mod crash_journal;
pub mod exec;
pub mod facts;
pub mod fdt;
pub mod handover;
pub mod hex;
pub mod image;
pub mod kmsg;
/// The x86_64 physical layout, under its old path.
pub use arch::x86_64::layout;
pub mod load;
pub mod memory;
pub mod plan;
pub mod request;
pub mod rules;
pub mod status;
pub mod sys;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;
pub mod vmcore;

pub use facts::Facts;
pub use plan::{FileLoad, OpenOptions, Plan, Segment, Syscall, Target};
pub use request::{Kexec, Outcome, Request, SyscallChoice};
pub use rules::{Rejection, Rule, Source};
pub use sys::errno::Errno;
#[cfg(any(test, feature = "testing"))]
pub use sys::FakeHost;
pub use sys::{Host, LinuxHost};
