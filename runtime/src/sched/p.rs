//! P: the processor a goroutine needs (the CPU that runs it, the M, is `m.rs`).
//!
//! ## P (Go's `p`, runtime2.go)
//! GOMAXPROCS Ps exist; an M runs goroutines only while it holds one. A P owns
//! a local run queue (256 slots plus `runnext`, [`crate::runq`]), a free list
//! of dead Gs, and a 4-ary heap of timers ([`crate::timers`]). Ps are
//! allocated once and never freed (`gomaxprocs` shrinking marks them `Dead`),
//! so `&'static P` is always valid, as Go's `allp` entries are. Room is left
//! for what the garbage collector will hang here: an mcache, a write-barrier
//! buffer, a share of mark work.
//!
//! States: `Idle` (on the idle list, empty run queue; its timers may still be
//! pending, and idle Ms wake for them), `Running` (held by an M), `Syscall`
//! (its M is in a blocking call; sysmon may take it), `GcStop` (parked for a
//! stop-the-world), `Dead` (beyond GOMAXPROCS).
//!
use alloc::boxed::Box;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use super::g::GQueue;
use super::lock::Lock;
use super::lockrank::LockRank;
use super::timer::TimerRef;
use crate::runq::RunQueue;
use crate::timers::TimerHeap;

/// Most CPUs (Ms) the runtime handles; the kernel's per-CPU table matches.
pub const MAX_M: usize = 64;
/// Most Ps (GOMAXPROCS is clamped to the CPU count, so this is also 64).
pub const MAX_P: usize = 64;
/// Local run queue slots (Go: 256).
pub const RUNQ_SIZE: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PStatus {
    Idle = 0,
    Running = 1,
    Syscall = 2,
    /// Stopped for a stop-the-world (Go's `_Pgcstop`).
    GcStop = 3,
    Dead = 4,
}

/// Per-P counters for schedtrace.
#[derive(Default)]
pub struct PStats {
    /// Goroutines this P started running (execute calls).
    pub runs: AtomicU64,
    /// Goroutines this P took from other Ps' queues.
    pub steals: AtomicU64,
    /// Asynchronous preemptions of goroutines running on this P.
    pub preemptions: AtomicU64,
    /// Times this P was taken from an M stuck in a blocking call.
    pub retakes: AtomicU64,
}

pub struct P {
    pub id: usize,
    status: AtomicU8,
    /// CPU + 1 of the M holding it (0: none).
    pub(crate) m: AtomicUsize,
    pub(crate) runq: RunQueue<RUNQ_SIZE>,
    /// Incremented each time a goroutine gets a fresh time slice.
    pub(crate) schedtick: AtomicU32,
    /// When the current slice began (for preemption).
    pub(crate) schedwhen: AtomicU64,
    /// Incremented on every blocking-call entry and exit (Go's `syscalltick`).
    pub(crate) syscalltick: AtomicU32,
    pub(crate) timers: Lock<TimerHeap<TimerRef>>,
    /// Earliest timer deadline (0: none), readable without the lock (Go's `timer0When`).
    pub(crate) timer0_when: AtomicU64,
    /// Dead Gs kept for reuse (Go's `p.gFree`).
    pub(crate) gfree: Lock<GQueue>,
    /// The heap's per-P cache (Go's `p.mcache`): only the M holding the P,
    /// pinned, touches it (`heap/malloc.rs`), or a stopped world.
    pub(crate) mcache: core::cell::UnsafeCell<crate::heap::mcache::MCache>,
    pub stats: PStats,
}

impl P {
    pub(crate) fn new(id: usize) -> P {
        P {
            id,
            status: AtomicU8::new(PStatus::Idle as u8),
            m: AtomicUsize::new(0),
            runq: RunQueue::new(),
            schedtick: AtomicU32::new(0),
            schedwhen: AtomicU64::new(0),
            syscalltick: AtomicU32::new(0),
            timers: Lock::new(LockRank::Timers, TimerHeap::new()),
            timer0_when: AtomicU64::new(0),
            gfree: Lock::new(LockRank::Gfree, GQueue::new()),
            mcache: core::cell::UnsafeCell::new(crate::heap::mcache::MCache::new(id as u32 + 1)),
            stats: PStats::default(),
        }
    }

    pub fn status(&self) -> PStatus {
        match self.status.load(Ordering::Acquire) {
            0 => PStatus::Idle,
            1 => PStatus::Running,
            2 => PStatus::Syscall,
            3 => PStatus::GcStop,
            _ => PStatus::Dead,
        }
    }

    pub(crate) fn set_status(&self, s: PStatus) {
        self.status.store(s as u8, Ordering::Release);
    }

    /// Moves `from` → `to` if the P is in `from` (a retake races the owner).
    pub(crate) fn cas_status(&self, from: PStatus, to: PStatus) -> bool {
        self.status.compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }

    /// Goroutines in the local ring (not counting `runnext`); racy, for schedtrace.
    pub fn runq_len(&self) -> usize {
        self.runq.len() as usize
    }
}

/// Every P ever made, by id (Go's `allp`); entries past GOMAXPROCS are Dead.
pub(crate) static ALLP: [AtomicPtr<P>; MAX_P] = [const { AtomicPtr::new(ptr::null_mut()) }; MAX_P];

/// P `id`, if it was ever made.
pub fn allp(id: usize) -> Option<&'static P> {
    let p = ALLP.get(id)?.load(Ordering::Acquire);
    // SAFETY: Ps are leaked, never freed.
    (!p.is_null()).then(|| unsafe { &*p })
}

pub(crate) fn allp_get(id: usize) -> &'static P {
    super::p::allp(id).expect("P not allocated")
}

/// P `id`, allocating it on first use (Ps are never freed).
pub(crate) fn allp_alloc(id: usize) -> &'static P {
    if let Some(pp) = super::p::allp(id) {
        return pp;
    }
    let pp: &'static P = Box::leak(Box::new(P::new(id)));
    ALLP[id].store(pp as *const P as *mut P, Ordering::Release);
    pp
}
