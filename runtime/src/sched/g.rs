//! G: a goroutine, its states, and the intrusive lists that hold it.
//!
//! ## States (Go's `_Gidle` … `_Gdead`, runtime2.go)
//! A G's status is one atomic word, changed only by [`G::cas_status`], which
//! rejects an edge not in the table below with a fatal error:
//!
//! | from \ to  | Runnable | Running | Syscall | Waiting | Dead |
//! |------------|----------|---------|---------|---------|------|
//! | Idle       | newproc  |         |         |         |      |
//! | Runnable   |          | execute |         |         |      |
//! | Running    | gosched, preempt |  | entersyscall | gopark | goexit |
//! | Syscall    | exitsyscall (no P) | exitsyscall |  |   |      |
//! | Waiting    | goready  |         |         |         |      |
//! | Dead       | newproc (reuse) |  |         |         |      |
//!
//! Who owns what in each state:
//! - **Idle**: just allocated, on no list; only its creator sees it.
//! - **Runnable**: on exactly one run queue (a P's local ring or `runnext`,
//!   or the global queue); not running, its context saved. Whoever takes it
//!   off the queue runs it.
//! - **Running**: on an M (`m.curg`), which holds a P. Only that M touches its
//!   context.
//! - **Syscall**: in a blocking call (`blocking(|| ..)`) on its M, which has
//!   given up its P (or will lose it to sysmon). Not on any run queue.
//! - **Waiting(reason)**: parked by `gopark`; on the wait list of whatever
//!   will `goready` it (a WaitGroup, a timer, later a channel), never on a run
//!   queue. Its context is saved before the parking M runs the unlock function,
//!   so a waker that finds it on a wait list can run it at once.
//! - **Dead**: exited; on a P's or the global free list, keeping its stack
//!   (trimmed to one page) for the next `go`.
//!
//! Gs are never freed (as in Go): `allg` lists every G ever made, which is
//! what dumps, deadlock detection and (later) the GC's root scan walk.
//!
//! ## Queues
//! [`GQueue`] (FIFO) and [`GList`] (LIFO) link Gs through `schedlink`, so
//! queueing never allocates; a G is on at most one of them at a time, and the
//! lock of the structure that owns the list guards `schedlink`.
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::lock::Lock;
use super::lockrank::LockRank;
use super::machine::{self, Context, Stack};
use super::timer::Timer;

/// Why a goroutine is waiting (Go's `waitReason`, printed in dumps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum WaitReason {
    Zero = 0,
    Sleep,
    ChanReceive,
    ChanSend,
    ChanReceiveNilChan,
    ChanSendNilChan,
    Select,
    SelectNoCases,
    SyncWaitGroupWait,
    SyncMutexLock,
    SyncRWMutexLock,
    SyncRWMutexRLock,
    SyncCondWait,
    Semacquire,
    LockedM,
    /// The forced-GC helper, parked until sysmon's check readies it.
    ForceGCIdle,
    /// Parked by a test (host unit tests, and programs built with the
    /// `testing` feature); never in the product.
    #[cfg(any(test, feature = "testing"))]
    Test,
}

/// Every reason, indexed by its discriminant (decoding a G's status word).
const REASONS: &[WaitReason] = &[
    WaitReason::Zero,
    WaitReason::Sleep,
    WaitReason::ChanReceive,
    WaitReason::ChanSend,
    WaitReason::ChanReceiveNilChan,
    WaitReason::ChanSendNilChan,
    WaitReason::Select,
    WaitReason::SelectNoCases,
    WaitReason::SyncWaitGroupWait,
    WaitReason::SyncMutexLock,
    WaitReason::SyncRWMutexLock,
    WaitReason::SyncRWMutexRLock,
    WaitReason::SyncCondWait,
    WaitReason::Semacquire,
    WaitReason::LockedM,
    WaitReason::ForceGCIdle,
    #[cfg(any(test, feature = "testing"))]
    WaitReason::Test,
];

// Checked at compile time: each reason sits at the index of its discriminant.
const _: () = {
    let mut i = 0;
    while i < REASONS.len() {
        assert!(REASONS[i] as usize == i, "REASONS must list every WaitReason in declaration order");
        i += 1;
    }
};

impl WaitReason {
    /// Go's wording (`waitReasonStrings`).
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::Zero => "",
            WaitReason::Sleep => "sleep",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::ChanReceiveNilChan => "chan receive (nil chan)",
            WaitReason::ChanSendNilChan => "chan send (nil chan)",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::SyncWaitGroupWait => "sync.WaitGroup.Wait",
            WaitReason::SyncMutexLock => "sync.Mutex.Lock",
            WaitReason::SyncRWMutexLock => "sync.RWMutex.Lock",
            WaitReason::SyncRWMutexRLock => "sync.RWMutex.RLock",
            WaitReason::SyncCondWait => "sync.Cond.Wait",
            WaitReason::Semacquire => "semacquire",
            WaitReason::LockedM => "locked to thread",
            WaitReason::ForceGCIdle => "force gc (idle)",
            #[cfg(any(test, feature = "testing"))]
            WaitReason::Test => "test wait",
        }
    }
}

/// A goroutine's state (see the module's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GStatus {
    Idle,
    Runnable,
    Running,
    Syscall,
    Waiting(WaitReason),
    Dead,
}

impl GStatus {
    fn encode(self) -> u32 {
        match self {
            GStatus::Idle => 0,
            GStatus::Runnable => 1,
            GStatus::Running => 2,
            GStatus::Syscall => 3,
            GStatus::Waiting(r) => 4 | (r as u32) << 8,
            GStatus::Dead => 5,
        }
    }

    fn decode(word: u32) -> GStatus {
        match word & 0xff {
            0 => GStatus::Idle,
            1 => GStatus::Runnable,
            2 => GStatus::Running,
            3 => GStatus::Syscall,
            4 => GStatus::Waiting(REASONS.get((word >> 8) as usize).copied().unwrap_or(WaitReason::Zero)),
            _ => GStatus::Dead,
        }
    }

    fn kind(self) -> u32 {
        self.encode() & 0xff
    }

    /// Go's dump wording for the state (`runnable`, `running`, the wait reason …).
    pub fn describe(self) -> &'static str {
        match self {
            GStatus::Idle => "idle",
            GStatus::Runnable => "runnable",
            GStatus::Running => "running",
            GStatus::Syscall => "syscall",
            GStatus::Waiting(r) => r.as_str(),
            GStatus::Dead => "dead",
        }
    }

    /// The edges of the module's table.
    pub fn can_become(self, to: GStatus) -> bool {
        use GStatus::*;
        matches!(
            (self, to),
            (Idle | Dead, Runnable)
                | (Runnable, Running)
                | (Running, Runnable | Syscall | Waiting(_) | Dead)
                | (Syscall, Running | Runnable)
                | (Waiting(_), Runnable)
        )
    }
}

/// A goroutine. Fields say who may touch them.
pub struct G {
    /// Saved context while not running; touched only by the M switching it.
    pub(crate) ctx: UnsafeCell<Context>,
    /// Goroutine id (Go's `goid`), fresh at every (re)start.
    pub(crate) goid: AtomicU64,
    status: AtomicU32,
    /// The stack, made by the first M to run the G (on its system stack).
    pub(crate) stack: UnsafeCell<Option<Stack>>,
    /// What to run; taken at start. Written by `go` before the G is runnable.
    pub(crate) entry: UnsafeCell<Option<Box<dyn FnOnce() + Send>>>,
    /// Link on whichever GQueue/GList holds the G (guarded by that list's lock).
    pub(crate) schedlink: AtomicPtr<G>,
    /// Nesting of `lock_os_thread` (Go's `m.lockedExt`; 0: not locked).
    /// Only the G itself changes it, with interrupts off.
    pub(crate) locked: AtomicU32,
    /// CPU + 1 of the M this G is wired to (Go's `g.lockedm`; 0: none). Set
    /// and cleared by the G itself with `m.lockedg`; read by any M that takes
    /// the G off a run queue (`startlockedm`).
    pub(crate) lockedm: AtomicUsize,
    /// Address of the interrupt frame while preempted asynchronously (0 otherwise).
    pub(crate) trap: AtomicUsize,
    /// Goid of the goroutine that started this one (dumps print "created by").
    pub(crate) parent: AtomicU64,
    /// The sleep timer (Go's `gp.timer`); only its own G arms it.
    pub(crate) timer: UnsafeCell<Timer>,
    /// What woke the G from a channel wait (Go's `gp.param`): the address of
    /// the sudog that fired, written by the waker before `goready`, read and
    /// cleared by the G itself (`selectgo` learns which case won).
    pub(crate) param: AtomicUsize,
    /// A select of this G has been won by some case (Go's `gp.selectDone`):
    /// the first waker CASes it to true; later wakers skip the G's sudogs.
    pub(crate) select_done: AtomicBool,
}

// SAFETY: every field is atomic or reached under the protocol its doc names
// (the M running the G, or the lock of the list holding it).
unsafe impl Sync for G {}
// SAFETY: as above.
unsafe impl Send for G {}

/// Every G ever allocated, in creation order (Go's `allgs`).
static ALLG: Lock<Vec<&'static G>> = Lock::new(LockRank::Allg, Vec::new());
static GOIDGEN: AtomicU64 = AtomicU64::new(0);

impl G {
    /// A new G, recorded in `allg` (Go's `malg` + `allgadd`).
    pub(crate) fn alloc() -> &'static G {
        let g: &'static G = Box::leak(Box::new(G {
            ctx: UnsafeCell::new(Context::default()),
            goid: AtomicU64::new(0),
            status: AtomicU32::new(GStatus::Idle.encode()),
            stack: UnsafeCell::new(None),
            entry: UnsafeCell::new(None),
            schedlink: AtomicPtr::new(ptr::null_mut()),
            locked: AtomicU32::new(0),
            lockedm: AtomicUsize::new(0),
            trap: AtomicUsize::new(0),
            parent: AtomicU64::new(0),
            timer: UnsafeCell::new(Timer::new()),
            param: AtomicUsize::new(0),
            select_done: AtomicBool::new(false),
        }));
        ALLG.lock().push(g);
        g
    }

    pub(crate) fn new_goid() -> u64 {
        GOIDGEN.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn goid(&self) -> u64 {
        self.goid.load(Ordering::Relaxed)
    }

    pub fn status(&self) -> GStatus {
        GStatus::decode(self.status.load(Ordering::Acquire))
    }

    /// Go's `casgstatus`: `from` → `to`, which must be an edge of the table
    /// and `from` must be the current state; anything else is a fatal error.
    /// Inline, with the failure out of line: every goroutine switch makes two
    /// or three of these, and a call's return is a jump-cache lookup under
    /// TCG (README, "What made it fast under TCG"); the table check folds
    /// away where `from` and `to` are constants.
    #[inline]
    pub(crate) fn cas_status(&self, from: GStatus, to: GStatus) {
        let old = self.status.load(Ordering::Acquire);
        if !from.can_become(to)
            || GStatus::decode(old).kind() != from.kind()
            || self.status.compare_exchange(old, to.encode(), Ordering::AcqRel, Ordering::Acquire).is_err()
        {
            self.bad_status(from, to);
        }
    }

    #[cold]
    #[inline(never)]
    fn bad_status(&self, from: GStatus, to: GStatus) -> ! {
        if !from.can_become(to) {
            machine::throw(format_args!("casgstatus: invalid transition {from:?} -> {to:?}"));
        }
        let now = self.status();
        machine::throw(format_args!("casgstatus: goroutine {} is {now:?}, expected {from:?} (-> {to:?})", self.goid()))
    }

    /// The stack bounds, once the G has run (dumps, the future GC's scan).
    pub fn stack_bounds(&self) -> Option<Stack> {
        // SAFETY: written once by the first M to run the G, before it ran;
        // readers race only with that first write, and then read None.
        unsafe { *self.stack.get() }
    }

    /// The saved stack pointer (valid while the G is not running).
    pub fn saved_sp(&self) -> usize {
        // SAFETY: a plain word read; meaningful only while suspended.
        unsafe { (*self.ctx.get()).sp }
    }

    /// The interrupt frame of an asynchronously preempted G, or 0.
    pub fn trap_frame(&self) -> usize {
        self.trap.load(Ordering::Acquire)
    }

    pub fn parent_goid(&self) -> u64 {
        self.parent.load(Ordering::Relaxed)
    }
}

/// Calls `f` on every G ever made (dumps, deadlock reports). Takes the allg lock.
pub fn for_each_g(mut f: impl FnMut(&'static G)) {
    let all = ALLG.lock();
    for g in all.iter() {
        f(g);
    }
}

/// Like [`for_each_g`], but gives up (visiting nothing) if the allg lock
/// stays taken: for fatal-error dumps, whose CPU may hold it.
pub fn try_for_each_g(mut f: impl FnMut(&'static G)) {
    if let Some(all) = ALLG.try_lock_for(10_000_000) {
        for g in all.iter() {
            f(g);
        }
    }
}

/// How many Gs have ever been allocated (live or dead).
pub fn allg_len() -> usize {
    ALLG.lock().len()
}

/// A FIFO of Gs linked through `schedlink` (Go's `gQueue`).
pub struct GQueue {
    head: *const G,
    tail: *const G,
    len: usize,
}

// SAFETY: a GQueue is always inside a lock; the pointers are to 'static Gs.
unsafe impl Send for GQueue {}

impl GQueue {
    pub const fn new() -> GQueue {
        GQueue { head: ptr::null(), tail: ptr::null(), len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push_back(&mut self, g: &'static G) {
        g.schedlink.store(ptr::null_mut(), Ordering::Relaxed);
        if self.tail.is_null() {
            self.head = g;
        } else {
            // SAFETY: `tail` is a 'static G on this queue.
            unsafe { (*self.tail).schedlink.store(g as *const G as *mut G, Ordering::Relaxed) };
        }
        self.tail = g;
        self.len += 1;
    }

    pub fn push_front(&mut self, g: &'static G) {
        g.schedlink.store(self.head as *mut G, Ordering::Relaxed);
        self.head = g;
        if self.tail.is_null() {
            self.tail = g;
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<&'static G> {
        if self.head.is_null() {
            return None;
        }
        // SAFETY: `head` is a 'static G on this queue.
        let g: &'static G = unsafe { &*self.head };
        self.head = g.schedlink.load(Ordering::Relaxed);
        if self.head.is_null() {
            self.tail = ptr::null();
        }
        self.len -= 1;
        Some(g)
    }
}

impl Default for GQueue {
    fn default() -> Self {
        Self::new()
    }
}
