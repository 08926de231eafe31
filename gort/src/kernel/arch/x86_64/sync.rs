//! `IrqLock`: the machine layer's spinlock, which disables interrupts while held.
//!
//! ## The rule
//! A lock that an interrupt handler may take must be held with interrupts off,
//! or a handler that fires on the holder's own CPU spins forever on it. The
//! machine layer's locks (console, frame allocator, heap, page tables) are all
//! such locks, so the type enforces the rule: `lock()` saves RFLAGS.IF, disables
//! interrupts, then spins; dropping the guard releases the lock and restores IF.
//!
//! The scheduler's locks are a separate, portable type
//! (`runtime::sched::Lock`): they also count in the M's `locks` field so that
//! preemption never stops a holder, which needs the scheduler's M. This one
//! stays for the machine layer's own state (console, frames, page tables,
//! heap, stack arena), which exists before any M and is used by the fault
//! path.
//!
//! Each has a [`LockRank`] in the runtime's one lock order (the machine's
//! locks come after the scheduler's, the console last); debug builds check
//! it per CPU as for the runtime's locks (`runtime::sched::lockrank`).
//! `lockrank` needs the CPU's per-CPU area, which every CPU sets up before
//! its first lock.
//!
//! ## Memory ordering
//! Acquire on the successful compare-exchange pairs with the Release store in
//! `Drop`, so everything written under the lock is visible to the next holder.
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

use runtime::sched::lockrank::{self, LockRank};
use x86_64::instructions::interrupts;

pub struct IrqLock<T> {
    locked: AtomicBool,
    /// Where the lock stands in the runtime's lock order (debug builds check).
    rank: LockRank,
    value: UnsafeCell<T>,
}

// SAFETY: access to `value` is serialized by `locked`.
unsafe impl<T: Send> Sync for IrqLock<T> {}
// SAFETY: moving the lock moves the value; no thread affinity.
unsafe impl<T: Send> Send for IrqLock<T> {}

pub struct IrqGuard<'a, T> {
    lock: &'a IrqLock<T>,
    were_enabled: bool,
}

impl<T> IrqLock<T> {
    /// A lock of `rank` in the runtime's lock order.
    pub const fn new(rank: LockRank, value: T) -> Self {
        IrqLock { locked: AtomicBool::new(false), rank, value: UnsafeCell::new(value) }
    }

    /// Disables interrupts and spins until the lock is ours.
    pub fn lock(&self) -> IrqGuard<'_, T> {
        let were_enabled = interrupts::are_enabled();
        interrupts::disable();
        lockrank::acquire(self.rank);
        while self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            while self.locked.load(Ordering::Relaxed) {
                core::hint::spin_loop();
            }
        }
        IrqGuard { lock: self, were_enabled }
    }

    /// Like `lock`, but gives up after `spins` attempts (fatal-error paths).
    pub fn try_lock_for_spins(&self, spins: u64) -> Option<IrqGuard<'_, T>> {
        let were_enabled = interrupts::are_enabled();
        interrupts::disable();
        for _ in 0..spins {
            if self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                lockrank::acquired_without_check(self.rank);
                return Some(IrqGuard { lock: self, were_enabled });
            }
            core::hint::spin_loop();
        }
        if were_enabled {
            interrupts::enable();
        }
        None
    }

    /// True if some context holds the lock (diagnostics only: racy by nature).
    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
    }
}

impl<T> Deref for IrqGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for IrqGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the lock, so this is the only reference.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for IrqGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
        lockrank::release(self.lock.rank);
        if self.were_enabled {
            interrupts::enable();
        }
    }
}
