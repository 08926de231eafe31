//! `RwLock<T>`: Go's sync.RWMutex, a reader/writer lock where a waiting
//! writer blocks new readers (so writers cannot starve).
//!
//! ## Algorithm (Go's, word for word)
//! - `reader_count`: readers holding or waiting; a pending writer subtracts
//!   `MAX_READERS`, making it negative, which is how new readers learn to wait.
//! - `reader_wait`: readers the pending writer still waits for.
//! - `w`: a [`RawMutex`] that writers take first, so only one is pending.
//!
//! 1. `rlock`: `reader_count += 1`; negative means a writer is pending: park
//!    on `reader_sem`.
//! 2. `runlock`: `reader_count -= 1`; negative means a writer is pending:
//!    `reader_wait -= 1`, and the last departing reader wakes the writer on
//!    `writer_sem`. (Below −`MAX_READERS`, or from 0: `fatal error: sync:
//!    RUnlock of unlocked RWMutex`.)
//! 3. `lock`: take `w`; `reader_count -= MAX_READERS` (announcing the
//!    writer) gives the number of active readers `r`; if `r != 0` and
//!    `reader_wait += r` is not 0, park on `writer_sem` until the last leaves.
//! 4. `unlock`: `reader_count += MAX_READERS` gives the readers that queued
//!    meanwhile; release `reader_sem` that many times; release `w`.
//!    (Not locked: `fatal error: sync: Unlock of unlocked RWMutex`.)
//!
//! As with [`super::Mutex`], [`RawRwMutex`] is Go's type with explicit
//! unlocks and [`RwLock<T>`] wraps it with data and RAII guards.
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicI32, Ordering};

use super::mutex::RawMutex;
use super::sema::Sema;
use crate::sched::g::WaitReason;
use crate::sched::machine;

/// Go's `rwmutexMaxReaders`.
const MAX_READERS: i32 = 1 << 30;

/// Go's `sync.RWMutex`.
pub struct RawRwMutex {
    w: RawMutex,
    writer_sem: Sema,
    reader_sem: Sema,
    reader_count: AtomicI32,
    reader_wait: AtomicI32,
}

impl Default for RawRwMutex {
    fn default() -> Self {
        Self::new()
    }
}

impl RawRwMutex {
    pub const fn new() -> RawRwMutex {
        RawRwMutex {
            w: RawMutex::new(),
            writer_sem: Sema::new(0),
            reader_sem: Sema::new(0),
            reader_count: AtomicI32::new(0),
            reader_wait: AtomicI32::new(0),
        }
    }

    /// Go's `RLock`.
    #[inline]
    pub fn rlock(&self) {
        if self.reader_count.fetch_add(1, Ordering::Acquire) + 1 < 0 {
            // A writer is pending: wait for it.
            self.reader_sem.acquire(false, WaitReason::SyncRWMutexRLock);
        }
    }

    /// Go's `TryRLock`.
    pub fn try_rlock(&self) -> bool {
        let mut c = self.reader_count.load(Ordering::Relaxed);
        loop {
            if c < 0 {
                return false;
            }
            match self.reader_count.compare_exchange_weak(c, c + 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => c = now,
            }
        }
    }

    /// Go's `RUnlock`.
    #[inline]
    pub fn runlock(&self) {
        let r = self.reader_count.fetch_sub(1, Ordering::Release) - 1;
        if r < 0 {
            self.runlock_slow(r);
        }
    }

    fn runlock_slow(&self, r: i32) {
        if r + 1 == 0 || r + 1 == -MAX_READERS {
            machine::throw(format_args!("sync: RUnlock of unlocked RWMutex"));
        }
        // A writer is pending; the last departing reader lets it in.
        if self.reader_wait.fetch_sub(1, Ordering::AcqRel) - 1 == 0 {
            self.writer_sem.release(false);
        }
    }

    /// Go's `Lock`.
    pub fn lock(&self) {
        self.w.lock();
        let r = self.reader_count.fetch_sub(MAX_READERS, Ordering::Acquire);
        if r != 0 && self.reader_wait.fetch_add(r, Ordering::AcqRel) + r != 0 {
            self.writer_sem.acquire(false, WaitReason::SyncRWMutexLock);
        }
    }

    /// Go's `TryLock`.
    pub fn try_lock(&self) -> bool {
        if !self.w.try_lock() {
            return false;
        }
        if self.reader_count.compare_exchange(0, -MAX_READERS, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.w.unlock();
            return false;
        }
        true
    }

    /// Go's `Unlock`.
    pub fn unlock(&self) {
        let r = self.reader_count.fetch_add(MAX_READERS, Ordering::Release) + MAX_READERS;
        if r >= MAX_READERS {
            machine::throw(format_args!("sync: Unlock of unlocked RWMutex"));
        }
        for _ in 0..r {
            self.reader_sem.release(false);
        }
        self.w.unlock();
    }
}

/// A `RawRwMutex` with the data it guards.
pub struct RwLock<T: ?Sized> {
    raw: RawRwMutex,
    value: UnsafeCell<T>,
}

// SAFETY: readers share `&T` (so `T: Sync`), a writer gets `&mut T` alone.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}
// SAFETY: moving the lock moves the value.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}

pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<T> RwLock<T> {
    pub const fn new(value: T) -> RwLock<T> {
        RwLock { raw: RawRwMutex::new(), value: UnsafeCell::new(value) }
    }

    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Go's `RLock`.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.raw.rlock();
        RwLockReadGuard { lock: self }
    }

    /// Go's `Lock`.
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.raw.lock();
        RwLockWriteGuard { lock: self }
    }

    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.raw.try_rlock().then(|| RwLockReadGuard { lock: self })
    }

    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.raw.try_lock().then(|| RwLockWriteGuard { lock: self })
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read lock is held: no writer.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.runlock();
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write lock is held.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write lock is held: this is the only reference.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.unlock();
    }
}
