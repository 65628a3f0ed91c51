//! bzImage64 on the kexec_load path: a relocatable protected-mode kernel
//! after (setup_sects + 1) * 512 bytes of real-mode code, placed at
//! kernel_alignment with init_size reserved, entered at startup_64
//! (load address + 0x200).

use super::x86_linux::{layout, BootArgs, BuildError, Kernel, LinuxBoot};
use crate::image::bzimage::SetupHeader;
use crate::layout::PAGE_SIZE;

/// startup_64 sits 0x200 into the protected-mode kernel.
pub const STARTUP_64: u64 = 0x200;

/// Checks what our loader needs of the setup header (boot.rst): the same
/// signature the kernel's probe wants, and a relocatable 64-bit kernel.
pub fn check_header(file: &str, kernel: &[u8], h: &SetupHeader) -> Result<(), BuildError> {
    let err = |why: String| {
        Err(BuildError::Header {
            file: file.to_string(),
            why,
        })
    };
    if let Some(why) = crate::image::bzimage64::refusal(kernel) {
        return err(why);
    }
    if h.relocatable_kernel == 0 {
        return err(format!(
            "relocatable_kernel (offset {:#x}) is 0: it can only run at its link address",
            crate::image::bzimage::offset::RELOCATABLE_KERNEL
        ));
    }
    if !h.kernel_alignment.is_power_of_two() {
        return err(format!(
            "kernel_alignment {:#x} is not a power of two",
            h.kernel_alignment
        ));
    }
    if h.init_size == 0 {
        return err("init_size is 0".into());
    }
    if let Some(why) = crate::image::bzimage64::truncated(kernel.len() as u64, h) {
        return err(format!("it is truncated: {why}"));
    }
    Ok(())
}

/// The boot description of a bzImage64 file's bytes.
pub fn describe<'a>(
    file: &'a str,
    kernel: &'a [u8],
    initrd: Option<&'a [u8]>,
    cmdline: &'a [u8],
) -> Result<LinuxBoot<'a>, BuildError> {
    let header = SetupHeader::read(kernel).ok_or_else(|| BuildError::Header {
        file: file.into(),
        why: format!(
            "it is {} bytes long, too short for an x86 setup header",
            kernel.len()
        ),
    })?;
    check_header(file, kernel, &header)?;
    // check_header refused files shorter than their real-mode part; still,
    // no slice of file data without a bounds check.
    let data = kernel
        .get(header.real_mode_size() as usize..)
        .ok_or_else(|| BuildError::Header {
            file: file.into(),
            why: format!(
                "it is {} bytes, shorter than its real-mode part ({} bytes)",
                kernel.len(),
                header.real_mode_size()
            ),
        })?;
    Ok(LinuxBoot {
        file,
        setup_header: kernel,
        kernel: Kernel::Relocatable {
            data,
            memsz: u64::from(header.init_size).max(data.len() as u64),
            align: u64::from(header.kernel_alignment).max(PAGE_SIZE),
            min: layout::KERNEL_MIN.max(header.pref_address.min(layout::INITRD_MIN)),
            entry_offset: STARTUP_64,
            entered: super::x86_linux::Entered::Decompressor,
        },
        args: BootArgs::Linux,
        initrd,
        cmdline,
    })
}
