//! The VGA for the purgatory: --reset-vga puts the card back into the
//! standard 80x25 colour text mode (BIOS mode 3) by writing its registers,
//! --console-vga prints our messages into the text buffer at 0xb8000.
//!
//! The register values are the standard mode 3 settings of the IBM VGA
//! (as tabulated in the public VGA register documentation, e.g. FreeVGA).
//! The font in plane 2 is not reloaded: after a graphics mode it may be
//! gone, and the text then shows as blocks.

use core::arch::asm;

const MISC_WRITE: u16 = 0x3c2;
const SEQ_INDEX: u16 = 0x3c4;
const GC_INDEX: u16 = 0x3ce;
const CRTC_INDEX: u16 = 0x3d4;
const ATTR_INDEX: u16 = 0x3c0;
/// Reading it resets the attribute controller's index/data flip-flop.
const INPUT_STATUS_1: u16 = 0x3da;

/// Miscellaneous output: colour I/O at 0x3d4, 28 MHz clock, 400 lines.
const MODE3_MISC: u8 = 0x67;
const MODE3_SEQ: [u8; 5] = [0x03, 0x00, 0x03, 0x00, 0x02];
const MODE3_CRTC: [u8; 25] = [
    0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
    0x9c, 0x0e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
];
const MODE3_GC: [u8; 9] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff];
const MODE3_ATTR: [u8; 21] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
    0x0c, 0x00, 0x0f, 0x08, 0x00,
];
/// CRTC 0x11 bit 7 write-protects CRTC 0-7; CRTC 0x03 bit 7 gives access
/// to the vertical retrace registers.
const CRTC_PROTECT: usize = 0x11;

fn outb(port: u16, value: u8) {
    // SAFETY: port I/O to the standard VGA registers; no memory is touched.
    unsafe { asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags)) }
}

fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: as above.
    unsafe { asm!("in al, dx", in("dx") port, out("al") value, options(nomem, nostack, preserves_flags)) }
    value
}

fn indexed(index_port: u16, index: usize, value: u8) {
    outb(index_port, index as u8);
    outb(index_port + 1, value);
}

/// Programs mode 3 and blanks the text screen.
pub fn reset_to_text_mode() {
    // Hold the sequencer in synchronous reset while the clock changes.
    indexed(SEQ_INDEX, 0, 0x01);
    outb(MISC_WRITE, MODE3_MISC);
    for (i, &v) in MODE3_SEQ.iter().enumerate().skip(1) {
        indexed(SEQ_INDEX, i, v);
    }
    indexed(SEQ_INDEX, 0, MODE3_SEQ[0]);
    // Unprotect CRTC 0-7, write them all, protection bit last as the table has it.
    indexed(CRTC_INDEX, CRTC_PROTECT, MODE3_CRTC[CRTC_PROTECT] & 0x7f);
    for (i, &v) in MODE3_CRTC.iter().enumerate() {
        let v = if i == CRTC_PROTECT { v & 0x7f } else { v };
        indexed(CRTC_INDEX, i, v);
    }
    indexed(CRTC_INDEX, CRTC_PROTECT, MODE3_CRTC[CRTC_PROTECT]);
    for (i, &v) in MODE3_GC.iter().enumerate() {
        indexed(GC_INDEX, i, v);
    }
    for (i, &v) in MODE3_ATTR.iter().enumerate() {
        inb(INPUT_STATUS_1);
        outb(ATTR_INDEX, i as u8);
        outb(ATTR_INDEX, v);
    }
    // Palette address source on: the screen shows again.
    inb(INPUT_STATUS_1);
    outb(ATTR_INDEX, 0x20);
    for cell in 0..COLS * ROWS {
        put(cell, b' ');
    }
}

const TEXT_BUFFER: usize = 0xb8000;
const COLS: usize = 80;
const ROWS: usize = 25;
/// Light grey on black.
const ATTRIBUTE: u16 = 0x07 << 8;

fn put(cell: usize, ch: u8) {
    // SAFETY: the VGA text buffer is identity-mapped device memory below
    // 1 MiB; cell < COLS * ROWS keeps us inside its 4000 bytes.
    unsafe { core::ptr::write_volatile((TEXT_BUFFER as *mut u16).add(cell), ATTRIBUTE | u16::from(ch)) }
}

fn get(cell: usize) -> u16 {
    // SAFETY: as in put.
    unsafe { core::ptr::read_volatile((TEXT_BUFFER as *const u16).add(cell)) }
}

/// Text written from the top row down, scrolling at the bottom.
pub struct TextScreen {
    row: usize,
    col: usize,
}

impl TextScreen {
    pub fn new() -> TextScreen {
        TextScreen { row: 0, col: 0 }
    }

    fn newline(&mut self) {
        // Blank the rest of the row: what was there before is not ours.
        while self.col < COLS {
            put(self.row * COLS + self.col, b' ');
            self.col += 1;
        }
        self.col = 0;
        if self.row + 1 < ROWS {
            self.row += 1;
            return;
        }
        for cell in 0..COLS * (ROWS - 1) {
            let below = get(cell + COLS);
            put(cell, below as u8);
        }
        for col in 0..COLS {
            put((ROWS - 1) * COLS + col, b' ');
        }
    }

    pub fn byte(&mut self, b: u8) {
        match b {
            b'\r' => {}
            b'\n' => self.newline(),
            _ => {
                put(self.row * COLS + self.col, b);
                self.col += 1;
                if self.col == COLS {
                    self.newline();
                }
            }
        }
    }
}
