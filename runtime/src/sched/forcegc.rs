//! The forced GC: sysmon starts a collection when none has run for two
//! minutes (Go's `forcegchelper` and sysmon's `gcTriggerTime` check).
//!
//! There is no garbage collector yet; this is the mechanism it will plug
//! into. The collector (or a test) installs what to run with
//! [`set_forcegc_hook`], and reports each finished cycle with [`gc_done`].
//!
//! ## The algorithm
//! 1. The first `set_forcegc_hook` starts the helper goroutine (Go's
//!    `forcegchelper`, started by `runtime.init`). It is a system goroutine:
//!    `mark_system_goroutine` takes it out of `num_goroutine`.
//! 2. The helper takes `FORCEGC.lock`, checks that `idle` is clear (else
//!    Go's "forcegc: phase error"), sets `idle`, and parks with wait reason
//!    `force gc (idle)`, releasing the lock only once it is Waiting
//!    (`goparkunlock`).
//! 3. sysmon's check, [`check`]: if `idle` is set and `now - last_gc >=
//!    period` (Go's `forcegcperiod`, 2 minutes; [`set_forcegc_period`] for
//!    tests), it takes the lock, checks both again (every CPU runs the check,
//!    so another may have readied the helper, which may have finished and
//!    parked meanwhile), clears `idle` and readies the helper with
//!    [`goready_irq`] (global queue, `wakep`), as sysmon's `injectglist`.
//! 4. The helper runs the hook (Go: `gcStart` with a time trigger), then goes
//!    back to step 2. A hook that did not call `gc_done` (no collector yet) is
//!    taken to have finished a cycle when it returns, so the clock restarts
//!    then and the hook runs once per period, not on every check.
//!
//! ## Where the check runs (sysmon's places)
//! There is no sysmon thread: each CPU's own interrupts do its jobs (see
//! `preempt` and `syscall`). The check runs from the timer interrupt of a CPU
//! running a goroutine (`preempt::on_timer`, at least once per time slice
//! while anything runs) and from an M that wakes from its idle halt
//! (`idle::park_m`). It costs one load while the helper is not parked or not
//! started, and two more otherwise.
//!
//! ## Invariants
//! - `idle` set ⇒ the helper is Waiting(ForceGCIdle) and nobody else will
//!   ready it: it is set under the lock, and the lock is released only after
//!   the helper is parked, so a checker that sees `idle` under the lock may
//!   ready it, exactly once (it clears `idle` first).
//! - The check never touches a run queue other than the global one (it can
//!   run in an interrupt handler: see [`goready_irq`]).
//! - Lock order: `FORCEGC.lock` → `SCHED` (the check readies the helper
//!   under its lock, as Go's sysmon injects it under `forcegc.lock`).
//!
//! ## Where we differ from Go
//! - Go's sysmon wakes at least every `forcegcperiod / 2` even when the
//!   program is idle. Here an idle machine stays tickless: nothing is armed
//!   for the forced GC, so an idle machine runs it when it next wakes for
//!   anything (a timer, an interrupt). With nothing running, nothing
//!   allocates, so there is nothing newer to collect.
//! - Go starts the clock at the first GC (`last_gc_nanotime` is zero until
//!   then, and a zero disables the trigger); with no collector, the clock
//!   starts when the helper does.
//! - The parked helper is Waiting, so `checkdead` still reports a deadlock
//!   around it, as in Go.
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

use super::g::{WaitReason, G};
use super::lock::Lock;
use super::lockrank::LockRank;
use super::m::getg;
use super::machine;
use super::proc::{go_global, gopark, goready_irq, mark_system_goroutine};
use crate::hook::Hook;

/// Go's `forcegcperiod`: the longest time between collections.
pub const FORCEGC_PERIOD_NS: u64 = 2 * 60 * 1_000_000_000;

/// Go's `forcegc` state.
struct ForceGc {
    /// Serializes the helper's parking with the checkers (Go's `forcegc.lock`).
    lock: Lock<()>,
    /// The helper goroutine (null until started).
    g: AtomicPtr<G>,
    /// The helper is parked and nobody has readied it (Go's `forcegc.idle`).
    idle: AtomicBool,
    /// The hook (`fn()` as usize; 0: none).
    hook: Hook<fn()>,
    started: AtomicBool,
    /// When the last collection finished (Go's `memstats.last_gc_nanotime`).
    last_gc: AtomicU64,
    period: AtomicU64,
    /// Times the helper ran the hook.
    forced: AtomicU64,
}

static FORCEGC: ForceGc = ForceGc {
    lock: Lock::new(LockRank::ForceGc, ()),
    g: AtomicPtr::new(ptr::null_mut()),
    idle: AtomicBool::new(false),
    hook: Hook::new(),
    started: AtomicBool::new(false),
    last_gc: AtomicU64::new(0),
    period: AtomicU64::new(FORCEGC_PERIOD_NS),
    forced: AtomicU64::new(0),
};

/// Installs what a forced GC runs (the collector's `gcStart`), starting the
/// helper goroutine on the first call.
pub fn set_forcegc_hook(hook: fn()) {
    FORCEGC.hook.set(Some(hook));
    if !FORCEGC.started.swap(true, Ordering::AcqRel) {
        gc_done(machine::nanotime());
        go_global(forcegchelper);
    }
}

/// Sets the forced-GC period (Go's `forcegcperiod`, which Go's tests also
/// change); returns the previous one.
pub fn set_forcegc_period(ns: u64) -> u64 {
    FORCEGC.period.swap(ns.max(1), Ordering::AcqRel)
}

/// A collection finished at `now`: the forced-GC clock restarts.
pub fn gc_done(now: u64) {
    FORCEGC.last_gc.store(now, Ordering::Release);
}

/// How many times the helper has run the hook.
pub fn forced_gcs() -> u64 {
    FORCEGC.forced.load(Ordering::Acquire)
}

/// Go's `forcegchelper` (steps 1, 2 and 4).
fn forcegchelper() {
    mark_system_goroutine();
    let me = getg().expect("forcegchelper runs on a goroutine");
    FORCEGC.g.store(me as *const G as *mut G, Ordering::Release);
    loop {
        let guard = FORCEGC.lock.lock();
        if FORCEGC.idle.load(Ordering::Relaxed) {
            machine::throw(format_args!("forcegc: phase error"));
        }
        FORCEGC.idle.store(true, Ordering::Release);
        gopark(WaitReason::ForceGCIdle, move |_| {
            drop(guard);
            true
        });
        // Readied by sysmon's check.
        let start = machine::nanotime();
        if let Some(hook) = FORCEGC.hook.get() {
            hook();
        }
        FORCEGC.forced.fetch_add(1, Ordering::AcqRel);
        if FORCEGC.last_gc.load(Ordering::Acquire) < start {
            gc_done(machine::nanotime());
        }
    }
}

/// sysmon's forced-GC check (step 3). Any context, interrupts included.
pub(crate) fn check(now: u64) {
    if !FORCEGC.idle.load(Ordering::Relaxed) {
        return;
    }
    let due = || now.saturating_sub(FORCEGC.last_gc.load(Ordering::Acquire)) >= FORCEGC.period.load(Ordering::Relaxed);
    if !due() {
        return;
    }
    let guard = FORCEGC.lock.lock();
    // Again under the lock: another CPU may have readied the helper since
    // our look, and it may have run, restarted the clock and parked again
    // (Go's sysmon is one thread and needs no second look).
    if !due() || !FORCEGC.idle.swap(false, Ordering::AcqRel) {
        return;
    }
    let gp = FORCEGC.g.load(Ordering::Acquire);
    // SAFETY: `idle` is set only by the helper after storing itself; Gs are never freed.
    let gp: &'static G = unsafe { &*gp };
    goready_irq(gp);
    drop(guard);
}
