//! Sudog: a goroutine waiting on a channel or a semaphore (Go's `sudog`,
//! runtime2.go), and the wait queues that hold them (chan.go's `waitq`).
//!
//! A G can wait on several objects at once (a select on many channels), and
//! one object can have many waiting Gs, so the waiting is a separate record:
//! one sudog per (G, object) pair. It carries what the waker needs to finish
//! the G's operation for it: where the value lives (`elem`), whether the
//! operation succeeded (`success`: false when a close woke it), and for
//! semaphores a `ticket` (a direct hand-off, or a Cond's ticket number).
//!
//! ## Where sudogs live
//! Go keeps a per-P cache of heap-allocated sudogs, because a goroutine stack
//! may move while the G waits and a sudog must not. Our stacks never move, so
//! a sudog lives in the waiting goroutine's own frame (a `chansend`'s local,
//! a select's case array): no allocation, no cache, and it is gone when the
//! frame returns, by which time no queue can hold it (see the invariants).
//!
//! ## Invariants
//! - While a sudog is on a queue, all its fields are guarded by the lock of
//!   the object that owns the queue (the channel's or semaphore's lock); its
//!   G is Waiting, or about to park with that lock held, and does not touch it.
//! - A waker that takes a sudog off a queue owns it until it calls `goready`
//!   on its G: it writes `elem`'s target, `success` and `g.param` first, so
//!   the G sees them when it runs (the run queue's release/acquire orders them).
//! - The frame holding a sudog returns only after the G has been woken and,
//!   for a select, has taken its other sudogs off their queues under their
//!   locks, so no queue ever points at a dead frame.
//! - `is_select` sudogs wake their G only through a successful CAS of
//!   `g.select_done` (in [`WaitQ::dequeue`]): of several channels firing at
//!   once for one select, exactly one wins.
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use super::g::G;

/// One goroutine waiting on one channel or semaphore. Accessed through raw
/// pointers by whoever holds the owning object's lock (see the invariants).
pub struct Sudog {
    /// The waiting goroutine.
    pub(crate) g: *const G,
    pub(crate) next: *mut Sudog,
    pub(crate) prev: *mut Sudog,
    /// The value slot in the waiting G's frame: the value to send, or where
    /// to put the value received (null: nothing to copy).
    pub(crate) elem: *mut u8,
    /// Part of a select: wakes its G only by winning `g.select_done`.
    pub(crate) is_select: bool,
    /// Set by the waker: true if a value was exchanged, false if a close woke the G.
    pub(crate) success: bool,
    /// Semaphores: 1 when the releaser handed the count over directly; Cond:
    /// the notify ticket the G waits for.
    pub(crate) ticket: u32,
}

impl Sudog {
    /// A sudog for the goroutine `g`, on no queue.
    pub(crate) const fn new(g: *const G, elem: *mut u8) -> Sudog {
        Sudog { g, next: ptr::null_mut(), prev: ptr::null_mut(), elem, is_select: false, success: false, ticket: 0 }
    }

    /// The waiting goroutine.
    ///
    /// # Safety
    /// `sg` must be a live sudog made for a goroutine (Gs are never freed).
    pub(crate) unsafe fn g(sg: *const Sudog) -> &'static G {
        // SAFETY: per the contract.
        unsafe { &*(*sg).g }
    }
}

/// A FIFO of sudogs (Go's `waitq`), guarded by its owner's lock. Its two
/// words are relaxed atomics (plain moves on x86) so that the queue can sit
/// in a shared object next to its lock, and a channel's lock-free fast path
/// may peek at emptiness; every mutation still needs the owner's lock.
pub struct WaitQ {
    first: AtomicPtr<Sudog>,
    last: AtomicPtr<Sudog>,
}

impl Default for WaitQ {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQ {
    pub const fn new() -> WaitQ {
        WaitQ { first: AtomicPtr::new(ptr::null_mut()), last: AtomicPtr::new(ptr::null_mut()) }
    }

    /// True if no goroutine waits here (racy without the lock: a hint).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.first.load(Ordering::Relaxed).is_null()
    }

    /// Appends `sg` (Go's `enqueue`).
    ///
    /// # Safety
    /// The owner's lock is held; `sg` is live, on no queue, and stays live
    /// until it is dequeued or removed.
    pub unsafe fn enqueue(&self, sg: *mut Sudog) {
        let last = self.last.load(Ordering::Relaxed);
        // SAFETY: the caller hands us a live sudog; queued ones are live.
        unsafe {
            (*sg).next = ptr::null_mut();
            (*sg).prev = last;
            if last.is_null() {
                self.first.store(sg, Ordering::Relaxed);
            } else {
                (*last).next = sg;
            }
        }
        self.last.store(sg, Ordering::Relaxed);
    }

    /// Puts `sg` first (a semaphore's LIFO re-queue of a woken waiter).
    ///
    /// # Safety
    /// As for [`WaitQ::enqueue`].
    pub unsafe fn enqueue_front(&self, sg: *mut Sudog) {
        let first = self.first.load(Ordering::Relaxed);
        // SAFETY: as above.
        unsafe {
            (*sg).prev = ptr::null_mut();
            (*sg).next = first;
            if first.is_null() {
                self.last.store(sg, Ordering::Relaxed);
            } else {
                (*first).prev = sg;
            }
        }
        self.first.store(sg, Ordering::Relaxed);
    }

    /// Takes the first sudog whose G may be woken (Go's `dequeue`): a select's
    /// sudog is skipped (and dropped from the queue) if another case of that
    /// select already won.
    ///
    /// # Safety
    /// The owner's lock is held.
    pub unsafe fn dequeue(&self) -> Option<*mut Sudog> {
        loop {
            let sg = self.first.load(Ordering::Relaxed);
            if sg.is_null() {
                return None;
            }
            // SAFETY: queued sudogs are live (module invariants).
            unsafe {
                let next = (*sg).next;
                if next.is_null() {
                    self.first.store(ptr::null_mut(), Ordering::Relaxed);
                    self.last.store(ptr::null_mut(), Ordering::Relaxed);
                } else {
                    (*next).prev = ptr::null_mut();
                    self.first.store(next, Ordering::Relaxed);
                    (*sg).next = ptr::null_mut(); // marks it removed (see `remove`)
                }
                (*sg).prev = ptr::null_mut();
                if (*sg).is_select
                    && Sudog::g(sg)
                        .select_done
                        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                        .is_err()
                {
                    continue; // another case of its select woke it first
                }
            }
            return Some(sg);
        }
    }

    /// Unlinks `sg` if it is still queued here (Go's `dequeueSudoG`): a
    /// select's losing cases, after the G woke.
    ///
    /// # Safety
    /// The owner's lock is held; `sg` is live and, if queued anywhere, queued
    /// on this queue.
    pub unsafe fn remove(&self, sg: *mut Sudog) {
        // SAFETY: per the contract; its neighbours are queued, hence live.
        unsafe {
            let (prev, next) = ((*sg).prev, (*sg).next);
            if !prev.is_null() {
                (*prev).next = next;
                if next.is_null() {
                    self.last.store(prev, Ordering::Relaxed);
                } else {
                    (*next).prev = prev;
                }
            } else if !next.is_null() {
                (*next).prev = ptr::null_mut();
                self.first.store(next, Ordering::Relaxed);
            } else if self.first.load(Ordering::Relaxed) == sg {
                // The only element (a removed one has no neighbours either,
                // and is not first).
                self.first.store(ptr::null_mut(), Ordering::Relaxed);
                self.last.store(ptr::null_mut(), Ordering::Relaxed);
            }
            (*sg).prev = ptr::null_mut();
            (*sg).next = ptr::null_mut();
        }
    }

    /// The first sudog satisfying `f`, unlinked (Cond's ticket search).
    ///
    /// # Safety
    /// The owner's lock is held.
    pub unsafe fn take_first(&self, mut f: impl FnMut(*mut Sudog) -> bool) -> Option<*mut Sudog> {
        let mut sg = self.first.load(Ordering::Relaxed);
        while !sg.is_null() {
            if f(sg) {
                // SAFETY: `sg` is queued here, hence live.
                unsafe { self.remove(sg) };
                return Some(sg);
            }
            // SAFETY: as above.
            sg = unsafe { (*sg).next };
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sudogs(n: usize) -> Vec<Sudog> {
        (0..n)
            .map(|i| {
                let mut sg = Sudog::new(ptr::null(), ptr::null_mut());
                sg.ticket = i as u32;
                sg
            })
            .collect()
    }

    fn drain(q: &WaitQ) -> Vec<usize> {
        let mut out = Vec::new();
        // SAFETY: the test owns the queue (it is its own lock); its sudogs
        // outlive it.
        while let Some(sg) = unsafe { q.dequeue() } {
            // SAFETY: as above.
            out.push(unsafe { (*sg).ticket } as usize);
        }
        out
    }

    #[test]
    fn fifo_order_and_removal_anywhere() {
        let mut s = sudogs(5);
        let p: Vec<*mut Sudog> = s.iter_mut().map(|x| x as *mut Sudog).collect();
        let q = WaitQ::new();
        // SAFETY: the sudogs live in `s` for the whole test.
        unsafe {
            for &sg in &p {
                q.enqueue(sg);
            }
            q.remove(p[0]); // head
            q.remove(p[2]); // middle
            q.remove(p[4]); // tail
            q.remove(p[2]); // already removed: no effect
        }
        assert_eq!(drain(&q), vec![1, 3]);
        assert!(q.is_empty());
        // SAFETY: as above.
        unsafe {
            q.enqueue(p[0]);
            q.enqueue_front(p[1]);
            q.remove(p[0]);
            q.remove(p[1]);
        }
        assert!(q.is_empty());
        // SAFETY: as above; `p[3]` was dequeued (unlinked) earlier.
        unsafe { q.remove(p[3]) };
        assert!(q.is_empty());
    }

    #[test]
    fn take_first_finds_by_predicate() {
        let mut s = sudogs(4);
        let p: Vec<*mut Sudog> = s.iter_mut().map(|x| x as *mut Sudog).collect();
        let q = WaitQ::new();
        for &sg in &p {
            // SAFETY: the sudogs outlive the queue.
            unsafe { q.enqueue(sg) };
        }
        // SAFETY: as above.
        let got = unsafe { q.take_first(|sg| (*sg).ticket == 2) }.unwrap();
        assert_eq!(got, p[2]);
        // SAFETY: as above.
        assert!(unsafe { q.take_first(|_| false) }.is_none());
        assert_eq!(drain(&q), vec![0, 1, 3]);
    }
}
