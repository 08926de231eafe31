//! Goroutine dumps in Go's format: after every fatal error, and on demand
//! when Ctrl+\ arrives on the serial console (Go's SIGQUIT).
//!
//! ```text
//! goroutine 1 [sync.WaitGroup.Wait]:
//! runtime::sched::proc::gopark(...)
//!         +0x5e pc=0xffffffff80031a4e
//! kernel::selftest::sched::deadlock(...)
//!         +0x31 pc=0xffffffff8001f2c1
//! created by goroutine 0
//! ```
//! One paragraph per live goroutine, in creation order: id, state (the wait
//! reason for a parked one), the symbolized frames, and who started it.
//!
//! ## Where a goroutine's stack starts
//! - The goroutine that is reporting: the caller's frame pointer.
//! - Suspended by a voluntary switch: its saved stack pointer points at the
//!   six callee-saved registers pushed by `context_switch` (r15, r14, r13,
//!   r12, rbx, rbp) and the return address: rbp is at `sp + 40`, the pc at
//!   `sp + 48`.
//! - Preempted asynchronously: its interrupt frame (`G::trap_frame`) has the
//!   interrupted rip and rbp.
//! - Running on another CPU: Go prints "goroutine running on other thread;
//!   stack unavailable", and so do we (the other CPUs are stopped by NMI on a
//!   fatal error, but their registers are not recorded anywhere we can read).
//!
//! Every stack read goes through the backtrace walker's probe, so a racing
//! goroutine (the Ctrl+\ dump does not stop the world) can only make a trace
//! stop early, never fault. A parked goroutine whose stack page was released
//! (`stack::release`) is read from the buffer that holds its bytes.
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use runtime::sched::{self, GStatus};

use super::trap::TrapFrame;
use super::{backtrace, ioapic, memory, serial, stack, trap};

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
    let me = sched::getg().map(|g| g as *const sched::G);
    sched::g::try_for_each_g(|g| {
        let status = g.status();
        if status == GStatus::Dead || status == GStatus::Idle {
            return;
        }
        let _ = writeln!(out, "\ngoroutine {} [{}]:", g.goid(), status.describe());
        let trap = g.trap_frame();
        if me == Some(g as *const sched::G) {
            frames(out, None, here_rbp, backtrace::read_mapped);
        } else if trap != 0 {
            let end = trap as u64 + core::mem::size_of::<TrapFrame>() as u64 - 8;
            if memory::probe(trap as u64) && memory::probe(end) {
                // SAFETY: a preempted goroutine's interrupt frame stays on its
                // stack until it resumes; both ends were probed just above.
                let f = unsafe { &*(trap as *const TrapFrame) };
                frames(out, Some(f.rip), f.rbp, backtrace::read_mapped);
            }
        } else if status == GStatus::Running || status == GStatus::Syscall {
            let _ = writeln!(out, "goroutine running on other thread; stack unavailable");
        } else {
            // The layout is `context_switch`'s; a released stack is read
            // from its buffer, not faulted back in.
            let sp = g.saved_sp() as u64;
            if let (true, Some(rbp), Some(pc)) = (sp != 0, read_parked(sp + 40), read_parked(sp + 48)) {
                frames(out, Some(pc), rbp, read_parked);
            }
        }
        let _ = writeln!(out, "created by goroutine {}", g.parent_goid());
    });
}

/// A word of a parked goroutine's stack, mapped or released.
fn read_parked(addr: u64) -> Option<u64> {
    backtrace::read_mapped(addr).or_else(|| stack::read_released(addr))
}

fn frames(out: &mut dyn Write, pc: Option<u64>, rbp: u64, read: fn(u64) -> Option<u64>) {
    let line = |out: &mut dyn Write, pc: u64, lookup: u64| {
        backtrace::write_function(out, lookup);
        let _ = writeln!(out, "(...)");
        let _ = write!(out, "\t");
        backtrace::write_offset(out, lookup);
        let _ = writeln!(out, " pc={pc:#x}");
    };
    if let Some(pc) = pc {
        line(out, pc, pc);
    }
    backtrace::walk_reading(rbp, backtrace::MAX_FRAMES, read, |ret| line(out, ret, ret - 1));
}

/// Which goroutine owns stack slot `slot` (for the stack-overflow message).
pub fn goroutine_of_slot(slot: usize) -> Option<u64> {
    let mut found = None;
    sched::g::try_for_each_g(|g| {
        if g.stack_bounds().is_some_and(|s| s.id == slot) && g.status() != GStatus::Dead {
            found = Some(g.goid());
        }
    });
    found
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
            let out = &mut super::fault::Console;
            let _ = writeln!(out, "SIGQUIT: goroutine dump (Ctrl+\\)");
            dump(out, backtrace::current_rbp());
            let _ = writeln!(out, "end of goroutine dump");
            CONSOLE_DUMPS.fetch_add(1, Ordering::Release);
        }
    });
    let (gsi, active_low, level) = ioapic::isa_to_gsi(4);
    let bsp = super::percpu::get(0).apic_id.load(Ordering::Relaxed);
    if let Err(e) = ioapic::route(gsi, CONSOLE_VECTOR, bsp, active_low, level) {
        log::warn!("console: no receive interrupt ({e}); Ctrl+\\ dumps are off");
    }
}
