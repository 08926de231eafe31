//! Asynchronous preemption from the CPU's one-shot timer (Go 1.14's
//! signal-based preemption, with the timer interrupt in place of SIGURG).
//!
//! ## How a goroutine is preempted
//! 1. `execute` arms the CPU's one-shot timer for the end of the goroutine's
//!    time slice (10 ms by default, the `slice=` boot parameter) or the P's
//!    earliest timer, whichever is first ([`arm_for_slice`]).
//! 2. The interrupt arrives on the goroutine's own stack, at any instruction.
//!    The machine layer's entry path has already saved every integer register
//!    in the interrupt frame. It asks [`on_timer`] whether to preempt.
//! 3. If yes, it saves the FPU/SSE state (FXSAVE) next to the frame and calls
//!    [`preempt_park`], which records the frame in the G (dumps and the future
//!    GC read a preempted goroutine's registers there) and `mcall`s to g0 with
//!    `Action::Preempt`: the G goes to the global run queue, as Go's
//!    `gopreempt_m` does.
//! 4. When some M runs the G again, `preempt_park` returns inside the
//!    interrupt handler, which restores the FPU state and returns from the
//!    interrupt: every register is exactly as it was.
//!
//! Go redirects the interrupted context into `asyncPreempt`, which saves the
//! registers on the goroutine stack and calls the scheduler; switching from
//! inside the handler is the same thing with the hardware's own frame as the
//! save area.
//!
//! ## When not to
//! Never while the M holds a runtime lock or preemption is disabled
//! (`m.locks > 0`, enforced by the lock type and [`PreemptOff`]): the
//! request is remembered in the CPU's `m.locks` word
//! ([`machine::request_preempt`]; the holder cannot move meanwhile) and
//! honoured when the last lock is released ([`deferred`]). A goroutine wired to its M by `lock_os_thread`
//! is preempted like any other, as in Go: it goes to the global queue, its
//! M waits in `stoplockedm`, and whoever takes it off the queue hands it
//! back (see [`super::lockosthread`]). The scheduler
//! itself (g0) is never preempted: `m.curg` is null while it runs, and it
//! switches with interrupts off.
use core::sync::atomic::Ordering;

use super::m::getm;
use super::m::{Action, M};
use super::machine::{self};
use super::p::P;
use super::schedt::SCHED;
use super::time;

/// Arms `m`'s one-shot timer for `deadline` (0 disarms), skipping the
/// (emulated, slow) timer write when it is already armed for that.
pub(crate) fn arm(m: &'static M, deadline: u64) {
    if m.armed.swap(deadline, Ordering::Relaxed) != deadline {
        machine::arm_timer(deadline);
    }
}

/// The deadline a running goroutine's CPU needs: slice end or P timer.
fn next_deadline(pp: &'static P) -> u64 {
    let end = pp.schedwhen.load(Ordering::Relaxed) + SCHED.slice_ns.load(Ordering::Relaxed);
    match pp.timer0_when.load(Ordering::Acquire) {
        0 => end,
        t => t.min(end),
    }
}

/// Arms the timer for a goroutine about to run, unless an earlier deadline
/// that has not passed is already armed (it will fire early and re-arm).
pub(crate) fn arm_for_slice(m: &'static M, pp: &'static P, now: u64) {
    let want = next_deadline(pp);
    let armed = m.armed.load(Ordering::Relaxed);
    if armed == 0 || armed > want || armed <= now {
        arm(m, want);
    }
}

/// Called by the machine layer from the timer interrupt (interrupts off).
/// True: preempt the running goroutine now (call [`preempt_park`]).
pub fn on_timer() -> bool {
    let m = getm();
    m.armed.store(0, Ordering::Relaxed);
    let Some(gp) = m.curg() else { return false }; // g0 or idle: the scheduler looks itself
    if gp.status() == super::g::GStatus::Syscall {
        super::syscall::retake(m); // in a blocking call for RETAKE_NS: its P goes
        return false;
    }
    let pp = m.p();
    let now = machine::nanotime();
    super::forcegc::check(now); // sysmon's forced-GC trigger
    let idle_due = time::idle_timers_deadline();
    if idle_due != 0 && idle_due <= now {
        super::idle::wakep();
    }
    let slice_over =
        now >= pp.schedwhen.load(Ordering::Relaxed) + SCHED.slice_ns.load(Ordering::Relaxed) || super::stw::gcwaiting();
    let when = pp.timer0_when.load(Ordering::Acquire);
    let timers_due = when != 0 && when <= now;
    if !slice_over && !timers_due {
        arm(m, next_deadline(pp));
        return false;
    }
    if m.locks() > 0 {
        machine::request_preempt();
        arm(m, now + SCHED.slice_ns.load(Ordering::Relaxed));
        return false;
    }
    // Whoever runs next on this P gets a fresh slice, even if it inherits
    // (a `runnext` chain shares one slice; once that has run out, each of its
    // goroutines would otherwise be preempted the moment it starts).
    pp.schedwhen.store(now, Ordering::Relaxed);
    true
}

/// Called by the machine layer from the wake IPI (interrupts off): true if
/// the running goroutine must stop now because the world is stopping.
pub fn on_wake() -> bool {
    let m = getm();
    let Some(gp) = m.curg() else { return false };
    if !super::stw::gcwaiting() || gp.status() == super::g::GStatus::Syscall {
        return false;
    }
    if m.locks() > 0 {
        machine::request_preempt();
        return false;
    }
    true
}

/// The preemption itself: `frame` is the interrupt frame's address, kept in
/// the G while it is off the CPU. Interrupts off; returns when the G runs again.
pub fn preempt_park(frame: usize) {
    let m = getm();
    let Some(gp) = m.curg() else { return };
    gp.trap.store(frame, Ordering::Release);
    m.p().stats.preemptions.fetch_add(1, Ordering::Relaxed);
    super::m::mcall(Action::Preempt);
    gp.trap.store(0, Ordering::Release);
}
