//! The per-P local run queue: Go's `runqput`, `runqget`, `runqgrab`,
//! `runqsteal` (proc.go), for `N` goroutine handles.
//!
//! ## Shape
//! A ring of `N` slots indexed by two free-running `u32` counters, `head`
//! (next to take) and `tail` (next free), plus `runnext`, a one-slot fast lane
//! for the goroutine that should run next (it inherits the current time
//! slice: a channel partner readied by the running goroutine). Handles are
//! non-zero `usize`s (the scheduler stores G pointers); 0 means empty.
//!
//! ## Who may do what
//! - The **owner** (the M holding the P) is the only one that writes slots and
//!   `tail`: it puts at the tail, takes from the head, and overflows half the
//!   ring to the global queue. Those operations live on [`Owner`], which only
//!   `unsafe fn owner` hands out (the caller promises it holds the P): the type
//!   carries the rule, as Tokio's `Local` does.
//! - **Thieves** (other Ps in `find_runnable`) take up to half from the head
//!   with [`RunQueue::steal_into`], and may take `runnext` last.
//!
//! ## Algorithms
//! 1. `put(g, next)`: with `next`, swap g into `runnext` and continue with the
//!    goroutine it displaced (if any). Then, if `tail - head < N`, write the
//!    slot and publish it by storing `tail + 1` (Release). If full, take half
//!    the ring (`N/2` from the head) by CAS on `head`, append g, and hand the
//!    batch to the caller's `overflow` (Go's `runqputslow` → `globrunqputbatch`);
//!    if the CAS lost to a thief, the ring is no longer full: retry.
//! 2. `get()`: `runnext` first (a failed CAS means a thief took it: no retry);
//!    then the head slot, committed by CAS on `head`.
//! 3. `steal_into(victim → mine)`: read `n = ceil(half)` of the victim's
//!    queue, copy those handles into *my* ring starting at my tail (nobody else
//!    writes there), commit by CAS on the victim's `head`; on success publish
//!    all but the last in my ring (Release store of my `tail`) and return the
//!    last to run at once. With an empty victim and `steal_runnext`, back off
//!    briefly (Go sleeps 3 µs: the victim is probably about to run it), then
//!    CAS `runnext` away.
//!
//! ## Memory ordering (each Release pairs with the Acquire named)
//! - `tail` Release store (owner publishes a slot) ↔ `tail` Acquire load by
//!   thieves: a thief that sees the new tail sees the slot's handle.
//! - `head` CAS with Release (a consumer commits) ↔ `head` Acquire load by the
//!   owner before reusing a slot: the consumer's read of the slot happens
//!   before the owner overwrites it. Slots are `AtomicUsize` (Relaxed): a thief
//!   may read a slot the owner is overwriting, but then its CAS on `head` fails
//!   and the value it read is discarded, exactly as in Go.
//! - `runnext` is CAS-only with AcqRel: whoever wins it sees the G's state.
//! - `head` and `tail` are read together by thieves; if they are inconsistent
//!   (`n > N/2` after halving), the thief retries, as Go does.
//!
//! ## Tests
//! Host unit tests below cover put/get/runnext/overflow/steal-half. Under
//! `RUSTFLAGS="--cfg loom"` (`./x test` runs it) the `loom_*` tests model-check
//! every interleaving of an owner and a thief on a 4-slot ring.
#[cfg(not(loom))]
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
#[cfg(loom)]
use loom::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use core::marker::PhantomData;

/// A P's local run queue of `N` slots (Go: 256). `N` must be a power of two.
pub struct RunQueue<const N: usize> {
    head: AtomicU32,
    tail: AtomicU32,
    slots: [AtomicUsize; N],
    runnext: AtomicUsize,
}

/// The owner's view of a [`RunQueue`]: the only way to put and get.
pub struct Owner<'a, const N: usize> {
    q: &'a RunQueue<N>,
    /// Not `Send`/`Sync`: an owner view stays with the M that made it.
    _not_send: PhantomData<*const ()>,
}

impl<const N: usize> Default for RunQueue<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RunQueue<N> {
    const CAP: u32 = {
        assert!(N.is_power_of_two() && N >= 2 && N <= 1 << 16, "N must be a power of two in 2..=65536");
        N as u32
    };

    /// An empty queue.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        let _ = Self::CAP;
        RunQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            slots: [const { AtomicUsize::new(0) }; N],
            runnext: AtomicUsize::new(0),
        }
    }

    /// An empty queue (loom's atomics have no `const fn new`).
    #[cfg(loom)]
    pub fn new() -> Self {
        let _ = Self::CAP;
        RunQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            slots: core::array::from_fn(|_| AtomicUsize::new(0)),
            runnext: AtomicUsize::new(0),
        }
    }

    /// The owner's view.
    ///
    /// # Safety
    /// Only the holder of the P this queue belongs to may call this, and only
    /// one `Owner` may exist at a time.
    pub unsafe fn owner(&self) -> Owner<'_, N> {
        Owner { q: self, _not_send: PhantomData }
    }

    fn slot(&self, i: u32) -> &AtomicUsize {
        &self.slots[(i % Self::CAP) as usize]
    }

    /// Goroutines in the ring (not counting `runnext`); racy, for schedtrace.
    pub fn len(&self) -> u32 {
        loop {
            let h = self.head.load(Ordering::Acquire);
            let t = self.tail.load(Ordering::Acquire);
            if self.head.load(Ordering::Acquire) == h {
                return t.wrapping_sub(h).min(Self::CAP);
            }
        }
    }

    /// Go's `runqempty`: no goroutine in the ring nor in `runnext`. A put that
    /// kicks `runnext` into the ring while a get empties `runnext` can make a
    /// naive check see both empty; re-reading `tail` rules that out.
    pub fn is_empty(&self) -> bool {
        loop {
            let h = self.head.load(Ordering::Acquire);
            let t = self.tail.load(Ordering::Acquire);
            let next = self.runnext.load(Ordering::Acquire);
            if self.tail.load(Ordering::Acquire) == t {
                return h == t && next == 0;
            }
        }
    }

    /// Go's `runqsteal`: moves about half of `self`'s goroutines into `thief`'s
    /// ring and returns one of them to run now. With `steal_runnext`, an empty
    /// ring lets the thief take `runnext` after calling `backoff` once.
    pub fn steal_into(&self, thief: &Owner<'_, N>, steal_runnext: bool, backoff: impl FnOnce()) -> Option<usize> {
        let mine = thief.q;
        let t = mine.tail.load(Ordering::Relaxed); // only we write it
        let mut n = self.grab(mine, t, steal_runnext, backoff);
        if n == 0 {
            return None;
        }
        n -= 1;
        let g = mine.slot(t.wrapping_add(n)).load(Ordering::Relaxed);
        if n > 0 {
            let h = mine.head.load(Ordering::Acquire);
            assert!(t.wrapping_sub(h).wrapping_add(n) < Self::CAP, "runqsteal: runq overflow");
            mine.tail.store(t.wrapping_add(n), Ordering::Release);
        }
        Some(g)
    }

    /// Go's `runqgrab`: copies up to half of the ring into `dst`'s slots from
    /// `dst_tail` on; returns how many it committed.
    fn grab(&self, dst: &RunQueue<N>, dst_tail: u32, steal_runnext: bool, backoff: impl FnOnce()) -> u32 {
        let mut backoff = Some(backoff);
        loop {
            let h = self.head.load(Ordering::Acquire);
            let t = self.tail.load(Ordering::Acquire);
            let mut n = t.wrapping_sub(h);
            n -= n / 2;
            if n == 0 {
                if !steal_runnext {
                    return 0;
                }
                let next = self.runnext.load(Ordering::Acquire);
                if next == 0 {
                    return 0;
                }
                if let Some(b) = backoff.take() {
                    b();
                }
                if self.runnext.compare_exchange(next, 0, Ordering::AcqRel, Ordering::Relaxed).is_err() {
                    continue;
                }
                dst.slot(dst_tail).store(next, Ordering::Relaxed);
                return 1;
            }
            if n > Self::CAP / 2 {
                continue; // inconsistent head and tail
            }
            for i in 0..n {
                let g = self.slot(h.wrapping_add(i)).load(Ordering::Relaxed);
                dst.slot(dst_tail.wrapping_add(i)).store(g, Ordering::Relaxed);
            }
            if self.head.compare_exchange(h, h.wrapping_add(n), Ordering::Release, Ordering::Relaxed).is_ok() {
                return n;
            }
        }
    }
}

impl<const N: usize> Owner<'_, N> {
    /// Go's `runqput`: `g` to `runnext` (if `next`) or the tail. When the ring
    /// is full, half of it plus `g` go to `overflow` (the global queue), oldest
    /// first.
    pub fn put(&self, g: usize, next: bool, overflow: impl FnOnce(&[usize])) {
        debug_assert!(g != 0, "runqput of a null G");
        let q = self.q;
        let mut g = g;
        if next {
            let old = q.runnext.swap(g, Ordering::AcqRel);
            if old == 0 {
                return;
            }
            g = old; // kick the old runnext to the ring
        }
        let mut overflow = Some(overflow);
        loop {
            let h = q.head.load(Ordering::Acquire);
            let t = q.tail.load(Ordering::Relaxed);
            if t.wrapping_sub(h) < RunQueue::<N>::CAP {
                q.slot(t).store(g, Ordering::Relaxed);
                q.tail.store(t.wrapping_add(1), Ordering::Release);
                return;
            }
            if self.put_slow(g, h, t, &mut overflow) {
                return;
            }
        }
    }

    /// Go's `runqputslow`: false if a thief got in first (then the ring has room).
    fn put_slow(&self, g: usize, h: u32, t: u32, overflow: &mut Option<impl FnOnce(&[usize])>) -> bool {
        let q = self.q;
        let n = t.wrapping_sub(h) / 2;
        assert_eq!(n, RunQueue::<N>::CAP / 2, "runqputslow: queue is not full");
        let mut batch = [0usize; N];
        for (i, b) in batch.iter_mut().enumerate().take(n as usize) {
            *b = q.slot(h.wrapping_add(i as u32)).load(Ordering::Relaxed);
        }
        if q.head.compare_exchange(h, h.wrapping_add(n), Ordering::Release, Ordering::Relaxed).is_err() {
            return false;
        }
        // N >= 2, so n + 1 <= N.
        batch[n as usize] = g;
        (overflow.take().expect("overflow called once"))(&batch[..=n as usize]);
        true
    }

    /// Go's `runqget`: the next goroutine and whether it inherits the current
    /// time slice (true for `runnext`).
    pub fn get(&self) -> Option<(usize, bool)> {
        let q = self.q;
        let next = q.runnext.load(Ordering::Acquire);
        // A failed CAS means a thief took it; no retry, as in Go.
        if next != 0 && q.runnext.compare_exchange(next, 0, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            return Some((next, true));
        }
        loop {
            let h = q.head.load(Ordering::Acquire);
            let t = q.tail.load(Ordering::Relaxed);
            if t == h {
                return None;
            }
            let g = q.slot(h).load(Ordering::Relaxed);
            if q.head.compare_exchange(h, h.wrapping_add(1), Ordering::Release, Ordering::Relaxed).is_ok() {
                return Some((g, false));
            }
        }
    }

    /// Go's `runqdrain`: takes everything (runnext first) and gives each to `f`
    /// (when a P is destroyed by `gomaxprocs`).
    pub fn drain(&self, mut f: impl FnMut(usize)) {
        let q = self.q;
        let next = q.runnext.load(Ordering::Acquire);
        if next != 0 && q.runnext.compare_exchange(next, 0, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            f(next);
        }
        while let Some((g, _)) = self.get() {
            f(g);
        }
    }

    /// The queue this view owns.
    pub fn queue(&self) -> &RunQueue<N> {
        self.q
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn owner<const N: usize>(q: &RunQueue<N>) -> Owner<'_, N> {
        // SAFETY: each test thread owns the queues it makes owners for.
        unsafe { q.owner() }
    }

    #[test]
    fn fifo_and_runnext() {
        let q = RunQueue::<8>::new();
        let o = owner(&q);
        assert!(q.is_empty());
        o.put(1, false, |_| panic!("no overflow"));
        o.put(2, false, |_| panic!("no overflow"));
        o.put(3, true, |_| panic!("no overflow"));
        o.put(4, true, |_| panic!("no overflow")); // kicks 3 to the tail
        assert_eq!(q.len(), 3);
        assert_eq!(o.get(), Some((4, true)), "runnext first, inheriting the slice");
        assert_eq!(o.get(), Some((1, false)));
        assert_eq!(o.get(), Some((2, false)));
        assert_eq!(o.get(), Some((3, false)));
        assert_eq!(o.get(), None);
        assert!(q.is_empty());
    }

    #[test]
    fn overflow_moves_half_plus_one_to_global() {
        let q = RunQueue::<8>::new();
        let o = owner(&q);
        for g in 1..=8 {
            o.put(g, false, |_| panic!("not full yet"));
        }
        let mut global = Vec::new();
        o.put(9, false, |batch| global.extend_from_slice(batch));
        assert_eq!(global, [1, 2, 3, 4, 9], "oldest half, then the new G");
        let mut rest = Vec::new();
        o.drain(|g| rest.push(g));
        assert_eq!(rest, [5, 6, 7, 8]);
    }

    #[test]
    fn wraparound_keeps_order() {
        let q = RunQueue::<4>::new();
        let o = owner(&q);
        let mut next = 1;
        let mut expect = 1;
        for _ in 0..1000 {
            for _ in 0..3 {
                o.put(next, false, |_| panic!("never full"));
                next += 1;
            }
            for _ in 0..3 {
                assert_eq!(o.get(), Some((expect, false)));
                expect += 1;
            }
        }
    }

    #[test]
    fn steal_takes_half_rounded_up() {
        let victim = RunQueue::<16>::new();
        let thief = RunQueue::<16>::new();
        let (v, t) = (owner(&victim), owner(&thief));
        for g in 1..=5 {
            v.put(g, false, |_| {});
        }
        assert_eq!(victim.steal_into(&t, false, || {}), Some(3), "3 of 5 taken; the last one runs now");
        assert_eq!(thief.len(), 2);
        assert_eq!(t.get(), Some((1, false)));
        assert_eq!(t.get(), Some((2, false)));
        assert_eq!(victim.len(), 2);
        assert_eq!(v.get(), Some((4, false)));
    }

    #[test]
    fn steal_runnext_only_when_asked() {
        let victim = RunQueue::<4>::new();
        let thief = RunQueue::<4>::new();
        let t = owner(&thief);
        owner(&victim).put(7, true, |_| {});
        assert_eq!(victim.steal_into(&t, false, || panic!("no backoff")), None);
        let mut backed_off = false;
        assert_eq!(victim.steal_into(&t, true, || backed_off = true), Some(7));
        assert!(backed_off);
        assert!(victim.is_empty() && thief.is_empty());
    }

    /// Real threads: one owner putting and getting, thieves stealing; every
    /// handle must come out exactly once.
    #[test]
    fn concurrent_owner_and_thieves_lose_nothing() {
        use std::sync::atomic::AtomicBool;
        use std::sync::{Arc, Mutex};
        const ITEMS: usize = 200_000;
        let victim = Arc::new(RunQueue::<256>::new());
        let seen = Arc::new(Mutex::new(vec![0u8; ITEMS + 1]));
        let done = Arc::new(AtomicBool::new(false));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let (victim, seen, done) = (victim.clone(), seen.clone(), done.clone());
                std::thread::spawn(move || {
                    let mine = RunQueue::<256>::new();
                    let me = owner(&mine);
                    let mut local = Vec::new();
                    loop {
                        let finished = done.load(std::sync::atomic::Ordering::Acquire);
                        if let Some(g) = victim.steal_into(&me, true, || {}) {
                            local.push(g);
                            me.drain(|g| local.push(g));
                        } else if finished {
                            break;
                        }
                    }
                    let mut s = seen.lock().unwrap();
                    for g in local {
                        s[g] += 1;
                    }
                })
            })
            .collect();
        let o = owner(&victim);
        let mut mine = Vec::new();
        for g in 1..=ITEMS {
            o.put(g, g % 7 == 0, |batch| mine.extend_from_slice(batch));
            if g % 3 == 0 {
                if let Some((g, _)) = o.get() {
                    mine.push(g);
                }
            }
        }
        o.drain(|g| mine.push(g));
        done.store(true, std::sync::atomic::Ordering::Release);
        for t in thieves {
            t.join().unwrap();
        }
        let mut s = seen.lock().unwrap();
        for g in mine {
            s[g] += 1;
        }
        let wrong: Vec<usize> = (1..=ITEMS).filter(|&g| s[g] != 1).take(5).collect();
        assert!(wrong.is_empty(), "handles seen other than once: {wrong:?}");
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    fn owner<const N: usize>(q: &RunQueue<N>) -> Owner<'_, N> {
        // SAFETY: each model thread owns the queues it makes owners for.
        unsafe { q.owner() }
    }

    /// A thread with its own queue that steals once from `victim` and returns
    /// everything it got.
    fn spawn_thief(victim: Arc<RunQueue<4>>, steal_runnext: bool) -> loom::thread::JoinHandle<Vec<usize>> {
        loom::thread::spawn(move || {
            let mine = RunQueue::<4>::new();
            let me = owner(&mine);
            let mut got = Vec::new();
            if let Some(g) = victim.steal_into(&me, steal_runnext, || {}) {
                got.push(g);
            }
            me.drain(|g| got.push(g));
            got
        })
    }

    /// Owner puts six goroutines (one through runnext) into a 4-slot ring,
    /// forcing an overflow, and gets, while a thief steals (runnext
    /// included): every handle exactly once.
    #[test]
    fn loom_put_get_steal_overflow() {
        loom::model(|| {
            let victim = Arc::new(RunQueue::<4>::new());
            let thief = spawn_thief(victim.clone(), true);
            let o = owner(&victim);
            let mut got = Vec::new();
            for g in 1..=4 {
                o.put(g, false, |b| got.extend_from_slice(b));
            }
            o.put(5, true, |b| got.extend_from_slice(b));
            o.put(6, false, |b| got.extend_from_slice(b));
            if let Some((g, _)) = o.get() {
                got.push(g);
            }
            let mut all = thief.join().unwrap();
            o.drain(|g| got.push(g));
            all.extend(got);
            all.sort_unstable();
            assert_eq!(all, [1, 2, 3, 4, 5, 6]);
        });
    }

    /// Two thieves against an owner that keeps getting.
    #[test]
    fn loom_two_thieves() {
        loom::model(|| {
            let victim = Arc::new(RunQueue::<4>::new());
            let o = owner(&victim);
            for g in 1..=3 {
                o.put(g, false, |_| unreachable!());
            }
            let thieves: Vec<_> = (0..2).map(|_| spawn_thief(victim.clone(), false)).collect();
            let mut all = Vec::new();
            if let Some((g, _)) = o.get() {
                all.push(g);
            }
            for t in thieves {
                all.extend(t.join().unwrap());
            }
            o.drain(|g| all.push(g));
            all.sort_unstable();
            assert_eq!(all, [1, 2, 3]);
        });
    }
}
