//! P and M: the processor a goroutine needs, and the CPU that runs it.
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
//! ## M (Go's `m`)
//! Here an M *is* a CPU: one per core, fixed, never created or destroyed (Go
//! makes OS threads on demand; a CPU cannot be made). `g0` is the context of
//! the scheduler loop on the CPU's own boot stack. Most fields are touched only
//! by the CPU itself with interrupts off (which pins it); those that other CPUs
//! write (`nextp`, `wakeup`) are the hand-off protocol of `startm`/`stopm`.
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use super::g::{GQueue, G};
use super::lock::Lock;
use super::lockrank::{HeldLocks, LockRank};
use super::machine::{self, Context};
use super::time::TimerRef;
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

/// What a goroutine asks its M's g0 to do after switching to it (Go's `mcall` argument).
pub(crate) enum Action {
    None,
    /// `gopark`: become Waiting(reason), then call the unlock function; if it
    /// returns false, run the G again at once.
    Park(super::g::WaitReason, *mut (dyn FnMut(&'static G) -> bool + 'static)),
    /// `gosched`: to the global queue.
    Gosched,
    /// Asynchronous preemption: like `Gosched`, counted.
    Preempt,
    /// `goyield`: to the tail of this P's local queue.
    Yield,
    /// `goexit`: the G is dead.
    Exit,
    /// `exitsyscall` found no P: queue the G, stop the M.
    ExitSyscall,
}

pub struct M {
    pub id: usize,
    /// The scheduler loop's context while a goroutine runs on this CPU.
    pub(crate) g0: UnsafeCell<Context>,
    /// The goroutine running here (null while g0 runs).
    pub(crate) curg: AtomicPtr<G>,
    /// The P held (null: none).
    pub(crate) p: AtomicPtr<P>,
    /// A P handed over by `startm`, taken when the M wakes.
    pub(crate) nextp: AtomicPtr<P>,
    /// The P left behind by a blocking call (Go's `m.oldp`).
    pub(crate) oldp: AtomicPtr<P>,
    /// Looking for work without having found any (Go's `m.spinning`).
    pub(crate) spinning: AtomicBool,
    /// Go's `m.park` note: set by the waker, consumed by `stopm`.
    pub(crate) wakeup: AtomicBool,
    pub(crate) action: UnsafeCell<Action>,
    /// xorshift state for random steal order.
    pub(crate) rand: AtomicU64,
    /// Entered the scheduler (`mstart`).
    pub(crate) started: AtomicBool,
    /// Deadline the one-shot timer is armed for (0: disarmed).
    pub(crate) armed: AtomicU64,
    /// The goroutine wired to this M by `lock_os_thread` (Go's `m.lockedg`;
    /// null: none). Written only by that goroutine on this CPU.
    pub(crate) lockedg: AtomicPtr<G>,
    /// The lock ranks this M holds (debug builds: see `lockrank`).
    pub(crate) held: HeldLocks,
}

// SAFETY: `g0` and `action` are touched only by the M's own CPU with
// interrupts off; everything else is atomic.
unsafe impl Sync for M {}

impl M {
    const fn new(id: usize) -> M {
        M {
            id,
            g0: UnsafeCell::new(Context { sp: 0 }),
            curg: AtomicPtr::new(ptr::null_mut()),
            p: AtomicPtr::new(ptr::null_mut()),
            nextp: AtomicPtr::new(ptr::null_mut()),
            oldp: AtomicPtr::new(ptr::null_mut()),
            spinning: AtomicBool::new(false),
            wakeup: AtomicBool::new(false),
            action: UnsafeCell::new(Action::None),
            rand: AtomicU64::new(0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1)),
            started: AtomicBool::new(false),
            armed: AtomicU64::new(0),
            lockedg: AtomicPtr::new(ptr::null_mut()),
            held: HeldLocks::new(),
        }
    }

    /// Go's `m.locks`: runtime locks held plus preemption-disable nesting.
    /// It lives with the CPU in the machine layer ([`machine::mlocks`]), so
    /// it is only this CPU's to read: call on the calling CPU's own M.
    pub(crate) fn locks(&self) -> u32 {
        machine::mlocks()
    }

    /// The P held; a fatal error if none (callers are on the scheduling path).
    pub(crate) fn p(&self) -> &'static P {
        let p = self.p.load(Ordering::Relaxed);
        assert!(!p.is_null(), "M {} has no P", self.id);
        // SAFETY: Ps are leaked, never freed.
        unsafe { &*p }
    }

    pub(crate) fn curg(&self) -> Option<&'static G> {
        let g = self.curg.load(Ordering::Relaxed);
        // SAFETY: Gs are never freed.
        (!g.is_null()).then(|| unsafe { &*g })
    }

    /// The goroutine locked to this M, if any.
    pub(crate) fn lockedg(&self) -> Option<&'static G> {
        let g = self.lockedg.load(Ordering::Acquire);
        // SAFETY: Gs are never freed.
        (!g.is_null()).then(|| unsafe { &*g })
    }

    pub(crate) fn fastrand(&self) -> u32 {
        let mut x = self.rand.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rand.store(x, Ordering::Relaxed);
        (x >> 32) as u32
    }
}

pub(crate) static MS: [M; MAX_M] = {
    let mut ms = [const { M::new(0) }; MAX_M];
    let mut i = 0;
    while i < MAX_M {
        ms[i] = M::new(i);
        i += 1;
    }
    ms
};

/// Every P ever made, by id (Go's `allp`); entries past GOMAXPROCS are Dead.
pub(crate) static ALLP: [AtomicPtr<P>; MAX_P] = [const { AtomicPtr::new(ptr::null_mut()) }; MAX_P];

/// P `id`, if it was ever made.
pub fn allp(id: usize) -> Option<&'static P> {
    let p = ALLP.get(id)?.load(Ordering::Acquire);
    // SAFETY: Ps are leaked, never freed.
    (!p.is_null()).then(|| unsafe { &*p })
}
