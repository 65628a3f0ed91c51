//! The `kexec` command as a library, so tests and test instruments can run
//! it in-process against any `Host`; and `vmcore-dmesg`'s command line, for
//! its man page.

pub mod args;
pub mod run;
pub mod vmcore_args;
