//! The serial console (COM1, 16550 UART): the kernel's only output device.
//!
//! Every CPU writes through one [`IrqLock`], so lines from different CPUs never
//! interleave mid-line, and an interrupt handler that logs cannot deadlock
//! against the code it interrupted on the same CPU.
//!
//! The fatal-error path must print even if the lock is held, perhaps by the
//! very CPU that faulted inside `write`: [`force_write`] waits a bounded time
//! for the lock, then writes without it (garbled output beats no report);
//! [`Console`] is `force_write` as a `core::fmt::Write`.
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

use uart_16550::SerialPort;

use super::sync::IrqLock;
use runtime::sched::LockRank;

const COM1: u16 = 0x3f8;

// SAFETY: COM1 is the standard first serial port of the PC platform; QEMU's q35
// machine provides it, and nothing else in the kernel drives these ports.
static PORT: IrqLock<SerialPort> = IrqLock::new(LockRank::Console, unsafe { SerialPort::new(COM1) });

/// Programs the UART (115200 8N1, FIFOs on). Call once on the boot CPU.
pub fn init() {
    PORT.lock().init();
}

/// Writes formatted text to the console, holding the console lock (the
/// formatting runs under it: a goroutine's stack is mapped for it first).
pub fn write_fmt(args: fmt::Arguments<'_>) {
    super::memory::prefault_own_stack();
    let _ = PORT.lock().write_fmt(args);
}

/// Set once `force_write` has given up on the lock: a CPU stopped while
/// holding it never releases it, so later writes go straight to the port
/// instead of waiting again for every fragment of the report.
static LOCK_ABANDONED: AtomicBool = AtomicBool::new(false);

/// Writes even if another context holds the console lock (fatal errors only).
pub fn force_write(args: fmt::Arguments<'_>) {
    if !LOCK_ABANDONED.load(Ordering::Relaxed) {
        if let Some(mut port) = PORT.try_lock_for_spins(50_000_000) {
            let _ = port.write_fmt(args);
            return;
        }
        LOCK_ABANDONED.store(true, Ordering::Relaxed);
    }
    // SAFETY: same port as `PORT`; we only get here when the holder is
    // stuck (e.g. a CPU stopped by the fatal path while printing). Concurrent
    // register writes can garble characters, never memory.
    let mut port = unsafe { SerialPort::new(COM1) };
    let _ = port.write_fmt(args);
}

/// The console for `write!` in fatal paths: every write goes through
/// [`force_write`].
pub struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        force_write(format_args!("{s}"));
        Ok(())
    }
}

/// A byte from the console, if one is waiting (for Ctrl+\ handling later).
pub fn try_read() -> Option<u8> {
    PORT.lock().try_receive().ok()
}

/// `print!` to the serial console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::kernel::arch::serial::write_fmt(format_args!($($arg)*)));
}

/// `println!` to the serial console.
#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::kernel::arch::serial::write_fmt(format_args!("{}\n", format_args!($($arg)*))));
}
