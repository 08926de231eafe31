//! `Mutex<T>` and `Once`: Go's sync.Mutex (internal/sync/mutex.go) and
//! sync.Once, for goroutines.
//!
//! ## The state word (Go's, bit for bit)
//! `state: i32` = `locked` (bit 0) | `woken` (bit 1) | `starving` (bit 2) |
//! waiters << 3; parked waiters sleep on a [`Sema`] whose count starts at 0.
//!
//! ## Lock
//! 1. Fast path: CAS 0 → locked.
//! 2. Slow path loop (`lock_slow`), reading `old`:
//!    a. locked, not starving, and `sync_can_spin(iter)` (multicore, another
//!    P running, nothing queued on ours, at most 4 rounds): spin 30
//!    pauses; on the way, set `woken` so that `unlock` wakes nobody while
//!    we are about to take it.
//!    b. Compute `new`: take the lock unless starving; count ourselves as a
//!    waiter if it is locked or starving; switch to starving if we have
//!    waited more than 1 ms and it is locked; clear `woken` if we set it.
//!    c. CAS `old` → `new`. If the lock was free (and not starving), done.
//!    Else park on the semaphore (at the head of the queue if we had
//!    waited before: `lifo`), and on waking note whether we have now
//!    waited more than 1 ms.
//!    d. Woken in starvation mode: the unlocker handed us ownership. Fix the
//!    state (set locked, drop our waiter count) and leave starvation mode
//!    if we are the last waiter or waited less than 1 ms.
//!
//! ## Unlock
//! Subtract `locked`. If anything else is set: unlocking an unlocked mutex is
//! `fatal error: sync: unlock of unlocked mutex`; in normal mode wake one
//! waiter (unless none, or one is already woken or the lock was retaken),
//! taking the right to wake with a CAS that sets `woken`; in starvation mode
//! hand ownership to the first waiter and yield to it (`Sema::release(true)`).
//!
//! Normal mode lets a running goroutine take the lock many times in a row
//! even while others wait (fast); starvation mode bounds tail latency.
//!
//! ## Where we differ from Go
//! [`RawMutex`] is Go's `sync.Mutex` exactly (explicit `lock`/`unlock`,
//! usable across goroutines); [`Mutex<T>`] wraps it with the data it guards
//! and an RAII guard, the Rust way. `unlock` of an unlocked `RawMutex` is the
//! same fatal error as Go's.
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use super::sema::Sema;
use crate::sched::g::WaitReason;
use crate::sched::machine;
use crate::sched::proc::{sync_can_spin, sync_do_spin};

const LOCKED: i32 = 1;
const WOKEN: i32 = 2;
const STARVING: i32 = 4;
const WAITER_SHIFT: u32 = 3;
/// Go's `starvationThresholdNs`.
const STARVATION_NS: u64 = 1_000_000;

/// Go's `sync.Mutex`: a mutual exclusion lock for goroutines; blocked
/// goroutines park.
pub struct RawMutex {
    state: AtomicI32,
    sema: Sema,
}

impl Default for RawMutex {
    fn default() -> Self {
        Self::new()
    }
}

impl RawMutex {
    pub const fn new() -> RawMutex {
        RawMutex { state: AtomicI32::new(0), sema: Sema::new(0) }
    }

    /// Go's `Lock`.
    #[inline]
    pub fn lock(&self) {
        if self.state.compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            return;
        }
        self.lock_slow();
    }

    /// Go's `TryLock`.
    pub fn try_lock(&self) -> bool {
        let old = self.state.load(Ordering::Relaxed);
        if old & (LOCKED | STARVING) != 0 {
            return false;
        }
        self.state.compare_exchange(old, old | LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    fn lock_slow(&self) {
        let mut wait_start = 0u64;
        let mut starving = false;
        let mut awoke = false;
        let mut iter = 0;
        let mut old = self.state.load(Ordering::Relaxed);
        loop {
            if old & (LOCKED | STARVING) == LOCKED && sync_can_spin(iter) {
                if !awoke
                    && old & WOKEN == 0
                    && old >> WAITER_SHIFT != 0
                    && self.state.compare_exchange(old, old | WOKEN, Ordering::Relaxed, Ordering::Relaxed).is_ok()
                {
                    awoke = true;
                }
                sync_do_spin();
                iter += 1;
                old = self.state.load(Ordering::Relaxed);
                continue;
            }
            let mut new = old;
            if old & STARVING == 0 {
                new |= LOCKED;
            }
            if old & (LOCKED | STARVING) != 0 {
                new += 1 << WAITER_SHIFT;
            }
            if starving && old & LOCKED != 0 {
                new |= STARVING;
            }
            if awoke {
                if new & WOKEN == 0 {
                    machine::throw(format_args!("sync: inconsistent mutex state"));
                }
                new &= !WOKEN;
            }
            match self.state.compare_exchange(old, new, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => {
                    if old & (LOCKED | STARVING) == 0 {
                        return; // locked with the CAS
                    }
                    let lifo = wait_start != 0;
                    if wait_start == 0 {
                        wait_start = machine::nanotime();
                    }
                    self.sema.acquire(lifo, WaitReason::SyncMutexLock);
                    starving = starving || machine::nanotime() - wait_start > STARVATION_NS;
                    old = self.state.load(Ordering::Relaxed);
                    if old & STARVING != 0 {
                        // Handed off to us: not marked locked yet, and we
                        // are still counted as a waiter.
                        if old & (LOCKED | WOKEN) != 0 || old >> WAITER_SHIFT == 0 {
                            machine::throw(format_args!("sync: inconsistent mutex state"));
                        }
                        let mut delta = LOCKED - (1 << WAITER_SHIFT);
                        if !starving || old >> WAITER_SHIFT == 1 {
                            delta -= STARVING; // leave starvation mode
                        }
                        self.state.fetch_add(delta, Ordering::Acquire);
                        return;
                    }
                    awoke = true;
                    iter = 0;
                }
                Err(now) => old = now,
            }
        }
    }

    /// Go's `Unlock`. Unlocking an unlocked mutex is a fatal error.
    #[inline]
    pub fn unlock(&self) {
        let new = self.state.fetch_sub(LOCKED, Ordering::Release) - LOCKED;
        if new != 0 {
            self.unlock_slow(new);
        }
    }

    fn unlock_slow(&self, new: i32) {
        if (new + LOCKED) & LOCKED == 0 {
            machine::throw(format_args!("sync: unlock of unlocked mutex"));
        }
        if new & STARVING != 0 {
            // Hand ownership to the next waiter and let it run now; the
            // mutex stays "locked" through the starving bit meanwhile.
            self.sema.release(true);
            return;
        }
        let mut old = new;
        loop {
            // No waiters, or one is woken already, or the lock was retaken.
            if old >> WAITER_SHIFT == 0 || old & (LOCKED | WOKEN | STARVING) != 0 {
                return;
            }
            let new = (old - (1 << WAITER_SHIFT)) | WOKEN;
            match self.state.compare_exchange(old, new, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => {
                    self.sema.release(false);
                    return;
                }
                Err(now) => old = now,
            }
        }
    }

    /// Whether the mutex is held (racy; diagnostics and tests).
    pub fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & LOCKED != 0
    }
}

/// A `RawMutex` with the data it guards (Go's `sync.Mutex` next to the
/// fields it protects).
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, one at a time.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: moving the mutex moves the value.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

/// Holds the lock; unlocks when dropped.
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Mutex<T> {
        Mutex { raw: RawMutex::new(), value: UnsafeCell::new(value) }
    }

    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Go's `Lock`, returning the guard.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.raw.lock();
        MutexGuard { mutex: self }
    }

    /// Go's `TryLock`.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.raw.try_lock().then(|| MutexGuard { mutex: self })
    }

    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard holds (Cond re-locks it after waiting).
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the lock.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the lock: this is the only reference.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.raw.unlock();
    }
}

/// Go's `sync.Once`: runs a function exactly once; every caller returns
/// after it has finished.
pub struct Once {
    done: AtomicBool,
    m: RawMutex,
}

impl Default for Once {
    fn default() -> Self {
        Self::new()
    }
}

impl Once {
    pub const fn new() -> Once {
        Once { done: AtomicBool::new(false), m: RawMutex::new() }
    }

    /// Go's `Do`: the first call runs `f`; the others wait for it to finish
    /// (the fast path is one acquire load, as Go's).
    #[inline]
    pub fn call_once(&self, f: impl FnOnce()) {
        if !self.done.load(Ordering::Acquire) {
            self.do_slow(f);
        }
    }

    #[cold]
    fn do_slow(&self, f: impl FnOnce()) {
        self.m.lock();
        if !self.done.load(Ordering::Relaxed) {
            f();
            self.done.store(true, Ordering::Release);
        }
        self.m.unlock();
    }

    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}
