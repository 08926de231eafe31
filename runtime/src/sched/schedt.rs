//! Go's `schedt`: the scheduler's global state, in one annotated struct,
//! [`SCHED`]. Part of the bottom layer (see `mod.rs`).
//!
//! ## What guards what
//! - The fields of [`Sched`] (global run queue, idle P and M sets, the
//!   global free list of dead Gs) are reached only through [`Schedt::lock`]
//!   (Go's `sched.lock`, rank `sched`): the guard is the proof, and
//!   functions that need the lock take `&mut Sched`.
//! - The counters beside it are atomics, read without the lock where a
//!   racy answer is enough (the fast paths of `wakep`, `find_runnable`,
//!   `num_goroutine`); each says below which writes it pairs with or whether
//!   its writers hold the lock.
//!
//! Go keeps `midle`, `pidle` and `runq` in `schedt` under `sched.lock` too,
//! and `npidle`, `nmspinning`, `gcwaiting`, `stopwait` beside them as atomics
//! or under the lock; we follow it, with bit sets for the idle lists (Ms and
//! Ps are at most 64 and never freed).
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicUsize};

use super::g::GQueue;
use super::lock::{Lock, LockGuard};
use super::lockrank::LockRank;

/// The part of the global state under `sched.lock`.
pub(crate) struct Sched {
    /// The global run queue.
    pub(crate) runq: GQueue,
    /// Idle Ps, by id.
    pub(crate) pidle: u64,
    /// Idle (halted) Ms, by CPU.
    pub(crate) midle: u64,
    /// Ms stopped in `stoplockedm`, waiting for their locked goroutine (Go's
    /// `nmidlelocked`; idle for `checkdead`). May dip below zero for a moment:
    /// `startlockedm` can count the M out before it has counted itself in.
    pub(crate) nmidlelocked: i32,
    /// Dead Gs beyond the per-P free lists.
    pub(crate) gfree: GQueue,
}

/// The global scheduler state (Go's `schedt`, the variable `sched`).
pub(crate) struct Schedt {
    lock: Lock<Sched>,
    /// `runq.len()`, written under the lock, read without it.
    pub(crate) runqsize: AtomicUsize,
    /// Idle Ps (`pidle`'s count), written under the lock, read without it.
    pub(crate) npidle: AtomicU32,
    /// Ms spinning for work (Go's `nmspinning`): at most one `wakep` at a
    /// time starts another; CAS from 0 in `wakep`, decremented by the
    /// spinner that finds work or gives up.
    pub(crate) nmspinning: AtomicU32,
    /// Live goroutines, system goroutines excluded (Go's `gcount`).
    pub(crate) ngoroutine: AtomicI64,
    /// The number of Ps in use; changed only with the world stopped.
    pub(crate) gomaxprocs: AtomicUsize,
    /// Ms that entered the scheduler (`mstart`).
    pub(crate) mcount: AtomicU32,
    /// The main goroutine was started: `go` may `wakep`.
    pub(crate) main_started: AtomicBool,
    /// Goroutines in blocking calls (`checkdead` must not call them deadlocked).
    pub(crate) nsyscall: AtomicI64,
    /// Gs waiting for something only an interrupt can provide (netpoll,
    /// console): `checkdead` must not call them deadlocked either.
    pub(crate) nexternal_waiters: AtomicI64,
    /// The time slice in nanoseconds (`timeslice=`).
    pub(crate) slice_ns: AtomicU64,
    /// A stop-the-world is in progress: every M must park its P (Go's
    /// `gcwaiting`). Set and cleared under the lock.
    pub(crate) gcwaiting: AtomicBool,
    /// Ps that have not stopped yet for the stop-the-world (Go's `stopwait`).
    pub(crate) stopwait: AtomicI32,
}

impl Schedt {
    /// Go's `lock(&sched.lock)`.
    #[inline]
    pub(crate) fn lock(&self) -> LockGuard<'_, Sched> {
        self.lock.lock()
    }
}

pub(crate) static SCHED: Schedt = Schedt {
    lock: Lock::new(
        LockRank::Sched,
        Sched { runq: GQueue::new(), pidle: 0, midle: 0, nmidlelocked: 0, gfree: GQueue::new() },
    ),
    runqsize: AtomicUsize::new(0),
    npidle: AtomicU32::new(0),
    nmspinning: AtomicU32::new(0),
    ngoroutine: AtomicI64::new(0),
    gomaxprocs: AtomicUsize::new(1),
    mcount: AtomicU32::new(0),
    main_started: AtomicBool::new(false),
    nsyscall: AtomicI64::new(0),
    nexternal_waiters: AtomicI64::new(0),
    slice_ns: AtomicU64::new(10_000_000),
    gcwaiting: AtomicBool::new(false),
    stopwait: AtomicI32::new(0),
};
