//! The purgatory's console: a 16550 UART (--console-serial) and/or the VGA
//! text screen (--console-vga).

use crate::vga::TextScreen;
use core::arch::asm;

const THR: u16 = 0; // transmit holding register
const IER: u16 = 1; // interrupt enable
const FCR: u16 = 2; // FIFO control
const LCR: u16 = 3; // line control
const MCR: u16 = 4; // modem control
const LSR: u16 = 5; // line status
const LCR_DLAB: u8 = 0x80;
const LCR_8N1: u8 = 0x03;
const LSR_THR_EMPTY: u8 = 0x20;

pub struct Console {
    port: Option<u16>,
    vga: Option<TextScreen>,
}

fn outb(port: u16, value: u8) {
    // SAFETY: port I/O to the UART the user named; no memory is touched.
    unsafe { asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags)) }
}

fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: as above.
    unsafe { asm!("in al, dx", in("dx") port, out("al") value, options(nomem, nostack, preserves_flags)) }
    value
}

impl Console {
    /// A console on `port` at 115200/`divisor` baud (when `serial`), on the
    /// VGA text screen (when `vga`), or a silent one.
    pub fn new(serial: bool, port: u16, divisor: u16, vga: bool) -> Console {
        let vga = vga.then(TextScreen::new);
        if !serial || port == 0 {
            return Console { port: None, vga };
        }
        let divisor = if divisor == 0 { 1 } else { divisor };
        outb(port + IER, 0);
        outb(port + LCR, LCR_DLAB);
        outb(port + THR, divisor as u8);
        outb(port + IER, (divisor >> 8) as u8);
        outb(port + LCR, LCR_8N1);
        outb(port + FCR, 0x07);
        outb(port + MCR, 0x03);
        Console { port: Some(port), vga }
    }

    fn byte(&mut self, b: u8) {
        if let Some(screen) = &mut self.vga {
            screen.byte(b);
        }
        if let Some(port) = self.port {
            // Bounded wait: a missing UART must not hang the boot.
            for _ in 0..100_000 {
                if inb(port + LSR) & LSR_THR_EMPTY != 0 {
                    break;
                }
            }
            outb(port + THR, b);
        }
    }

    pub fn text(&mut self, s: &[u8]) {
        for &b in s {
            if b == b'\n' {
                self.byte(b'\r');
            }
            self.byte(b);
        }
    }

    pub fn line(&mut self, s: &[u8]) {
        self.text(s);
        self.text(b"\n");
    }

    pub fn hex(&mut self, value: u64) {
        self.text(b"0x");
        let mut started = false;
        for shift in (0..16).rev() {
            let nibble = ((value >> (shift * 4)) & 0xf) as u8;
            if nibble != 0 || started || shift == 0 {
                started = true;
                self.byte(if nibble < 10 { b'0' + nibble } else { b'a' + nibble - 10 });
            }
        }
    }

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
