//! Progress on a PL011 UART (the console of QEMU's virt machine and of many
//! arm64 boards): bytes go to the data register once the transmit FIFO has
//! room. The UART is used as the old kernel left it — no reprogramming.

/// UARTDR: the data register.
const DR: usize = 0x00;
/// UARTFR: the flag register.
const FR: usize = 0x18;
/// UARTFR.TXFF: the transmit FIFO is full.
const FR_TXFF: u32 = 1 << 5;

/// The console: silent unless the loader asked for it.
pub struct Console {
    base: Option<usize>,
}

impl Console {
    /// A console on the PL011 whose registers are at `base` when `enabled`.
    pub fn new(enabled: bool, base: u64) -> Console {
        Console {
            base: (enabled && base != 0).then_some(base as usize),
        }
    }

    fn byte(&mut self, byte: u8) {
        let Some(base) = self.base else { return };
        // SAFETY: the loader named a PL011 at `base`; its registers are
        // 32-bit MMIO, read and written whole.
        unsafe {
            while core::ptr::read_volatile((base + FR) as *const u32) & FR_TXFF != 0 {}
            core::ptr::write_volatile((base + DR) as *mut u32, u32::from(byte));
        }
    }

    /// Prints `text`.
    pub fn text(&mut self, text: &[u8]) {
        for &b in text {
            if b == b'\n' {
                self.byte(b'\r');
            }
            self.byte(b);
        }
    }

    /// Prints `text` and a line end.
    pub fn line(&mut self, text: &[u8]) {
        self.text(text);
        self.text(b"\n");
    }

    /// Prints `value` as 0x and lower-case hex digits, without leading zeros.
    pub fn hex(&mut self, value: u64) {
        self.text(b"0x");
        let mut started = false;
        for shift in (0..16).rev() {
            let nibble = ((value >> (shift * 4)) & 0xf) as u8;
            if nibble != 0 || started || shift == 0 {
                started = true;
                self.byte(if nibble < 10 {
                    b'0' + nibble
                } else {
                    b'a' + nibble - 10
                });
            }
        }
    }

    /// Prints `value` in decimal.
    pub fn decimal(&mut self, mut value: u64) {
        let mut digits = [0u8; 20];
        let mut n = 0;
        loop {
            digits[n] = b'0' + (value % 10) as u8;
            n += 1;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        while n > 0 {
            n -= 1;
            self.byte(digits[n]);
        }
    }
}
