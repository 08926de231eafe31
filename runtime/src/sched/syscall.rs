//! Blocking calls: Go's `entersyscall`/`exitsyscall`, with the P handed to
//! a spare core when the call lasts (sysmon's `retake`).
//!
//! [`blocking`]`(f)` runs `f` on the calling goroutine's CPU without a P:
//! 1. `entersyscall`: the G becomes `Syscall`, its P becomes `Syscall` and
//!    stays remembered in `m.oldp`; the CPU's one-shot timer is armed
//!    `RETAKE_NS` ahead.
//! 2. If that timer fires while the call still runs and the P is still
//!    `Syscall` with the same `syscalltick`, the P is retaken (Go's sysmon
//!    `retake` → `handoffp`): it goes to an idle M if it has queued work or
//!    timers (or the global queue has work), else to the idle list. Go's sysmon
//!    is a thread of its own that polls every 20 µs–10 ms; here the blocked
//!    CPU's own timer plays that part, so nothing polls while nothing blocks.
//! 3. `exitsyscall`: if the P is still ours (CAS `Syscall` → `Running`), carry
//!    on at once. Otherwise take any idle P; failing that, the G goes to the
//!    global queue and this M stops until it is handed a P (Go's
//!    `exitsyscall0`), or, if the G is locked to this M, waits in
//!    `stoplockedm` for whoever takes the G off the queue to hand it back.
//!
//! The G in a blocking call is never preempted (it holds no P), and
//! `checkdead` does not call a program with a goroutine in a blocking call
//! deadlocked.
use core::sync::atomic::Ordering;

use super::g::{GStatus, G};
use super::idle;
use super::m::getm;
use super::m::{Action, M};
use super::machine;
use super::p::{PStatus, P};
use super::proc;
use super::schedt::SCHED;

/// How long a blocking call keeps its P before a spare core may take it
/// (Go's sysmon starts at 20 µs).
const RETAKE_NS: u64 = 20_000;

/// Runs `f`, which may block for a long time, without holding a P, so the
/// other goroutines keep running (Go's `entersyscall`/`exitsyscall`).
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    entersyscall();
    let r = f();
    exitsyscall();
    r
}

fn entersyscall() {
    let irq = machine::irq_disable();
    let m = getm();
    let Some(gp) = m.curg() else { machine::throw(format_args!("entersyscall on the scheduler stack")) };
    gp.cas_status(GStatus::Running, GStatus::Syscall);
    SCHED.nsyscall.fetch_add(1, Ordering::AcqRel);
    let pp = idle::releasep(m);
    pp.syscalltick.fetch_add(1, Ordering::Relaxed);
    pp.set_status(PStatus::Syscall);
    m.oldp.store(pp as *const P as *mut P, Ordering::Release);
    super::preempt::arm(m, machine::nanotime() + RETAKE_NS);
    machine::irq_restore(irq);
}

fn exitsyscall() {
    let irq = machine::irq_disable();
    let m = getm();
    let gp = m.curg().expect("exitsyscall without a goroutine");
    let oldp = m.oldp.swap(core::ptr::null_mut(), Ordering::AcqRel);
    // SAFETY: Ps are never freed.
    let oldp: &'static P = unsafe { &*oldp };
    let pp = if oldp.cas_status(PStatus::Syscall, PStatus::Running) { Some(oldp) } else { idle::take_idle_p() };
    SCHED.nsyscall.fetch_sub(1, Ordering::AcqRel);
    match pp {
        Some(pp) => {
            idle::acquirep(m, pp);
            pp.syscalltick.fetch_add(1, Ordering::Relaxed);
            gp.cas_status(GStatus::Syscall, GStatus::Running);
            machine::irq_restore(irq);
        }
        None => {
            // No P for us: queue the G, stop this M (`exitsyscall0`).
            machine::irq_restore(irq);
            super::m::mcall(Action::ExitSyscall);
        }
    }
}

/// g0's half of a slow `exitsyscall`: `gp` waits on the global queue for a
/// P; this M stops until it is handed one.
pub(crate) fn exitsyscall0(m: &'static M, gp: &'static G) {
    gp.cas_status(GStatus::Syscall, GStatus::Runnable);
    proc::globrunqput_locked(gp);
    if m.lockedg.load(Ordering::Relaxed).is_null() {
        idle::stopm(m);
    } // else `schedule` waits in `stoplockedm` for the G to come back
}

/// Called from the timer interrupt of a CPU whose goroutine is in a blocking
/// call: retakes its P if the call has lasted (Go's `retake` for `_Psyscall`).
pub(crate) fn retake(m: &'static M) {
    let pp = m.oldp.load(Ordering::Acquire);
    if pp.is_null() {
        return;
    }
    // SAFETY: Ps are never freed.
    let pp: &'static P = unsafe { &*pp };
    if !pp.cas_status(PStatus::Syscall, PStatus::Idle) {
        return;
    }
    pp.stats.retakes.fetch_add(1, Ordering::Relaxed);
    idle::handoffp(pp);
}
