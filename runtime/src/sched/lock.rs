//! `Lock<T>`: the runtime's spinlock (Go's `mutex` with `lock`/`unlock`).
//!
//! ## The rule, enforced here once
//! A runtime lock may be taken by an interrupt handler (a timer or, later, a
//! NIC interrupt readying a goroutine), and its holder must never be
//! preempted: a preempted holder would leave every other CPU spinning for a
//! whole time slice, or forever if the preempting code wants the same lock.
//! So `lock()`:
//! 1. disables interrupts (saving the previous state), which also pins the
//!    caller to its CPU and M;
//! 2. increments the M's `locks` count (Go's `m.locks`), which the
//!    preemption path checks: an M with `locks > 0` is never preempted;
//! 3. spins with test-and-test-and-set until the flag is ours.
//!
//! Dropping the guard releases the flag (Release, pairing with the Acquire of
//! the next winner's compare-exchange), decrements `locks`, restores the
//! interrupt state and, if a preemption request arrived while the lock was
//! held and this was the last lock, honours it now (Go's `releasem` restoring
//! the stack guard so the next prologue yields).
//!
//! A guard may be dropped on the scheduler's stack (`gopark`'s unlock
//! function runs there): the same CPU, the same M, so the count balances.
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

use super::machine;
use super::{preempt, proc};

pub struct Lock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through a guard, and guards are exclusive.
unsafe impl<T: Send> Sync for Lock<T> {}
// SAFETY: moving the lock moves the value; it has no thread affinity.
unsafe impl<T: Send> Send for Lock<T> {}

pub struct LockGuard<'a, T> {
    lock: &'a Lock<T>,
    irq: bool,
}

impl<T> Lock<T> {
    pub const fn new(value: T) -> Self {
        Lock { locked: AtomicBool::new(false), value: UnsafeCell::new(value) }
    }

    /// Go's `lock`: interrupts off, `m.locks++`, spin.
    pub fn lock(&self) -> LockGuard<'_, T> {
        let irq = machine::irq_disable();
        proc::getm().acquire();
        while self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            while self.locked.load(Ordering::Relaxed) {
                core::hint::spin_loop();
            }
        }
        LockGuard { lock: self, irq }
    }

    /// Like `lock`, but gives up after `spins` failed attempts (fatal-error
    /// paths, which must not wait forever for a lock their own CPU may hold).
    pub fn try_lock_for(&self, spins: u32) -> Option<LockGuard<'_, T>> {
        let irq = machine::irq_disable();
        proc::getm().acquire();
        for _ in 0..spins {
            if self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                return Some(LockGuard { lock: self, irq });
            }
            core::hint::spin_loop();
        }
        proc::getm().release();
        machine::irq_restore(irq);
        None
    }

    /// Go's `lock` without a guard, for code that holds a varying number of
    /// locks (`selectgo` locks every channel of a select in address order).
    /// Returns the interrupt state to give back to [`Lock::unlock_raw`].
    pub(crate) fn lock_raw(&self) -> bool {
        let guard = self.lock();
        let irq = guard.irq;
        core::mem::forget(guard);
        irq
    }

    /// Releases a lock taken with [`Lock::lock_raw`] (Go's `unlock`).
    ///
    /// # Safety
    /// This M holds the lock through `lock_raw`, `irq` is what that returned
    /// (locks nested inside the first get `false`), and nested raw locks are
    /// released in reverse order.
    pub(crate) unsafe fn unlock_raw(&self, irq: bool) {
        drop(LockGuard { lock: self, irq });
    }

    /// Racy: true if somebody holds the lock (diagnostics).
    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
    }
}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the lock, so this is the only reference.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
        // Still pinned (interrupts off): look for a refused preemption before
        // turning them back on, so the common case costs no extra toggles.
        let m = proc::getm();
        let pending = m.release() && self.irq && m.curg().is_some_and(|g| g.preempt.load(Ordering::Relaxed));
        machine::irq_restore(self.irq);
        if pending {
            preempt::deferred();
        }
    }
}
