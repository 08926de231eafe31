//! Timers on the per-P heaps, and `sleep` (Go's time.go, Go 1.14+ design).
//!
//! ## Design
//! Every P owns a 4-ary heap of timers ([`crate::timers`]) under its own
//! `timers` lock, plus `timer0_when`, the earliest deadline, readable without
//! the lock. A timer is added to the heap of the P of the goroutine arming it,
//! so timers spread with the goroutines and no global lock is taken.
//!
//! Timers run from the scheduler, not from the interrupt (Go's
//! `checkTimers`):
//! 1. `find_runnable` runs its own P's due timers first, and, in its last steal
//!    round, every other P's (so an idle P's timers are not stranded);
//! 2. a running CPU's one-shot timer is armed for the earlier of its slice end
//!    and its P's `timer0_when`; when it fires with a timer due, the running
//!    goroutine is preempted so that the scheduler runs the timers;
//! 3. a stopped M arms its timer for the earliest timer of any idle P
//!    (tickless idle) and, when it fires, takes an idle P to run them; when
//!    no M is stopped (there are fewer free Ms than Ps while one waits for
//!    its locked goroutine), `find_runnable` runs idle Ps' due timers itself,
//!    so such a timer is at most a time slice late;
//! 4. a timer function runs with the heap's lock released (it may ready a
//!    goroutine, which takes the scheduler's locks);
//! 5. a timer added to the running P's heap ahead of the CPU's one-shot
//!    deadline brings that deadline forward, but to no less than 1 ms from
//!    now: a goroutine that adds a due timer usually parks or exits right
//!    away and the scheduler runs the timer then; one that keeps running is
//!    preempted for it at most 1 ms late instead of a whole slice.
//!
//! A timer's memory must stay put while it is in a heap: the heap holds raw
//! pointers ([`TimerRef`]). `sleep` uses the timer embedded in the G (Go's
//! `gp.timer`), and Gs are never freed.
//!
//! ## Invariants
//! - `Timer::pp` is the P id + 1 whose heap holds the timer, 0 when in none;
//!   `Timer::index` is its heap slot while there. Both change only under that
//!   P's `timers` lock; `del_timer` reads `pp` without it to find the lock,
//!   then re-checks under it.
//! - A timer function gets the `seq` its timer was armed with; the owner of
//!   a stoppable timer (`crate::time`) bumps its own sequence number on every
//!   stop and reset, so a function already popped when the owner looked can
//!   tell it is stale (Go 1.23's guarantee: no value after `Stop` returns).
//! - `P::timer0_when` equals the heap's earliest deadline (0: empty) whenever
//!   the lock is released.
use core::ptr;
use core::sync::atomic::Ordering;

use super::g::{WaitReason, G};
use super::machine::{self, IrqOff};
use super::p::{PStatus, P};
use super::proc;
use super::schedt::SCHED;
use super::timer::TimerRef;
pub use super::timer::{Timer, TimerFn};

/// Adds `t` (pinned, in no heap) to `pp`'s heap to fire `f(arg, seq)` at
/// `when` (Go's `addtimer`/`doaddtimer`). If `pp` is this M's P and the
/// timer is due before the CPU's one-shot timer, the CPU timer is brought
/// forward, so a running goroutine is interrupted for it (as the scheduler
/// runs timers only when it is entered).
///
/// # Safety
/// `t` must stay valid and unmoved until it has fired or been deleted.
pub(crate) unsafe fn add_timer(pp: &'static P, t: *mut Timer, when: u64, f: TimerFn, arg: usize, seq: u64) {
    let mut heap = pp.timers.lock();
    // SAFETY: the caller pins `t`; it is in no heap, so no one else touches it.
    unsafe {
        debug_assert_eq!((*t).pp.load(Ordering::Relaxed), 0, "add_timer: timer already in a heap");
        (*t).when = when;
        (*t).f = f;
        (*t).arg = arg;
        (*t).seq = seq;
        (*t).pp.store(pp.id + 1, Ordering::Relaxed);
    }
    heap.push(TimerRef(t));
    let earliest = heap.earliest().unwrap_or(0);
    pp.timer0_when.store(earliest, Ordering::Release);
    // Interrupts are off (the heap lock): this M is stable.
    let m = super::m::getm();
    if earliest == when && ptr::eq(m.p.load(Ordering::Relaxed), pp) && m.curg().is_some() {
        // Not sooner than TIMER_SLACK_NS from now: a goroutine that adds a
        // due timer usually parks or exits at once, and the scheduler runs
        // the timer then; the interrupt only bounds the wait behind a
        // goroutine that keeps running (and reprogramming the timer is an
        // emulated device write).
        let target = when.max(machine::nanotime() + TIMER_SLACK_NS);
        let armed = m.armed.load(Ordering::Relaxed);
        if armed == 0 || target < armed {
            super::preempt::arm(m, target);
        }
    }
}

/// How late a timer added by a running goroutine may fire when that
/// goroutine keeps the CPU (Go's bound is sysmon's 10 ms preemption).
const TIMER_SLACK_NS: u64 = 1_000_000;

/// Adds `t` to the calling M's P (see [`add_timer`]).
///
/// # Safety
/// As for [`add_timer`].
pub unsafe fn add_timer_here(t: *mut Timer, when: u64, f: TimerFn, arg: usize, seq: u64) {
    let _irq = IrqOff::new();
    let pp = super::m::getm().p();
    // SAFETY: forwarded.
    unsafe { add_timer(pp, t, when, f, arg, seq) }
}

/// Takes `t` out of whichever heap holds it (Go's `deltimer`); false if it
/// is in none (it fired, is firing, or was never added).
///
/// # Safety
/// `t` is a live timer (pinned while in a heap).
pub(crate) unsafe fn del_timer(t: *mut Timer) -> bool {
    loop {
        // SAFETY: per the contract; `pp` is atomic.
        let id = unsafe { (*t).pp.load(Ordering::Acquire) };
        if id == 0 {
            return false;
        }
        let pp = super::p::allp_get(id - 1);
        let mut heap = pp.timers.lock();
        // SAFETY: under the heap lock that guards the timer while it is here.
        unsafe {
            if (*t).pp.load(Ordering::Relaxed) != id {
                continue; // moved by a gomaxprocs change meanwhile: look again
            }
            let TimerRef(got) = heap.remove((*t).index);
            debug_assert!(ptr::eq(got, t), "del_timer: heap index out of date");
            (*t).pp.store(0, Ordering::Release);
        }
        pp.timer0_when.store(heap.earliest().unwrap_or(0), Ordering::Release);
        return true;
    }
}

/// Go's `checkTimers`: runs `pp`'s timers due at `now`; true if any ran.
pub(crate) fn check_timers(pp: &'static P, now: u64) -> bool {
    let first = pp.timer0_when.load(Ordering::Acquire);
    if first == 0 || first > now {
        return false;
    }
    let mut ran = false;
    loop {
        let mut heap = pp.timers.lock();
        let Some(TimerRef(t)) = heap.pop_due(now) else {
            pp.timer0_when.store(heap.earliest().unwrap_or(0), Ordering::Release);
            return ran;
        };
        pp.timer0_when.store(heap.earliest().unwrap_or(0), Ordering::Release);
        // SAFETY: the timer was in the heap, so it is pinned; it just left
        // the heap under the lock we hold.
        let (f, arg, seq) = unsafe {
            (*t).pp.store(0, Ordering::Release);
            ((*t).f, (*t).arg, (*t).seq)
        };
        drop(heap);
        f(arg, seq);
        ran = true;
    }
}

/// Moves every timer of `from` (a P going away) to `to`. World stopped.
pub(crate) fn move_timers(from: &'static P, to: &'static P) {
    loop {
        let Some(TimerRef(t)) = from.timers.lock().pop() else { break };
        // SAFETY: the timer was in `from`'s heap, so it is pinned; it just
        // left that heap, so resetting its owner is ours to do.
        unsafe {
            (*t).pp.store(0, Ordering::Release);
            let (when, f, arg, seq) = ((*t).when, (*t).f, (*t).arg, (*t).seq);
            add_timer(to, t, when, f, arg, seq);
        }
    }
    from.timer0_when.store(0, Ordering::Release);
}

/// The earliest timer of any idle P (0: none): what a stopped M wakes for.
pub(crate) fn idle_timers_deadline() -> u64 {
    let mut earliest = 0u64;
    for id in 0..SCHED.gomaxprocs.load(Ordering::Acquire) {
        let pp = super::p::allp_get(id);
        let when = pp.timer0_when.load(Ordering::Acquire);
        if when != 0 && pp.status() == PStatus::Idle && (earliest == 0 || when < earliest) {
            earliest = when;
        }
    }
    earliest
}

/// Runs the due timers of idle Ps (their goroutines go to the caller's P).
/// An idle P's timers are normally run by an idle M that wakes for them;
/// when every M is busy (one waits for its locked goroutine, so there are
/// fewer Ms than Ps) nobody would, so `find_runnable` calls this.
pub(crate) fn check_idle_timers(now: u64) {
    for id in 0..SCHED.gomaxprocs.load(Ordering::Acquire) {
        let pp = super::p::allp_get(id);
        let when = pp.timer0_when.load(Ordering::Acquire);
        if when != 0 && when <= now && pp.status() == PStatus::Idle {
            check_timers(pp, now);
        }
    }
}

/// Whether any P has a pending timer (`checkdead`).
pub(crate) fn any_timers() -> bool {
    (0..SCHED.gomaxprocs.load(Ordering::Acquire))
        .any(|id| super::p::allp_get(id).timer0_when.load(Ordering::Acquire) != 0)
}

fn goready_timer(arg: usize, _seq: u64) {
    // SAFETY: `sleep` passes its own G, which is never freed.
    proc::goready(unsafe { &*(arg as *const G) });
}

/// Go's `time.Sleep`: parks the calling goroutine for at least `ns`
/// nanoseconds. `sleep(0)` returns at once, as in Go.
pub fn sleep(ns: u64) {
    if ns == 0 {
        return;
    }
    let when = machine::nanotime().saturating_add(ns);
    proc::gopark(WaitReason::Sleep, |gp| {
        // On g0 (never preempted or moved); the P is this M's, `gp` is Waiting.
        let pp = super::m::getm().p();
        // SAFETY: the G's own timer: Gs are never freed, and only its G arms it
        // (the G is parked until the timer fires, so it cannot re-arm it).
        unsafe { add_timer(pp, gp.timer.get(), when, goready_timer, gp as *const G as usize, 0) };
        true
    });
}
