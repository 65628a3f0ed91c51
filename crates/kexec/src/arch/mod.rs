//! Architectures as plug-ins: what differs between targets on the kexec_load
//! path — the KEXEC_ARCH_* value, which formats the kernel's own
//! kexec_file_load loader takes, and how a kernel's bytes become segments and
//! an entry point. Each architecture is one module behind [`Arch`] and one
//! line of [`ARCHITECTURES`]: `x86_64` and `aarch64`. What the trait takes and returns is
//! the same for every architecture: [`LoadOptions`] (the common options, each
//! architecture's own in its field), [`BootArgs`], and each builder's own
//! error inside [`ArchBuildError`].

pub mod aarch64;
pub mod digests;
pub mod kcore;
pub mod x86_64;

use crate::boot::{KernelBytes, LoadPlanError};
use crate::facts::Facts;
use crate::image::format::KernelFormat;
use crate::plan::Plan;
use crate::sys::abi::KexecArch;
use crate::sys::Host;
use std::error::Error;
use std::fmt;

/// The options of a kexec_load image (kexec-tools' generic --mem-min,
/// --mem-max and -i, and each architecture's own options in its field).
/// Serializable: the crash-load record keeps them to rebuild the same load;
/// each architecture's options are flattened into the same object, so the
/// record reads as one flat list of options.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoadOptions {
    /// --mem-min: no segment below this physical address.
    pub mem_min: u64,
    /// --mem-max: no segment above this physical address (inclusive).
    pub mem_max: u64,
    /// -i/--no-checks: the purgatory does not verify the segments' digests.
    pub skip_checks: bool,
    /// --hotplug (crash loads): the kernel may rewrite the elfcorehdr on CPU
    /// or memory hotplug: the kexec_load flag that says so, and an
    /// elfcorehdr segment of /sys/kernel/crash_elfcorehdr_size bytes.
    /// Records written before it existed read as false; false is not
    /// written, so records keep their format.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hotplug: bool,
    /// The x86_64 image's own options.
    // A later architecture's field also takes #[serde(default)], so that
    // records written before it existed still read.
    #[serde(flatten)]
    pub x86_64: x86_64::Options,
    /// The arm64 image's own options.
    #[serde(flatten, default)]
    pub aarch64: aarch64::Options,
}

impl LoadOptions {
    /// The first architecture option given (by its kexec-tools name): only
    /// our kexec_load image honours those, so `-a` goes to kexec_load.
    pub fn first_arch_option(&self) -> Option<&'static str> {
        self.x86_64
            .first_given()
            .or_else(|| self.aarch64.first_given())
    }
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            mem_min: 0,
            mem_max: u64::MAX,
            skip_checks: false,
            hotplug: false,
            x86_64: x86_64::Options::default(),
            aarch64: aarch64::Options::default(),
        }
    }
}

/// What the next kernel's entry receives from the purgatory: the boot
/// protocol's parameters (x86_64: boot_params in rsi; arm64 would pass the
/// device tree in x0), or nothing (--args-none). kexec-tools offers the
/// choice for x86 ELF kernels; a builder whose kernels cannot start without
/// their parameters refuses `None` with its own error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BootArgs {
    /// The boot protocol's parameters, as Linux expects.
    Linux,
    /// Nothing: the register is 0 (--args-none).
    None,
}

/// An architecture's image builder refused a kernel: its own error, with
/// the architecture's name. It reads exactly as the builder's error does.
#[derive(Debug)]
pub struct ArchBuildError {
    arch: &'static str,
    error: Box<dyn Error + Send + Sync>,
}

impl ArchBuildError {
    /// Wraps the builder error of the architecture named `arch`.
    pub fn new(arch: &'static str, error: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        ArchBuildError {
            arch,
            error: error.into(),
        }
    }

    /// The name of the architecture whose builder refused ([`Arch::name`]).
    pub fn arch(&self) -> &'static str {
        self.arch
    }

    /// The builder's own error, when it is a `T` (e.g. x86_64's
    /// `x86_linux::BuildError`).
    pub fn downcast_ref<T: Error + 'static>(&self) -> Option<&T> {
        self.error.downcast_ref()
    }
}

impl fmt::Display for ArchBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl Error for ArchBuildError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.error.source()
    }
}

/// One target architecture's kexec_load image builder.
pub trait Arch: Sync {
    /// The architecture's name, as `uname -m` says it.
    fn name(&self) -> &'static str;
    /// The KEXEC_ARCH_* value kexec_load's flags carry for it.
    fn kexec_arch(&self) -> KexecArch;
    /// Whether the kernel's kexec_file_load loaders on this architecture
    /// take a kernel of this format.
    fn file_loader_takes(&self, format: &dyn KernelFormat) -> bool;
    /// The kexec_load plan for a kernel's bytes: segments, entry and flags.
    /// The builder's own refusals come back as [`LoadPlanError::Build`],
    /// wrapped in an [`ArchBuildError`] with [`Arch::name`].
    fn plan_kexec_load(
        &self,
        host: &dyn Host,
        facts: &Facts,
        load: &KernelBytes,
        args: BootArgs,
        options: &LoadOptions,
    ) -> Result<Plan, LoadPlanError>;
}

/// Every architecture whose kexec_load images we build: one line each.
pub const ARCHITECTURES: &[&dyn Arch] = &[&x86_64::X86_64, &aarch64::Aarch64];

/// The architecture named `name` (as `uname -m` says it), when we build its
/// images.
pub fn by_name(name: &str) -> Option<&'static dyn Arch> {
    find(ARCHITECTURES, name)
}

fn find<'a>(registry: &[&'a dyn Arch], name: &str) -> Option<&'a dyn Arch> {
    registry.iter().copied().find(|arch| arch.name() == name)
}

/// The architecture this build runs on, when we can build its images.
pub fn native() -> Option<&'static dyn Arch> {
    by_name(std::env::consts::ARCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn native_is_x86_64_on_x86_64() {
        let arch = native().expect("x86_64 builds images");
        assert_eq!(arch.name(), "x86_64");
        assert_eq!(arch.kexec_arch(), KexecArch::X86_64);
        assert_eq!(arch.kexec_arch(), KexecArch::native());
    }

    /// The x86 kernel's kexec_file_loaders[] holds bzImage64 only.
    #[test]
    fn x86_64_file_loader_takes_bzimage64_not_elf() {
        let arch = &x86_64::X86_64;
        let bz = crate::image::format::by_name("bzImage64").expect("bzImage64 is registered");
        let elf = crate::image::format::for_kexec_load(&crate::testing::elf_vmlinux(
            &[(0x100_0000, 0x100, 0x20_0000)],
            0x100_0000,
        ))
        .expect("an ELF vmlinux is a kexec_load format");
        assert!(arch.file_loader_takes(bz));
        assert!(!arch.file_loader_takes(elf));
    }

    /// A made-up architecture, as an `aarch64` module would plug in: its
    /// own options come from the common ones, its own error type reaches
    /// callers through LoadPlanError unchanged, and it is found by name.
    /// Nothing of x86_64 is needed to write it.
    mod toyarch {
        use super::super::*;
        use crate::plan::{Segment, SegmentData};

        pub struct ToyArch;

        #[derive(Debug, PartialEq, Eq, thiserror::Error)]
        pub enum ToyError {
            #[error("{file}: its magic field is {value:?}, not \"TOY!\"")]
            Magic { file: String, value: String },
            #[error("{file}: --args-none: a toyarch kernel needs its boot parameters")]
            NoArgs { file: String },
        }

        impl Arch for ToyArch {
            fn name(&self) -> &'static str {
                "toyarch"
            }
            fn kexec_arch(&self) -> KexecArch {
                KexecArch::Default
            }
            fn file_loader_takes(&self, _format: &dyn KernelFormat) -> bool {
                false
            }
            fn plan_kexec_load(
                &self,
                _host: &dyn Host,
                _facts: &Facts,
                load: &KernelBytes,
                args: BootArgs,
                options: &LoadOptions,
            ) -> Result<Plan, LoadPlanError> {
                let refuse = |e| LoadPlanError::Build(ArchBuildError::new(self.name(), e));
                let file = load.name.to_string();
                if !load.kernel.starts_with(b"TOY!") {
                    let head = &load.kernel[..load.kernel.len().min(4)];
                    let value = String::from_utf8_lossy(head).into_owned();
                    return Err(refuse(ToyError::Magic { file, value }));
                }
                if args == BootArgs::None {
                    return Err(refuse(ToyError::NoArgs { file }));
                }
                Ok(Plan::Load {
                    target: load.target,
                    segments: vec![Segment {
                        purpose: "kernel".into(),
                        data: SegmentData::from(load.kernel.to_vec()),
                        mem: options.mem_min,
                        memsz: 0x1000,
                        digest: None,
                    }],
                    entry: options.mem_min,
                    flags: crate::sys::abi::KexecFlags(0).with_arch(self.kexec_arch()),
                })
            }
        }
    }

    #[test]
    fn an_architecture_plugs_in_with_its_own_error_and_no_x86_type() {
        use crate::plan::Target;
        use toyarch::{ToyArch, ToyError};
        let registry: [&dyn Arch; 2] = [&x86_64::X86_64, &ToyArch];
        let arch = find(&registry, "toyarch").expect("found by name");
        assert_eq!(arch.name(), "toyarch");
        assert!(find(&registry, "x86_64").is_some_and(|a| a.name() == "x86_64"));
        assert!(find(&registry, "sparc64").is_none());
        // Only registered architectures are chosen for this machine.
        assert!(by_name("toyarch").is_none());

        let host = crate::sys::FakeHost::typical();
        let facts = Facts::gather(&host);
        let options = LoadOptions {
            mem_min: 0x4000_0000,
            ..LoadOptions::default()
        };
        let load = |kernel| KernelBytes {
            target: Target::Normal,
            name: "/boot/Image-toy",
            kernel,
            initrd: None,
            cmdline: b"",
            sources: &[],
        };
        let plan = arch
            .plan_kexec_load(
                &host,
                &facts,
                &load(b"TOY!kernel"),
                BootArgs::Linux,
                &options,
            )
            .expect("a toy kernel loads");
        let Plan::Load {
            segments, entry, ..
        } = &plan
        else {
            panic!("not a kexec_load plan: {plan:?}")
        };
        assert_eq!((segments[0].mem, *entry), (0x4000_0000, 0x4000_0000));

        // The toy builder's own error, worded as it words it, named by arch.
        for (kernel, args, want) in [
            (
                &b"MZ\0\0"[..],
                BootArgs::Linux,
                ToyError::Magic {
                    file: "/boot/Image-toy".into(),
                    value: "MZ\0\0".into(),
                },
            ),
            (
                &b"TOY!"[..],
                BootArgs::None,
                ToyError::NoArgs {
                    file: "/boot/Image-toy".into(),
                },
            ),
        ] {
            let e = arch
                .plan_kexec_load(&host, &facts, &load(kernel), args, &options)
                .expect_err("refused");
            assert_eq!(e.to_string(), want.to_string());
            let LoadPlanError::Build(built) = &e else {
                panic!("not a builder error: {e:?}")
            };
            assert_eq!(built.arch(), "toyarch");
            assert_eq!(built.downcast_ref::<ToyError>(), Some(&want));
            assert!(built
                .downcast_ref::<x86_64::x86_linux::BuildError>()
                .is_none());
        }
    }

    /// x86_64's builder errors reach callers through the same wrapper,
    /// word for word.
    #[test]
    fn x86_64_builder_errors_keep_their_words_and_name_x86_64() {
        use crate::plan::Target;
        use x86_64::x86_linux::BuildError;
        let host = crate::sys::FakeHost::typical();
        let facts = Facts::gather(&host);
        let load = KernelBytes {
            target: Target::Normal,
            name: "/boot/vmlinuz",
            kernel: b"not a kernel at all",
            initrd: None,
            cmdline: b"",
            sources: &[],
        };
        let e = x86_64::X86_64
            .plan_kexec_load(
                &host,
                &facts,
                &load,
                BootArgs::Linux,
                &LoadOptions::default(),
            )
            .expect_err("no kernel");
        let LoadPlanError::Build(built) = &e else {
            panic!("not a builder error: {e:?}")
        };
        assert_eq!(built.arch(), "x86_64");
        let inner = built
            .downcast_ref::<BuildError>()
            .expect("x86_64's own BuildError");
        assert!(matches!(inner, BuildError::Header { .. }), "{inner:?}");
        assert_eq!(e.to_string(), inner.to_string());
        assert!(e
            .to_string()
            .starts_with("/boot/vmlinuz cannot be booted through kexec_load: "));
    }
}
