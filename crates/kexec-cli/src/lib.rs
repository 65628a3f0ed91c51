//! The `kexec` command as a library, so tests and test instruments can run
//! it in-process against any `Host`.

pub mod args;
pub mod run;
