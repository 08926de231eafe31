//! Lock ranks: the order in which the runtime's locks may be taken, checked
//! per M in debug builds (Go's `lockrank.go` and `lockrank_on.go`).
//!
//! ## The rule
//! Every runtime spinlock ([`Lock`](super::lock::Lock), and the machine
//! layer's own locks) is created with a [`LockRank`]. An M may take a lock
//! only while every lock it already holds has a *lower* rank; two locks of one
//! rank may be held together only if the rank says so
//! ([`LockRank::nests_with_itself`]: `selectgo` locks every channel of a
//! select, in address order, which is its own deadlock-free order). A total
//! order rules out every cycle, so no two CPUs can each hold a lock the other
//! waits for. Go keeps a partial order (a list of allowed predecessors per
//! rank); one list read top to bottom says the same for our dozen locks and
//! is easier to check by eye.
//!
//! A violation is fatal at the acquisition that breaks the order, whether or
//! not the other CPU is there to deadlock this time: `fatal error: lock
//! ordering problem: acquiring A while holding B`, then the usual dump. Only
//! builds with debug assertions check (the tests' builds); release builds
//! keep no rank in the lock and do no bookkeeping, so benchmarks pay nothing.
//!
//! ## What is recorded, and where
//! Each M ([`M`](super::m::M), one per CPU) keeps a short stack of the ranks
//! it holds ([`HeldLocks`]): an entry is a rank and a count, so the channel
//! locks of a select of 50 cases take one entry. Locks are held by the M, not
//! by a goroutine: a holder is never preempted (`m.locks > 0`), and a guard
//! handed to `gopark` is dropped on the same CPU's scheduler stack.
//!
//! ## Interrupt handlers
//! An interrupt handler runs on the M it interrupted, so its locks nest on
//! the same stack, after what the interrupted code holds; that is the truth
//! about the order (a handler spinning on `SCHED` while its own CPU holds a
//! channel lock is exactly "channel lock, then `SCHED`"). Handlers run with
//! interrupts off and always give back what they take before returning, so
//! the stack a handler leaves is the stack it found. The bookkeeping is
//! written so that a handler arriving between any two of its steps sees a
//! consistent stack ("Push" below); every slot is an atomic touched only by
//! its own CPU, so plain Relaxed accesses with compiler ordering suffice.
//!
//! ## Push and pop, step by step
//! Push of rank `r` with `n` entries: if entry `n-1` is `r`, increment its
//! count (one atomic read-modify-write). Otherwise write `(r, 1)` to slot `n`,
//! publish `len = n + 1`, and write `(r, 1)` to slot `n` again: a handler that
//! came between the first write and the publication used slot `n` itself and
//! left `len = n`, and the second write repairs the slot. Pop of rank `r`:
//! find its newest entry; decrement its count, or shift the newer entries
//! down one slot and then publish `len - 1`. A handler arriving mid-shift
//! pushes at slot `len`, above every slot being moved.
//!
//! ## Where we differ from Go
//! - A total order instead of a partial one (above).
//! - Try-locks (the fatal path's `try_lock_for`) are recorded but not
//!   checked: a lock that gives up cannot deadlock.
//! - Once a fatal error is under way the checks stop ([`dying`]): the fatal
//!   path takes what it needs (console, goroutine list) with whatever the
//!   failed code held.
use core::sync::atomic::{compiler_fence, AtomicBool, AtomicU16, AtomicU8, AtomicUsize, Ordering};

/// A lock's place in the order: lower ranks are taken first. Read top to
/// bottom, this is every lock-nesting path the runtime has.
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum LockRank {
    /// The forced-GC helper's state (`forcegc.rs`); held into `gopark`.
    ForceGc,
    /// A channel timer's sequence lock (`time/mod.rs`): held while the timer
    /// is (re)armed in a P's heap or its channel is drained.
    TimerSeq,
    /// A semaphore's root (`sync/sema.rs`); readies waiters.
    Sema,
    /// A notify list (`sync/sema.rs`, `Cond`); readies waiters.
    NotifyList,
    /// A channel (Go's `hchan.lock`); a select holds several.
    Hchan,
    /// The global scheduler state (Go's `sched.lock`).
    Sched,
    /// A P's list of dead Gs: a dying P's goes to the global list under
    /// `SCHED`; `gfput`/`gfget` never hold both.
    Gfree,
    /// A P's timer heap: a dying P's timers move under `SCHED`; timer
    /// functions run with the heap's lock released.
    Timers,
    /// The list of all Gs (Go's `allglock`).
    Allg,
    /// A self-test's own lock (`testing` only): first in line.
    #[cfg(any(test, feature = "testing"))]
    TestLow,
    /// A self-test's own lock (`testing` only): last in line.
    #[cfg(any(test, feature = "testing"))]
    TestHigh,
    /// The heap's cache for Ms without a P (`heap/malloc.rs`).
    MCache0,
    /// A span class's `mcentral` (`heap/mcentral.rs`): taken by refills
    /// and by frees that unpark a span, under any lock an allocating
    /// goroutine may hold.
    MCentral,
    /// The page heap (`heap/mheap.rs`); grows the heap through the machine,
    /// so before the page tables and frames.
    MHeap,
    /// The machine's goroutine-stack arena.
    StackArena,
    /// The machine's TLB shootdown (one at a time).
    Shootdown,
    /// The machine's page tables.
    PageTable,
    /// The machine's physical frames.
    Frames,
    /// The machine's heap (every allocation): nearly a leaf.
    Heap,
    /// The console: a leaf, taken under anything (diagnostics print).
    Console,
}

impl LockRank {
    /// Go's name for the lock (`lockRankHchan` is "hchan").
    pub const fn name(self) -> &'static str {
        match self {
            LockRank::ForceGc => "forcegc",
            LockRank::TimerSeq => "timerSeq",
            LockRank::Sema => "root",
            LockRank::NotifyList => "notifyList",
            LockRank::Hchan => "hchan",
            LockRank::Timers => "timers",
            LockRank::Gfree => "gFree",
            LockRank::Sched => "sched",
            LockRank::Allg => "allg",
            #[cfg(any(test, feature = "testing"))]
            LockRank::TestLow => "testLow",
            #[cfg(any(test, feature = "testing"))]
            LockRank::TestHigh => "testHigh",
            LockRank::MCache0 => "mcache0",
            LockRank::MCentral => "mcentral",
            LockRank::MHeap => "mheap",
            LockRank::StackArena => "stackArena",
            LockRank::Shootdown => "shootdown",
            LockRank::PageTable => "pageTable",
            LockRank::Frames => "frames",
            LockRank::Heap => "heap",
            LockRank::Console => "console",
        }
    }

    /// Whether an M may hold two locks of this rank: channels only (a
    /// select locks all of its channels in address order).
    pub const fn nests_with_itself(self) -> bool {
        matches!(self, LockRank::Hchan)
    }

    fn from_u8(v: u8) -> LockRank {
        // SAFETY: only `push` writes the slots, always a `LockRank as u8`.
        unsafe { core::mem::transmute::<u8, LockRank>(v) }
    }
}

/// The most entries (distinct runs of ranks) an M can hold at once.
const MAX_HELD: usize = 16;

/// The ranks one M holds, newest last (see the module essay).
pub struct HeldLocks {
    len: AtomicUsize,
    ranks: [AtomicU8; MAX_HELD],
    counts: [AtomicU16; MAX_HELD],
}

/// Why an acquisition breaks the order: the lock wanted and the held lock it
/// conflicts with.
#[derive(Debug, PartialEq, Eq)]
pub struct Violation {
    pub acquiring: LockRank,
    pub holding: LockRank,
}

impl Default for HeldLocks {
    fn default() -> Self {
        Self::new()
    }
}

impl HeldLocks {
    pub const fn new() -> Self {
        HeldLocks {
            len: AtomicUsize::new(0),
            ranks: [const { AtomicU8::new(0) }; MAX_HELD],
            counts: [const { AtomicU16::new(0) }; MAX_HELD],
        }
    }

    /// Whether taking `rank` now keeps the order: the highest held rank must
    /// be lower, or equal for a rank that nests with itself.
    pub fn check(&self, rank: LockRank) -> Result<(), Violation> {
        let n = self.len.load(Ordering::Relaxed);
        let top = (0..n).map(|i| self.rank_at(i)).max();
        match top {
            Some(held) if held > rank || (held == rank && !rank.nests_with_itself()) => {
                Err(Violation { acquiring: rank, holding: held })
            }
            _ => Ok(()),
        }
    }

    /// Records that `rank` is held (after [`check`](Self::check), or for a
    /// try-lock, without it).
    pub fn push(&self, rank: LockRank) {
        let n = self.len.load(Ordering::Relaxed);
        if n > 0 && self.rank_at(n - 1) == rank {
            self.counts[n - 1].fetch_add(1, Ordering::Relaxed);
            return;
        }
        assert!(n < MAX_HELD, "lock rank: more than {MAX_HELD} locks held at once");
        self.write(n, rank);
        compiler_fence(Ordering::SeqCst);
        self.len.store(n + 1, Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
        // A handler between the first write and `len` used this slot: repair.
        self.write(n, rank);
    }

    /// Records that one lock of `rank` was released; false if none was held.
    pub fn pop(&self, rank: LockRank) -> bool {
        let n = self.len.load(Ordering::Relaxed);
        let Some(i) = (0..n).rev().find(|&i| self.rank_at(i) == rank) else {
            return false;
        };
        if self.counts[i].load(Ordering::Relaxed) > 1 {
            self.counts[i].fetch_sub(1, Ordering::Relaxed);
            return true;
        }
        for j in i..n - 1 {
            let (r, c) = (self.ranks[j + 1].load(Ordering::Relaxed), self.counts[j + 1].load(Ordering::Relaxed));
            self.ranks[j].store(r, Ordering::Relaxed);
            self.counts[j].store(c, Ordering::Relaxed);
        }
        compiler_fence(Ordering::SeqCst);
        self.len.store(n - 1, Ordering::Relaxed);
        true
    }

    /// The held ranks, oldest first, each with its count.
    pub fn held(&self) -> impl Iterator<Item = (LockRank, u16)> + '_ {
        (0..self.len.load(Ordering::Relaxed)).map(|i| (self.rank_at(i), self.counts[i].load(Ordering::Relaxed)))
    }

    fn rank_at(&self, i: usize) -> LockRank {
        LockRank::from_u8(self.ranks[i].load(Ordering::Relaxed))
    }

    fn write(&self, i: usize, rank: LockRank) {
        self.ranks[i].store(rank as u8, Ordering::Relaxed);
        self.counts[i].store(1, Ordering::Relaxed);
    }
}

/// Set when a fatal error starts: the fatal path may take any lock.
static DYING: AtomicBool = AtomicBool::new(false);

/// A fatal error is under way: stop checking (see the module essay).
pub fn dying() {
    DYING.store(true, Ordering::Relaxed);
}

/// This M's held ranks; None where nothing is tracked (release builds, and
/// the host tests' own threads, which are no M).
#[inline]
fn this_m() -> Option<&'static HeldLocks> {
    if !cfg!(debug_assertions) {
        return None;
    }
    #[cfg(test)]
    if super::mock::is_outsider() {
        return None;
    }
    Some(&super::m::getm().held)
}

/// Before spinning for a lock of `rank`: dies if taking it breaks the order,
/// then records it. The caller's M is pinned (`m.locks > 0`).
#[inline]
pub fn acquire(rank: LockRank) {
    let Some(held) = this_m() else { return };
    if !DYING.load(Ordering::Relaxed) {
        if let Err(v) = held.check(rank) {
            dying();
            super::machine::throw(format_args!(
                "lock ordering problem: acquiring {} (rank {}) while holding {} (rank {})",
                v.acquiring.name(),
                v.acquiring as u8,
                v.holding.name(),
                v.holding as u8
            ));
        }
    }
    held.push(rank);
}

/// A try-lock of `rank` succeeded: record it, unchecked.
#[inline]
pub fn acquired_without_check(rank: LockRank) {
    if let Some(held) = this_m() {
        held.push(rank);
    }
}

/// A lock of `rank` was released.
#[inline]
pub fn release(rank: LockRank) {
    let Some(held) = this_m() else { return };
    if !held.pop(rank) && !DYING.load(Ordering::Relaxed) {
        dying();
        super::machine::throw(format_args!(
            "lock ordering problem: releasing {} which this M does not hold",
            rank.name()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::LockRank::*;
    use super::*;

    #[test]
    fn ranks_must_rise() {
        let h = HeldLocks::new();
        assert_eq!(h.check(Sched), Ok(()));
        h.push(Hchan);
        h.push(Sched);
        assert_eq!(h.check(Allg), Ok(()));
        assert_eq!(h.check(NotifyList), Err(Violation { acquiring: NotifyList, holding: Sched }));
        assert_eq!(h.check(Sched), Err(Violation { acquiring: Sched, holding: Sched }), "sched does not nest");
        assert!(h.pop(Sched));
        assert_eq!(h.check(NotifyList), Err(Violation { acquiring: NotifyList, holding: Hchan }));
        assert_eq!(h.check(Hchan), Ok(()), "channels nest (select)");
        assert_eq!(h.check(Sema), Err(Violation { acquiring: Sema, holding: Hchan }));
    }

    #[test]
    fn a_run_of_one_rank_is_one_entry_and_releases_in_any_order() {
        let h = HeldLocks::new();
        h.push(TimerSeq);
        for _ in 0..100 {
            h.push(Hchan);
        }
        h.push(Sched);
        assert_eq!(h.held().collect::<Vec<_>>(), vec![(TimerSeq, 1), (Hchan, 100), (Sched, 1)]);
        assert!(h.pop(TimerSeq), "the oldest may go first");
        assert_eq!(h.held().collect::<Vec<_>>(), vec![(Hchan, 100), (Sched, 1)]);
        for _ in 0..100 {
            assert!(h.pop(Hchan));
        }
        assert_eq!(h.held().collect::<Vec<_>>(), vec![(Sched, 1)]);
        assert!(!h.pop(Hchan), "a rank not held");
        assert!(h.pop(Sched));
        assert_eq!(h.held().count(), 0);
    }

    #[test]
    fn ranks_round_trip_and_have_names() {
        for r in [ForceGc, TimerSeq, Sema, NotifyList, Hchan, Timers, Gfree, Sched, Allg, TestLow, TestHigh, Console] {
            assert_eq!(LockRank::from_u8(r as u8), r);
            assert!(!r.name().is_empty());
        }
    }

    /// The whole path, as a program meets it: a mock goroutine takes two
    /// runtime locks out of order and the runtime dies naming both. Throwing
    /// aborts the process, so the test runs itself again as a child.
    #[test]
    fn locks_out_of_order_die_naming_both() {
        const CHILD: &str = "GORT_LOCKRANK_CHILD";
        if std::env::var_os(CHILD).is_some() {
            super::super::mock::run(|| {
                static LOW: super::super::lock::Lock<()> = super::super::lock::Lock::new(TestLow, ());
                static HIGH: super::super::lock::Lock<()> = super::super::lock::Lock::new(TestHigh, ());
                let _in_order = (LOW.lock(), HIGH.lock());
                drop(_in_order);
                let _high = HIGH.lock();
                let _low = LOW.lock();
            });
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "sched::lockrank::tests::locks_out_of_order_die_naming_both", "--nocapture"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "the child must die: {stderr}");
        assert!(
            stderr.contains(
                "fatal error: lock ordering problem: acquiring testLow (rank 9) while holding testHigh (rank 10)"
            ),
            "{stderr}"
        );
    }
}
