//! QEMU's platform devices: `isa-debug-exit` (the verdict) and `fw_cfg`
//! (the boot parameters).
//!
//! ## Exit
//! Writing `v` to port 0xf4 makes QEMU exit with status `(v << 1) | 1`: the
//! runner (`boot/src/lib.rs`) reads 33 as pass and 35 as fail. On a machine
//! without the device the write does nothing, and we halt forever with
//! interrupts off instead of returning into a kernel that has finished.
//!
//! ## fw_cfg
//! The runner passes boot parameters as the fw_cfg file `opt/gort/cmdline`
//! (`-fw_cfg name=opt/gort/cmdline,string=...`). Protocol: write a 16-bit
//! selector to port 0x510, read the item's bytes from port 0x511. Selector 0
//! reads the signature "QEMU"; selector 0x19 is the file directory: a
//! big-endian u32 count, then 64-byte entries (be32 size, be16 selector,
//! u16 reserved, 56-byte NUL-padded name).
use x86_64::instructions::port::Port;

/// The kernel's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitCode {
    Success = 0x10,
    Failure = 0x11,
}

/// Ends the run. Never returns.
pub fn exit(code: ExitCode) -> ! {
    // SAFETY: port 0xf4 is QEMU's isa-debug-exit (the runner always adds it);
    // writing it has no effect on memory.
    unsafe { Port::<u32>::new(0xf4).write(code as u32) };
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

// fw_cfg's I/O ports and well-known items.
const SELECTOR: u16 = 0x510;
const DATA: u16 = 0x511;
const SIGNATURE: u16 = 0x0000;
const FILE_DIR: u16 = 0x0019;

fn select(item: u16) {
    // SAFETY: fw_cfg's selector port; only this module uses it, on the boot CPU.
    unsafe { Port::<u16>::new(SELECTOR).write(item) };
}

fn read_bytes(buf: &mut [u8]) {
    let mut port = Port::<u8>::new(DATA);
    for b in buf {
        // SAFETY: fw_cfg's data port, after a selector write.
        *b = unsafe { port.read() };
    }
}

/// Why a fw_cfg file could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// No fw_cfg device (not QEMU).
    NoDevice,
    /// The file exists but is larger than the buffer; carries its size.
    TooLarge(usize),
}

/// Reads fw_cfg file `name` into `buf`; `Ok(None)` if there is no such file.
pub fn read_file(name: &str, buf: &mut [u8]) -> Result<Option<usize>, Error> {
    let mut sig = [0u8; 4];
    select(SIGNATURE);
    read_bytes(&mut sig);
    if &sig != b"QEMU" {
        return Err(Error::NoDevice);
    }
    select(FILE_DIR);
    let mut word = [0u8; 4];
    read_bytes(&mut word);
    let count = u32::from_be_bytes(word);
    for _ in 0..count {
        let mut entry = [0u8; 64];
        read_bytes(&mut entry);
        let size = u32::from_be_bytes(entry[0..4].try_into().unwrap()) as usize;
        let selector = u16::from_be_bytes(entry[4..6].try_into().unwrap());
        let raw = &entry[8..];
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        if &raw[..end] == name.as_bytes() {
            if size > buf.len() {
                return Err(Error::TooLarge(size));
            }
            select(selector);
            read_bytes(&mut buf[..size]);
            return Ok(Some(size));
        }
    }
    Ok(None)
}
