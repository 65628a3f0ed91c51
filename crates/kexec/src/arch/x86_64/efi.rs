//! Handing UEFI over to the next kernel on the kexec_load path, so it keeps
//! EFI runtime services: the running kernel's efi_info, the runtime memory
//! map (/sys/firmware/efi/runtime-map, with the virtual addresses already
//! set up) and a SETUP_EFI node with the firmware's table addresses. The
//! next kernel sees SETUP_EFI and maps the runtime regions where this one did.

use super::zero_page::offset;
use crate::memory::parse_hex as hex;
use crate::sys::Host;

/// Where sysfs shows the running kernel's EFI state.
pub const EFI_DIR: &str = "/sys/firmware/efi";
/// The EFI runtime memory map as the running kernel set it up.
pub const RUNTIME_MAP: &str = "/sys/firmware/efi/runtime-map";
/// efi_memory_desc_t: type u32, pad u32, phys u64, virt u64, pages u64, attribute u64.
pub const MEMDESC_SIZE: usize = 40;
/// `struct efi_setup_data`: fw_vendor, runtime, tables, smbios, `reserved[8]`.
pub const SETUP_DATA_SIZE: usize = 96;

/// What the next kernel needs to keep using EFI runtime services: the
/// zero page's efi_info, the SETUP_EFI node's addresses and the runtime map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EfiHandover {
    /// The running kernel's efi_info (boot_params 0x1c0, 32 bytes).
    pub info: [u8; 32],
    /// Physical address of the firmware vendor string (efi_setup_data.fw_vendor).
    pub fw_vendor: u64,
    /// Physical address of the EFI runtime services table.
    pub runtime: u64,
    /// Physical address of the EFI configuration table (sysfs `config_table`).
    pub tables: u64,
    /// Physical address of the SMBIOS entry point, 0 when there is none.
    pub smbios: u64,
    /// The runtime map as efi_memory_desc_t entries.
    pub runtime_map: Vec<u8>,
    /// ACPI 2.0 (or 1.0) RSDP from the EFI system table, for acpi_rsdp_addr.
    pub acpi_rsdp: Option<u64>,
}

/// "SMBIOS=0x7f8f1000" among the lines of /sys/firmware/efi/systab.
fn systab_value(systab: &str, key: &str) -> Option<u64> {
    systab.lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|v| v.strip_prefix('='))
            .and_then(hex)
    })
}

impl EfiHandover {
    /// What this machine's EFI looks like, or why it cannot be handed over.
    pub fn gather(host: &dyn Host, boot_params: Option<&[u8]>) -> Result<EfiHandover, String> {
        let systab = host
            .read_text(&format!("{EFI_DIR}/systab"))
            .map_err(|_| "not booted through UEFI (no /sys/firmware/efi/systab)".to_string())?;
        let bp = boot_params
            .filter(|b| b.len() >= 0x1e0)
            .ok_or("/sys/kernel/boot_params/data is not readable")?;
        let mut info = [0u8; 32];
        info.copy_from_slice(&bp[offset::EFI_INFO..offset::EFI_INFO + 32]);
        // bp holds at least 0x1e0 bytes (filtered above) and every field read
        // here ends below 0x1e0: neither the slice nor the conversion can fail.
        let u32_at = |at: usize| u32::from_le_bytes(bp[at..at + 4].try_into().unwrap());
        if u32_at(offset::EFI_MEMMAP_SIZE) == 0 {
            return Err("the running kernel's efi_info is empty".into());
        }
        if u32_at(offset::EFI_MEMDESC_VERSION) != 1 {
            return Err(format!(
                "EFI memory descriptor version {} (only 1 is defined)",
                u32_at(offset::EFI_MEMDESC_VERSION)
            ));
        }
        let value = |name: &str| {
            host.read_text(&format!("{EFI_DIR}/{name}"))
                .ok()
                .and_then(|t| hex(&t))
                .ok_or(format!("{EFI_DIR}/{name} is missing or not a hex address"))
        };
        let entries = host
            .list_dir(RUNTIME_MAP)
            .map_err(|_| format!("{RUNTIME_MAP} is missing (CONFIG_EFI_RUNTIME_MAP)"))?;
        let mut runtime_map = Vec::with_capacity(entries.len() * MEMDESC_SIZE);
        for entry in &entries {
            let field = |name: &str| {
                let path = format!("{RUNTIME_MAP}/{entry}/{name}");
                host.read_text(&path)
                    .ok()
                    .and_then(|t| hex(&t))
                    .ok_or(format!("{path} is missing or not hex"))
            };
            runtime_map.extend_from_slice(&(field("type")? as u32).to_le_bytes());
            runtime_map.extend_from_slice(&0u32.to_le_bytes());
            for name in ["phys_addr", "virt_addr", "num_pages", "attribute"] {
                runtime_map.extend_from_slice(&field(name)?.to_le_bytes());
            }
        }
        if runtime_map.is_empty() {
            return Err(format!("{RUNTIME_MAP} has no entries"));
        }
        Ok(EfiHandover {
            info,
            fw_vendor: value("fw_vendor")?,
            runtime: value("runtime")?,
            tables: value("config_table")?,
            smbios: systab_value(&systab, "SMBIOS3")
                .or_else(|| systab_value(&systab, "SMBIOS"))
                .unwrap_or(0),
            runtime_map,
            acpi_rsdp: systab_value(&systab, "ACPI20").or_else(|| systab_value(&systab, "ACPI")),
        })
    }

    /// The SETUP_EFI node's payload (struct efi_setup_data).
    pub fn setup_data(&self) -> Vec<u8> {
        let mut d = vec![0u8; SETUP_DATA_SIZE];
        for (i, v) in [self.fw_vendor, self.runtime, self.tables, self.smbios]
            .iter()
            .enumerate()
        {
            d[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        d
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sys::FakeHost;

    /// An OVMF-like machine: efi_info in boot_params, systab, runtime map.
    pub fn efi_host() -> (FakeHost, Vec<u8>) {
        let mut host = FakeHost::typical();
        host.set(
            "/sys/firmware/efi/systab",
            "ACPI20=0x7fb7e014\nACPI=0x7fb7e000\nSMBIOS=0x7f8f1000\n",
        );
        host.set("/sys/firmware/efi/fw_vendor", "0x7f8eb018\n");
        host.set("/sys/firmware/efi/runtime", "0x7f8eab98\n");
        host.set("/sys/firmware/efi/config_table", "0x7f8ea018\n");
        for (i, (kind, phys, pages)) in [(5, "0x7f8e0000", "0x10"), (6, "0x7f900000", "0x20")]
            .iter()
            .enumerate()
        {
            let dir = format!("{RUNTIME_MAP}/{i}");
            host.set(&format!("{dir}/type"), &format!("0x{kind:x}\n"));
            host.set(&format!("{dir}/phys_addr"), &format!("{phys}\n"));
            host.set(
                &format!("{dir}/virt_addr"),
                &format!("0xfffffffeff{i}00000\n"),
            );
            host.set(&format!("{dir}/num_pages"), &format!("{pages}\n"));
            host.set(&format!("{dir}/attribute"), "0x800000000000000f\n");
        }
        let mut bp = vec![0u8; 4096];
        bp[offset::EFI_INFO..offset::EFI_INFO + 4].copy_from_slice(b"EL64");
        bp[offset::EFI_SYSTAB..offset::EFI_SYSTAB + 4]
            .copy_from_slice(&0x7f8ea018u32.to_le_bytes());
        bp[offset::EFI_MEMDESC_SIZE..offset::EFI_MEMDESC_SIZE + 4]
            .copy_from_slice(&48u32.to_le_bytes());
        bp[offset::EFI_MEMDESC_VERSION..offset::EFI_MEMDESC_VERSION + 4]
            .copy_from_slice(&1u32.to_le_bytes());
        bp[offset::EFI_MEMMAP_SIZE..offset::EFI_MEMMAP_SIZE + 4]
            .copy_from_slice(&(48u32 * 100).to_le_bytes());
        (host, bp)
    }

    #[test]
    fn gathers_the_handover() {
        let (host, bp) = efi_host();
        let efi = EfiHandover::gather(&host, Some(&bp)).unwrap();
        assert_eq!(&efi.info[..4], b"EL64");
        assert_eq!(efi.runtime_map.len(), 2 * MEMDESC_SIZE);
        assert_eq!(
            u32::from_le_bytes(efi.runtime_map[40..44].try_into().unwrap()),
            6
        );
        assert_eq!(
            u64::from_le_bytes(efi.runtime_map[48..56].try_into().unwrap()),
            0x7f90_0000
        );
        assert_eq!(efi.smbios, 0x7f8f_1000);
        assert_eq!(efi.acpi_rsdp, Some(0x7fb7_e014));
        let sd = efi.setup_data();
        assert_eq!(
            u64::from_le_bytes(sd[16..24].try_into().unwrap()),
            0x7f8e_a018
        );
    }

    #[test]
    fn bios_machines_have_none() {
        let host = FakeHost::typical();
        let err = EfiHandover::gather(&host, Some(&[0u8; 4096])).unwrap_err();
        assert!(err.contains("not booted through UEFI"));
    }
}
