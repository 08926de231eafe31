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
//!    goroutine, which takes the scheduler's locks).
//!
//! A timer's memory must stay put while it is in a heap: the heap holds raw
//! pointers ([`TimerRef`]). `sleep` uses the timer embedded in the G (Go's
//! `gp.timer`), and Gs are never freed.
//!
//! ## Invariants
//! - `Timer::pp` is the P id + 1 whose heap holds the timer, 0 when in none;
//!   `Timer::index` is its heap slot while there. Both change only under that
//!   P's `timers` lock.
//! - `P::timer0_when` equals the heap's earliest deadline (0: empty) whenever
//!   the lock is released.
use core::sync::atomic::Ordering;

use super::g::{WaitReason, G};
use super::machine;
use super::p::{PStatus, P};
use super::proc::{self, GOMAXPROCS};
use crate::timers::HeapItem;

/// A one-shot timer: at `when`, `f(arg)` runs on some M's scheduler stack.
pub struct Timer {
    pub(crate) when: u64,
    f: fn(usize),
    arg: usize,
    index: usize,
    pp: usize,
}

impl Timer {
    pub const fn new() -> Timer {
        Timer { when: 0, f: |_| {}, arg: 0, index: 0, pp: 0 }
    }
}

impl Default for Timer {
    fn default() -> Self {
        Self::new()
    }
}

/// What a heap stores: a pointer to a pinned [`Timer`].
pub struct TimerRef(*mut Timer);

// SAFETY: a TimerRef lives only inside a P's heap, under its lock; the timer
// it points to is pinned and accessed under that lock.
unsafe impl Send for TimerRef {}

impl HeapItem for TimerRef {
    fn when(&self) -> u64 {
        // SAFETY: the timer is pinned while in a heap, and we hold the heap's lock.
        unsafe { (*self.0).when }
    }
    fn set_index(&mut self, index: usize) {
        // SAFETY: as above.
        unsafe { (*self.0).index = index };
    }
}

/// Adds `t` (pinned, in no heap) to `pp`'s heap to fire `f(arg)` at `when`
/// (Go's `addtimer`/`doaddtimer`).
///
/// # Safety
/// `t` must stay valid and unmoved until it has fired or been deleted.
pub(crate) unsafe fn add_timer(pp: &'static P, t: *mut Timer, when: u64, f: fn(usize), arg: usize) {
    let mut heap = pp.timers.lock();
    // SAFETY: the caller pins `t`; it is in no heap, so no one else touches it.
    unsafe {
        debug_assert_eq!((*t).pp, 0, "add_timer: timer already in a heap");
        (*t).when = when;
        (*t).f = f;
        (*t).arg = arg;
        (*t).pp = pp.id + 1;
    }
    heap.push(TimerRef(t));
    pp.timer0_when.store(heap.earliest().unwrap_or(0), Ordering::Release);
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
        let (f, arg) = unsafe {
            (*t).pp = 0;
            ((*t).f, (*t).arg)
        };
        drop(heap);
        f(arg);
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
            (*t).pp = 0;
            let (when, f, arg) = ((*t).when, (*t).f, (*t).arg);
            add_timer(to, t, when, f, arg);
        }
    }
    from.timer0_when.store(0, Ordering::Release);
}

/// The earliest timer of any idle P (0: none): what a stopped M wakes for.
pub(crate) fn idle_timers_deadline() -> u64 {
    let mut earliest = 0u64;
    for id in 0..GOMAXPROCS.load(Ordering::Acquire) {
        let pp = proc::allp_get(id);
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
    for id in 0..GOMAXPROCS.load(Ordering::Acquire) {
        let pp = proc::allp_get(id);
        let when = pp.timer0_when.load(Ordering::Acquire);
        if when != 0 && when <= now && pp.status() == PStatus::Idle {
            check_timers(pp, now);
        }
    }
}

/// Whether any P has a pending timer (`checkdead`).
pub(crate) fn any_timers() -> bool {
    (0..GOMAXPROCS.load(Ordering::Acquire)).any(|id| proc::allp_get(id).timer0_when.load(Ordering::Acquire) != 0)
}

fn goready_timer(arg: usize) {
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
        let pp = proc::getm().p();
        // SAFETY: the G's own timer: Gs are never freed, and only its G arms it
        // (the G is parked until the timer fires, so it cannot re-arm it).
        unsafe { add_timer(pp, gp.timer.get(), when, goready_timer, gp as *const G as usize) };
        true
    });
}
