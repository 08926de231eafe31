//! Semaphores that park: Go's sema.go (`semacquire1`, `semrelease1`) and its
//! notify list (`notifyList`, behind `sync.Cond`).
//!
//! ## `Sema`
//! A count and a FIFO of parked waiters. Go keys its semaphores by address
//! in a 251-bucket table of treaps, because `sync.Mutex` must stay two words
//! and cannot carry a queue; a Rust type can, so every [`Sema`] owns its
//! queue and lock (no hashing, no treap), and the algorithm is Go's:
//!
//! `acquire(lifo)`:
//! 1. Fast path: decrement a positive count with a CAS (`cansemacquire`).
//! 2. Lock; count this G in `nwait`; try the CAS again (a release may have
//!    come in between: it saw `nwait == 0` and woke nobody).
//! 3. Enqueue a sudog from this frame (at the head if `lifo`: a woken mutex
//!    waiter that lost the race goes back to the front) and park; the lock
//!    is released on the scheduler stack.
//! 4. Woken: if the releaser handed the count over (`ticket == 1`) or the
//!    CAS now succeeds, done; else back to 2.
//!
//! `release(handoff)`:
//! 1. Increment the count; if `nwait` is 0, nobody to wake.
//! 2. Lock, dequeue the first waiter, unlock.
//! 3. With `handoff` (a starving mutex), take the count back for the waiter
//!    (`ticket = 1`) so no newcomer can barge in, ready it, and yield this
//!    P to it at once (`goyield`: it runs next, we go behind it).
//!
//! ## `NotifyList` (Go's `notifyList`)
//! Tickets instead of a count: `add` takes the next ticket without the lock
//! (a waiter registers before it unlocks the Cond's mutex), `wait(t)` parks
//! unless ticket `t` was already notified, `notify_one` advances `notify`
//! and wakes the sudog holding that ticket, `notify_all` wakes everyone.
//! Tickets may wrap: `less` compares them as Go does.
//!
//! Lock order: a semaphore's or list's lock is a leaf (readying happens after
//! it is released).
use core::ptr;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::sched::g::{GQueue, WaitReason};
use crate::sched::lock::GLock;
use crate::sched::lockrank::LockRank;
use crate::sched::proc::{curg, gopark, goready, goyield, may_yield};
use crate::sched::sudog::{Sudog, WaitQ};

/// A counting semaphore whose waiters park (Go's runtime semaphore).
pub struct Sema {
    count: AtomicU32,
    /// Waiters counted under `lock`, read without it (Go's `root.nwait`).
    nwait: AtomicU32,
    lock: GLock<()>,
    waiters: WaitQ,
}

impl Sema {
    pub const fn new(count: u32) -> Sema {
        Sema {
            count: AtomicU32::new(count),
            nwait: AtomicU32::new(0),
            lock: GLock::new(LockRank::Sema, ()),
            waiters: WaitQ::new(),
        }
    }

    /// Go's `cansemacquire`.
    #[inline]
    pub fn try_acquire(&self) -> bool {
        let mut v = self.count.load(Ordering::Acquire);
        loop {
            if v == 0 {
                return false;
            }
            match self.count.compare_exchange_weak(v, v - 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(now) => v = now,
            }
        }
    }

    /// Go's `semacquire1`: takes one unit, parking with `reason` until one is
    /// available; `lifo` queues at the head.
    pub fn acquire(&self, lifo: bool, reason: WaitReason) {
        if self.try_acquire() {
            return;
        }
        let gp = curg();
        let mut sg = Sudog::new(gp, ptr::null_mut());
        let sgp: *mut Sudog = &mut sg;
        loop {
            let guard = self.lock.lock();
            self.nwait.fetch_add(1, Ordering::SeqCst);
            if self.try_acquire() {
                self.nwait.fetch_sub(1, Ordering::SeqCst);
                return;
            }
            // SAFETY: `sg` lives in this frame until we are woken, and the
            // lock is held.
            unsafe {
                (*sgp).ticket = 0;
                if lifo {
                    self.waiters.enqueue_front(sgp);
                } else {
                    self.waiters.enqueue(sgp);
                }
            }
            gopark(reason, move |_| {
                drop(guard);
                true
            });
            // SAFETY: our releaser is done with the sudog (it readied us).
            if unsafe { (*sgp).ticket } != 0 || self.try_acquire() {
                return;
            }
        }
    }

    /// Go's `semrelease1`: returns one unit, waking the first waiter; with
    /// `handoff`, the unit goes to that waiter directly and it runs next.
    pub fn release(&self, handoff: bool) {
        self.count.fetch_add(1, Ordering::SeqCst);
        // Pairs with the SeqCst increment of `nwait` in `acquire`: either it
        // sees our count or we see its wait.
        if self.nwait.load(Ordering::SeqCst) == 0 {
            return;
        }
        let guard = self.lock.lock();
        if self.nwait.load(Ordering::SeqCst) == 0 {
            return;
        }
        // SAFETY: the lock is held.
        let sg = unsafe { self.waiters.dequeue() };
        if sg.is_some() {
            self.nwait.fetch_sub(1, Ordering::SeqCst);
        }
        drop(guard);
        let Some(sg) = sg else { return };
        let handed = handoff && self.try_acquire();
        // SAFETY: dequeued: the sudog is ours until its G is readied, after
        // which its frame may be gone, so read what we need first.
        let gp = unsafe {
            (*sg).ticket = handed as u32;
            Sudog::g(sg)
        };
        goready(gp);
        if handed && may_yield() {
            // Direct G handoff: the waiter runs now, on this P.
            goyield();
        }
    }

    /// Goroutines parked here (racy; tests and diagnostics).
    pub fn waiting(&self) -> u32 {
        self.nwait.load(Ordering::Relaxed)
    }
}

/// A counting semaphore for goroutines (golang.org/x/sync's `semaphore`
/// with unit weights): `acquire` parks while no permit is left, waiters are
/// served in FIFO order.
pub struct Semaphore {
    sema: Sema,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub const fn new(permits: u32) -> Semaphore {
        Semaphore { sema: Sema::new(permits) }
    }

    /// Takes a permit, parking until one is free.
    pub fn acquire(&self) {
        self.sema.acquire(false, WaitReason::Semacquire);
    }

    /// Takes a permit if one is free now.
    pub fn try_acquire(&self) -> bool {
        self.sema.try_acquire()
    }

    /// Returns a permit, waking the longest waiter.
    pub fn release(&self) {
        self.sema.release(false);
    }

    /// Free permits now (racy).
    pub fn available(&self) -> u32 {
        self.sema.count.load(Ordering::Relaxed)
    }
}

/// Go's `notifyList`: the wait list of a `sync.Cond`.
pub struct NotifyList {
    /// Next ticket to hand out (taken without the lock).
    wait: AtomicU32,
    /// Next ticket to notify (written under `lock`).
    notify: AtomicU32,
    lock: GLock<()>,
    waiters: WaitQ,
}

/// Go's `less` on tickets that may wrap around.
fn less(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl Default for NotifyList {
    fn default() -> Self {
        Self::new()
    }
}

impl NotifyList {
    pub const fn new() -> NotifyList {
        NotifyList {
            wait: AtomicU32::new(0),
            notify: AtomicU32::new(0),
            lock: GLock::new(LockRank::NotifyList, ()),
            waiters: WaitQ::new(),
        }
    }

    /// Go's `notifyListAdd`: a ticket for a coming `wait`.
    pub fn add(&self) -> u32 {
        self.wait.fetch_add(1, Ordering::AcqRel)
    }

    /// Tickets handed out and not notified yet (racy).
    pub fn pending(&self) -> u32 {
        self.wait.load(Ordering::Relaxed).wrapping_sub(self.notify.load(Ordering::Relaxed))
    }

    /// Go's `notifyListWait`: parks until ticket `t` is notified.
    pub fn wait(&self, t: u32) {
        let guard = self.lock.lock();
        if less(t, self.notify.load(Ordering::Acquire)) {
            return;
        }
        let gp = curg();
        let mut sg = Sudog::new(gp, ptr::null_mut());
        sg.ticket = t;
        let sgp: *mut Sudog = &mut sg;
        // SAFETY: lock held; `sg` lives in this frame until we are readied.
        unsafe { self.waiters.enqueue(sgp) };
        gopark(WaitReason::SyncCondWait, move |_| {
            drop(guard);
            true
        });
    }

    /// Go's `notifyListNotifyAll`.
    pub fn notify_all(&self) {
        if self.wait.load(Ordering::Acquire) == self.notify.load(Ordering::Acquire) {
            return;
        }
        let guard = self.lock.lock();
        let mut woken = GQueue::new();
        // SAFETY: the lock is held; each dequeued sudog's G is parked.
        while let Some(sg) = unsafe { self.waiters.dequeue() } {
            // SAFETY: as above.
            woken.push_back(unsafe { Sudog::g(sg) });
        }
        self.notify.store(self.wait.load(Ordering::Acquire), Ordering::Release);
        drop(guard);
        while let Some(gp) = woken.pop_front() {
            goready(gp);
        }
    }

    /// Go's `notifyListNotifyOne`.
    pub fn notify_one(&self) {
        if self.wait.load(Ordering::Acquire) == self.notify.load(Ordering::Acquire) {
            return;
        }
        let guard = self.lock.lock();
        let t = self.notify.load(Ordering::Relaxed);
        if t == self.wait.load(Ordering::Acquire) {
            return;
        }
        self.notify.store(t.wrapping_add(1), Ordering::Release);
        // The waiter holding ticket `t` may not have queued yet: then it
        // sees the new `notify` in `wait` and does not park.
        // SAFETY: the lock is held; queued sudogs are live.
        let sg = unsafe { self.waiters.take_first(|sg| (*sg).ticket == t) };
        drop(guard);
        if let Some(sg) = sg {
            // SAFETY: taken off the list: ours until readied.
            goready(unsafe { Sudog::g(sg) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::less;

    #[test]
    fn tickets_compare_across_wraparound() {
        assert!(less(1, 2));
        assert!(!less(2, 1));
        assert!(!less(5, 5));
        assert!(less(u32::MAX, 0), "MAX comes just before 0 after wrapping");
        assert!(!less(0, u32::MAX));
    }
}
