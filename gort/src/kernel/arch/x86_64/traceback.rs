//! The machine's half of goroutine dumps: it unwinds goroutine stacks and
//! names their frames for `runtime::sched::traceback`, which picks the
//! goroutines, prints Go's format and folds alike goroutines (the format
//! and an example are in that file's essay). And Ctrl+\ on the serial
//! console asks for a dump (Go's SIGQUIT).
//!
//! ## Reading a goroutine's stack ([`X86Unwinder`])
//! The runtime says where a trace starts; the registers are found here:
//! - the goroutine taking the dump: the frame pointer its caller passed;
//! - preempted asynchronously: its interrupt frame (`G::trap_frame`), a
//!   [`TrapFrame`] on its own stack, has the interrupted rip and rbp;
//! - suspended by a voluntary switch: its saved stack pointer points at the
//!   six callee-saved registers pushed by `context_switch` (r15, r14, r13,
//!   r12, rbx, rbp) and the return address: rbp is at `sp + 40`, the pc at
//!   `sp + 48`.
//!
//! From there the frame-pointer chain is walked (`backtrace::walk_reading`).
//! Every stack read goes through the page-table probe, so a racing goroutine
//! (the Ctrl+\ dump does not stop the world) can only make a trace stop
//! early, never fault. A parked goroutine whose stack page was released
//! (`stack::release`) is read from the buffer that holds its bytes.
//! Names come from the kernel's symbol table (`backtrace`).
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use runtime::sched::traceback::{self, Frame, StackStart, Unwinder};

use super::trap::{self, TrapFrame};
use super::{backtrace, ioapic, memory, percpu, serial, stack};

/// Vector of the serial console's receive interrupt.
pub const CONSOLE_VECTOR: u8 = 0x24;
/// Ctrl+\ (ASCII FS), the terminal's SIGQUIT key.
const CTRL_BACKSLASH: u8 = 0x1c;
static CONSOLE_DUMPS: AtomicU64 = AtomicU64::new(0);

/// Dumps printed because of Ctrl+\ since boot.
pub fn console_dumps() -> u64 {
    CONSOLE_DUMPS.load(Ordering::Acquire)
}

/// Writes the dump of every live goroutine. `here_rbp` starts the trace of
/// the goroutine running on this CPU (if any).
pub fn dump(out: &mut dyn Write, here_rbp: u64) {
    traceback::dump(out, here_rbp, &X86Unwinder);
}

/// Goroutine stacks unwound and named on this machine (see the module essay).
pub struct X86Unwinder;

impl Unwinder for X86Unwinder {
    fn unwind(&self, from: StackStart, frames: &mut [Frame]) -> usize {
        match from {
            StackStart::Here { fp } => walk(frames, None, fp, backtrace::read_mapped),
            StackStart::Preempted { trap_frame } => {
                let (start, end) = (trap_frame as u64, (trap_frame + core::mem::size_of::<TrapFrame>() - 8) as u64);
                if !memory::probe(start) || !memory::probe(end) {
                    return 0;
                }
                // SAFETY: a preempted goroutine's interrupt frame stays on its
                // stack until it resumes; both ends were probed just above.
                let f = unsafe { &*(trap_frame as *const TrapFrame) };
                walk(frames, Some(f.rip), f.rbp, backtrace::read_mapped)
            }
            StackStart::Switched { sp } => {
                // The layout is `context_switch`'s; a released stack is read
                // from its buffer, not faulted back in.
                let sp = sp as u64;
                match (sp != 0, read_parked(sp + 40), read_parked(sp + 48)) {
                    (true, Some(rbp), Some(pc)) => walk(frames, Some(pc), rbp, read_parked),
                    _ => 0,
                }
            }
            StackStart::Elsewhere => 0,
        }
    }

    fn write_function(&self, out: &mut dyn Write, pc: u64) -> Option<u64> {
        let (name, offset) = backtrace::symbol(pc)?;
        let _ = write!(out, "{name:#}");
        Some(offset)
    }
}

/// Fills `frames` with `pc` (if any) and the return addresses on the chain
/// from `rbp`, read through `read`; returns how many.
fn walk(frames: &mut [Frame], pc: Option<u64>, rbp: u64, read: fn(u64) -> Option<u64>) -> usize {
    let mut n = 0;
    if let (Some(pc), Some(first)) = (pc, frames.first_mut()) {
        *first = Frame::interrupted(pc);
        n = 1;
    }
    let room = backtrace::MAX_FRAMES.min(frames.len() - n);
    backtrace::walk_reading(rbp, room, read, |ret| {
        frames[n] = Frame::returning_to(ret);
        n += 1;
    });
    n
}

/// A word of a parked goroutine's stack, mapped or released.
fn read_parked(addr: u64) -> Option<u64> {
    backtrace::read_mapped(addr).or_else(|| stack::read_released(addr))
}

/// Routes the console's receive interrupt to the boot CPU: Ctrl+\ prints a
/// goroutine dump (Go's SIGQUIT prints it and exits; we keep running, so the
/// dump can be asked for again — the demos use it to watch the scheduler).
pub fn init_console_interrupt() {
    trap::set_handler(CONSOLE_VECTOR, |_| {
        let mut quit = false;
        while let Some(b) = serial::try_read() {
            quit |= b == CTRL_BACKSLASH;
        }
        if quit {
            let out = &mut serial::Console;
            let _ = writeln!(out, "SIGQUIT: goroutine dump (Ctrl+\\)");
            dump(out, backtrace::current_rbp());
            let _ = writeln!(out, "end of goroutine dump");
            CONSOLE_DUMPS.fetch_add(1, Ordering::Release);
        }
    });
    let (gsi, active_low, level) = ioapic::isa_to_gsi(4);
    let bsp = percpu::get(0).apic_id.load(Ordering::Relaxed);
    if let Err(e) = ioapic::route(gsi, CONSOLE_VECTOR, bsp, active_low, level) {
        log::warn!("console: no receive interrupt ({e}); Ctrl+\\ dumps are off");
    }
}
