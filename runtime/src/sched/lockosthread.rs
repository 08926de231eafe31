//! Wiring a goroutine to its M: Go's `LockOSThread`/`UnlockOSThread`, and
//! the scheduler's half of it (`stoplockedm`, `startlockedm`).
//!
//! Here an M is a CPU, so [`lock_os_thread`] pins the calling goroutine to
//! the core it is running on: until the matching [`unlock_os_thread`], that
//! goroutine runs only on this CPU, and this CPU runs no other goroutine. A
//! caller that programs per-CPU state (a local APIC register, a per-core
//! device queue, MSRs) needs exactly that guarantee.
//!
//! ## State
//! - `g.locked`: the nesting count (Go's `m.lockedExt`). `lock_os_thread`
//!   adds one, `unlock_os_thread` takes one away (none: no-op, as in Go);
//!   the wiring lasts while it is above zero.
//! - `g.lockedm` (CPU + 1) and `m.lockedg`: the wiring itself (Go's
//!   `dolockOSThread` sets both, `dounlockOSThread` clears both). Only the
//!   goroutine changes them, on its own CPU with interrupts off, so while it
//!   is not running they are stable, and any M that takes it off a run queue
//!   reads `g.lockedm` safely (the queue's hand-over orders the reads after
//!   the goroutine's last writes).
//!
//! ## The algorithm (Go's proc.go)
//! 1. A locked goroutine is an ordinary goroutine for everything else: it is
//!    preempted, parks, sleeps, yields, makes blocking calls, and goes on
//!    whatever run queue or wait list any goroutine would.
//! 2. When it leaves the CPU (parked, yielded, preempted, or back from a
//!    blocking call with no P), its M comes back to the top of `schedule`,
//!    finds `m.lockedg` set and calls [`stoplockedm`] instead of looking for
//!    work: it releases its P and hands it on (`handoffp`: to another M if
//!    there is work or nobody spins, to a waiting stop-the-world, else to the
//!    idle list), counts itself in `nmidlelocked` (running `checkdead`), and
//!    halts until it is handed a P (`m.nextp`, `m.wakeup`, the wake IPI: the
//!    same note `startm` uses). It is not on the idle-M mask, so no one
//!    hands it a P for anything else, and it arms no timer (tickless).
//! 3. Whoever takes the goroutine off a run queue (any M, in `find_runnable`:
//!    its own queue, the global one, a steal) sees `g.lockedm` naming another
//!    M and calls [`startlockedm`]: it counts that M out of `nmidlelocked`,
//!    gives it its own P (`nextp` + wake) and stops itself (`stopm`), to be
//!    started again like any idle M.
//! 4. The locked M wakes, acquires the P and executes its goroutine.
//! 5. Unlocking clears the wiring; the next time the goroutine leaves the CPU,
//!    its M looks for work as usual, and the goroutine may run anywhere.
//! 6. A locked goroutine that exits unwires its M, which carries on.
//!
//! ## Invariants
//! - `m.lockedg == g` iff `g.lockedm == m + 1` (outside the goroutine's own
//!   interrupts-off sections).
//! - An M with `m.lockedg` set runs no goroutine but that one: it reaches
//!   `find_runnable` only with `m.lockedg` clear.
//! - A locked M waiting in `stoplockedm` holds no P and is counted once in
//!   `nmidlelocked` (transiently the count may be decremented first).
//! - `m.nextp` of a waiting locked M is written only by `startlockedm`, once
//!   per wait; a second writer is a fatal error ("startlockedm: m has p").
//!
//! ## Stop the world and deadlock detection
//! A locked M in `stoplockedm` holds no P, so a stop-the-world has nothing to
//! wait for there; its P was handed on and is stopped wherever it went (an
//! M's `gcstopm`, the idle list, or `handoffp`'s own check under `SCHED`). A
//! locked goroutine running during a stop is preempted like any other (the
//! wake IPI), and its M then hands the P to the stopper. `checkdead` counts
//! the waiting locked M as idle, so a program whose only live goroutine is a
//! parked locked one is still reported as deadlocked.
//!
//! ## Where we differ from Go
//! - Go counts the nesting on the M (`m.lockedExt`, plus `m.lockedInt` for
//!   the runtime's own internal locking); here the count lives on the G
//!   (`g.locked`): an M has at most one locked G, so they are equivalent, and
//!   the runtime has no internal lockers yet.
//! - When a locked goroutine exits, Go destroys its thread rather than let
//!   the thread's possibly altered state leak to other goroutines. A CPU
//!   cannot be destroyed: the M is unwired and goes back to scheduling, so
//!   per-CPU state the goroutine changed stays changed. Goroutines that
//!   alter such state must restore it before unlocking or exiting.
//! - Go's `LockOSThread` also starts a template thread (so new Ms are not
//!   cloned from a locked thread's state); Ms are never created here.
use core::ptr;
use core::sync::atomic::Ordering;

use super::g::{GStatus, G};
use super::idle::{acquirep, handoffp, notewakeup, releasep, stopm};
use super::m::getm;
use super::m::{M, MS};
use super::machine::{self, IrqOff};
use super::proc::checkdead;
use super::schedt::SCHED;

/// Go's `runtime.LockOSThread`: wires the calling goroutine to its M (this
/// CPU) until as many [`unlock_os_thread`] calls. Calls nest.
pub fn lock_os_thread() {
    let _irq = IrqOff::new();
    let m = getm();
    let Some(gp) = m.curg() else { machine::throw(format_args!("lock_os_thread on the scheduler stack")) };
    if gp.locked.load(Ordering::Relaxed) == u32::MAX {
        machine::throw(format_args!("lock_os_thread nesting overflow"));
    }
    gp.locked.fetch_add(1, Ordering::Relaxed);
    dolockosthread(m, gp);
}

/// Go's `dolockOSThread`: interrupts off, `gp` running on `m`.
fn dolockosthread(m: &'static M, gp: &'static G) {
    m.lockedg.store(gp as *const G as *mut G, Ordering::Release);
    gp.lockedm.store(m.id + 1, Ordering::Release);
}

/// Go's `runtime.UnlockOSThread`: undoes one [`lock_os_thread`]; the last
/// one unwires the goroutine. Without a matching lock it does nothing.
pub fn unlock_os_thread() {
    let _irq = IrqOff::new();
    let m = getm();
    let Some(gp) = m.curg() else { machine::throw(format_args!("unlock_os_thread on the scheduler stack")) };
    if gp.locked.load(Ordering::Relaxed) == 0 {
        return;
    }
    if gp.locked.fetch_sub(1, Ordering::Relaxed) == 1 {
        dounlockosthread(m, gp);
    }
}

/// Go's `dounlockOSThread`.
fn dounlockosthread(m: &'static M, gp: &'static G) {
    m.lockedg.store(ptr::null_mut(), Ordering::Release);
    gp.lockedm.store(0, Ordering::Release);
}

/// Whether the calling goroutine is wired to its M (Go's `lockedOSThread`).
pub fn locked_os_thread() -> bool {
    let _irq = IrqOff::new();
    let m = getm();
    m.curg().is_some_and(|gp| gp.lockedm.load(Ordering::Relaxed) != 0 && m.lockedg().is_some())
}

/// The M `gp` is wired to, if any (`gp` not running: its wiring is stable).
pub(crate) fn lockedm(gp: &'static G) -> Option<&'static M> {
    match gp.lockedm.load(Ordering::Acquire) {
        0 => None,
        id => Some(&MS[id - 1]),
    }
}

/// Go's `goexit0` for a locked goroutine: the M is unwired and carries on
/// (Go would destroy the thread; a CPU stays).
pub(crate) fn unwire_on_exit(m: &'static M, gp: &'static G) {
    if gp.lockedm.load(Ordering::Relaxed) != 0 {
        gp.locked.store(0, Ordering::Relaxed);
        dounlockosthread(m, gp);
    }
}

/// Go's `stoplockedm`: `m`'s locked goroutine is not running; hand the P on
/// and wait until someone hands one back along with the goroutine (step 2).
/// Returns holding a P, the goroutine Runnable and ready for `execute`.
pub(crate) fn stoplockedm(m: &'static M) {
    let gp = m.lockedg().expect("stoplockedm without a locked goroutine");
    if lockedm(gp).is_none_or(|lm| !ptr::eq(lm, m)) {
        machine::throw(format_args!("stoplockedm: inconsistent locking"));
    }
    if !m.p.load(Ordering::Relaxed).is_null() {
        handoffp(releasep(m));
    }
    incidlelocked(1);
    // Go's `mPark`: only `startlockedm` sets our note.
    loop {
        let irq = machine::irq_disable();
        if m.wakeup.swap(false, Ordering::Acquire) {
            machine::irq_restore(irq);
            break;
        }
        super::preempt::arm(m, 0); // tickless: nothing to wake for but the goroutine
        machine::halt();
        machine::irq_restore(irq);
    }
    if gp.status() != GStatus::Runnable {
        machine::throw(format_args!("stoplockedm: goroutine {} is {:?}, not runnable", gp.goid(), gp.status()));
    }
    let pp = m.nextp.swap(ptr::null_mut(), Ordering::Acquire);
    assert!(!pp.is_null(), "stoplockedm: woken without a P");
    // SAFETY: Ps are never freed.
    acquirep(m, unsafe { &*pp });
}

/// Go's `startlockedm`: `gp`, just taken off a run queue by `m`, is wired to
/// another M: give that M our P and stop (step 3). Returns holding a P.
pub(crate) fn startlockedm(m: &'static M, gp: &'static G) {
    let lm = lockedm(gp).expect("startlockedm: goroutine not locked");
    if ptr::eq(lm, m) {
        machine::throw(format_args!("startlockedm: locked to me"));
    }
    if !lm.nextp.load(Ordering::Acquire).is_null() {
        machine::throw(format_args!("startlockedm: m has p"));
    }
    incidlelocked(-1);
    let pp = releasep(m);
    notewakeup(lm, pp, false);
    stopm(m);
}

/// Go's `incidlelocked`: counts a locked M in (`v` = 1, then `checkdead`) or
/// out (`v` = -1) of the Ms `checkdead` treats as idle.
fn incidlelocked(v: i32) {
    let mut sched = SCHED.lock();
    sched.nmidlelocked += v;
    if v > 0 {
        checkdead(&sched);
    }
}
