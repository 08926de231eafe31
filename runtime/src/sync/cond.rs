//! `Cond`: Go's sync.Cond, a rendezvous point for goroutines waiting for an
//! event, on top of the runtime's notify list ([`NotifyList`]).
//!
//! `wait(guard)`:
//! 1. take a ticket (`notifyListAdd`) while still holding the mutex, so a
//!    `signal` that follows the unlock cannot be missed;
//! 2. unlock the mutex;
//! 3. park until the ticket is notified (`notifyListWait`; returns at once
//!    if it already was);
//! 4. lock the mutex again and return its guard.
//!
//! `signal` wakes the waiter with the oldest unnotified ticket, `broadcast`
//! every waiter. As in Go, a woken waiter must re-check its condition in a
//! loop: another goroutine may have changed it before the mutex was retaken.
//! Go's `Cond` carries its `Locker`; here `wait` takes the guard of the
//! [`Mutex`] it belongs with, as Rust's `Condvar` does.
use super::mutex::{Mutex, MutexGuard};
use super::sema::NotifyList;

#[derive(Default)]
pub struct Cond {
    notify: NotifyList,
}

impl Cond {
    pub const fn new() -> Cond {
        Cond { notify: NotifyList::new() }
    }

    /// Go's `Wait`: atomically unlocks `guard`'s mutex and parks; re-locks it
    /// before returning.
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let t = self.notify.add();
        let mutex: &'a Mutex<T> = guard.mutex();
        drop(guard);
        self.notify.wait(t);
        mutex.lock()
    }

    /// Go's `Signal`: wakes one waiter, if any.
    pub fn signal(&self) {
        self.notify.notify_one();
    }

    /// Waiters that took a ticket and were not notified yet (racy; tests).
    pub fn notify_waiters(&self) -> u32 {
        self.notify.pending()
    }

    /// Go's `Broadcast`: wakes every waiter.
    pub fn broadcast(&self) {
        self.notify.notify_all();
    }
}
