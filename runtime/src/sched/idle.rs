//! Idle Ps and Ms: who gets a P, who halts, and who wakes whom (Go's
//! `pidleput`/`pidleget`, `mput`/`mget`, `startm`, `wakep`, `stopm`,
//! `handoffp`, `acquirep`/`releasep`).
//!
//! ## Stopped Ms
//! A stopped M is a halted CPU on the idle-M mask (`SCHED.midle`); it sleeps
//! with `sti; hlt` until an IPI or its one-shot timer, which it arms only for
//! the earliest timer of an idle P (tickless idle: no timer, no interrupt).
//! An M stopped for its locked goroutine (`stoplockedm`, see
//! [`super::lockosthread`]) is *not* on the mask: no `startm` may hand it a P
//! for other work; `SCHED.nmidlelocked` counts it for `checkdead` instead.
//!
//! ## The hand-off protocol (Go's `m.nextp` and `m.park` note)
//! 1. The waker chooses the M under `SCHED` (taking it off the idle mask), or
//!    owns it otherwise (`startlockedm`: the M is waiting for its G);
//! 2. it stores the P in `m.nextp`, then sets `m.wakeup` (Release) and sends
//!    the wake IPI ([`notewakeup`]);
//! 3. the M, halted with interrupts off between its check of `m.wakeup` and
//!    `hlt` (`sti; hlt` is atomic), wakes, swaps `m.wakeup` to false
//!    (Acquire, pairing with 2) and takes `m.nextp` with [`acquirep`].
//!
//! ## Waking Ms for new work (Go's `wakep`)
//! `wakep` runs when work becomes runnable (a goroutine readied or started,
//! or put on the global queue by `gosched` or a preemption, as Go's
//! `goschedImpl` does): if a P is idle and nobody spins,
//! it makes one M spinning, hands it an idle P and wakes it. Spinners are
//! bounded as in Go: at most half the busy Ps. When every CPU is busy there is
//! no M to start (Go would make a thread): `startm` leaves the P idle, its
//! queued goroutines moved to the global queue, where every M looks.
//!
//! ## A P its M cannot use (Go's `handoffp`)
//! An M that must stop while holding a P (its locked goroutine blocked, or its
//! goroutine is in a long blocking call and the P was retaken) hands the P on:
//! to an M if there is work (its queue, the global queue, its timers) or if
//! nobody is spinning or idle; to the stop-the-world if one is waiting; else
//! to the idle list. Under `SCHED`, so a stop-the-world that sets
//! `GCWAITING` (also under `SCHED`) either sees the P on the idle list or
//! is seen by us.
use core::ptr;
use core::sync::atomic::Ordering;

use super::g::G;
use super::m::{M, MS};
use super::machine;
use super::p::allp_get;
use super::p::{PStatus, P};
use super::proc::{checkdead, globrunqput};
use super::schedt::{Sched, SCHED};
use super::time;

pub(crate) fn pidleput(sched: &mut Sched, pp: &'static P) {
    debug_assert!(pp.runq.is_empty(), "pidleput: P has a non-empty run queue");
    pp.set_status(PStatus::Idle);
    pp.m.store(0, Ordering::Relaxed);
    sched.pidle |= 1 << pp.id;
    SCHED.npidle.fetch_add(1, Ordering::AcqRel);
}

pub(crate) fn pidleget(sched: &mut Sched) -> Option<&'static P> {
    if sched.pidle == 0 {
        return None;
    }
    let id = sched.pidle.trailing_zeros() as usize;
    sched.pidle &= !(1 << id);
    SCHED.npidle.fetch_sub(1, Ordering::AcqRel);
    Some(allp_get(id))
}

/// Go's `acquirep`.
pub(crate) fn acquirep(m: &'static M, pp: &'static P) {
    pp.set_status(PStatus::Running);
    pp.m.store(m.id + 1, Ordering::Relaxed);
    m.p.store(pp as *const P as *mut P, Ordering::Release);
}

/// Go's `releasep`.
pub(crate) fn releasep(m: &'static M) -> &'static P {
    let pp = m.p();
    m.p.store(ptr::null_mut(), Ordering::Release);
    pp.m.store(0, Ordering::Relaxed);
    pp
}

/// Go's `wakep`: if a P is idle and nobody is spinning, start a spinning M.
pub fn wakep() {
    if SCHED.npidle.load(Ordering::Acquire) == 0 || SCHED.nmspinning.load(Ordering::Acquire) != 0 {
        return;
    }
    if SCHED.nmspinning.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed).is_err() {
        return;
    }
    startm(None, true);
}

/// Go's `startm`: gives `pp` (or an idle P) to an idle M and wakes it.
pub(crate) fn startm(pp: Option<&'static P>, spinning: bool) {
    let mut sched = SCHED.lock();
    let pp = match pp.or_else(|| pidleget(&mut sched)) {
        Some(pp) => pp,
        None => {
            drop(sched);
            if spinning {
                SCHED.nmspinning.fetch_sub(1, Ordering::AcqRel);
            }
            return;
        }
    };
    let Some(m) = midleget(&mut sched) else {
        // Every CPU is busy (Go would make a thread): the P waits on the idle
        // list, and whatever it had queued moves to the global queue, where
        // every M looks (thieves skip idle Ps, and `pidleput` wants them empty).
        // SAFETY: the P was handed to us or taken from the idle list: no M owns it.
        let q = unsafe { pp.runq.owner() };
        q.drain(|g| {
            // SAFETY: run queues hold 'static G pointers.
            globrunqput(&mut sched, unsafe { &*(g as *const G) });
        });
        if super::stw::gcwaiting() {
            super::stw::gcstopp(pp); // the stopper counted it as running
        } else {
            pidleput(&mut sched, pp);
        }
        drop(sched);
        if spinning {
            SCHED.nmspinning.fetch_sub(1, Ordering::AcqRel);
        }
        return;
    };
    drop(sched);
    notewakeup(m, pp, spinning);
}

/// Hands `pp` to the stopped `m` and wakes it.
pub(crate) fn notewakeup(m: &'static M, pp: &'static P, spinning: bool) {
    m.spinning.store(spinning, Ordering::Relaxed);
    m.nextp.store(pp as *const P as *mut P, Ordering::Relaxed);
    m.wakeup.store(true, Ordering::Release);
    machine::wake(m.id);
}

fn midleget(sched: &mut Sched) -> Option<&'static M> {
    if sched.midle == 0 {
        return None;
    }
    let id = sched.midle.trailing_zeros() as usize;
    sched.midle &= !(1 << id);
    Some(&MS[id])
}

/// Go's `stopm`: parks this M (halts the CPU) until `startm` hands it a P,
/// or until an idle P's timer is due. Returns holding a P.
pub(crate) fn stopm(m: &'static M) {
    {
        let mut sched = SCHED.lock();
        // Go's `startm` makes a new M when none is idle; we cannot make a CPU,
        // so it leaves the P idle and its work on the global queue (see
        // there). An M that was on its way here at that moment was on neither
        // list: it must look now, under the same lock, or both would wait for
        // each other forever (seen as a rare hang with GOMAXPROCS=1 and a
        // blocking call whose P was retaken).
        if !sched.runq.is_empty() && !super::stw::gcwaiting() {
            if let Some(pp) = pidleget(&mut sched) {
                drop(sched);
                acquirep(m, pp);
                return;
            }
        }
        sched.midle |= 1 << m.id;
        checkdead(&sched);
    }
    park_m(m);
}

/// Puts `m` on the idle-M mask (Go's `mput`), then checks for deadlock.
pub(crate) fn mput(m: &'static M) {
    let mut sched = SCHED.lock();
    sched.midle |= 1 << m.id;
    checkdead(&sched);
}

/// The waiting half of `stopm`: `m` is on the idle mask already.
pub(crate) fn park_m(m: &'static M) {
    loop {
        let irq = machine::irq_disable();
        if m.wakeup.swap(false, Ordering::Acquire) {
            machine::irq_restore(irq);
            break;
        }
        // The background scavenger runs on idle CPUs (`heap/scavenger.rs`):
        // a step now if due (interrupts on), and the timer wakes us when the
        // next one is (at once if work is left), so due timers are checked
        // between steps.
        if irq && crate::heap::scavenger::due_at() <= machine::nanotime() {
            machine::irq_restore(irq);
            crate::heap::scavenger::run(machine::nanotime());
            machine::irq_disable();
            if m.wakeup.swap(false, Ordering::Acquire) {
                machine::irq_restore(irq);
                break;
            }
        }
        let deadline = time::idle_timers_deadline();
        let wake = match (deadline, crate::heap::scavenger::due_at()) {
            (0, u64::MAX) => 0, // nothing to wake for: disarmed
            (0, at) => at,
            (at, scavenge) => at.min(scavenge),
        };
        super::preempt::arm(m, wake);
        machine::halt();
        machine::irq_restore(irq);
        super::forcegc::check(machine::nanotime()); // sysmon's forced-GC trigger
        if deadline != 0 && machine::nanotime() >= deadline && !m.wakeup.load(Ordering::Acquire) {
            // An idle P's timer is due: take a P and look (find_runnable runs
            // every P's due timers when it steals).
            let mut sched = SCHED.lock();
            if sched.midle & (1 << m.id) != 0 {
                if let Some(pp) = pidleget(&mut sched) {
                    sched.midle &= !(1 << m.id);
                    drop(sched);
                    m.spinning.store(true, Ordering::Relaxed);
                    SCHED.nmspinning.fetch_add(1, Ordering::AcqRel);
                    acquirep(m, pp);
                    return;
                }
            }
        }
    }
    let pp = m.nextp.swap(ptr::null_mut(), Ordering::Acquire);
    assert!(!pp.is_null(), "stopm: woken without a P");
    // SAFETY: Ps are never freed.
    acquirep(m, unsafe { &*pp });
}

/// Go's `resetspinning`.
pub(crate) fn resetspinning(m: &'static M) {
    m.spinning.store(false, Ordering::Relaxed);
    let before = SCHED.nmspinning.fetch_sub(1, Ordering::AcqRel);
    assert!(before > 0, "resetspinning: negative nmspinning");
    wakep();
}

/// An idle P, if any (for `exitsyscall`).
pub(crate) fn take_idle_p() -> Option<&'static P> {
    let mut sched = SCHED.lock();
    pidleget(&mut sched)
}

/// Go's `handoffp`: `pp`, released by an M that cannot use it, goes where
/// it is needed (see the module essay). `pp` is held by no M.
pub(crate) fn handoffp(pp: &'static P) {
    if !pp.runq.is_empty() || SCHED.runqsize.load(Ordering::Acquire) > 0 || pp.timer0_when.load(Ordering::Acquire) != 0
    {
        startm(Some(pp), false);
        return;
    }
    // No local work: keep one M spinning if nobody spins or idles, so work
    // readied meanwhile is found (Go's check, to the letter).
    if SCHED.nmspinning.load(Ordering::Acquire) + SCHED.npidle.load(Ordering::Acquire) == 0
        && SCHED.nmspinning.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    {
        startm(Some(pp), true);
        return;
    }
    let mut sched = SCHED.lock();
    if super::stw::gcwaiting() {
        super::stw::gcstopp(pp);
        return;
    }
    if !sched.runq.is_empty() {
        drop(sched);
        startm(Some(pp), false);
        return;
    }
    pidleput(&mut sched, pp);
}
