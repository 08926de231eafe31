//! Stopping the world, and `gomaxprocs(n)` on top of it (Go's
//! `stopTheWorldWithSema`, `startTheWorldWithSema`, `procresize`).
//!
//! ## Stop
//! 1. Disable preemption of the calling goroutine (it must keep its P), take
//!    `WORLDSEMA` (one stopper at a time; a loser re-enables preemption,
//!    yields and retries), and set `GCWAITING`. Preemption is off from the
//!    moment the semaphore is won: a winner descheduled before it stops the
//!    world would leave every other stopper yielding behind it.
//! 2. Under `SCHED`: the caller's own P, every idle P and every P left by a
//!    blocking call become `GcStop`;
//!    `STOPWAIT` counts the Ps still running goroutines.
//! 3. Every other CPU gets an IPI. Its handler preempts the running goroutine
//!    (unless it holds a runtime lock: then the release does it), and the
//!    scheduler, seeing `GCWAITING` at the top of `find_runnable` or just
//!    before `execute`, parks its P as `GcStop` (`gcstopm`), decrements
//!    `STOPWAIT` and stops the M. A P whose M is spinning or about to halt
//!    stops the same way. A P let go of by an M that cannot use it (its
//!    locked goroutine blocked, a retake, `startm` finding no M) is stopped
//!    on the spot under `SCHED` (`gcstopp`, from `handoffp`/`startm`); an M
//!    waiting for its locked goroutine holds no P and is not waited for.
//! 4. The stopper spins until `STOPWAIT` is zero, re-sending the IPIs every
//!    100 µs (a CPU that was between checks when the first one came). The
//!    pause is measured from step 1 to here and returned.
//!
//! ## Start
//! Under `SCHED`: resize the Ps if asked, clear `GCWAITING`, put every
//! stopped P but the caller's on the idle list, then start an M for each P
//! with queued work and `wakep` for the rest.
//!
//! ## Resize (`procresize`, world stopped)
//! New Ps are allocated (never freed, as Go's `allp`). A P beyond the new
//! count gives its local run queue to the global queue, its dead Gs to the
//! global free list and its timers to a surviving P, and becomes `Dead`. If
//! the caller's own P goes away, the caller continues on P0.
//!
//! What the garbage collector will add: its stop reasons, and running its
//! mark-termination work between stop and start.
use core::sync::atomic::{AtomicBool, Ordering};

use super::idle;
use super::m::getm;
use super::m::{PreemptOff, M};
use super::machine;
use super::p::{PStatus, MAX_P, P};
use super::proc;
use super::schedt::SCHED;

/// Held by the goroutine that stopped the world (Go's `worldsema`).
static WORLDSEMA: AtomicBool = AtomicBool::new(false);

/// Whether the scheduler must stop at its next look (cheap; checked often).
#[inline]
pub(crate) fn gcwaiting() -> bool {
    SCHED.gcwaiting.load(Ordering::Acquire)
}

/// The world stopped: proof for `start_the_world`.
pub struct Stopped {
    _preempt_off: PreemptOff,
    /// Nanoseconds it took to stop every P.
    pub pause_ns: u64,
}

/// Go's `stopTheWorld`: returns once every P but the caller's is stopped.
pub fn stop_the_world() -> Stopped {
    // Preemption goes off before the semaphore is won: a winner preempted
    // between the two would wait at the tail of the global queue while every
    // other stopper yielded behind it.
    let preempt_off = loop {
        let preempt_off = PreemptOff::new();
        if WORLDSEMA.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            break preempt_off;
        }
        drop(preempt_off);
        proc::gosched();
    };
    let t0 = machine::nanotime();
    let me = {
        let _irq = machine::IrqOff::new();
        getm()
    };
    {
        let mut sched = SCHED.lock();
        SCHED.gcwaiting.store(true, Ordering::Release);
        let procs = SCHED.gomaxprocs.load(Ordering::Acquire);
        let mut stopwait = procs as i32 - 1;
        me.p().set_status(PStatus::GcStop);
        while let Some(pp) = idle::pidleget(&mut sched) {
            pp.set_status(PStatus::GcStop);
            stopwait -= 1;
        }
        // Ps left behind by blocking calls stop where they are; their Ms
        // find them gone at `exitsyscall` and wait.
        for id in 0..procs {
            if super::p::allp_get(id).cas_status(PStatus::Syscall, PStatus::GcStop) {
                stopwait -= 1;
            }
        }
        SCHED.stopwait.store(stopwait, Ordering::Release);
    }
    let mut last_kick = 0;
    while SCHED.stopwait.load(Ordering::Acquire) > 0 {
        let now = machine::nanotime();
        if now - last_kick > 100_000 {
            preempt_all(me.id);
            last_kick = now;
        }
        core::hint::spin_loop();
    }
    Stopped { _preempt_off: preempt_off, pause_ns: machine::nanotime() - t0 }
}

/// IPIs every CPU but `me`: its interrupt handler sees `GCWAITING`.
fn preempt_all(me: usize) {
    for cpu in 0..machine::ncpu() {
        if cpu != me {
            machine::wake(cpu);
        }
    }
}

/// Go's `gcstopm`: this M parks its P for the stopper and stops.
pub(crate) fn gcstopm(m: &'static M) {
    let pp = idle::releasep(m);
    pp.set_status(PStatus::GcStop);
    if m.spinning.swap(false, Ordering::Relaxed) {
        SCHED.nmspinning.fetch_sub(1, Ordering::AcqRel);
    }
    // On the idle mask before the stopper can see us stopped: `start_the_world`
    // hands Ps with queued work to idle Ms, and must find this one.
    idle::mput(m);
    SCHED.stopwait.fetch_sub(1, Ordering::AcqRel);
    idle::park_m(m);
}

/// A P whose M let go of it while the world is stopping is stopped in its
/// place (Go's `handoffp` under `gcwaiting`). `SCHED` held, `GCWAITING` set.
pub(crate) fn gcstopp(pp: &'static P) {
    pp.set_status(PStatus::GcStop);
    SCHED.stopwait.fetch_sub(1, Ordering::AcqRel);
}

/// Go's `startTheWorld`, resizing to `procs` Ps first if given.
pub fn start_the_world(stopped: Stopped, procs: Option<usize>) {
    let me = {
        let _irq = machine::IrqOff::new();
        getm()
    };
    let mut with_work: [Option<&'static P>; MAX_P] = [None; MAX_P];
    {
        let mut sched = SCHED.lock();
        if let Some(n) = procs {
            procresize(&mut sched, me, n);
        }
        let mine = me.p();
        mine.set_status(PStatus::Running);
        for (id, slot) in with_work.iter_mut().enumerate().take(SCHED.gomaxprocs.load(Ordering::Acquire)) {
            let pp = super::p::allp_get(id);
            if core::ptr::eq(pp, mine) || pp.status() != PStatus::GcStop {
                continue;
            }
            if pp.runq.is_empty() {
                idle::pidleput(&mut sched, pp);
            } else {
                pp.set_status(PStatus::Idle);
                *slot = Some(pp);
            }
        }
        SCHED.gcwaiting.store(false, Ordering::Release);
    }
    for pp in with_work.iter().flatten() {
        idle::startm(Some(pp), false);
    }
    idle::wakep();
    WORLDSEMA.store(false, Ordering::Release);
    drop(stopped);
}

/// Go's `procresize`. World stopped, `SCHED` held.
fn procresize(sched: &mut super::schedt::Sched, me: &'static M, n: usize) {
    let n = n.clamp(1, MAX_P);
    let old = SCHED.gomaxprocs.load(Ordering::Acquire);
    for id in old..n {
        let pp = super::p::allp_alloc(id);
        pp.set_status(PStatus::GcStop);
    }
    for id in n..old {
        let pp = super::p::allp_get(id);
        // SAFETY: the world is stopped: no M holds this P or touches its queue.
        let q = unsafe { pp.runq.owner() };
        q.drain(|g| {
            // SAFETY: run queues hold 'static G pointers.
            proc::globrunqput(sched, unsafe { &*(g as *const super::G) });
        });
        proc::gfree_to_global(sched, pp);
        super::time::move_timers(pp, super::p::allp_get(id % n));
        crate::heap::flush_p(pp);
        pp.set_status(PStatus::Dead);
    }
    if me.p().id >= n {
        idle::releasep(me);
        idle::acquirep(me, super::p::allp_get(0));
    }
    SCHED.gomaxprocs.store(n, Ordering::Release);
}

/// Go's `runtime.GOMAXPROCS(n)`: sets the number of Ps (clamped to 1..=CPUs)
/// while goroutines run, and returns the previous value; `n == 0` only reads.
pub fn gomaxprocs(n: usize) -> usize {
    let prev = SCHED.gomaxprocs.load(Ordering::Acquire);
    if n == 0 {
        return prev;
    }
    let n = n.min(machine::ncpu());
    if n == prev {
        return prev;
    }
    let stopped = stop_the_world();
    start_the_world(stopped, Some(n));
    prev
}
