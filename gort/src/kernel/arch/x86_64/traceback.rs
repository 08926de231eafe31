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
//! ## Where we differ from Go: identical goroutines are folded
//! Go prints every goroutine in full. A serial console under TCG carries
//! about 100 paragraphs a second, so a fatal error among 20,000 parked
//! goroutines would print for minutes, which a user (or a test's timeout)
//! cannot tell from a hang. Goroutines that follow one another in the dump
//! with the same state, frames and creator as the last one printed are
//! folded into one line after it:
//! ```text
//! ... 19998 more goroutines (ids 3 to 20000) [chan receive] with the stack and creator of goroutine 2
//! ```
//! A goroutine that differs in anything but its id is printed in full.
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
    // The last goroutine printed in full, and those folded into it since.
    let (mut shown, mut run): (Option<Trace>, Run) = (None, Run::default());
    sched::g::try_for_each_g(|g| {
        let status = g.status();
        if status == GStatus::Dead || status == GStatus::Idle {
            return;
        }
        let trace = Trace::of(g, status, me == Some(g as *const sched::G), here_rbp);
        if shown.as_ref() == Some(&trace) {
            run.add(trace.goid);
            return;
        }
        if let Some(like) = &shown {
            run.flush(out, like);
        }
        trace.write(out);
        shown = Some(trace);
    });
    if let Some(like) = &shown {
        run.flush(out, like);
    }
}

/// What the dump prints of one goroutine. Two traces are equal when
/// everything but the id is: state, frames and creator.
#[derive(Clone, Copy)]
struct Trace {
    goid: u64,
    status: GStatus,
    parent: u64,
    /// Running on another CPU: no stack to show.
    elsewhere: bool,
    /// (pc printed, pc looked up): a return address is looked up at pc - 1.
    frames: [(u64, u64); backtrace::MAX_FRAMES + 1],
    len: usize,
}

impl PartialEq for Trace {
    fn eq(&self, other: &Trace) -> bool {
        self.status == other.status
            && self.parent == other.parent
            && self.elsewhere == other.elsewhere
            && self.frames[..self.len] == other.frames[..other.len]
    }
}

impl Trace {
    const EMPTY: Trace = Trace {
        goid: 0,
        status: GStatus::Dead,
        parent: 0,
        elsewhere: false,
        frames: [(0, 0); backtrace::MAX_FRAMES + 1],
        len: 0,
    };

    fn of(g: &sched::G, status: GStatus, mine: bool, here_rbp: u64) -> Trace {
        let mut t = Trace { goid: g.goid(), status, parent: g.parent_goid(), ..Trace::EMPTY };
        let trap = g.trap_frame();
        if mine {
            t.walk(None, here_rbp, backtrace::read_mapped);
        } else if trap != 0 {
            let end = trap as u64 + core::mem::size_of::<TrapFrame>() as u64 - 8;
            if memory::probe(trap as u64) && memory::probe(end) {
                // SAFETY: a preempted goroutine's interrupt frame stays on its
                // stack until it resumes; both ends were probed just above.
                let f = unsafe { &*(trap as *const TrapFrame) };
                t.walk(Some(f.rip), f.rbp, backtrace::read_mapped);
            }
        } else if status == GStatus::Running || status == GStatus::Syscall {
            t.elsewhere = true;
        } else {
            // The layout is `context_switch`'s; a released stack is read
            // from its buffer, not faulted back in.
            let sp = g.saved_sp() as u64;
            if let (true, Some(rbp), Some(pc)) = (sp != 0, read_parked(sp + 40), read_parked(sp + 48)) {
                t.walk(Some(pc), rbp, read_parked);
            }
        }
        t
    }

    fn walk(&mut self, pc: Option<u64>, rbp: u64, read: fn(u64) -> Option<u64>) {
        if let Some(pc) = pc {
            self.frames[0] = (pc, pc);
            self.len = 1;
        }
        backtrace::walk_reading(rbp, backtrace::MAX_FRAMES, read, |ret| {
            self.frames[self.len] = (ret, ret - 1);
            self.len += 1;
        });
    }

    fn write(&self, out: &mut dyn Write) {
        let _ = writeln!(out, "\ngoroutine {} [{}]:", self.goid, self.status.describe());
        if self.elsewhere {
            let _ = writeln!(out, "goroutine running on other thread; stack unavailable");
        }
        for &(pc, lookup) in &self.frames[..self.len] {
            backtrace::write_function(out, lookup);
            let _ = writeln!(out, "(...)");
            let _ = write!(out, "\t");
            backtrace::write_offset(out, lookup);
            let _ = writeln!(out, " pc={pc:#x}");
        }
        let _ = writeln!(out, "created by goroutine {}", self.parent);
    }
}

/// Goroutines folded into the one printed before them.
#[derive(Default)]
struct Run {
    count: u64,
    first: u64,
    last: u64,
}

impl Run {
    fn add(&mut self, goid: u64) {
        if self.count == 0 {
            self.first = goid;
        }
        self.count += 1;
        self.last = goid;
    }

    fn flush(&mut self, out: &mut dyn Write, like: &Trace) {
        if self.count > 0 {
            let _ = writeln!(
                out,
                "\n... {} more goroutines (ids {} to {}) [{}] with the stack and creator of goroutine {}",
                self.count,
                self.first,
                self.last,
                like.status.describe(),
                like.goid
            );
        }
        self.count = 0;
    }
}

/// A word of a parked goroutine's stack, mapped or released.
fn read_parked(addr: u64) -> Option<u64> {
    backtrace::read_mapped(addr).or_else(|| stack::read_released(addr))
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
